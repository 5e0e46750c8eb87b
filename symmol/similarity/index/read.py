"""Opening a fingerprint index (memory-mapped, never unpickled) and searching it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from symmol.featurizers.base import FingerprintFeaturizer
from symmol.kernels.bits import popcount_rows
from symmol.kernels.similarity_columns import column_words
from symmol.provenance import sha256_file
from symmol.similarity.index.format import (
    ADDED_IN,
    ARRAYS,
    BLOBS,
    FORMAT,
    READABLE_VERSIONS,
    IndexFileError,
    column_chunks,
    index_featurizer,
)
from symmol.similarity.search import (
    SortedFingerprints,
    as_metric,
    as_packed,
    max_similarity,
    prefix_popcounts,
    threshold_search,
    topk_search,
)

__all__ = ["FingerprintIndex"]


def _read_meta(path: Path) -> dict[str, Any]:
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        raise IndexFileError(f"{path}: not a fingerprint index (no meta.json)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexFileError(f"{meta_path}: invalid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise IndexFileError(f"{meta_path}: not a {FORMAT} metadata file")
    version = meta.get("format_version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise IndexFileError(f"{meta_path}: format version {version!r} is not supported (this symmol reads "
                             f"versions {', '.join(map(str, READABLE_VERSIONS))}; rebuild the index with "
                             "`symmol index`)")
    try:
        for key in ("n_molecules", "n_rows", "n_words", "n_bits"):
            meta[key] = int(meta[key])
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexFileError(f"{meta_path}: missing or invalid field ({exc})") from exc
    return meta


def _check_files(path: Path, meta: dict[str, Any], verify: bool) -> None:
    """Every file the version needs is recorded in ``meta.json`` with its size (and, if ``verify``, checksum)."""
    meta_path, version = path / "meta.json", meta["format_version"]
    expected = {f"{name}.npy" for name in ARRAYS if ADDED_IN.get(name, 1) <= version} | set(BLOBS)
    files = meta.get("files")
    if not isinstance(files, dict) or not expected <= set(files):
        missing = sorted(expected - set(files)) if isinstance(files, dict) else sorted(expected)
        raise IndexFileError(f"{meta_path}: no checksum recorded for {', '.join(missing)} (format version "
                             f"{version})")
    for name, info in files.items():
        file = path / name
        if not isinstance(info, dict) or not isinstance(info.get("bytes"), int) or "sha256" not in info:
            raise IndexFileError(f"{meta_path}: the entry of {name} needs \"bytes\" and \"sha256\"")
        if not file.is_file():
            raise IndexFileError(f"{file}: missing index file")
        if file.stat().st_size != info["bytes"]:
            raise IndexFileError(f"{file}: {file.stat().st_size} bytes, meta.json records {info['bytes']} "
                                 "(truncated or replaced)")
        if verify and sha256_file(file) != info["sha256"]:
            raise IndexFileError(f"{file}: sha256 checksum differs from meta.json (corrupt file)")


def _open_arrays(path: Path, meta: dict[str, Any]) -> dict[str, np.ndarray | None]:
    n, n_rows, n_words, n_bits = meta["n_molecules"], meta["n_rows"], meta["n_words"], meta["n_bits"]
    shapes = {"fingerprints": (n, n_words), "bin_offsets": (n_bits + 2,), "rows": (n,), "prefix_counts": (n,),
              "bit_columns": (n_bits, column_words(n)), "id_offsets": (n_rows + 1,),
              "smiles_offsets": (n_rows + 1,)}
    arrays: dict[str, np.ndarray | None] = {"bit_columns": None}
    for name, (dtype, _) in ARRAYS.items():
        if ADDED_IN.get(name, 1) > meta["format_version"]:
            continue
        file = path / f"{name}.npy"
        try:
            arr = np.load(file, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexFileError(f"{file}: unreadable .npy ({exc})") from exc
        if arr.dtype != np.dtype(dtype) or arr.shape != shapes[name]:
            raise IndexFileError(f"{file}: expected {np.dtype(dtype).name} {shapes[name]}, "
                                 f"found {arr.dtype.name} {arr.shape}")
        arrays[name] = arr
    return arrays


def _check_consistency(path: Path, meta: dict[str, Any], arrays: dict[str, Any]) -> None:
    meta_path = path / "meta.json"
    n, n_words, n_bits = meta["n_molecules"], meta["n_words"], meta["n_bits"]
    try:
        fp_size = index_featurizer(meta["fingerprint"]).fp_size
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IndexFileError(f"{meta_path}: invalid fingerprint description ({exc})") from exc
    if fp_size != n_bits:
        raise IndexFileError(f"{meta_path}: the fingerprint has {fp_size} bits but n_bits is {n_bits}")
    bins = np.asarray(arrays["bin_offsets"])
    if n_words != (n_bits + 63) // 64 or bins[0] != 0 or bins[-1] != n or np.any(np.diff(bins) < 0):
        raise IndexFileError(f"{path / 'bin_offsets.npy'}: popcount bins inconsistent with "
                             f"{n} molecules of {n_bits} bits")
    for name, blob in (("id_offsets", "ids.bin"), ("smiles_offsets", "smiles.bin")):
        if int(arrays[name][-1]) != (path / blob).stat().st_size:
            raise IndexFileError(f"{path / name}.npy: last offset does not match the size of {blob}")


def _verify_contents(path: Path, targets: SortedFingerprints, n_rows: int, n_bits: int) -> None:
    """Recompute what the arrays derive from the fingerprints (reads every file)."""
    if not np.array_equal(popcount_rows(np.asarray(targets.fingerprints)), targets.popcounts()):
        raise IndexFileError(f"{path / 'fingerprints.npy'}: fingerprints are not in their popcount bins")
    if not np.array_equal(prefix_popcounts(np.asarray(targets.fingerprints)), targets.prefix_counts):
        raise IndexFileError(f"{path / 'prefix_counts.npy'}: prefix popcounts do not match the fingerprints")
    rows = np.asarray(targets.rows)
    if rows.size and (rows.min() < 0 or rows.max() >= n_rows or np.unique(rows).size != rows.size):
        raise IndexFileError(f"{path / 'rows.npy'}: rows are not distinct input rows in [0, {n_rows})")
    if targets.columns is not None:  # every word, padding included
        for w0, w1, block in column_chunks(targets.fingerprints, n_bits, 1 << 16):
            if not np.array_equal(targets.columns[:, w0:w1], block):
                raise IndexFileError(f"{path / 'bit_columns.npy'}: bit columns do not match the fingerprints")


class FingerprintIndex:
    """A memory-mapped fingerprint index (:mod:`symmol.similarity.index.format`); open with :meth:`open`.

    Attributes
    ----------
    path : pathlib.Path
    meta : dict
        The parsed ``meta.json``.
    targets : SortedFingerprints
        Memory-mapped sorted fingerprints, bins and input rows.
    """

    def __init__(self, path: Path, meta: dict, targets: SortedFingerprints, id_offsets: np.ndarray,
                 smiles_offsets: np.ndarray) -> None:
        self.path = path
        self.meta = meta
        self.targets = targets
        self._id_offsets = id_offsets
        self._smiles_offsets = smiles_offsets

    @classmethod
    def open(cls, path: str | Path, verify: bool = False) -> FingerprintIndex:
        """Open an index directory, memory-mapping its arrays (never unpickling).

        Parameters
        ----------
        path
            Directory written by :func:`~symmol.similarity.index.build_index`.
        verify
            Also recompute the sha256 of every file and check every fingerprint's popcount
            against its bin (reads all files: about 0.2 s per 64 MB).

        Raises
        ------
        IndexFileError
            If a file is missing, unreadable, of the wrong dtype, shape or size, or the arrays
            are inconsistent with each other or with ``meta.json`` (or, with ``verify``, a
            checksum differs).
        """
        path = Path(path)
        meta = _read_meta(path)
        _check_files(path, meta, verify)
        arrays = _open_arrays(path, meta)
        _check_consistency(path, meta, arrays)
        required = {name: arr for name, arr in arrays.items() if arr is not None}  # all but bit_columns
        targets = SortedFingerprints(required["fingerprints"], np.asarray(required["bin_offsets"]), required["rows"],
                                     required["prefix_counts"], arrays["bit_columns"])
        if verify:
            _verify_contents(path, targets, meta["n_rows"], meta["n_bits"])
        return cls(path, meta, targets, required["id_offsets"], required["smiles_offsets"])

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def fingerprint(self) -> dict:
        """Fingerprint kind and parameters, e.g. ``{"kind": "ecfp", "radius": 2, "fp_size": 2048}``."""
        return dict(self.meta["fingerprint"])

    def featurizer(self) -> FingerprintFeaturizer:
        """Return the featurizer that computes query fingerprints comparable with this index."""
        return index_featurizer(self.meta["fingerprint"])

    def _text(self, blob: str, offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= offsets.shape[0] - 1):
            raise IndexError(f"row out of range [0, {offsets.shape[0] - 1})")
        data = np.memmap(self.path / blob, dtype=np.uint8, mode="r") if offsets[-1] else np.zeros(0, np.uint8)
        starts, stops = offsets[rows], offsets[rows + 1]
        return np.array([bytes(data[a:b]).decode("utf-8") for a, b in zip(starts, stops, strict=True)],
                        dtype=object)

    def ids(self, rows: np.ndarray) -> np.ndarray:
        """Ids (object array of str) of input rows ``rows`` (``""`` when the input had none)."""
        return self._text("ids.bin", self._id_offsets, rows)

    def smiles(self, rows: np.ndarray) -> np.ndarray:
        """SMILES (object array of str) of input rows ``rows``, as read from the library."""
        return self._text("smiles.bin", self._smiles_offsets, rows)

    def invalid(self) -> pd.DataFrame:
        """Input rows that were not indexed: ``row``, ``smiles``, ``error``."""
        return pd.read_csv(self.path / "invalid.csv", dtype={"smiles": str, "error": str}, keep_default_na=False)

    def fingerprints_of(self, smiles: Sequence[str] | np.ndarray) -> np.ndarray:
        """Packed query fingerprints ``(n, n_words) uint64``, computed as the index's.

        Raises
        ------
        ValueError
            Naming the first invalid SMILES (row, value and reason).
        """
        featurized = self.featurizer().featurize(list(smiles))
        for row, (smi, error) in enumerate(zip(smiles, featurized.errors, strict=True)):
            if error:
                raise ValueError(f"query row {row}: invalid SMILES {smi!r}: {error}")
        return featurized.batch.to_packed()  # type: ignore[attr-defined]

    def _packed_queries(self, queries: Sequence[str] | np.ndarray) -> np.ndarray:
        if isinstance(queries, str):
            raise TypeError(f"queries must be a sequence of SMILES, not one string {queries!r}; pass [{queries!r}]")
        if not isinstance(queries, np.ndarray) or queries.dtype.kind in "OUS":
            return self.fingerprints_of(queries)  # SMILES: a list, Series or object/str array
        queries = as_packed("queries", queries, self.targets.n_words)  # names a wrong dtype or width
        n_bits = int(self.meta["n_bits"])
        if n_bits % 64 and np.any(queries[:, -1] >> np.uint64(n_bits % 64)):
            raise ValueError(f"packed queries have bits set beyond this index's {n_bits}-bit fingerprint: they "
                             "were computed with another fp_size; use index.fingerprints_of(smiles) or pass SMILES")
        return queries

    def search(self, queries: Sequence[str] | np.ndarray, k: int | None = None, threshold: float | None = None,
               metric: str = "tanimoto", alpha: float = 0.5, beta: float = 0.5, with_ids: bool = True
               ) -> pd.DataFrame:
        """Top-``k`` or threshold similarity search of the index.

        Parameters
        ----------
        queries
            SMILES strings (a list, Series or array of str), or packed fingerprints
            ``(n_queries, n_words) uint64`` computed as :meth:`fingerprints_of` computes them
            (same kind, radius and ``fp_size``: a packed array carries none of these, so only
            bits beyond this index's ``fp_size`` can be detected).
        k, threshold
            Exactly one: the ``k`` nearest targets per query, or every target with similarity
            ``>= threshold``.
        metric, alpha, beta
            ``"tanimoto"``, ``"dice"``, ``"tversky"`` (weights ``alpha``, ``beta``) or ``"cosine"``.
        with_ids
            Add the targets' ids (reads ``ids.bin`` for the hits only).

        Returns
        -------
        pandas.DataFrame
            ``query`` (0-based position in ``queries``), ``target`` (0-based library row),
            ``id`` (if ``with_ids``), ``similarity`` (float64); ranked by similarity within each
            query, ties by target row.

        Raises
        ------
        ValueError
            If not exactly one of ``k`` and ``threshold`` is given, on an invalid query SMILES,
            metric or value, or packed queries with bits beyond the index's ``fp_size``.
        TypeError
            If ``queries`` is a single string.
        """
        if (k is None) == (threshold is None):
            raise ValueError("give exactly one of k and threshold")
        metric_ = as_metric(metric, alpha, beta)
        packed = self._packed_queries(queries)
        if k is not None:
            hits = topk_search(packed, self.targets, k, metric_).to_frame()
        else:
            hits = threshold_search(packed, self.targets, threshold, metric_).to_frame()  # type: ignore[arg-type]
        if with_ids:
            hits.insert(2, "id", self.ids(hits["target"].to_numpy()))
        return hits

    def max_similarity(self, queries: Sequence[str] | np.ndarray, metric: str = "tanimoto") -> np.ndarray:
        """Each query's similarity to its nearest indexed molecule (:func:`symmol.similarity.search.max_similarity`)."""
        return max_similarity(self._packed_queries(queries), self.targets, metric)
