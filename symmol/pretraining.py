"""Pretraining on an unlabelled library: learn to predict every RDKit 2D descriptor, then fine-tune.

CheMeleon's recipe (Burns et al. 2025, arXiv:2506.15792: a D-MPNN pretrained to predict Mordred
descriptors) with RDKit's 2D descriptors (``rdkit.Chem.Descriptors``, 217 in RDKit 2026.09)
instead of Mordred's: the descriptors of every library molecule are the regression targets of an
ordinary model of any architecture (``dmpnn``, ``gin``, ``mlp``), which ``symmol train
--init-from`` (:mod:`symmol.training.transfer`) then fine-tunes on a small labelled set.

Targets: each descriptor standardised with the training molecules' mean and standard deviation
(the model's own target normalisation), values beyond 6 standard deviations clipped to it (counts
such as ``Ipc`` span dozens of orders of magnitude), values RDKit cannot compute left as missing
labels (masked in the loss).

The run lives in ``OUT/``: ``descriptors.npz`` (the descriptor matrix, computed once, in
``n_jobs`` processes), ``model.json``/``params.npz`` (an ordinary model directory, rewritten after
every epoch), ``pretrain.json`` (the settings, epochs done, time and validation scores). Started
again with the same settings it resumes after the last finished epoch: the parameters are kept,
Adam's moment estimates restart (they are not saved).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rdkit
from tqdm.auto import tqdm

from symmol.chem.io import iter_molecules
from symmol.featurizers.descriptors import RDKit2DDescriptors
from symmol.featurizers.pipeline import featurize_values
from symmol.models.base import CompiledModel, featurize_inputs
from symmol.models.registry import Problem, model_kind
from symmol.models.store import load_model, save_model
from symmol.training import TrainConfig, train_model

__all__ = ["CLIP_SD", "DESCRIPTOR_SETS", "PretrainResult", "pretrain"]

#: Descriptor sets a model can be pretrained on.
DESCRIPTOR_SETS = ("rdkit2d",)
#: Standardised descriptor values are clipped to ± this many standard deviations.
CLIP_SD = 6.0
_STATE = "pretrain.json"
_DESCRIPTORS = "descriptors.npz"


@dataclass
class PretrainResult:
    """What :func:`pretrain` did.

    Attributes
    ----------
    directory
        The model directory.
    n_molecules, n_descriptors
        Library molecules used (RDKit-valid) and descriptors predicted.
    epochs_done
        Epochs finished, over every run of this directory.
    val_rmse
        Validation RMSE in standard deviations (mean over descriptors) after each epoch.
    seconds
        Wall time of this run: descriptors, featurization and training.
    """

    directory: Path
    n_molecules: int
    n_descriptors: int
    epochs_done: int
    val_rmse: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _library_smiles(path: Path, smiles_column: str | None, limit: int | None) -> list[str]:
    smiles: list[str] = []
    for chunk in iter_molecules(path, smiles_column):
        smiles += chunk["smiles"].astype(str).tolist()
        if limit is not None and len(smiles) >= limit:
            return smiles[:limit]
    return smiles


def _descriptor_matrix(smiles: list[str], out: Path, n_jobs: int, progress: bool) -> tuple[np.ndarray, list[str]]:
    """RDKit 2D descriptors of ``smiles`` (float32, NaN where not computable), cached in ``OUT/descriptors.npz``."""
    featurizer = RDKit2DDescriptors()
    names = featurizer.feature_names
    cache = out / _DESCRIPTORS
    if cache.exists():
        with np.load(cache, allow_pickle=False) as stored:
            if stored["names"].tolist() == names and int(stored["values"].shape[0]) == len(smiles):
                return stored["values"], names
    step = 2000
    parts = []
    with tqdm(total=len(smiles), desc="descriptors", unit="mol", disable=not progress) as bar:
        for lo in range(0, len(smiles), step):
            part = featurize_values(smiles[lo:lo + step], featurizer, n_jobs=n_jobs).batch
            parts.append(np.asarray(part.values, dtype=np.float32))  # type: ignore[attr-defined]
            bar.update(min(step, len(smiles) - lo))
    values = np.concatenate(parts) if parts else np.zeros((0, len(names)), np.float32)
    values[~np.isfinite(values)] = np.nan
    np.savez(cache.with_suffix(".tmp.npz"), values=values, names=np.array(names))
    cache.with_suffix(".tmp.npz").replace(cache)
    return values, names


def _clipped(values: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return np.clip(values, mean - CLIP_SD * std, mean + CLIP_SD * std)


def pretrain(library: str | Path, out: str | Path, architecture: str = "dmpnn", descriptors: str = "rdkit2d",
             options: dict[str, Any] | None = None, config: TrainConfig | None = None, limit: int | None = None,
             val_fraction: float = 0.05, n_jobs: int = 1, smiles_column: str | None = None,
             backend: str = "numba") -> PretrainResult:
    """Pretrain a model of ``architecture`` to predict ``descriptors`` of every molecule in ``library``.

    Parameters
    ----------
    library
        Molecule file (``.smi``/``.csv``/``.sdf``, optionally ``.gz``; a header-less ``.smi`` works).
    out
        Model directory to write (and to resume from).
    architecture, options
        Any registered architecture and its options (as ``symmol train``'s).
    descriptors
        ``"rdkit2d"`` (:data:`DESCRIPTOR_SETS`).
    config
        Training settings; default 10 epochs, batch 64, no early stopping.
    limit
        Use the first ``limit`` molecules only.
    val_fraction
        Seeded random share of the molecules held out to report validation RMSE after each epoch.
    n_jobs
        Processes computing the descriptors.
    smiles_column, backend
        As ``symmol train``'s.

    Returns
    -------
    PretrainResult

    Raises
    ------
    ValueError
        For an unknown descriptor set or architecture, a library without valid molecules, or an
        ``OUT`` holding a pretraining run with other settings.
    """
    started = time.perf_counter()
    if descriptors not in DESCRIPTOR_SETS:
        raise ValueError(f"descriptors must be one of {DESCRIPTOR_SETS}, got {descriptors!r}")
    if not 0 < val_fraction < 0.5:
        raise ValueError(f"val_fraction must be in (0, 0.5), got {val_fraction}")
    config = config or TrainConfig(epochs=10, patience=0)
    kind = model_kind(architecture)
    options = dict(options or {})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    library = Path(library)
    settings = {"library": str(library.resolve()), "library_bytes": library.stat().st_size, "limit": limit,
                "architecture": architecture, "options": kind.resolve(options), "descriptors": descriptors,
                "val_fraction": val_fraction, "seed": config.seed, "rdkit": rdkit.__version__}
    state_path = out / _STATE
    state: dict[str, Any] = {"settings": settings, "epochs_done": 0, "val_rmse": []}
    if state_path.exists():
        previous = json.loads(state_path.read_text())
        if json.loads(json.dumps(previous["settings"])) != json.loads(json.dumps(settings)):
            raise ValueError(f"{out} holds a pretraining run with other settings ({state_path}); "
                             f"choose another --out or delete it")
        state = previous

    smiles = _library_smiles(library, smiles_column, limit)
    values, names = _descriptor_matrix(smiles, out, n_jobs, config.progress)
    problem_inputs = kind.inputs(options)
    featurized = featurize_inputs(problem_inputs, _table(smiles, problem_inputs))
    usable = np.flatnonzero(featurized.valid & np.isfinite(values).any(axis=1))
    if usable.size < 2:
        raise ValueError(f"{library}: fewer than 2 molecules RDKit can read")
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(usable)
    n_val = max(1, int(round(val_fraction * usable.size)))
    val_rows, train_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
    train_y = values[train_rows].astype(np.float64)
    mean = np.nanmean(train_y, axis=0)
    std = np.nanstd(train_y, axis=0)
    keep = np.isfinite(mean) & np.isfinite(std)
    mean, std = np.where(keep, mean, 0.0), np.where(keep & (std > 0), std, 1.0)
    targets = _clipped(values.astype(np.float64), mean, std)
    problem = Problem(tuple(names), "regression", tuple(map(float, mean)), tuple(map(float, std)), config.seed, 1)
    model = kind.make_model(problem, options, backend=backend)
    epochs_left = config.epochs - int(state["epochs_done"])
    if state["epochs_done"] and (out / "model.json").exists():
        model.set_param_values(load_model(out, backend=backend).get_param_values())
    result = PretrainResult(out, int(usable.size), len(names), int(state["epochs_done"]), list(state["val_rmse"]))
    if epochs_left > 0:
        batch = featurized.batch
        train, val = batch.take(train_rows), batch.take(val_rows)

        def checkpoint(epoch: int, score: float) -> None:
            result.epochs_done += 1
            result.val_rmse.append(_standardised_rmse(model, val, targets[val_rows], std))
            save_model(model, out)
            state.update(epochs_done=result.epochs_done, val_rmse=result.val_rmse)
            state_path.write_text(json.dumps(state, indent=2) + "\n")

        run_config = TrainConfig.from_dict(config.to_dict(), epochs=epochs_left, patience=0)
        train_model(model, train, targets[train_rows], val, targets[val_rows], run_config, on_validation=checkpoint)
    result.seconds = time.perf_counter() - started
    state["seconds"] = float(state.get("seconds", 0.0)) + result.seconds
    state["n_molecules"], state["n_descriptors"] = result.n_molecules, result.n_descriptors
    state_path.write_text(json.dumps(state, indent=2) + "\n")
    return result


def _table(smiles: list[str], inputs: list) -> pd.DataFrame:
    columns = {c for i in inputs for c in i.featurizer.reads(i.column)}
    if columns != {"smiles"}:
        raise ValueError(f"pretraining reads SMILES only; this architecture's inputs read {sorted(columns)}")
    return pd.DataFrame({"smiles": smiles})


def _standardised_rmse(model: CompiledModel, val: Any, y: np.ndarray, std: np.ndarray) -> float:
    """Return the validation RMSE over every measured value, in standard deviations of each descriptor."""
    predicted = model.predict_batch(val).astype(np.float64)
    error = (predicted - y) / std
    return float(np.sqrt(np.nanmean(error ** 2)))
