"""The fingerprint batch: on-bit indices in CSR form, the input of fingerprint models and similarity search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from symmol.data.batch import check_rows
from symmol.kernels.bits import csr_to_dense_uint8, pack_csr
from symmol.kernels.sparse import csr_take_rows


def spread_offsets(offsets: np.ndarray, present: Sequence[int], n_rows: int) -> np.ndarray:
    """CSR offsets of ``len(present)`` rows re-spread over ``n_rows`` rows; the rows not in ``present`` are empty.

    Parameters
    ----------
    offsets : (len(present) + 1,) int64
    present
        Increasing row positions of the given rows among ``n_rows``.
    n_rows
        Rows of the result.

    Returns
    -------
    (n_rows + 1,) int64 offsets (``offsets`` itself when every row is present).
    """
    if len(present) == n_rows:
        return offsets
    lengths = np.zeros(n_rows, dtype=np.int64)
    lengths[np.asarray(present, dtype=np.int64)] = np.diff(offsets)
    out = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


@dataclass(frozen=True)
class FingerprintBatch:
    """A batch of sparse fingerprints (bits or counts) in compressed sparse row form.

    Row ``i`` has features ``indices[indptr[i]:indptr[i + 1]]`` (sorted, unique) with
    weights ``values[indptr[i]:indptr[i + 1]]`` (1.0 for bit fingerprints, occurrence
    counts for count fingerprints).

    Attributes
    ----------
    indptr : (n_rows + 1,) int64
    indices : (nnz,) int32, in ``[0, fp_size)``
    values : (nnz,) float32
    fp_size : int
        Number of features (bits) of the folded fingerprint.
    """

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    fp_size: int

    def __post_init__(self) -> None:
        if self.indptr.ndim != 1 or self.indptr.size < 1 or self.indptr[0] != 0:
            raise ValueError("indptr must be a 1-D array starting at 0")
        decreasing = np.flatnonzero(self.indptr[1:] < self.indptr[:-1])
        if decreasing.size:
            row = int(decreasing[0])
            raise ValueError(f"indptr must be non-decreasing: row {row} ends at {self.indptr[row + 1]} "
                             f"before it starts at {self.indptr[row]}")
        if self.indices.shape != self.values.shape or self.indices.size != self.indptr[-1]:
            raise ValueError(
                f"indices ({self.indices.shape}) and values ({self.values.shape}) must both have "
                f"indptr[-1] = {self.indptr[-1]} entries"
            )

    def __len__(self) -> int:
        return int(self.indptr.size - 1)

    @property
    def nnz(self) -> int:
        """Number of stored (row, feature) entries."""
        return int(self.indptr[-1])

    def slice(self, start: int, stop: int) -> FingerprintBatch:
        """Rows ``start:stop`` as a new batch; shares ``indices``/``values`` memory (no copy)."""
        lo, hi = int(self.indptr[start]), int(self.indptr[stop])
        return FingerprintBatch(self.indptr[start:stop + 1] - lo, self.indices[lo:hi],
                                self.values[lo:hi], self.fp_size)

    def take(self, rows: np.ndarray) -> FingerprintBatch:
        """Rows in the order given by ``rows`` (int array), copied into a new batch."""
        rows = check_rows(rows, len(self))
        indptr, indices, values = csr_take_rows(np.asarray(self.indptr, dtype=np.int64), self.indices, self.values,
                                                rows)
        return FingerprintBatch(indptr, indices, values, self.fp_size)

    def replace_rows(self, rows: np.ndarray, filling: FingerprintBatch) -> FingerprintBatch:
        """Return this batch with its empty rows ``rows`` (increasing) replaced by the rows of ``filling``, in order.

        Raises
        ------
        ValueError
            If ``filling`` has another row count than ``rows`` or another ``fp_size``, or a row in
            ``rows`` is not empty.
        """
        rows = np.asarray(rows, dtype=np.int64)
        if len(filling) != rows.size or filling.fp_size != self.fp_size:
            raise ValueError(f"replace_rows: {rows.size} rows of {self.fp_size} bits, got {len(filling)} rows of "
                             f"{filling.fp_size} bits")
        lengths = np.diff(self.indptr)
        occupied = rows[lengths[rows] > 0]
        if occupied.size:
            raise ValueError(f"replace_rows: row {int(occupied[0])} has {int(lengths[occupied[0]])} entries; only "
                             "empty rows are replaced")
        fill_lengths = np.diff(filling.indptr)
        lengths[rows] = fill_lengths
        indptr = np.zeros(lengths.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        at = np.repeat(self.indptr[rows], fill_lengths)
        return FingerprintBatch(indptr, np.insert(self.indices, at, filling.indices),
                                np.insert(self.values, at, filling.values), self.fp_size)

    def to_dense(self, dtype: type = np.float32) -> np.ndarray:
        """Dense ``(n_rows, fp_size)`` array of the values."""
        out: np.ndarray = np.zeros((len(self), self.fp_size), dtype=dtype)
        rows = np.repeat(np.arange(len(self)), np.diff(self.indptr))
        out[rows, self.indices] = self.values
        return out

    def to_dense_uint8(self) -> np.ndarray:
        """Dense ``(n_rows, fp_size)`` uint8 array: the values clipped to [0, 255]."""
        counts = np.clip(self.values, 0, 255).astype(np.int32)
        return csr_to_dense_uint8(self.indptr, self.indices, counts, self.fp_size, use_counts=True)

    def packed(self) -> PackedFingerprints:
        """Return the batch as :class:`PackedFingerprints` (values ignored: a set bit per stored feature)."""
        return PackedFingerprints(self.to_packed(), self.fp_size)

    def to_packed(self) -> np.ndarray:
        """Packed bits, ``(n_rows, ceil(fp_size / 64))`` uint64 (feature f = bit f % 64 of word f // 64).

        The similarity format: popcounts and Tanimoto work on these words directly.
        """
        return pack_csr(self.indptr, self.indices, self.fp_size)

    def to_scipy(self) -> sparse.csr_matrix:
        """Return the batch as a ``scipy.sparse.csr_matrix`` sharing this batch's arrays."""
        return sparse.csr_matrix((self.values, self.indices, self.indptr), shape=(len(self), self.fp_size))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the inputs of a :class:`~symmol.nn.layers.FingerprintInputLayer`: ``(indptr, indices, values)``."""
        return self.indptr, self.indices, self.values

    @classmethod
    def concatenate(cls, batches: Sequence[FingerprintBatch]) -> FingerprintBatch:
        """Stack batches of the same ``fp_size`` row-wise.

        Raises
        ------
        ValueError
            If ``batches`` is empty or their ``fp_size`` differ.
        """
        if not batches:
            raise ValueError("nothing to concatenate")
        sizes = {b.fp_size for b in batches}
        if len(sizes) != 1:
            raise ValueError(f"cannot concatenate fingerprints of different fp_size {sorted(sizes)}")
        offsets = np.cumsum([0] + [b.nnz for b in batches[:-1]])
        indptr = np.concatenate([[0]] + [b.indptr[1:] + off for b, off in zip(batches, offsets, strict=True)])
        return cls(indptr.astype(np.int64), np.concatenate([b.indices for b in batches]),
                   np.concatenate([b.values for b in batches]), batches[0].fp_size)


@dataclass(frozen=True)
class PackedFingerprints:
    """Bit fingerprints packed into 64-bit words: the similarity-search format.

    Attributes
    ----------
    words : (n_rows, ceil(fp_size / 64)) uint64
        Feature ``f`` of row ``i`` is bit ``f % 64`` of ``words[i, f // 64]``.
    fp_size : int
        Number of bits of each fingerprint.
    """

    words: np.ndarray
    fp_size: int

    def __post_init__(self) -> None:
        n_words = (int(self.fp_size) + 63) // 64
        if self.words.dtype != np.uint64 or self.words.ndim != 2 or self.words.shape[1] != n_words:
            raise ValueError(f"packed fingerprints of {self.fp_size} bits are (n, {n_words}) uint64, got "
                             f"{self.words.shape} {self.words.dtype}")

    def __len__(self) -> int:
        return int(self.words.shape[0])

    def take(self, rows: np.ndarray) -> PackedFingerprints:
        """Rows ``rows`` (any order, repeats allowed), copied."""
        return PackedFingerprints(self.words[check_rows(rows, len(self))], self.fp_size)

    def slice(self, start: int, stop: int) -> PackedFingerprints:
        """Rows ``start:stop`` (a view)."""
        return PackedFingerprints(self.words[start:stop], self.fp_size)

    def arrays(self) -> tuple[np.ndarray]:
        """``(words,)``."""
        return (self.words,)

    @classmethod
    def concatenate(cls, batches: Sequence[PackedFingerprints]) -> PackedFingerprints:
        """Stack batches of the same ``fp_size``.

        Raises
        ------
        ValueError
            If ``batches`` is empty or their ``fp_size`` differ.
        """
        if not batches:
            raise ValueError("nothing to concatenate")
        sizes = {b.fp_size for b in batches}
        if len(sizes) != 1:
            raise ValueError(f"cannot concatenate fingerprints of different fp_size {sorted(sizes)}")
        return cls(np.concatenate([b.words for b in batches]), batches[0].fp_size)
