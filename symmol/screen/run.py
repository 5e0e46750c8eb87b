"""The screening coordinator: streaming, parallel, resumable, constant memory.

The library is read in chunks of ``chunk_size`` rows (chunk ``i`` always holds rows
``i*chunk_size …``). Each chunk is scored by an executor — this process, local worker
processes, or a Dask cluster — into its encoded part of the output. The coordinator keeps at
most ``2 × workers`` chunks in flight, so memory depends on the chunk size, not the library.

Resumability. All state lives in ``<OUT>.work/``: one file per finished chunk under
``parts/`` and ``manifest.json`` listing the finished chunks, their counts and the running
top-K file. A chunk is committed by (1) renaming its part file into place, (2) writing the new
top-K file, (3) atomically replacing the manifest; a run killed at any instant (even
``kill -9``) therefore leaves a manifest that names only complete parts and the top-K they
produced. ``resume=True`` skips the chunks the manifest names. The output is assembled from
the parts in chunk order only at the end, so an interrupted-and-resumed run, a parallel run
and a Dask run write the same bytes as a plain serial run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from symmol.chem.io import DEFAULT_CHUNK_SIZE, iter_molecules
from symmol.pipeline import init_worker
from symmol.screen.worker import ChunkResult, ModelBundle, encode, run_chunk, scorer_for

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "symmol-screen-manifest"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ScreenSummary:
    """Counts and timing of a screening run.

    ``valid`` counts rows RDKit parsed (``status == "ok"``); ``filtered`` those of them that
    failed a filter; ``resumed_chunks`` the chunks taken from an interrupted run.
    """

    rows: int
    valid: int
    invalid: int
    filtered: int
    seconds: float
    output: Path
    top_output: Path | None
    resumed_chunks: int = 0

    @property
    def rate(self) -> float:
        """Rows per second, end to end (including resumed rows)."""
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


def output_format(path: str | Path) -> str:
    """``"csv"``, ``"csv.gz"`` or ``"parquet"`` from the output file name; ``ValueError`` otherwise."""
    name = Path(path).name.lower()
    for suffix, fmt in ((".csv.gz", "csv.gz"), (".csv", "csv"), (".parquet", "parquet")):
        if name.endswith(suffix):
            return fmt
    raise ValueError(f"{path}: results must be written to .csv, .csv.gz or .parquet")


def top_path(output: str | Path) -> Path:
    """``results.csv[.gz]`` / ``results.parquet`` → ``results.top.csv``."""
    output = Path(output)
    name = output.name
    for suffix in (".csv.gz", ".csv", ".parquet"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return output.with_name(name + ".top.csv")


def work_dir(output: str | Path) -> Path:
    """Where a run keeps its parts and manifest until the output is assembled."""
    output = Path(output)
    return output.with_name(output.name + ".work")


def count_records(path: str | Path) -> int | None:
    """Approximate number of rows of a molecule file, for the progress bar's ETA (``None`` if unknown)."""
    import gzip

    path = Path(path)
    name = path.name.lower()
    opener = gzip.open if name.endswith(".gz") else open
    marker = b"$$$$" if name.removesuffix(".gz").endswith(".sdf") else b"\n"
    count, last = 0, b"\n"
    try:
        with opener(path, "rb") as handle:
            while block := handle.read(1 << 22):
                count += block.count(marker)
                last = block[-1:]
    except OSError:
        return None
    if marker == b"\n":
        count += last != b"\n"
        if name.removesuffix(".gz").endswith(".csv"):
            count -= 1  # header
    return max(count, 0)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class _RunState:
    """The work directory of one screen: part files, running top K and the manifest."""

    def __init__(self, directory: Path, key: dict, top_k: int, resume: bool):
        self.directory = directory
        self.parts = directory / "parts"
        self.key = key
        self.top_k = top_k
        self.chunks: dict[int, list[int]] = {}
        self.top: pd.DataFrame | None = None
        self.generation = 0
        if directory.exists() and not resume:
            shutil.rmtree(directory)
        if resume and (directory / MANIFEST).is_file():
            self._load()
        self.parts.mkdir(parents=True, exist_ok=True)
        self._remove_strays()

    def _load(self) -> None:
        path = self.directory / MANIFEST
        try:
            manifest = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: corrupt manifest ({exc}); delete {self.directory} to start over") from None
        if manifest.get("format") != MANIFEST_FORMAT or manifest.get("version") != MANIFEST_VERSION:
            raise ValueError(f"{path}: not a symmol screen manifest of version {MANIFEST_VERSION}")
        if manifest["key"] != self.key:
            changed = sorted(k for k in set(manifest["key"]) | set(self.key)
                             if manifest["key"].get(k) != self.key.get(k))
            raise ValueError(
                f"cannot resume: {', '.join(changed)} differ from the interrupted run in {self.directory}; "
                "run without --resume to start over"
            )
        self.chunks = {int(k): v for k, v in manifest["chunks"].items()}
        self.generation = int(manifest["generation"])
        if manifest["top"]:
            self.top = pd.read_parquet(self.directory / manifest["top"])
        missing = [i for i in self.chunks if not self._part(i).is_file()]
        if missing:
            raise ValueError(f"{self.directory}: parts of finished chunks {missing[:5]} are missing; "
                             "run without --resume to start over")

    def _remove_strays(self) -> None:
        keep = {self._part(i).name for i in self.chunks}
        for path in self.parts.iterdir():
            if path.name not in keep:
                path.unlink()
        current = self._top_name()
        for path in self.directory.glob("top-*.parquet*"):
            if path.name != current:
                path.unlink()

    def _part(self, index: int) -> Path:
        return self.parts / f"{index:09d}.part"

    def _top_name(self) -> str | None:
        return f"top-{self.generation:09d}.parquet" if self.top is not None else None

    def commit(self, result: ChunkResult, rank_column: str) -> None:
        """Make one finished chunk durable (see the module docstring for the order)."""
        _atomic_write(self._part(result.index), result.payload)
        old_top = self._top_name()
        self.generation += 1
        if self.top_k > 0:
            parts = [t for t in (self.top, result.top) if t is not None and len(t)]
            pool = pd.concat(parts, ignore_index=True) if parts else result.top
            self.top = pool.sort_values([rank_column, "row"], ascending=[False, True], kind="stable") \
                .head(self.top_k).reset_index(drop=True)
            tmp = self.directory / (self._top_name() + ".tmp")
            self.top.to_parquet(tmp, index=False)
            os.replace(tmp, self.directory / self._top_name())
        self.chunks[result.index] = [result.rows, result.valid, result.filtered]
        manifest = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION, "key": self.key,
                    "generation": self.generation, "top": self._top_name(),
                    "chunks": {str(i): v for i, v in sorted(self.chunks.items())}}
        _atomic_write(self.directory / MANIFEST, json.dumps(manifest).encode())
        if old_top and old_top != self._top_name():
            (self.directory / old_top).unlink(missing_ok=True)

    def assemble(self, output: Path, fmt: str, n_chunks: int) -> None:
        """Write the output from the parts, in chunk order, then remove the work directory."""
        absent = [i for i in range(n_chunks) if i not in self.chunks]
        if absent:
            raise RuntimeError(f"chunks {absent[:5]} were not scored; the output was not written")
        tmp = output.with_name(output.name + ".tmp")
        if fmt == "parquet":
            import pyarrow.parquet as pq

            writer = None
            for i in range(n_chunks):
                table = pq.read_table(self._part(i))
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            writer.close()
        else:
            with open(tmp, "wb") as out:
                for i in range(n_chunks):
                    with open(self._part(i), "rb") as part:
                        shutil.copyfileobj(part, out, 1 << 22)
        os.replace(tmp, output)
        shutil.rmtree(self.directory)


