"""Token sequences (SMILES tokens, amino acids) of varying length, stored ragged, padded on collation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from symmol.data.batch import check_rows

__all__ = ["PAD_ID", "TokenBatch"]

#: Token id 0 is padding in every vocabulary.
PAD_ID = 0


@dataclass(frozen=True)
class TokenBatch:
    """Integer token sequences in CSR form: row ``i`` is ``tokens[offsets[i]:offsets[i + 1]]``.

    Attributes
    ----------
    tokens : (n_tokens_total,) int32
        Token ids in ``[1, vocabulary_size)`` (0 is padding and never stored).
    offsets : (n_rows + 1,) int64
        Non-decreasing, starting at 0; an invalid row is an empty sequence.
    vocabulary_size : int
        Number of ids, padding included (the rows of an embedding table).
    """

    tokens: np.ndarray
    offsets: np.ndarray
    vocabulary_size: int

    def __post_init__(self) -> None:
        offsets = np.asarray(self.offsets, dtype=np.int64)
        tokens = np.asarray(self.tokens, dtype=np.int32)
        if offsets.ndim != 1 or offsets.size < 1 or offsets[0] != 0 or np.any(np.diff(offsets) < 0):
            raise ValueError("offsets must be a non-decreasing 1-D array starting at 0")
        if tokens.ndim != 1 or tokens.size != offsets[-1]:
            raise ValueError(f"tokens must be 1-D with offsets[-1] = {offsets[-1]} entries, got shape {tokens.shape}")
        if tokens.size and (tokens.min() < 1 or tokens.max() >= self.vocabulary_size):
            raise ValueError(f"token ids must be in [1, {self.vocabulary_size})")
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "vocabulary_size", int(self.vocabulary_size))

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def lengths(self) -> np.ndarray:
        """(n_rows,) int64 sequence lengths."""
        return np.diff(self.offsets)

    def take(self, rows: np.ndarray) -> TokenBatch:
        """Rows ``rows`` (any order, repeats allowed), copied."""
        rows = check_rows(rows, len(self))
        starts, lengths = self.offsets[rows], self.lengths[rows]
        offsets = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        positions = np.arange(offsets[-1], dtype=np.int64) + np.repeat(starts - offsets[:-1], lengths)
        return TokenBatch(self.tokens[positions], offsets, self.vocabulary_size)

    def slice(self, start: int, stop: int) -> TokenBatch:
        """Rows ``start:stop`` (sharing the token array)."""
        lo, hi = int(self.offsets[start]), int(self.offsets[stop])
        return TokenBatch(self.tokens[lo:hi], self.offsets[start:stop + 1] - lo, self.vocabulary_size)

    def padded(self, length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Collate into a padded matrix.

        Parameters
        ----------
        length
            Columns of the matrix; default the longest row. Longer rows are cut to ``length``.

        Returns
        -------
        (ids, lengths)
            ``ids`` (n_rows, length) int32 with :data:`PAD_ID` after each row's end, and
            ``lengths`` (n_rows,) int64 (after cutting).
        """
        lengths = self.lengths
        width = int(lengths.max(initial=0)) if length is None else int(length)
        kept = np.minimum(lengths, width)
        ids = np.full((len(self), width), PAD_ID, dtype=np.int32)
        row = np.repeat(np.arange(len(self)), kept)
        column = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
        ids[row, column] = self.tokens[np.repeat(self.offsets[:-1], kept) + column]
        return ids, kept

    @classmethod
    def concatenate(cls, batches: Sequence[TokenBatch]) -> TokenBatch:
        """Stack batches over the same vocabulary.

        Raises
        ------
        ValueError
            If ``batches`` is empty or their vocabulary sizes differ.
        """
        if not batches:
            raise ValueError("nothing to concatenate")
        sizes = {b.vocabulary_size for b in batches}
        if len(sizes) != 1:
            raise ValueError(f"cannot concatenate token batches of different vocabularies {sorted(sizes)}")
        shifts = np.cumsum([0] + [int(b.offsets[-1]) for b in batches[:-1]])
        offsets = np.concatenate([[0]] + [b.offsets[1:] + s for b, s in zip(batches, shifts, strict=True)])
        return cls(np.concatenate([b.tokens for b in batches]), offsets, batches[0].vocabulary_size)
