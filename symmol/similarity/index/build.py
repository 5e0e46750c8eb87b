"""Building a fingerprint index from a molecule file, streamed in chunks with bounded memory.

Fingerprints go to an unsorted scratch file, then a counting sort by popcount writes the sorted
memory-mapped arrays, then the sorted rows are transposed chunk by chunk into the bit columns, so
memory is bounded by the chunk size, not the library size (layout: :mod:`symmol.similarity.index.format`).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from symmol.featurizers.base import FingerprintFeaturizer
from symmol.featurizers.pipeline import featurize_file
from symmol.kernels.bits import popcount_rows
from symmol.kernels.similarity_columns import column_words
from symmol.provenance import atomic_write_json, sha256_file, versions
from symmol.similarity.index.format import ARRAYS, BLOBS, FORMAT, FORMAT_VERSION, column_chunks, index_featurizer
from symmol.similarity.index.read import FingerprintIndex
from symmol.similarity.search import bin_offsets_from_counts, prefix_popcounts

__all__ = ["build_index"]

_SCRATCH = ("fingerprints.raw", "popcounts.raw", "rows.raw", "id_lengths.raw", "smiles_lengths.raw")


def _write_blob(values: Sequence[str], blob: IO[bytes], lengths: IO[bytes]) -> None:
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
    del fps, rows, prefix


def _write_columns(out: Path, n: int, n_bits: int, chunk_rows: int) -> None:
    """Write bit_columns.npy from the sorted fingerprints.npy, streamed."""
    fps = np.load(out / "fingerprints.npy", mmap_mode="r")
    columns = np.lib.format.open_memmap(out / "bit_columns.npy", mode="w+", dtype=np.uint64,
                                        shape=(n_bits, column_words(n)))
    for w0, w1, block in column_chunks(fps, n_bits, chunk_rows):
        columns[:, w0:w1] = block
    columns.flush()
    del columns, fps


def _stream(library: Path, featurizer: FingerprintFeaturizer, work: Path, options: dict[str, Any]
            ) -> tuple[int, int, list[tuple[int, str, str]]]:
    """Featurize the library into the scratch files and the id/SMILES blobs; ``(n_rows, n_indexed, invalid)``."""
    scratch = work / "scratch"
    invalid: list[tuple[int, str, str]] = []
    n_rows = n = 0
    with ExitStack() as files, tqdm(desc="index", unit="mol", disable=not options["progress"]) as bar:
        f_fps, f_pc, f_rows, f_idl, f_smil = (files.enter_context(open(scratch / name, "wb")) for name in _SCRATCH)
        f_ids, f_smi = (files.enter_context(open(work / name, "wb")) for name in BLOBS)
        for featurized in featurize_file(library, featurizer, n_jobs=options["n_jobs"],
                                         chunk_size=options["chunk_size"], output="packed",
                                         smiles_column=options["smiles_column"], id_column=options["id_column"]):
            chunk, errors, valid = featurized.source, featurized.errors, featurized.valid
            assert chunk is not None
            smiles = chunk["smiles"].tolist()
            packed = featurized.features.words[valid]  # type: ignore[attr-defined]
            packed.tofile(f_fps)
            popcount_rows(packed).astype(np.int32).tofile(f_pc)
            chunk["row"].to_numpy(dtype=np.int64)[valid].tofile(f_rows)
            _write_blob(chunk["id"].tolist() if "id" in chunk.columns else [""] * len(chunk), f_ids, f_idl)
            _write_blob(smiles, f_smi, f_smil)
            invalid += [(int(r), s, e) for r, s, e in zip(chunk["row"], smiles, errors, strict=True) if e]
            n_rows += len(chunk)
            n += int(valid.sum())
            bar.update(len(chunk))
    return n_rows, n, invalid


def _finish(work: Path, featurizer: FingerprintFeaturizer, library: Path, n_rows: int, n: int,
            invalid: list[tuple[int, str, str]], chunk_rows: int) -> None:
    """Sort, transpose, write offsets, ``invalid.csv`` and ``meta.json`` (checksums of every file)."""
    fp_size = featurizer.fp_size
    n_words = (fp_size + 63) // 64
    scratch = work / "scratch"
    _counting_sort(scratch, work, n, n_words, fp_size, chunk_rows)
    _write_columns(work, n, fp_size, chunk_rows)
    _offsets_npy(scratch / "id_lengths.raw", work / "id_offsets.npy", n_rows, chunk_rows)
    _offsets_npy(scratch / "smiles_lengths.raw", work / "smiles_offsets.npy", n_rows, chunk_rows)
    shutil.rmtree(scratch)
    pd.DataFrame(invalid, columns=["row", "smiles", "error"]).to_csv(work / "invalid.csv", index=False)
    files = sorted(f"{name}.npy" for name in ARRAYS) + list(BLOBS)
    atomic_write_json(work / "meta.json", {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fingerprint": featurizer.to_dict(),
        "n_bits": fp_size,
        "n_words": n_words,
        "n_rows": n_rows,
        "n_molecules": n,
        "n_invalid": len(invalid),
        "source": library.name,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "files": {name: {"bytes": (work / name).stat().st_size, "sha256": sha256_file(work / name)}
                  for name in files},
    })


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
        Index directory to create (layout: :mod:`symmol.similarity.index.format`).
    fingerprint, params
        Bit fingerprint kind (``ecfp``, ``fcfp``, ``atompair``, ``torsion``, ``maccs`` or a
        registered plug-in kind; all built-in kinds RDKit-identical) and its parameters (missing ones
        take the featurizer's defaults, e.g. ECFP4 with 2048 bits).
    smiles_column, id_column
        CSV columns; found automatically if omitted.
    chunk_size
        Molecules per chunk; memory use is proportional to it, not to the library size.
    n_jobs
        Featurization worker processes (:func:`symmol.featurizers.pipeline.featurize_file`); ``-1``: all cores.
    overwrite
        Replace an existing ``out`` index.
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
        If ``out`` exists (and not ``overwrite``, or it is not an index) or a parameter is invalid.
    FileNotFoundError, symmol.chem.io.InputFormatError
        From reading the library.
    """
    featurizer = index_featurizer({"kind": fingerprint, **(params or {})})
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise ValueError(f"{out} already exists; remove it or pass overwrite")
    if out.exists() and not _is_index(out):
        raise ValueError(f"{out} exists and is not a fingerprint index; overwrite replaces only an index")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (work / "scratch").mkdir()
        options = {"n_jobs": n_jobs, "chunk_size": int(chunk_size), "smiles_column": smiles_column,
                   "id_column": id_column, "progress": progress}
        n_rows, n, invalid = _stream(Path(library), featurizer, work, options)
        _finish(work, featurizer, Path(library), n_rows, n, invalid, int(chunk_size))
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