class _SerialExecutor:
    """Scores chunks in this process (``n_jobs=1``)."""

    workers = 1

    def __init__(self, bundle: ModelBundle):
        self.bundle = bundle

    def submit(self, index: int, chunk: pd.DataFrame, fmt: str, top_k: int) -> Future:
        future: Future = Future()
        try:
            future.set_result(run_chunk(self.bundle, index, chunk, fmt, top_k))
        except Exception as exc:  # raised by _commit_finished, after the chunks finished before it
            future.set_exception(exc)
        return future

    def wait_first(self, pending: set) -> tuple[set, set]:
        return set(pending), set()

    def close(self) -> None:
        pass


class _LocalExecutor(_SerialExecutor):
    """A pool of worker processes on this machine, each loading the models once."""

    def __init__(self, bundle: ModelBundle, n_jobs: int):
        import multiprocessing

        super().__init__(bundle)
        self.workers = n_jobs
        # "spawn": fork after Numba/OpenMP threads exist is unsafe.
        self.pool = ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=init_worker)

    def submit(self, index: int, chunk: pd.DataFrame, fmt: str, top_k: int) -> Future:
        return self.pool.submit(run_chunk, self.bundle, index, chunk, fmt, top_k)

    def wait_first(self, pending: set) -> tuple[set, set]:
        done, rest = wait_futures(pending, return_when=FIRST_COMPLETED)
        return done, rest

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _ThreadExecutor(_LocalExecutor):
    """Threads of this process: one chunk is scored at a time (its Numba kernels use every core),
    while the previous chunk's ranking, CSV/Parquet encoding and compression (which release the
    GIL) overlap it. No worker processes start, so nothing is imported or compiled twice."""

    def __init__(self, bundle: ModelBundle, n_jobs: int):  # deliberately not the process pool
        _SerialExecutor.__init__(self, bundle)
        self.workers = n_jobs
        self.pool = ThreadPoolExecutor(n_jobs, thread_name_prefix="symmol-screen")


