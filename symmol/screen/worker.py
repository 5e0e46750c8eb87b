"""What runs where the chunks are scored: in this process, in local worker processes or on Dask workers.

Everything a worker needs travels as one :class:`ModelBundle` (model files as bytes, so workers
need no shared file system) and is loaded and compiled once per worker.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from symmol.models.store import ModelFileError, load_model
from symmol.screen.filters import MoleculeFilters
from symmol.screen.scoring import ScreenScorer, UncertaintyRequest

__all__ = ["ChunkResult", "ModelBundle", "arrow_schema", "encode", "rank_candidates", "run_chunk", "scorer_for"]


@dataclass(frozen=True)
class ModelBundle:
    """The models and options of a screen, in a form that pickles and travels to workers.

    Attributes
    ----------
    models
        ``(name, {file name: bytes})`` for each model directory.
    filters
        Filter names or SMARTS (see :mod:`symmol.screen.filters`).
    applicability_domain
        Whether to add the ``ad`` column.
    uncertainty
        The spread estimator, calibration and coverage of the uncertainty columns.
    backend
        PyTensor backend the workers compile the models with.
    sources
        The model directories the files were read from (for error messages only).
    """

    models: tuple[tuple[str, tuple[tuple[str, bytes], ...]], ...]
    filters: tuple[str, ...] = ()
    applicability_domain: bool = False
    backend: str = "numba"
    sources: tuple[str, ...] = ()
    uncertainty: UncertaintyRequest = UncertaintyRequest()

    @classmethod
    def from_directories(cls, directories: list[tuple[str, Path]], filters: tuple[str, ...] = (),
                         applicability_domain: bool = False, backend: str = "numba",
                         uncertainty: UncertaintyRequest | None = None) -> ModelBundle:
        """Bundle the model files (``.json``, ``.npz``, ``.npy``) of each ``(name, directory)``.

        Raises
        ------
        FileNotFoundError
            If a directory does not exist.
        """
        models = []
        for name, directory in directories:
            directory = Path(directory)
            if not directory.is_dir():
                raise FileNotFoundError(f"{directory}: no such model directory")
            files = tuple((p.name, p.read_bytes()) for p in sorted(directory.iterdir())
                          if p.is_file() and p.suffix in (".json", ".npz", ".npy"))
            models.append((name, files))
        sources = tuple(str(directory) for _, directory in directories)
        return cls(tuple(models), tuple(filters), bool(applicability_domain), backend, sources,
                   uncertainty or UncertaintyRequest())

    @property
    def digest(self) -> str:
        """sha256 over every model file and option: identifies the screen's scoring function."""
        h = hashlib.sha256()
        for name, files in self.models:
            h.update(name.encode() + b"\0")
            for file_name, data in files:
                h.update(file_name.encode() + b"\0" + hashlib.sha256(data).digest())
        h.update(repr((self.filters, self.applicability_domain)).encode())
        if self.uncertainty != UncertaintyRequest():  # runs without uncertainty options keep their digest
            h.update(repr(self.uncertainty).encode())
        return h.hexdigest()

    def build_scorer(self) -> ScreenScorer:
        """Load (and validate) every model; compile happens on first use."""
        loaded = []
        with tempfile.TemporaryDirectory(prefix="symmol-model-") as tmp:
            for i, (name, files) in enumerate(self.models):
                directory = Path(tmp) / str(i)
                directory.mkdir()
                for file_name, data in files:
                    (directory / file_name).write_bytes(data)
                try:
                    model = load_model(directory, backend=self.backend)
                except ValueError as exc:  # name the user's directory, not the temporary copy
                    source = self.sources[i] if i < len(self.sources) else name
                    error = ModelFileError if isinstance(exc, ModelFileError) else ValueError
                    raise error(str(exc).replace(str(directory), source)) from None
                if model.train_fingerprints is not None:  # detach from the temporary file
                    model.train_fingerprints = model.train_fingerprints.copy()
                loaded.append((name, model))
        return ScreenScorer(loaded, MoleculeFilters(self.filters), self.applicability_domain, self.uncertainty)


@dataclass(frozen=True)
class ChunkResult:
    """A scored chunk: its encoded results and what the coordinator needs to know of them."""

    index: int
    payload: bytes
    rows: int
    valid: int
    filtered: int
    top: pd.DataFrame


_SCORERS: dict[tuple[str, str], ScreenScorer] = {}  # (bundle digest, backend) -> scorer
# Compiled PyTensor functions are not re-entrant: a Dask worker with several threads scores
# one chunk at a time per process (scale with processes, not threads).
_LOCK = threading.Lock()


def scorer_for(bundle: ModelBundle) -> ScreenScorer:
    """Return the scorer of ``bundle``, loaded once per process and cached by the bundle's digest and backend."""
    key = (bundle.digest, bundle.backend)
    with _LOCK:
        if key not in _SCORERS:
            _SCORERS.clear()  # one screen per worker at a time: keep memory bounded
            _SCORERS[key] = bundle.build_scorer()
        return _SCORERS[key]


def encode(table: pd.DataFrame, fmt: str, header: bool) -> bytes:
    """One chunk's results as bytes of the output file: CSV text, one gzip member, or a Parquet file.

    Arrow writes both (its CSV writer is much faster than pandas'): strings are quoted, scores
    are written exactly (shortest round-trip form of the float32), missing scores are empty.
    gzip uses level 1: at level 6 compression would cost more than scoring the molecules.
    """
    arrow = pa.Table.from_pandas(table, schema=arrow_schema(table), preserve_index=False)
    buffer = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(arrow, buffer)
        return buffer.getvalue()
    pa_csv.write_csv(arrow, buffer, pa_csv.WriteOptions(include_header=header))
    data = buffer.getvalue()
    return gzip.compress(data, compresslevel=1, mtime=0) if fmt == "csv.gz" else data


def arrow_schema(table: pd.DataFrame) -> pa.Schema:
    """Return fixed Arrow types per column, so every chunk's Parquet part has the same schema."""
    fields = []
    for name in table.columns:
        if name == "row":
            fields.append(pa.field(name, pa.int64()))
        elif name in ("id", "smiles", "filters", "status", "error", "note") or name.endswith("_set"):
            fields.append(pa.field(name, pa.string()))
        else:
            fields.append(pa.field(name, pa.float32() if table[name].dtype == "float32" else pa.float64()))
    return pa.schema(fields)


def rank_candidates(table: pd.DataFrame, column: str, k: int) -> pd.DataFrame:
    """Select the best ``k`` rankable rows (``ok`` and passing every filter).

    Score descending, then row ascending, so merging chunk winners in any order gives the same top K.
    """
    keep = table["status"].to_numpy() == "ok"
    if "filters" in table.columns:
        keep &= table["filters"].to_numpy() == ""
    pool = table[keep]
    return pool.sort_values([column, "row"], ascending=[False, True], kind="stable").head(k).reset_index(drop=True)


def run_chunk(bundle: ModelBundle, index: int, chunk: pd.DataFrame, fmt: str, top_k: int) -> ChunkResult:
    """Score chunk ``index`` and encode it; the unit of work of every executor."""
    scorer = scorer_for(bundle)
    with _LOCK:
        table = scorer.score(chunk)
    ok = table["status"].to_numpy() == "ok"
    filtered = int((ok & (table["filters"].to_numpy() != "")).sum()) if "filters" in table.columns else 0
    top = rank_candidates(table, scorer.rank_column, top_k) if top_k > 0 else table.iloc[:0]
    return ChunkResult(index, encode(table, fmt, header=index == 0), len(table), int(ok.sum()), filtered, top)
