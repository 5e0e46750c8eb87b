"""On-disk fingerprint index: popcount-sorted packed rows, memory-mapped for search.

An index is a directory::

    INDEX/
      meta.json           format, fingerprint kind and parameters, counts, versions, sha256 of every file
      fingerprints.npy    (n_molecules, n_words) uint64  packed fingerprints sorted by popcount (stable)
      bin_offsets.npy     (fp_size + 2,) int64           popcount-b rows are [bin_offsets[b], bin_offsets[b + 1])
      rows.npy            (n_molecules,) int64           input row (0-based) of each sorted fingerprint
      prefix_counts.npy   (n_molecules,) uint16          popcount of the first 8 words (one cache line) of each
      bit_columns.npy     (n_bits, n_column_words) uint64  the sorted fingerprints bit-major: bit j % 64 of
                                                         [f, j // 64] is bit f of sorted fingerprint j; n_column_words
                                                         = ceil(n_molecules / 2048) * 32 (zero padded)
      id_offsets.npy      (n_rows + 1,) int64            id of input row r is ids.bin[id_offsets[r]:id_offsets[r + 1]]
      ids.bin             UTF-8 ids of every input row, concatenated
      smiles_offsets.npy  (n_rows + 1,) int64
      smiles.bin          UTF-8 SMILES of every input row, concatenated
      invalid.csv         row, smiles, error of the input rows that gave no fingerprint

Search reads only the first five arrays (memory-mapped, ``np.load(mmap_mode="r")``): with the
bit columns a query reads only its own set bits' columns (see
:mod:`symmol.kernels.similarity_columns`); ids are read for the hits only and SMILES never.
Nothing is pickled. Building streams the library in chunks: fingerprints go to an unsorted
scratch file, then a counting sort by popcount writes the sorted memory-mapped arrays, then the
sorted rows are transposed chunk by chunk into the bit columns, so memory is bounded by the
chunk size, not the library size.

Format version 2 added ``bit_columns.npy``; version 1 indexes (without it) still open and are
searched row by row (slower); rebuild them to get the bit columns.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from symmol.kernels.similarity_columns import BLOCK_WORDS, column_words, transpose_rows
from symmol.pipeline import parse_mode_for
from symmol.similarity.search import (
    SortedFingerprints,
    as_metric,
    as_packed,
    bin_offsets_from_counts,
    prefix_popcounts,
    threshold_search,
    topk_search,
)

__all__ = ["FINGERPRINT_DEFAULTS", "FORMAT", "FORMAT_VERSION", "FingerprintIndex", "IndexFileError", "build_index",
           "make_fingerprinter"]

#: ``meta.json`` ``format`` value of a symmol fingerprint index.
FORMAT = "symmol-fingerprint-index"
#: Version of the layout described in the module docstring (written by :func:`build_index`).
FORMAT_VERSION = 2
#: Versions :meth:`FingerprintIndex.open` reads (1: no bit columns, searched row by row).
READABLE_VERSIONS = (1, 2)
#: Array files: name -> (dtype, number of dimensions).
ARRAYS = {
    "fingerprints": (np.uint64, 2),
    "bin_offsets": (np.int64, 1),
    "rows": (np.int64, 1),
    "prefix_counts": (np.uint16, 1),
    "bit_columns": (np.uint64, 2),
    "id_offsets": (np.int64, 1),
    "smiles_offsets": (np.int64, 1),
}
#: Arrays added by each format version after the first.
ADDED_IN = {"bit_columns": 2}
BLOBS = ("ids.bin", "smiles.bin")
#: Bit fingerprint kinds an index can hold (:func:`symmol.featurize.make_featurizer` names) and
#: their default parameters.
FINGERPRINT_DEFAULTS = {
    "ecfp": {"radius": 2, "fp_size": 2048},
    "fcfp": {"radius": 2, "fp_size": 2048},
    "atompair": {"fp_size": 2048},
    "torsion": {"fp_size": 2048},
    "maccs": {},
}


class IndexFileError(ValueError):
    """An index directory is missing files, corrupt, or inconsistent with its metadata."""


def make_fingerprinter(spec: dict):
    """The featurizer described by an index's ``fingerprint`` metadata.

    Parameters
    ----------
    spec
        ``{"kind": kind, **params}``, e.g. ``{"kind": "ecfp", "radius": 2, "fp_size": 2048}``;
        ``kind`` is one of :data:`FINGERPRINT_DEFAULTS`, ``params`` are those of
        :func:`symmol.featurize.make_featurizer` (missing ones take the defaults above).

    Returns
    -------
    A bit-fingerprint featurizer (``from_smiles``, ``fp_size``).

    Raises
    ------
    ValueError
        On an unknown kind, count fingerprints (``counts=True``) or invalid parameters.
    """
    from symmol.featurize import make_featurizer

    kind = spec.get("kind")
    if kind not in FINGERPRINT_DEFAULTS:
        raise ValueError(f"unknown fingerprint kind {kind!r} for a similarity index; expected one of "
                         f"{', '.join(FINGERPRINT_DEFAULTS)}")
    params = {**FINGERPRINT_DEFAULTS[kind], **{k: v for k, v in spec.items() if k != "kind"}}
    if params.get("counts"):
        raise ValueError("a similarity index holds bit fingerprints; counts=True is not supported")
    return make_featurizer(kind, **params)


def _versions() -> dict:
    import numba
    import rdkit

    from symmol import __version__

    return {"symmol": __version__, "rdkit": rdkit.__version__, "numpy": np.__version__, "numba": numba.__version__}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _write_blob(values: Sequence[str], blob, lengths) -> None:
    encoded = [v.encode("utf-8") for v in values]
    blob.write(b"".join(encoded))
    np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded)).tofile(lengths)


def _offsets_npy(lengths_raw: Path, out: Path, n_rows: int, chunk_rows: int) -> None:
    """Offsets (n_rows + 1,) int64 from a raw file of per-row byte lengths, streamed."""
    offsets = np.lib.format.open_memmap(out, mode="w+", dtype=np.int64, shape=(n_rows + 1,))
    offsets[0] = 0
    total = 0
    with open(lengths_raw, "rb") as handle:
        for start in range(0, n_rows, chunk_rows):
            lengths = np.fromfile(handle, dtype=np.int64, count=min(chunk_rows, n_rows - start))
            offsets[start + 1:start + 1 + lengths.size] = total + np.cumsum(lengths)
            total += int(lengths.sum())
    offsets.flush()
    del offsets


def _is_index(path: Path) -> bool:
    """Whether ``path`` is a directory holding a fingerprint index's ``meta.json``."""
    try:
        return json.loads((path / "meta.json").read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _counting_sort(scratch: Path, out: Path, n: int, n_words: int, n_bits: int, chunk_rows: int) -> None:
    """Write fingerprints.npy, rows.npy, prefix_counts.npy and bin_offsets.npy sorted by popcount (stable)."""
    counts = np.fromfile(scratch / "popcounts.raw", dtype=np.int32) if n else np.zeros(0, np.int32)
    # popcounts are n int32 (4 bytes per molecule, 1/64 of the fingerprints): the one O(n) array kept.
    bin_offsets = bin_offsets_from_counts(counts, n_bits)
    np.save(out / "bin_offsets.npy", bin_offsets)
    fps = np.lib.format.open_memmap(out / "fingerprints.npy", mode="w+", dtype=np.uint64, shape=(n, n_words))
    rows = np.lib.format.open_memmap(out / "rows.npy", mode="w+", dtype=np.int64, shape=(n,))
    prefix = np.lib.format.open_memmap(out / "prefix_counts.npy", mode="w+", dtype=np.uint16, shape=(n,))
    next_slot = bin_offsets[:-1].copy()
    with open(scratch / "fingerprints.raw", "rb") as f_fps, open(scratch / "rows.raw", "rb") as f_rows:
        for start in range(0, n, chunk_rows):
            stop = min(start + chunk_rows, n)
            chunk = np.fromfile(f_fps, dtype=np.uint64, count=(stop - start) * n_words).reshape(-1, n_words)
            chunk_rows_in = np.fromfile(f_rows, dtype=np.int64, count=stop - start)
            pc = counts[start:stop]
            order = np.argsort(pc, kind="stable")
            sorted_pc = pc[order]
            group_start = np.searchsorted(sorted_pc, sorted_pc, side="left")
            slots = next_slot[sorted_pc] + (np.arange(order.size) - group_start)
            fps[slots] = chunk[order]
            rows[slots] = chunk_rows_in[order]
            prefix[slots] = prefix_popcounts(chunk[order])
            next_slot += np.bincount(pc, minlength=n_bits + 1)
    for array in (fps, rows, prefix):
        array.flush()
    del fps, rows, prefix, array


def _column_chunks(fingerprints: np.ndarray, n_bits: int, chunk_rows: int):
    """Yield ``(w0, w1, columns[:, w0:w1])`` of the bit columns of sorted fingerprints, ``chunk_rows`` rows
    (rounded up to whole column blocks) at a time."""
    n = fingerprints.shape[0]
    step = max(1, -(-int(chunk_rows) // (64 * BLOCK_WORDS))) * 64 * BLOCK_WORDS
    for start in range(0, n, step):
        stop = min(start + step, n)
        block = transpose_rows(np.ascontiguousarray(fingerprints[start:stop]), n_bits, column_words(stop - start))
        yield start // 64, start // 64 + block.shape[1], block


def _write_columns(out: Path, n: int, n_bits: int, chunk_rows: int) -> None:
    """Write bit_columns.npy from the sorted fingerprints.npy, streamed."""
    fps = np.load(out / "fingerprints.npy", mmap_mode="r")
    columns = np.lib.format.open_memmap(out / "bit_columns.npy", mode="w+", dtype=np.uint64,
                                        shape=(n_bits, column_words(n)))
    for w0, w1, block in _column_chunks(fps, n_bits, chunk_rows):
        columns[:, w0:w1] = block
    columns.flush()
    del columns, fps


def build_index(library: str | Path, out: str | Path, fingerprint: str = "ecfp", params: dict | None = None,
                smiles_column: str | None = None, id_column: str | None = None, chunk_size: int = 20_000,
                n_jobs: int = 1, overwrite: bool = False, progress: bool = False) -> FingerprintIndex:
    """Build an on-disk fingerprint index of a molecule file, streaming it in chunks.

    Parameters
    ----------
    library
        ``.csv``, ``.smi`` or ``.sdf`` file, optionally ``.gz`` (see
        :func:`symmol.chem.io.iter_molecules`).
    out
        Index directory to create (see the module docstring for the layout).
    fingerprint, params
        Bit fingerprint kind (``ecfp``, ``fcfp``, ``atompair``, ``torsion``, ``maccs``; all
        RDKit-identical) and its parameters (defaults: :data:`FINGERPRINT_DEFAULTS`, e.g.
        ``{"radius": 2, "fp_size": 2048}`` for ECFP4).
    smiles_column, id_column
        CSV columns; found automatically if omitted.
    chunk_size
        Molecules per chunk; memory use is proportional to it, not to the library size.
    n_jobs
        Featurization worker processes (:func:`symmol.pipeline.featurize_file`); ``-1``: all cores.
    overwrite
        Replace an existing ``out`` directory.
    progress
        Show a progress bar.

    Returns
    -------
    FingerprintIndex
        The new index, opened. Invalid input rows are not indexed; they are listed in
        ``out/invalid.csv`` (``row``, ``smiles``, ``error``) and counted in the metadata.

    Raises
    ------
    ValueError
        If ``out`` exists (and not ``overwrite``) or a parameter is invalid.
    FileNotFoundError, symmol.chem.io.InputFormatError
        From reading the library.
    """
    from tqdm.auto import tqdm

    from symmol.kernels.bits import popcount_rows
    from symmol.pipeline import featurize_file

    if fingerprint not in FINGERPRINT_DEFAULTS:
        raise ValueError(f"unknown fingerprint kind {fingerprint!r}; expected one of {', '.join(FINGERPRINT_DEFAULTS)}")
    spec = {"kind": fingerprint, **FINGERPRINT_DEFAULTS[fingerprint], **(params or {})}
    featurizer = make_fingerprinter(spec)
    fp_size = int(featurizer.fp_size)
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise ValueError(f"{out} already exists; remove it or pass overwrite")
    if out.exists() and not _is_index(out):
        raise ValueError(f"{out} exists and is not a fingerprint index; overwrite replaces only an index")
    out.parent.mkdir(parents=True, exist_ok=True)
    n_words = (fp_size + 63) // 64
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        scratch = work / "scratch"
        scratch.mkdir()
        invalid, n_rows, n = [], 0, 0
        with (open(scratch / "fingerprints.raw", "wb") as f_fps, open(scratch / "popcounts.raw", "wb") as f_pc,
              open(scratch / "rows.raw", "wb") as f_rows, open(work / "ids.bin", "wb") as f_ids,
              open(scratch / "id_lengths.raw", "wb") as f_idl, open(work / "smiles.bin", "wb") as f_smi,
              open(scratch / "smiles_lengths.raw", "wb") as f_smil,
              tqdm(desc="index", unit="mol", disable=not progress) as bar):
            for featurized in featurize_file(library, featurizer, n_jobs=n_jobs, chunk_size=int(chunk_size),
                                             output="packed", smiles_column=smiles_column, id_column=id_column):
                chunk, errors, valid = featurized.source, featurized.errors, featurized.valid
                smiles = chunk["smiles"].tolist()
                packed = featurized.features[valid]
                packed.tofile(f_fps)
                popcount_rows(packed).astype(np.int32).tofile(f_pc)
                chunk["row"].to_numpy(dtype=np.int64)[valid].tofile(f_rows)
                ids = chunk["id"].tolist() if "id" in chunk.columns else [""] * len(chunk)
                _write_blob(ids, f_ids, f_idl)
                _write_blob(smiles, f_smi, f_smil)
                invalid += [(int(r), s, e) for r, s, e in zip(chunk["row"], smiles, errors, strict=True) if e]
                n_rows += len(chunk)
                n += int(valid.sum())
                bar.update(len(chunk))
        _counting_sort(scratch, work, n, n_words, fp_size, int(chunk_size))
        _write_columns(work, n, fp_size, int(chunk_size))
        _offsets_npy(scratch / "id_lengths.raw", work / "id_offsets.npy", n_rows, int(chunk_size))
        _offsets_npy(scratch / "smiles_lengths.raw", work / "smiles_offsets.npy", n_rows, int(chunk_size))
        shutil.rmtree(scratch)
        pd.DataFrame(invalid, columns=["row", "smiles", "error"]).to_csv(work / "invalid.csv", index=False)
        files = sorted(f"{name}.npy" for name in ARRAYS) + list(BLOBS)
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "fingerprint": spec,
            "featurizer": featurizer.to_dict(),
            "n_bits": fp_size,
            "n_words": n_words,
            "n_rows": n_rows,
            "n_molecules": n,
            "n_invalid": len(invalid),
            "source": Path(library).name,
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "versions": _versions(),
            "files": {name: {"bytes": (work / name).stat().st_size, "sha256": _sha256(work / name)}
                      for name in files},
        }
        (work / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(work, 0o777 & ~umask)  # mkdtemp creates the directory private (0o700)
        if out.exists():
            shutil.rmtree(out)
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return FingerprintIndex.open(out)


class FingerprintIndex:
    """A memory-mapped fingerprint index (see the module docstring); open with :meth:`open`.

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
            Directory written by :func:`build_index`.
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
        expected = {f"{name}.npy" for name in ARRAYS if ADDED_IN.get(name, 1) <= version} | set(BLOBS)
        try:
            n, n_rows, n_words, n_bits = (int(meta[key]) for key in ("n_molecules", "n_rows", "n_words", "n_bits"))
            files = meta["files"]
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexFileError(f"{meta_path}: missing or invalid field ({exc})") from exc
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
            if verify and _sha256(file) != info["sha256"]:
                raise IndexFileError(f"{file}: sha256 checksum differs from meta.json (corrupt file)")
        shapes = {"fingerprints": (n, n_words), "bin_offsets": (n_bits + 2,), "rows": (n,), "prefix_counts": (n,),
                  "bit_columns": (n_bits, column_words(n)), "id_offsets": (n_rows + 1,),
                  "smiles_offsets": (n_rows + 1,)}
        arrays = {"bit_columns": None}
        for name, (dtype, _) in ARRAYS.items():
            if ADDED_IN.get(name, 1) > version:
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
        try:
            fp_size = make_fingerprinter(meta["fingerprint"]).fp_size
        except (KeyError, TypeError, ValueError) as exc:
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
        targets = SortedFingerprints(arrays["fingerprints"], bins, arrays["rows"], arrays["prefix_counts"],
                                     arrays["bit_columns"])
        if verify:
            from symmol.kernels.bits import popcount_rows

            if not np.array_equal(popcount_rows(np.asarray(targets.fingerprints)), targets.popcounts()):
                raise IndexFileError(f"{path / 'fingerprints.npy'}: fingerprints are not in their popcount bins")
            if not np.array_equal(prefix_popcounts(np.asarray(targets.fingerprints)), targets.prefix_counts):
                raise IndexFileError(f"{path / 'prefix_counts.npy'}: prefix popcounts do not match the fingerprints")
            rows = np.asarray(targets.rows)
            if rows.size and (rows.min() < 0 or rows.max() >= n_rows or np.unique(rows).size != rows.size):
                raise IndexFileError(f"{path / 'rows.npy'}: rows are not distinct input rows in [0, {n_rows})")
            if targets.columns is not None:  # every word, padding included
                for w0, w1, block in _column_chunks(targets.fingerprints, n_bits, 1 << 16):
                    if not np.array_equal(targets.columns[:, w0:w1], block):
                        raise IndexFileError(f"{path / 'bit_columns.npy'}: bit columns do not match the fingerprints")
        return cls(path, meta, targets, arrays["id_offsets"], arrays["smiles_offsets"])

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def fingerprint(self) -> dict:
        """Fingerprint kind and parameters, e.g. ``{"kind": "ecfp", "radius": 2, "fp_size": 2048}``."""
        return dict(self.meta["fingerprint"])

    def featurizer(self):
        """The featurizer that computes query fingerprints comparable with this index."""
        return make_fingerprinter(self.meta["fingerprint"])

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

    def fingerprints_of(self, smiles: Sequence[str]) -> np.ndarray:
        """Packed query fingerprints ``(n, n_words) uint64``, computed as the index's.

        Raises
        ------
        ValueError
            Naming the first invalid SMILES (row, value and reason).
        """
        featurizer = self.featurizer()
        featurized = featurizer.from_smiles(list(smiles), parse_mode=parse_mode_for(featurizer.to_dict()))
        for row, (smi, error) in enumerate(zip(smiles, featurized.errors, strict=True)):
            if error:
                raise ValueError(f"query row {row}: invalid SMILES {smi!r}: {error}")
        return featurized.fingerprints.to_packed()

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
            hits = threshold_search(packed, self.targets, threshold, metric_).to_frame()
        if with_ids:
            hits.insert(2, "id", self.ids(hits["target"].to_numpy()))
        return hits
