"""Streaming screening: score a molecule library chunk by chunk with a compiled model.

Memory is bounded by the chunk size and ``top_k``, not the library size. Every input row
appears once in the output, in input order, with ``status`` ``ok`` or ``invalid`` and the
reason RDKit rejected it in ``error``.
"""

from __future__ import annotations

import gzip
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from symmol.chem.io import DEFAULT_CHUNK_SIZE, iter_molecules
from symmol.models.mlp import FingerprintMLP


@dataclass(frozen=True)
class ScreenSummary:
    """Counts and timing of a screening run."""

    rows: int
    valid: int
    invalid: int
    seconds: float
    output: Path
    top_output: Path | None

    @property
    def rate(self) -> float:
        """Molecules per second, end to end."""
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


def top_path(output: str | Path) -> Path:
    """``results.csv[.gz]`` → ``results.top.csv``."""
    output = Path(output)
    name = output.name
    for suffix in (".csv.gz", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return output.with_name(name + ".top.csv")


def _open_output(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "wt", encoding="utf-8", newline="")
    if not path.name.lower().endswith(".csv"):
        raise ValueError(f"{path}: results must be written to .csv or .csv.gz")
    return open(path, "w", encoding="utf-8", newline="")


def row_errors(chunk: pd.DataFrame, parse_errors: list[str]) -> list[str]:
    """Per-row reasons for rejection: the reader's (e.g. unreadable SDF record) before RDKit's."""
    if "read_error" not in chunk.columns:
        return parse_errors
    return [read or parsed for read, parsed in zip(chunk["read_error"], parse_errors, strict=True)]


def score_chunk(model: FingerprintMLP, chunk: pd.DataFrame) -> pd.DataFrame:
    """Featurize and score one chunk; returns the output columns for its rows."""
    featurized = model.featurizer.from_smiles(chunk["smiles"].tolist())
    scores = model.predict_fingerprints(featurized.fingerprints)
    valid = featurized.valid
    out = chunk[[c for c in ("row", "id", "smiles") if c in chunk.columns]].reset_index(drop=True)
    for j, name in enumerate(model.targets):
        out[name] = np.where(valid, scores[:, j], np.nan)
    out["status"] = np.where(valid, "ok", "invalid")
    out["error"] = row_errors(chunk, featurized.errors)
    return out


def _running_top(best: pd.DataFrame | None, candidates: pd.DataFrame, column: str, k: int) -> pd.DataFrame:
    """Merge a chunk's rows into the running top ``k`` (score descending, then row ascending)."""
    pool = candidates if best is None else pd.concat([best, candidates], ignore_index=True)
    return pool.sort_values([column, "row"], ascending=[False, True], kind="stable").head(k)


def screen_library(model: FingerprintMLP, library: str | Path, output: str | Path, top_k: int = 0,
                   smiles_column: str | None = None, id_column: str | None = None,
                   chunk_size: int = DEFAULT_CHUNK_SIZE, progress: bool = True) -> ScreenSummary:
    """Score every row of ``library`` and write one output row per input row.

    Parameters
    ----------
    model
        A trained model (e.g. from :func:`symmol.models.store.load_model`).
    library
        ``.csv``, ``.smi`` or ``.sdf`` file, optionally gzipped.
    output
        ``.csv`` or ``.csv.gz`` results: ``row``, [``id``], ``smiles``, one column per target,
        ``status``, ``error``.
    top_k
        If > 0, also write the ``top_k`` best valid rows ranked by the first target's score
        (descending) to :func:`top_path` ``(output)``.
    chunk_size
        Rows per chunk (bounds memory).

    Returns
    -------
    ScreenSummary
    """
    output = Path(output)
    start = time.perf_counter()
    first_target = model.targets[0]
    best: pd.DataFrame | None = None
    rows = valid = 0
    with _open_output(output) as handle, tqdm(desc="screen", unit="mol", disable=not progress) as bar:
        for index, chunk in enumerate(iter_molecules(library, smiles_column, id_column, chunk_size)):
            scored = score_chunk(model, chunk)
            columns = scored.columns
            scored.to_csv(handle, header=index == 0, index=False, float_format="%.6g")
            ok = scored["status"].to_numpy() == "ok"
            rows += len(scored)
            valid += int(ok.sum())
            if top_k > 0:
                best = _running_top(best, scored[ok], first_target, top_k)
            bar.update(len(scored))
    top_output = None
    if top_k > 0:
        top_output = top_path(output)
        if best is None:  # no valid row at all: an empty table with the header
            best = pd.DataFrame(columns=columns)
        best.to_csv(top_output, index=False, float_format="%.6g")
    return ScreenSummary(rows, valid, rows - valid, time.perf_counter() - start, output, top_output)
