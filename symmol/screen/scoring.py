"""Scoring one chunk of a library: featurize the inputs each model declares, predict, add context columns.

The output of :meth:`ScreenScorer.score` for a chunk is the results table for its rows:
``row``, [``id``], ``smiles``, the score columns, [``ad``], [``filters``], ``status``,
``error``. It is a pure function of the chunk and the scorer, which is what makes resumed and
distributed screens byte-identical to a plain run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from symmol.chem.io import row_errors
from symmol.chem.parse import parse_smiles_list
from symmol.data.batch import Featurized
from symmol.evaluation.calibration import CALIBRATION_METHODS
from symmol.models.base import CompiledModel, featurize_inputs
from symmol.screen.filters import MoleculeFilters
from symmol.similarity.search import NearestSimilarity

__all__ = ["ScreenScorer", "UncertaintyRequest", "score_chunk"]

#: Every calibration method, of either task.
ALL_CALIBRATION_METHODS = tuple(dict.fromkeys(m for methods in CALIBRATION_METHODS.values() for m in methods))


def _id_columns(chunk: pd.DataFrame) -> pd.DataFrame:
    return chunk[[c for c in ("row", "id", "smiles") if c in chunk.columns]].reset_index(drop=True)


def _inputs_key(model: CompiledModel) -> str:
    return repr([(i.name, i.column, sorted(i.featurizer.to_dict().items())) for i in model.inputs])


def score_chunk(model: CompiledModel, chunk: pd.DataFrame, uncertainty: UncertaintyRequest | None = None
                ) -> pd.DataFrame:
    """Featurize and score one chunk with one model; the ``symmol predict`` columns."""
    return ScreenScorer([("", model)], uncertainty=uncertainty or UncertaintyRequest()).score(chunk)


@dataclass(frozen=True)
class UncertaintyRequest:
    """The uncertainty columns asked of every model.

    Attributes
    ----------
    estimator
        The spread estimator of ``<target>_std`` (:attr:`CompiledModel.uncertainty_methods`:
        ``"ensemble"``, ``"gp"``, ``"dropout"``); ``None``: each model's default (an ensemble's or a
        GP's spread), if it has one.
    calibration
        A method of the models' stored calibration (:data:`~symmol.evaluation.calibration.CALIBRATION_METHODS`):
        ``zscaling`` scales ``<target>_std`` and adds Gaussian ``<target>_lower``/``<target>_upper``;
        ``conformal`` adds conformal ``<target>_lower``/``<target>_upper`` (regression) or the label set
        ``<target>_set`` (classification: ``0``, ``1``, ``0|1`` or empty); ``platt`` and ``isotonic``
        replace the probabilities by calibrated ones. ``None``: uncalibrated.
    coverage
        Nominal coverage of the intervals and label sets, in (0, 1).
    mc_samples
        Monte Carlo samples of ``estimator="dropout"``.
    """

    estimator: str | None = None
    calibration: str | None = None
    coverage: float = 0.9
    mc_samples: int = 30

    def __post_init__(self) -> None:
        if not 0.0 < self.coverage < 1.0:
            raise ValueError(f"coverage must be in (0, 1), got {self.coverage}")
        if self.mc_samples < 2:
            raise ValueError(f"mc_samples must be >= 2, got {self.mc_samples}")
        if self.calibration is not None and self.calibration not in ALL_CALIBRATION_METHODS:
            raise ValueError(f"calibration must be one of {ALL_CALIBRATION_METHODS}, got {self.calibration!r}")


@dataclass
class ScreenScorer:
    """Everything a worker needs to turn a chunk into result rows.

    Parameters
    ----------
    models
        ``(name, model)`` pairs. With one model the score columns are its target names; with
        several they are ``<name>:<target>``, followed by ``mean:<target>`` and
        ``std:<target>`` over the models for every target they share. An ensemble model
        (``ensemble_size > 1``) adds ``<target>_std``, the standard deviation over members; so does
        any model that reports a predictive spread by default (:attr:`CompiledModel.reports_spread`: a GP, an MVE head).
    filters
        Medicinal-chemistry filters on the ``smiles`` column (column ``filters``; failing rows
        are kept but not ranked).
    applicability_domain
        Add column ``ad``: the largest Tanimoto similarity of the molecule to the first model's
        training set (needs a model saved with its training fingerprints), on the model's
        applicability-domain fingerprints (:meth:`CompiledModel.ad_fingerprints`).
    uncertainty
        Which spread estimator, calibration and coverage the uncertainty columns use.
    """

    models: Sequence[tuple[str, CompiledModel]]
    filters: MoleculeFilters = field(default_factory=MoleculeFilters)
    applicability_domain: bool = False
    uncertainty: UncertaintyRequest = field(default_factory=lambda: UncertaintyRequest())
    _nearest: NearestSimilarity | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("screening needs at least one model")
        self.models = list(self.models)
        names = [name for name, _ in self.models]
        if len(set(names)) != len(names):
            raise ValueError(f"model names must be unique, got {names}")
        if self.applicability_domain and self.models[0][1].train_fingerprints is None:
            raise ValueError(
                f"model {self.models[0][0] or 0!r} was saved without its training fingerprints; train it with "
                "`symmol train` or QSARModel.fit to screen with an applicability-domain column"
            )
        for name, model in self.models:
            self._check_uncertainty(name, model)

    def _check_uncertainty(self, name: str, model: CompiledModel) -> None:
        """``ValueError`` (naming the model) if it cannot give the requested spread or calibration."""
        request, label = self.uncertainty, f"model {name!r}: " if name else ""
        try:
            method = model.resolve_uncertainty(request.estimator)
        except ValueError as exc:
            raise ValueError(f"{label}{exc}") from None
        if request.calibration is None:
            return
        stored = model.calibration
        if stored is None:
            raise ValueError(f"{label}no stored calibration: train with a validation set, or run `symmol "
                             "calibrate MODEL_DIR DATA`")
        if request.calibration not in stored.methods:
            raise ValueError(f"{label}calibration {request.calibration!r} is not fitted for this {model.task} "
                             f"model (fitted: {', '.join(stored.methods)})")
        if model.task == "regression" and stored.uncertainty != method:
            raise ValueError(f"{label}the calibration was fitted on σ from {stored.uncertainty!r}, not "
                             f"{method!r}; pass --uncertainty {stored.uncertainty} or recalibrate")

    @property
    def input_columns(self) -> list[str]:
        """The library columns the models read besides ``smiles`` (a CSV library must have them)."""
        return list(dict.fromkeys(c for _, model in self.models for c in model.columns() if c != "smiles"))

    @property
    def score_columns(self) -> list[str]:
        """The score column names, in output order."""
        names = []
        for name, model in self.models:
            prefix = f"{name}:" if len(self.models) > 1 else ""
            for target in model.targets:
                names += [prefix + target, *(f"{prefix}{target}{suffix}" for suffix in self._suffixes(model))]
        for target in self._shared_targets():
            names += [f"mean:{target}", f"std:{target}"]
        return names

    @property
    def rank_column(self) -> str:
        """The column the top-K ranking uses: the (consensus) score of the first target."""
        name, model = self.models[0]
        if len(self.models) == 1:
            return model.targets[0]
        shared = self._shared_targets()
        return f"mean:{shared[0]}" if shared else f"{name}:{model.targets[0]}"

    @property
    def columns(self) -> list[str]:
        """All output columns except the leading ``row``/``id``/``smiles``."""
        extra = (["ad"] if self.applicability_domain else []) + (["filters"] if self.filters else [])
        return [*self.score_columns, *extra, "status", "error", *(["note"] if self.notes else [])]

    @property
    def notes(self) -> bool:
        """Whether a model's input may note changed rows (a truncated sequence): the output's ``note`` column."""
        return any(i.featurizer.ANNOTATES for _, model in self.models for i in model.inputs)

    def _suffixes(self, model: CompiledModel) -> list[str]:
        """Return the columns a model adds after each target's score: spread, interval, label set."""
        calibration = self.uncertainty.calibration
        suffixes = ["_std"] if model.resolve_uncertainty(self.uncertainty.estimator) is not None else []
        if calibration in ("zscaling", "conformal") and model.task == "regression":
            suffixes += ["_lower", "_upper"]
        elif calibration == "conformal":
            suffixes.append("_set")
        return suffixes

    def _shared_targets(self) -> list[str]:
        if len(self.models) < 2:
            return []
        first = self.models[0][1]
        return [t for t in first.targets
                if all(t in m.targets and m.task == first.task for _, m in self.models[1:])]

    def score(self, chunk: pd.DataFrame) -> pd.DataFrame:
        """Results table of one chunk (one row per input row, input order)."""
        out = _id_columns(chunk)
        featurized: dict[str, Featurized] = {}
        for _, model in self.models:  # each distinct set of inputs is featurized once
            featurized.setdefault(_inputs_key(model), featurize_inputs(model.inputs, chunk))
        errors = [next((f.errors[i] for f in featurized.values() if f.errors[i]), "") for i in range(len(chunk))]
        valid = np.array([not e for e in errors], dtype=bool)
        per_model: dict[str, np.ndarray] = {}
        for name, model in self.models:
            batch = featurized[_inputs_key(model)].batch
            prefix = f"{name}:" if len(self.models) > 1 else ""
            request = self.uncertainty
            scores, spread = model.predict_with_spread(batch, request.estimator, request.mc_samples)
            columns: dict[str, np.ndarray | None] = {"_std": spread}
            if request.calibration is not None:
                assert model.calibration is not None
                calibrated = model.calibration.apply(request.calibration, scores, spread, request.coverage)
                scores = calibrated.scores.astype(np.float32)
                columns = {"_std": calibrated.std if spread is not None else None, "_lower": calibrated.lower,
                           "_upper": calibrated.upper, "_set": calibrated.label_sets}
            per_model[name] = scores
            for j, target in enumerate(model.targets):
                out[prefix + target] = np.where(valid, scores[:, j], np.nan)
                for suffix, values in columns.items():
                    if values is not None:
                        out[f"{prefix}{target}{suffix}"] = np.where(valid, values[:, j], "" if suffix == "_set"
                                                                    else np.nan)
        for target in self._shared_targets():
            stacked = np.stack([per_model[name][:, list(model.targets).index(target)]
                                for name, model in self.models]).astype(np.float64)
            out[f"mean:{target}"] = np.where(valid, stacked.mean(axis=0), np.nan)
            out[f"std:{target}"] = np.where(valid, stacked.std(axis=0), np.nan)
        if self.applicability_domain:
            first = self.models[0][1]
            out["ad"] = self._applicability(first, featurized[_inputs_key(first)], valid)
        if self.filters:
            out["filters"] = self.filters.apply(parse_smiles_list(chunk["smiles"].tolist()).mols)
        out["status"] = np.where(valid, "ok", "invalid")
        out["error"] = row_errors(chunk, errors)
        if self.notes:
            out["note"] = [next((f.notes[i] for f in featurized.values() if f.notes is not None and f.notes[i]), "")
                           if ok else "" for i, ok in enumerate(valid)]
        return out

    def _applicability(self, model: CompiledModel, featurized: Featurized, valid: np.ndarray) -> np.ndarray:
        fingerprints = model.ad_fingerprints(featurized.batch)
        if fingerprints is None:
            raise ValueError(f"{type(model).__name__} has no fingerprints for an applicability domain")
        if self._nearest is None:  # one per scorer: the kernels' path sorts the training set once
            self._nearest = NearestSimilarity(np.asarray(model.train_fingerprints))
        similarity = self._nearest(fingerprints)
        return np.where(valid, similarity, np.nan)