class _DaskExecutor(_SerialExecutor):
    """Chunks as tasks on a ``dask.distributed`` cluster; the bundle is broadcast once."""

    def __init__(self, bundle: ModelBundle, address: str):
        try:
            from distributed import Client
        except ImportError:
            raise RuntimeError("--scheduler needs dask.distributed: pip install 'symmol[dask]'") from None
        super().__init__(bundle)
        self.client = Client(address, set_as_default=False)
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))
        self.bundle_future = self.client.scatter(bundle, broadcast=True, hash=False)

    def submit(self, index: int, chunk: pd.DataFrame, fmt: str, top_k: int):
        return self.client.submit(run_chunk, self.bundle_future, index, chunk, fmt, top_k,
                                  key=f"symmol-screen-{self.bundle.digest[:12]}-{index}", pure=False)

    def wait_first(self, pending: set) -> tuple[set, set]:
        while True:  # poll: distributed.wait would need this client to be the global default
            done = {future for future in pending if future.done()}
            if done:
                return done, pending - done
            time.sleep(0.005)

    def close(self) -> None:
        self.client.close()


#: Looks like a ``dask.distributed`` address: ``protocol://...`` or ``host:port`` (IPv6 in brackets).
_SCHEDULER_ADDRESS = re.compile(r"^([a-z][a-z0-9+.-]*://\S+|\S+:\d+)$")


def _check_scheduler(scheduler: str) -> None:
    if scheduler not in ("local", "threads") and not _SCHEDULER_ADDRESS.match(scheduler):
        raise ValueError(f"scheduler {scheduler!r}: expected 'local', 'threads' or the address of a "
                         "dask.distributed scheduler, such as tcp://HOST:8786")


def _executor(bundle: ModelBundle, n_jobs: int, scheduler: str):
    if scheduler not in ("local", "threads"):
        return _DaskExecutor(bundle, scheduler)
    if n_jobs == 1:
        return _SerialExecutor(bundle)
    if scheduler == "threads":
        return _ThreadExecutor(bundle, n_jobs)
    return _LocalExecutor(bundle, n_jobs)


def _library_key(library: Path) -> dict:
    stat = library.stat()
    return {"library": str(library.resolve()), "library_bytes": stat.st_size, "library_mtime_ns": stat.st_mtime_ns}


