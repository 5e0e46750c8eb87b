"""Text → features at scale: chunks featurized across worker processes, input order kept.

RDKit molecules do not pickle, so workers receive the input values (SMILES, sequences, profile
columns) and return batches (:mod:`symmol.data`); with ``output="packed"`` fingerprints are packed
into :class:`~symmol.data.fingerprints.PackedFingerprints` in the worker (the similarity format),
so the CSR arrays never cross the process boundary.

Every chunk comes back with one error string per row (``""`` when valid, else why not); invalid
rows keep their place, never dropped. Each featurizer picks its own parse path
(:class:`~symmol.featurizers.base.MoleculeFeaturizer`).

Parallelism is a pool of worker processes started through a ``forkserver`` (fork-safe even when
the parent already runs Numba threads; RDKit and the Numba kernels are imported once in the server
and the on-disk Numba cache makes workers start warm). Each worker runs Numba single-threaded. At
most ``2 * n_jobs`` chunks are in flight, so memory is bounded by the chunk size, not the library
size. Threads (``backend="threads"``) are offered for comparison: RDKit's SMILES parser holds the
GIL, so they do not scale (``bench/featurize.py`` measures both).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numba
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from symmol.chem.io import DEFAULT_CHUNK_SIZE, iter_molecules, row_errors
from symmol.data.batch import Batch, Featurized
from symmol.data.fingerprints import FingerprintBatch
from symmol.featurizers.base import Featurizer
from symmol.featurizers.registry import featurizer_from_dict

__all__ = ["FeaturizedChunk", "featurize_chunks", "featurize_file", "featurize_values", "init_worker"]

Output = Literal["batch", "packed"]
Backend = Literal["processes", "threads"]


@dataclass(frozen=True)
class FeaturizedChunk:
    """Features of one chunk of input rows.

    Attributes
    ----------
    rows : (n_rows,) int64
        0-based input positions of the rows (the reader's ``row`` column).
    features
        The featurizer's batch (``output="batch"``) or :class:`~symmol.data.fingerprints.PackedFingerprints`
        (``output="packed"``).
    errors
        One per row: ``""`` when valid, else why the row was rejected (the reader's reason first).
    source : pandas.DataFrame or None
        The input chunk itself (``row``, ``smiles``, optional ``id``...), for callers that
        write them next to the features (screening, invalid-row reports).
    """

    rows: np.ndarray
    features: Batch
    errors: list[str]
    source: pd.DataFrame | None = None

    @property
    def valid(self) -> np.ndarray:
        """(n_rows,) bool: rows holding real features."""
        return np.fromiter((not e for e in self.errors), dtype=bool, count=len(self.errors))


# --------------------------------------------------------------------------
# the work done on one chunk (in a worker or in-process)
# --------------------------------------------------------------------------
_FEATURIZERS: dict[str, Featurizer] = {}
#: Rows featurized at once inside one worker (RDKit molecules take a few kB each).
_SUB_BATCH = 2048


def _featurizer(spec: dict) -> Featurizer:
    key = repr(sorted(spec.items()))
    featurizer = _FEATURIZERS.get(key)
    if featurizer is None:
        featurizer = _FEATURIZERS[key] = featurizer_from_dict(spec)
    return featurizer


def _rows(values: Any, lo: int, hi: int) -> Any:
    return values.iloc[lo:hi] if isinstance(values, pd.DataFrame) else values[lo:hi]


def _work(spec: dict, values: Any, output: Output) -> tuple[Batch, list[str]]:
    """Featurize one chunk, :data:`_SUB_BATCH` rows at a time.

    So a worker never holds more RDKit molecules than that, whatever the chunk size.
    """
    featurizer = _featurizer(spec)
    if output == "packed" and featurizer.BATCH_TYPE is not FingerprintBatch:
        raise ValueError(f"featurizer {featurizer.kind!r} gives {featurizer.BATCH_TYPE.__name__}, not fingerprints: "
                         "output='packed' needs a fingerprint kind")
    parts: list[Featurized] = [featurizer.featurize(_rows(values, lo, lo + _SUB_BATCH))
                               for lo in range(0, max(len(values), 1), _SUB_BATCH)]
    errors = [e for part in parts for e in part.errors]
    batches = [part.batch.packed() if output == "packed" else part.batch for part in parts]  # type: ignore[attr-defined]
    return (batches[0] if len(batches) == 1 else type(batches[0]).concatenate(batches)), errors


# --------------------------------------------------------------------------
# pools
# --------------------------------------------------------------------------
def exit_with_parent(parent: int) -> None:
    """Poll every second; end this process as soon as its parent is gone (it was re-parented)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def init_worker() -> None:
    """Initialize a pool process (featurization and screening pools).

    One Numba and one BLAS thread per worker, as the processes are the parallelism; and a watcher
    thread that ends the worker within a second of its parent's death, so that a coordinator killed
    without warning (``kill -9``, the OOM killer, a batch scheduler) leaves no worker running
    (``tests/test_screen_signals.py``).
    """
    numba.set_num_threads(1)
    threadpool_limits(1)
    threading.Thread(target=exit_with_parent, args=(os.getppid(),), name="symmol-parent-watch", daemon=True).start()


_POOLS: dict[tuple[str, int], Executor] = {}


def _pool(backend: Backend, n_jobs: int) -> Executor:
    """Return a pool kept for the life of the process (workers stay warm between calls)."""
    key = (backend, n_jobs)
    pool = _POOLS.get(key)
    if pool is None:
        for other in [k for k in _POOLS if k[0] == backend]:  # one pool per backend at a time
            _POOLS.pop(other).shutdown(wait=True)
        if backend == "threads":
            pool = ThreadPoolExecutor(max_workers=n_jobs)
        else:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["symmol.featurizers.pipeline"])
            pool = ProcessPoolExecutor(max_workers=n_jobs, mp_context=context, initializer=init_worker)
        _POOLS[key] = pool
    return pool


@atexit.register
def _shutdown_pools() -> None:
    while _POOLS:
        _POOLS.popitem()[1].shutdown(wait=True, cancel_futures=True)


def _check_args(n_jobs: int, output: str, backend: str) -> int:
    if output not in ("batch", "packed"):
        raise ValueError(f"output must be 'batch' or 'packed', got {output!r}")
    if backend not in ("processes", "threads"):
        raise ValueError(f"backend must be 'processes' or 'threads', got {backend!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive int or -1 (all cores), got {n_jobs!r}")
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def featurize_chunks(chunks: Iterable[pd.DataFrame], featurizer: Featurizer, *, column: str = "smiles",
                     n_jobs: int = 1, output: Output = "batch", backend: Backend = "processes"
                     ) -> Iterator[FeaturizedChunk]:
    """Featurize a stream of table chunks, yielding one :class:`FeaturizedChunk` per chunk, in order.

    Parameters
    ----------
    chunks
        DataFrames with a ``row`` column and the columns the featurizer reads for ``column``
        (optionally ``read_error``), e.g. from :func:`symmol.chem.io.iter_molecules`. Consumed lazily.
    featurizer
        Any registered featurizer (:mod:`symmol.featurizers`).
    column
        The input column the featurizer is bound to (``"smiles"`` for molecules).
    n_jobs
        Worker processes (or threads); ``1`` works in-process, ``-1`` uses every core.
    output
        ``"batch"`` (the featurizer's batch) or ``"packed"`` (bit fingerprints as uint64 words).
    backend
        ``"processes"`` (default) or ``"threads"``.

    Yields
    ------
    FeaturizedChunk
        ``rows`` from the chunk, features, and errors (the reader's ``read_error`` first).

    Raises
    ------
    ValueError
        On a bad ``n_jobs``/``output``/``backend``, or ``output="packed"`` for a featurizer that
        does not give fingerprints.
    """
    n_jobs = _check_args(n_jobs, output, backend)
    spec = featurizer.to_dict()

    def finish(chunk: pd.DataFrame, result: tuple) -> FeaturizedChunk:
        features, errors = result
        return FeaturizedChunk(chunk["row"].to_numpy(dtype=np.int64), features, row_errors(chunk, errors), chunk)

    if n_jobs == 1:
        for chunk in chunks:
            yield finish(chunk, _work(spec, featurizer.select(chunk, column), output))
        return
    pool = _pool(backend, n_jobs)
    pending: deque = deque()
    for chunk in chunks:
        pending.append((chunk, pool.submit(_work, spec, featurizer.select(chunk, column), output)))
        if len(pending) >= 2 * n_jobs:
            done_chunk, future = pending.popleft()
            yield finish(done_chunk, future.result())
    while pending:
        done_chunk, future = pending.popleft()
        yield finish(done_chunk, future.result())


def featurize_file(path: str | Path, featurizer: Featurizer, *, n_jobs: int = 1,
                   chunk_size: int = DEFAULT_CHUNK_SIZE, output: Output = "batch", smiles_column: str | None = None,
                   id_column: str | None = None, backend: Backend = "processes") -> Iterator[FeaturizedChunk]:
    """Stream a molecule file (``.csv``/``.smi``/``.sdf``, optionally ``.gz``) through :func:`featurize_chunks`.

    Memory is bounded by ``chunk_size * (2 * n_jobs + 1)`` rows whatever the file size. Raises as
    :func:`symmol.chem.io.iter_molecules` and :func:`featurize_chunks`.
    """
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    extra = [c for c in featurizer.reads("smiles") if c != "smiles"]
    chunks = iter_molecules(path, smiles_column, id_column, chunk_size=int(chunk_size), columns=extra)
    yield from featurize_chunks(chunks, featurizer, n_jobs=n_jobs, output=output, backend=backend)


def featurize_values(values: Sequence[object], featurizer: Featurizer, *, n_jobs: int = 1,
                     chunk_size: int | None = None, output: Output = "batch", backend: Backend = "processes"
                     ) -> Featurized:
    """Featurize an in-memory sequence (SMILES for molecule featurizers); rows stay aligned with the input.

    Parameters
    ----------
    values
        One entry per row.
    featurizer, n_jobs, output, backend
        As :func:`featurize_chunks`.
    chunk_size
        Rows per task; default splits the input into about ``4 * n_jobs`` tasks of 256 to 10,000 rows.

    Returns
    -------
    Featurized
        The batch of all rows and one error string per row (``""`` when valid).
    """
    values = list(values)
    n_jobs_eff = _check_args(n_jobs, output, backend)
    if chunk_size is None:
        chunk_size = min(max(-(-len(values) // (4 * n_jobs_eff)), 256), 10_000)
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if not values:
        return Featurized(*_work(featurizer.to_dict(), [], output))
    step = int(chunk_size)
    chunks = (pd.DataFrame({"row": np.arange(lo, min(lo + step, len(values))), "value": values[lo:lo + step]})
              for lo in range(0, len(values), step))
    parts = list(featurize_chunks(chunks, featurizer, column="value", n_jobs=n_jobs, output=output, backend=backend))
    batches = [p.features for p in parts]
    batch = batches[0] if len(batches) == 1 else type(batches[0]).concatenate(batches)
    return Featurized(batch, [e for part in parts for e in part.errors])
