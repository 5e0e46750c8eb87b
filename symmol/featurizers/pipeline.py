"""Text → arrays at scale: SMILES chunks featurized across worker processes, input order kept.

RDKit molecules do not pickle, so workers receive SMILES strings and return arrays:

* ``output="csr"``: a :class:`~symmol.fingerprints.FingerprintBatch` (model input);
* ``output="packed"``: ``(n_rows, ceil(fp_size / 64))`` uint64 words (similarity), packed in
  the worker, so the CSR arrays never cross the process boundary;
* ``output="dense"``: the ``(n_rows, n_features)`` float32 matrix of a descriptor featurizer
  (``rdkit2d``), which has no other form.

Every chunk comes back with one error string per row (``""`` when valid, else RDKit's
reason, see :mod:`symmol.chem.parse`); invalid rows are empty (CSR), all-zero (packed) or
NaN (dense) rows, never dropped. Molecules are parsed with the fast path when the featurizer
kind is proven identical under it (:data:`symmol.chem.parse.FAST_PARSE_KINDS`, ECFP without
chirality), else with full ``MolFromSmiles`` sanitization.

Parallelism is a pool of worker processes started through a ``forkserver`` (fork-safe even
when the parent already runs Numba threads; RDKit and the Numba kernels are imported once in
the server and the on-disk Numba cache makes workers start warm). Each worker runs Numba
single-threaded. At most ``2 * n_jobs`` chunks are in flight, so memory is bounded by the
chunk size, not the library size. Threads (``backend="threads"``) are offered for
comparison: RDKit's SMILES parser holds the GIL, so they do not scale
(``bench/featurize.py`` measures both).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from symmol.chem.io import DEFAULT_CHUNK_SIZE, iter_molecules, row_errors
from symmol.chem.parse import FAST_PARSE_KINDS, ParseMode
from symmol.featurize import FeaturizedDescriptors, featurizer_from_dict
from symmol.fingerprints import FingerprintBatch

__all__ = ["FeaturizedChunk", "featurize_chunks", "featurize_file", "featurize_smiles", "parse_mode_for"]

Output = Literal["csr", "packed", "dense"]
Backend = Literal["processes", "threads"]


@dataclass(frozen=True)
class FeaturizedChunk:
    """Features of one chunk of input rows.

    Attributes
    ----------
    rows : (n_rows,) int64
        0-based input positions of the rows (the reader's ``row`` column).
    features
        :class:`FingerprintBatch` (``output="csr"``), ``(n_rows, n_words)`` uint64
        (``"packed"``) or ``(n_rows, n_features)`` float32 (``"dense"``).
    errors
        One per row: ``""`` when valid, else why the row was rejected.
    source : pandas.DataFrame or None
        The input chunk itself (``row``, ``smiles``, optional ``id``...), for callers that
        write them next to the features (screening, invalid-row reports).
    """

    rows: np.ndarray
    features: FingerprintBatch | np.ndarray
    errors: list[str]
    source: pd.DataFrame | None = None

    @property
    def valid(self) -> np.ndarray:
        """(n_rows,) bool: rows holding a real molecule."""
        return np.fromiter((not e for e in self.errors), dtype=bool, count=len(self.errors))


def parse_mode_for(spec: dict) -> ParseMode:
    """``"fast"`` for a featurizer spec proven identical under the fast parse path, else ``"full"``.

    Parameters
    ----------
    spec
        A featurizer's ``to_dict()``.
    """
    fast = (spec.get("kind") in FAST_PARSE_KINDS and not spec.get("features", False)
            and not spec.get("chirality", False))
    return "fast" if fast else "full"


# --------------------------------------------------------------------------
# the work done on one chunk (in a worker or in-process)
# --------------------------------------------------------------------------
_FEATURIZERS: dict[tuple, object] = {}


def _featurizer(spec: dict):
    key = tuple(sorted(spec.items()))
    featurizer = _FEATURIZERS.get(key)
    if featurizer is None:
        featurizer = _FEATURIZERS[key] = featurizer_from_dict(spec)
    return featurizer


#: Molecules alive at once inside one worker (RDKit molecules take a few kB each).
_SUB_BATCH = 2048


def _work(spec: dict, smiles: list[str], output: Output, mode: ParseMode) -> tuple:
    """Parse and featurize one chunk; returns plain arrays (cheap to send between processes).

    The chunk is handled :data:`_SUB_BATCH` molecules at a time, so a worker never holds more
    RDKit molecules than that whatever the chunk size.
    """
    featurizer = _featurizer(spec)
    parts, errors = [], []
    for lo in range(0, max(len(smiles), 1), _SUB_BATCH):
        featurized = featurizer.from_smiles(smiles[lo:lo + _SUB_BATCH], parse_mode=mode)
        features = featurized.values if isinstance(featurized, FeaturizedDescriptors) else featurized.fingerprints
        errors += featurized.errors
        if (output == "dense") == isinstance(features, FingerprintBatch):
            raise ValueError(f"featurizer {spec.get('kind')!r} gives "
                             + ("fingerprints: use output='csr' or 'packed'" if output == "dense"
                                else "a dense matrix: use output='dense'"))
        if output == "dense":
            parts.append(np.asarray(features, dtype=np.float32))
            continue
        parts.append(features.to_packed() if output == "packed" else features)
    if output == "csr":
        batch = parts[0] if len(parts) == 1 else FingerprintBatch.concatenate(parts)
        return (batch.indptr, batch.indices, batch.values, batch.fp_size), errors
    return (parts[0] if len(parts) == 1 else np.concatenate(parts),), errors


def _assemble(result: tuple, output: Output) -> FingerprintBatch | np.ndarray:
    arrays, _ = result
    return FingerprintBatch(*arrays) if output == "csr" else arrays[0]


# --------------------------------------------------------------------------
# pools
# --------------------------------------------------------------------------
def init_worker() -> None:
    """Process-pool initializer: one Numba and one BLAS thread per worker, as the processes are
    the parallelism (used by featurization and screening pools)."""
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(1)
    threadpool_limits(1)


_POOLS: dict[tuple[str, int], Executor] = {}


def _pool(backend: Backend, n_jobs: int) -> Executor:
    """A pool kept for the life of the process (workers stay warm between calls)."""
    key = (backend, n_jobs)
    pool = _POOLS.get(key)
    if pool is None:
        for other in [k for k in _POOLS if k[0] == backend]:  # one pool per backend at a time
            _POOLS.pop(other).shutdown(wait=True)
        if backend == "threads":
            pool = ThreadPoolExecutor(max_workers=n_jobs)
        else:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["symmol.pipeline"])
            pool = ProcessPoolExecutor(max_workers=n_jobs, mp_context=context, initializer=init_worker)
        _POOLS[key] = pool
    return pool


@atexit.register
def _shutdown_pools() -> None:
    while _POOLS:
        _POOLS.popitem()[1].shutdown(wait=True, cancel_futures=True)


def _check_args(n_jobs: int, output: str, backend: str) -> int:
    if output not in ("csr", "packed", "dense"):
        raise ValueError(f"output must be 'csr', 'packed' or 'dense', got {output!r}")
    if backend not in ("processes", "threads"):
        raise ValueError(f"backend must be 'processes' or 'threads', got {backend!r}")
    if not isinstance(n_jobs, int | np.integer) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive int or -1 (all cores), got {n_jobs!r}")
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def featurize_chunks(chunks: Iterable[pd.DataFrame], featurizer, *, n_jobs: int = 1, output: Output = "csr",
                     parse_mode: ParseMode | None = None, backend: Backend = "processes"
                     ) -> Iterator[FeaturizedChunk]:
    """Featurize a stream of molecule chunks, yielding one :class:`FeaturizedChunk` per chunk, in order.

    Parameters
    ----------
    chunks
        DataFrames with ``row`` and ``smiles`` columns (and optionally ``read_error``), e.g.
        from :func:`symmol.chem.io.iter_molecules`. Consumed lazily.
    featurizer
        Any featurizer of :mod:`symmol.featurize` (it must have ``to_dict``/``from_mols``).
    n_jobs
        Worker processes (or threads); ``1`` works in-process, ``-1`` uses every core.
    output
        ``"csr"``, ``"packed"`` or ``"dense"`` (see the module docstring).
    parse_mode
        ``"fast"`` or ``"full"``; default :func:`parse_mode_for` the featurizer.
    backend
        ``"processes"`` (default) or ``"threads"``.

    Yields
    ------
    FeaturizedChunk
        ``rows`` from the chunk, features, and errors (the reader's ``read_error`` first,
        then RDKit's reason).

    Raises
    ------
    ValueError
        On a bad ``n_jobs``/``output``/``backend``/``parse_mode``, or ``output`` not matching
        the featurizer (descriptors need ``"dense"``, fingerprints ``"csr"``/``"packed"``).
    """
    n_jobs = _check_args(n_jobs, output, backend)
    spec = featurizer.to_dict()
    mode = parse_mode_for(spec) if parse_mode is None else parse_mode
    if mode not in ("fast", "full"):
        raise ValueError(f"parse_mode must be 'fast' or 'full', got {mode!r}")

    def finish(chunk: pd.DataFrame, result: tuple) -> FeaturizedChunk:
        return FeaturizedChunk(chunk["row"].to_numpy(dtype=np.int64), _assemble(result, output),
                               row_errors(chunk, result[1]), chunk)

    if n_jobs == 1:
        for chunk in chunks:
            yield finish(chunk, _work(spec, chunk["smiles"].tolist(), output, mode))
        return
    pool = _pool(backend, n_jobs)
    pending: deque = deque()
    for chunk in chunks:
        pending.append((chunk, pool.submit(_work, spec, chunk["smiles"].tolist(), output, mode)))
        if len(pending) >= 2 * n_jobs:
            done_chunk, future = pending.popleft()
            yield finish(done_chunk, future.result())
    while pending:
        done_chunk, future = pending.popleft()
        yield finish(done_chunk, future.result())


def featurize_file(path: str | Path, featurizer, *, n_jobs: int = 1, chunk_size: int = DEFAULT_CHUNK_SIZE,
                   output: Output = "csr", smiles_column: str | None = None, id_column: str | None = None,
                   parse_mode: ParseMode | None = None, backend: Backend = "processes"
                   ) -> Iterator[FeaturizedChunk]:
    """Stream a molecule file (``.csv``/``.smi``/``.sdf``, optionally ``.gz``) through :func:`featurize_chunks`.

    Memory is bounded by ``chunk_size * (2 * n_jobs + 1)`` rows whatever the file size.
    Raises as :func:`symmol.chem.io.iter_molecules` and :func:`featurize_chunks`.
    """
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    chunks = iter_molecules(path, smiles_column, id_column, chunk_size=int(chunk_size))
    yield from featurize_chunks(chunks, featurizer, n_jobs=n_jobs, output=output, parse_mode=parse_mode,
                                backend=backend)


def featurize_smiles(smiles: Sequence[str], featurizer, *, n_jobs: int = 1, chunk_size: int | None = None,
                     output: Output = "csr", parse_mode: ParseMode | None = None, backend: Backend = "processes"
                     ) -> tuple[FingerprintBatch | np.ndarray, list[str]]:
    """Featurize an in-memory sequence of SMILES; rows stay aligned with the input.

    Parameters
    ----------
    smiles
        SMILES strings.
    featurizer, n_jobs, output, parse_mode, backend
        As :func:`featurize_chunks`.
    chunk_size
        Rows per task; default splits the input into about ``4 * n_jobs`` tasks of at most
        10,000 rows.

    Returns
    -------
    (features, errors)
        Features of all rows (as the chunks' ``features``, concatenated) and one error
        string per row (``""`` when valid).
    """
    smiles = [str(s) if s is not None else "" for s in smiles]
    n_jobs_eff = _check_args(n_jobs, output, backend)
    if chunk_size is None:
        chunk_size = min(max(-(-len(smiles) // (4 * n_jobs_eff)), 256), 10_000)
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    step = int(chunk_size)
    chunks = (pd.DataFrame({"row": np.arange(lo, min(lo + step, len(smiles))), "smiles": smiles[lo:lo + step]})
              for lo in range(0, len(smiles), step))
    parts = list(featurize_chunks(chunks, featurizer, n_jobs=n_jobs, output=output, parse_mode=parse_mode,
                                  backend=backend))
    errors = [e for part in parts for e in part.errors]
    if not parts:
        empty = _work(featurizer.to_dict(), [], output, "full")
        return _assemble(empty, output), []
    if output == "csr":
        return FingerprintBatch.concatenate([p.features for p in parts]), errors
    return np.concatenate([p.features for p in parts]), errors
