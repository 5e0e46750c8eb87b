"""The screening coordinator: streaming, parallel, resumable, constant memory.

The library is read in chunks of ``chunk_size`` rows (chunk ``i`` always holds rows
``i*chunk_size …``), with the columns the models' inputs read. Each chunk is scored by an executor
(:mod:`symmol.screen.executors`: this process, a pool of worker processes or threads, or a Dask
cluster) into its encoded part of the output (:mod:`symmol.screen.worker`). At most
``2 × workers`` chunks are in flight, so memory depends on the chunk size, not the library. Every
finished chunk is committed to the resumable state (:mod:`symmol.screen.state`) before the next
failure, if any, is raised; the output is assembled from the parts at the end.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from symmol.chem.io import DEFAULT_CHUNK_SIZE, Lookup, iter_molecules
from symmol.models.base import CompiledModel
from symmol.provenance import atomic_write_bytes
from symmol.screen.executors import check_scheduler, make_executor
from symmol.screen.scoring import UncertaintyRequest
from symmol.screen.state import RunState, chunk_digest, work_dir
from symmol.screen.worker import ModelBundle, encode, scorer_for

__all__ = ["ScreenSummary", "count_records", "output_format", "screen_library", "top_path"]


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




def screen_library(models: Any, library: str | Path, output: str | Path, top_k: int = 0,
                   smiles_column: str | None = None, id_column: str | None = None,
                   chunk_size: int = DEFAULT_CHUNK_SIZE, n_jobs: int = 1, scheduler: str = "local",
                   resume: bool = False, filters: Iterable[str] = (), applicability_domain: bool = False,
                   backend: str = "numba", progress: bool = True,
                   uncertainty: UncertaintyRequest | None = None,
                   fixed_inputs: Mapping[str, str] | None = None, lookups: Sequence[Lookup] = ()) -> ScreenSummary:
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
        ``status`` (``ok``/``invalid``), ``error`` [, ``note``: what a length-capped input cut, with a
        model that has one].
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
    fixed_inputs
        Model input name → one value for every row, e.g. ``{"protein": sequence}`` to rank a
        library against one target with a drug–target model, or ``{"cell_line": "906826"}`` with a
        drug-response model; the library then needs only the molecules.
    lookups
        Tables joined onto each row of a CSV library by an id column (:class:`~symmol.chem.io.Lookup`):
        the ligands or proteins of a pairs file kept apart from it. Part of the run's identity.
    uncertainty
        The spread estimator, stored calibration and coverage of the uncertainty columns
        (``<target>_std``, ``_lower``, ``_upper``, ``_set``); default: each model's own spread, uncalibrated.

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
    check_scheduler(scheduler)
    bundle = ModelBundle.from_directories(_named(models), tuple(filters), applicability_domain, backend, uncertainty)
    scorer = scorer_for(bundle)  # loads and validates every model before any work starts
    fixed = fixed_columns(scorer.models, fixed_inputs or {})
    key = {"library": str(library.resolve()), "models": bundle.digest, "chunk_size": chunk_size, "format": fmt,
           "smiles_column": smiles_column, "id_column": id_column, "top_k": top_k, "backend": backend}
    if fixed:
        key["fixed_inputs"] = fixed
    if lookups:
        key["lookups"] = [[str(Path(lookup.path).resolve()), lookup.key] for lookup in lookups]
    output.parent.mkdir(parents=True, exist_ok=True)
    state = RunState(work_dir(output), key, top_k, resume)
    resumed = len(state.chunks)
    read = [c for c in scorer.input_columns if c not in fixed]
    chunks: Iterable[pd.DataFrame] = iter_molecules(library, smiles_column, id_column, chunk_size, columns=read,
                                                    lookups=lookups)
    if fixed:
        chunks = (chunk.assign(**fixed) for chunk in chunks)
    n_chunks = _run(chunks, make_executor(bundle, n_jobs, scheduler), state, scorer.rank_column, fmt, top_k,
                    count_records(library) if progress else None, progress)
    state.assemble(output, fmt, n_chunks)
    rows, valid, filtered = (sum(c[i] for c in state.chunks.values()) for i in range(3))
    top_output = None
    if top_k > 0:
        top_output = top_path(output)
        best = state.top if state.top is not None else pd.DataFrame(columns=["row", "smiles", scorer.rank_column])
        atomic_write_bytes(top_output, encode(best, "csv", header=True))
    return ScreenSummary(rows, valid, rows - valid, filtered, time.perf_counter() - start, output, top_output,
                         resumed)


def fixed_columns(models: Sequence[tuple[str, CompiledModel]], fixed_inputs: Mapping[str, str]) -> dict[str, str]:
    """Map input names with one value for every row to the library columns the models read them from.

    Raises
    ------
    ValueError
        If no model has an input of a given name (naming the inputs they have).
    """
    columns: dict[str, str] = {}
    for name, value in fixed_inputs.items():
        found = {i.column for _, model in models for i in model.inputs if i.name == name}
        if not found:
            have = sorted({i.name for _, model in models for i in model.inputs})
            raise ValueError(f"no model reads a {name!r} input (the models' inputs: {', '.join(have)})")
        columns.update(dict.fromkeys(found, value))
    return columns


def _run(chunks: Iterable[pd.DataFrame], executor: Any, state: RunState, rank_column: str, fmt: str, top_k: int,
         total: int | None, progress: bool) -> int:
    """Score every chunk not in ``state`` with ``executor``; returns the number of chunks.

    Whatever ends the run early (a failing chunk, the reader's error on a damaged library, Ctrl-C), the
    chunks already submitted are waited for and the finished ones committed before it is raised.
    """
    n_chunks = 0
    digests: dict[int, str] = {}
    pending: set = set()
    bar = tqdm(desc="screen", unit="mol", total=total, disable=not progress, smoothing=0.1)
    try:
        for index, chunk in enumerate(chunks):
            n_chunks = index + 1
            digests[index] = chunk_digest(chunk)
            if index in state.chunks:
                state.check_input(index, digests[index])
                bar.update(state.chunks[index][0])
                continue
            pending.add(executor.submit(index, chunk, fmt, top_k))
            while len(pending) >= 2 * executor.workers:
                pending = _commit_finished(executor, pending, state, rank_column, bar, digests)
        while pending:
            pending = _commit_finished(executor, pending, state, rank_column, bar, digests)
    except BaseException:
        _drain(executor, pending, state, rank_column, digests)
        raise
    finally:
        executor.close()
        bar.close()
    return n_chunks


def _drain(executor: Any, pending: set, state: RunState, rank_column: str, digests: dict[int, str]) -> None:
    """Wait for the chunks in flight and commit the ones that finish (their failures are not raised again)."""
    try:
        while pending:
            done, pending = executor.wait_first(pending)
            for future in done:
                if future.cancelled() or future.exception() is not None:
                    continue
                result = future.result()
                if result.index not in state.chunks:
                    state.commit(result, rank_column, digests[result.index])
    except (Exception, KeyboardInterrupt):  # a second interruption or a broken pool: keep what is committed
        return


def _commit_finished(executor: Any, pending: set, state: RunState, rank_column: str, bar: Any,
                     digests: dict[int, str]) -> set:
    done, rest = executor.wait_first(pending)
    failed = [future for future in done if future.cancelled() or future.exception() is not None]
    for future in sorted(set(done) - set(failed), key=lambda f: f.result().index):
        result = future.result()  # finished chunks are made durable before any failure is raised
        state.commit(result, rank_column, digests[result.index])
        bar.update(result.rows)
    if failed:
        if failed[0].cancelled():
            raise RuntimeError("a chunk was cancelled before it was scored; run again with --resume")
        raise failed[0].exception()
    return rest


def _named(models: Any) -> list[tuple[str, Path]]:
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
