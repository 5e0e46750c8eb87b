"""Where chunks are scored: in this process, in a pool (worker processes or threads), or on Dask.

Each executor takes chunks (:meth:`submit`) and hands back finished ones (:meth:`wait_first`); the
coordinator (:mod:`symmol.screen.coordinator`) keeps at most ``2 × workers`` chunks in flight.
"""

from __future__ import annotations

import multiprocessing
import re
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import Any

import pandas as pd

from symmol.featurizers.pipeline import init_worker
from symmol.screen.worker import ModelBundle, run_chunk

__all__ = ["DaskExecutor", "PoolExecutor", "SerialExecutor", "check_scheduler", "make_executor"]

#: Looks like a ``dask.distributed`` address: ``protocol://...`` or ``host:port`` (IPv6 in brackets).
_SCHEDULER_ADDRESS = re.compile(r"^([a-z][a-z0-9+.-]*://\S+|\S+:\d+)$")


class SerialExecutor:
    """Scores chunks in this process, one at a time (``n_jobs=1``)."""

    workers = 1

    def __init__(self, bundle: ModelBundle):
        self.bundle = bundle

    def submit(self, index: int, chunk: pd.DataFrame, fmt: str, top_k: int) -> Any:
        """Score chunk ``index``; returns a finished future (the error, if any, is raised on ``result()``)."""
        future: Future = Future()
        try:
            future.set_result(run_chunk(self.bundle, index, chunk, fmt, top_k))
        except Exception as exc:  # raised by the coordinator, after the chunks finished before it are committed
            future.set_exception(exc)
        return future

    def wait_first(self, pending: set) -> tuple[set, set]:
        """Return the finished futures among ``pending`` (at least one) and the others."""
        return set(pending), set()

    def close(self) -> None:
        """Release the workers."""


class PoolExecutor(SerialExecutor):
    """A ``concurrent.futures`` pool on this machine: worker processes or threads of this process.

    Worker processes each load and compile the models once.

    With threads, one chunk is scored at a time (its Numba kernels use every core, under the
    scorer's lock) while the previous chunk's ranking, CSV/Parquet encoding and compression (which
    release the GIL) overlap it; no worker processes start, so nothing is imported or compiled twice.
    """

    def __init__(self, bundle: ModelBundle, pool: Executor, workers: int):
        super().__init__(bundle)
        self.pool = pool
        self.workers = workers

    @classmethod
    def processes(cls, bundle: ModelBundle, n_jobs: int) -> PoolExecutor:
        """``n_jobs`` worker processes, started by ``spawn`` (forking after Numba/OpenMP threads exist is unsafe)."""
        pool = ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker)
        return cls(bundle, pool, n_jobs)

    @classmethod
    def threads(cls, bundle: ModelBundle, n_jobs: int) -> PoolExecutor:
        """``n_jobs`` threads of this process."""
        return cls(bundle, ThreadPoolExecutor(n_jobs, thread_name_prefix="symmol-screen"), n_jobs)

    def submit(self, index: int, chunk: pd.DataFrame, fmt: str, top_k: int) -> Any:
        """Queue chunk ``index`` on the pool."""
        return self.pool.submit(run_chunk, self.bundle, index, chunk, fmt, top_k)

    def wait_first(self, pending: set) -> tuple[set, set]:
        """Block until at least one of ``pending`` finishes."""
        done, rest = wait_futures(pending, return_when=FIRST_COMPLETED)
        return done, rest

    def close(self) -> None:
        """Cancel queued chunks and stop the pool."""
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(SerialExecutor):
    """Chunks as tasks on a ``dask.distributed`` cluster; the bundle is broadcast once."""

    def __init__(self, bundle: ModelBundle, address: str):
        try:
            from distributed import Client  # optional dependency (the ``dask`` extra)
        except ImportError:
            raise RuntimeError("--scheduler needs dask.distributed: pip install 'symmol[dask]'") from None
        super().__init__(bundle)
        self.client = Client(address, set_as_default=False)
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))
        self.bundle_future = self.client.scatter(bundle, broadcast=True, hash=False)

    def submit(self, index: int, chunk: pd.DataFrame, fmt: str, top_k: int) -> Any:
        """Send chunk ``index`` to the cluster."""
        return self.client.submit(run_chunk, self.bundle_future, index, chunk, fmt, top_k,
                                  key=f"symmol-screen-{self.bundle.digest[:12]}-{index}", pure=False)

    def wait_first(self, pending: set) -> tuple[set, set]:
        """Poll until at least one of ``pending`` finishes (``distributed.wait`` needs the global client)."""
        while True:
            done = {future for future in pending if future.done()}
            if done:
                return done, pending - done
            time.sleep(0.005)

    def close(self) -> None:
        """Disconnect from the cluster."""
        self.client.close()


def check_scheduler(scheduler: str) -> None:
    """``ValueError`` unless ``scheduler`` is ``local``, ``threads`` or a Dask scheduler address."""
    if scheduler not in ("local", "threads") and not _SCHEDULER_ADDRESS.match(scheduler):
        raise ValueError(f"scheduler {scheduler!r}: expected 'local', 'threads' or the address of a "
                         "dask.distributed scheduler, such as tcp://HOST:8786")


def make_executor(bundle: ModelBundle, n_jobs: int, scheduler: str) -> SerialExecutor:
    """Return the executor for ``scheduler`` (``local``: processes, ``threads``, or a Dask address) and ``n_jobs``."""
    check_scheduler(scheduler)
    if scheduler not in ("local", "threads"):
        return DaskExecutor(bundle, scheduler)
    if n_jobs == 1:
        return SerialExecutor(bundle)
    if scheduler == "threads":
        return PoolExecutor.threads(bundle, n_jobs)
    return PoolExecutor.processes(bundle, n_jobs)