def screen_library(models, library: str | Path, output: str | Path, top_k: int = 0,
                   smiles_column: str | None = None, id_column: str | None = None,
                   chunk_size: int = DEFAULT_CHUNK_SIZE, n_jobs: int = 1, scheduler: str = "local",
                   resume: bool = False, filters: Iterable[str] = (), applicability_domain: bool = False,
                   backend: str = "numba", progress: bool = True) -> ScreenSummary:
    """Score every row of ``library`` and write one output row per input row, in input order.

    Parameters
    ----------
    models
        A model directory, or a list of them, or ``(name, directory)`` pairs (names label the
        score columns when there are several; default: the directory names).
    library
        ``.csv``, ``.smi`` or ``.sdf`` file, optionally gzipped.
    output
        ``.csv``, ``.csv.gz`` or ``.parquet``: ``row``, [``id``], ``smiles``, score columns
        (see :class:`~symmol.screen.scoring.ScreenScorer`), [``ad``], [``filters``],
        ``status`` (``ok``/``invalid``), ``error``.
    top_k
        If > 0, also write the ``top_k`` best rankable rows (valid, passing the filters),
        ranked by the first target's (consensus) score, to :func:`top_path` ``(output)``.
    chunk_size
        Rows per chunk; memory is proportional to ``chunk_size × workers``. Part of the run's
        identity: resume with the same value.
    n_jobs
        Local worker processes, or threads with ``scheduler="threads"`` (``1``: score in this
        process). Ignored with a Dask scheduler.
    scheduler
        ``"local"`` (worker processes), ``"threads"`` (threads of this process: no start-up cost
        for new processes; the fastest choice for a library of a few 100,000 molecules on a small
        machine, ``bench/results/screen.md``) or the address of a ``dask.distributed`` scheduler
        (``tcp://host:port``).
    resume
        Continue the interrupted run of the same output, library, models and options.
    filters
        Filter rule names or SMARTS (:mod:`symmol.screen.filters`).
    applicability_domain
        Add ``ad``: max Tanimoto to the first model's training set.

    Returns
    -------
    ScreenSummary

    Raises
    ------
    ValueError
        Unknown output format, bad options, or a resume that does not match the interrupted run.
    FileNotFoundError
        Missing library or model directory.
    """
    start = time.perf_counter()
    output, library = Path(output), Path(library)
    fmt = output_format(output)
    if chunk_size < 1 or n_jobs < 1 or top_k < 0:
        raise ValueError(f"chunk_size and n_jobs must be >= 1 and top_k >= 0 (got {chunk_size}, {n_jobs}, {top_k})")
    if not library.is_file():
        raise FileNotFoundError(f"{library}: no such file")
    _check_scheduler(scheduler)
    bundle = ModelBundle.from_directories(_named(models), tuple(filters), applicability_domain, backend)
    rank_column = scorer_for(bundle).rank_column  # loads and validates every model before any work starts
    key = {**_library_key(library), "models": bundle.digest, "chunk_size": chunk_size, "format": fmt,
           "smiles_column": smiles_column, "id_column": id_column, "top_k": top_k, "backend": backend}
    output.parent.mkdir(parents=True, exist_ok=True)
    state = _RunState(work_dir(output), key, top_k, resume)
    resumed = len(state.chunks)
    executor = _executor(bundle, n_jobs, scheduler)
    n_chunks = 0
    bar = tqdm(desc="screen", unit="mol", total=count_records(library) if progress else None, disable=not progress,
               smoothing=0.1)
    try:
        pending: set = set()
        for index, chunk in enumerate(iter_molecules(library, smiles_column, id_column, chunk_size)):
            n_chunks = index + 1
            if index in state.chunks:
                bar.update(state.chunks[index][0])
                continue
            pending.add(executor.submit(index, chunk, fmt, top_k))
            while len(pending) >= 2 * executor.workers:
                pending = _commit_finished(executor, pending, state, rank_column, bar)
        while pending:
            pending = _commit_finished(executor, pending, state, rank_column, bar)
    finally:
        executor.close()
        bar.close()
    state.assemble(output, fmt, n_chunks)
    rows, valid, filtered = (sum(c[i] for c in state.chunks.values()) for i in range(3))
    top_output = None
    if top_k > 0:
        top_output = top_path(output)
        best = state.top if state.top is not None else pd.DataFrame(columns=["row", "smiles", rank_column])
        _atomic_write(top_output, encode(best, "csv", header=True))
    return ScreenSummary(rows, valid, rows - valid, filtered, time.perf_counter() - start, output, top_output,
                         resumed)


def _commit_finished(executor, pending: set, state: _RunState, rank_column: str, bar) -> set:
    done, rest = executor.wait_first(pending)
    failed = [future for future in done if future.cancelled() or future.exception() is not None]
    for future in sorted(set(done) - set(failed), key=lambda f: f.result().index):
        result = future.result()  # finished chunks are made durable before any failure is raised
        state.commit(result, rank_column)
        bar.update(result.rows)
    if failed:
        if failed[0].cancelled():
            raise RuntimeError("a chunk was cancelled before it was scored; run again with --resume")
        raise failed[0].exception()
    return rest


def _named(models) -> list[tuple[str, Path]]:
    if isinstance(models, (str, Path)):
        models = [models]
    named = []
    for entry in models:
        name, directory = (entry if isinstance(entry, tuple) else (Path(entry).name, entry))
        named.append((str(name), Path(directory)))
    names = [n for n, _ in named]
    if len(set(names)) != len(names):
        warnings.warn(f"model names {names} repeat; numbering them", stacklevel=3)
        named = [(f"{n}{i}", d) for i, (n, d) in enumerate(named)]
    return named
