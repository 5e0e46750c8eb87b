"""A scikit-learn estimator over every registered model kind: ``QSARModel().fit(X, y).predict(X)``.

``X`` is a list (or array, Series) of SMILES for models with one molecule input, or a DataFrame
holding the columns the model's inputs read (e.g. ``smiles`` and a protein ``sequence``). The
architecture (``"mlp"``, ``"dmpnn"``, ``"gin"`` or a plug-in's) comes from
:mod:`symmol.models.registry`; its options (``hidden``, ``fp_size``, ``depth``...) are keyword
arguments, the training settings are explicit ones. ``QSARModel`` works with ``clone``,
``cross_val_score``, ``GridSearchCV`` and ``Pipeline``: it is a classifier for
``task="classification"`` (``predict`` gives 0/1 labels, ``predict_proba`` probabilities) and a
regressor otherwise.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.validation import check_is_fitted

from symmol.data.batch import Batch, Featurized
from symmol.evaluation.metrics import task_metrics
from symmol.evaluation.targets import check_targets
from symmol.models import CompiledModel, ModelInput
from symmol.models.base import featurize_inputs
from symmol.models.registry import KIND_TRAINING_SETTINGS, ModelKind, Problem, architecture_of, model_kind
from symmol.models.store import load_model, save_model
from symmol.screen.scoring import UncertaintyRequest, score_chunk
from symmol.training import TrainConfig, TrainHistory, train_model
from symmol.training.transfer import freeze, initialize_from, parse_freeze

__all__ = ["InvalidMoleculeError", "QSARModel"]

_TRAIN = TrainConfig()


class InvalidMoleculeError(ValueError):
    """Training data holds a row its featurizers reject (a SMILES RDKit rejects, a bad sequence...)."""


def _as_target_matrix(y: Any, n_rows: int) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n_rows:
        raise ValueError(f"y must have {n_rows} rows (one per input row), got shape {arr.shape}")
    return arr


class QSARModel(BaseEstimator):
    """A property model of any registered architecture, trained with a compiled PyTensor step.

    Parameters
    ----------
    task
        ``"classification"`` (labels 0/1, NaN = missing) or ``"regression"``.
    architecture
        A registered architecture (:func:`symmol.models.registry.model_kinds`): ``"mlp"`` (a
        fingerprint → MLP), ``"dmpnn"`` (Chemprop's D-MPNN), ``"gin"`` or a plug-in's.
    ensemble_size
        Members trained together in one compiled step; predictions are their mean.
    backend
        ``"numba"``, ``"c"`` (and ``"jax"``/``"pytorch"`` for models that allow them).
    epochs, patience, batch_size, optimizer, learning_rate, lr_schedule, max_grad_norm, weight_decay, \
averaging, ema_decay, swa_start, bagging, seed, progress, encoder_lr, batch_order
        Training settings (:class:`~symmol.training.config.TrainConfig`); saved in ``model.json``
        (``"training"``) and restored by :meth:`load`. ``epochs``, ``patience``, ``batch_size``,
        ``weight_decay``, ``lr_schedule`` and ``batch_order`` left ``None`` take the architecture's default (its
        ``training_defaults``, e.g. ``dmpnn``: Chemprop's 50 epochs, the best validation epoch kept,
        Noam schedule; ``deepdta``: batches of 256, no weight decay), else ``TrainConfig``'s (40, 8, 64,
        3e-4, constant).
    init_from
        A model directory to fine-tune (``symmol pretrain``'s, or any model of this
        architecture): its options become this estimator's defaults and every parameter but the
        output layer's starts from it (:func:`symmol.training.transfer.initialize_from`).
    freeze
        With ``init_from``: ``"none"``, ``"encoder"`` or ``"ffn:N"`` (the encoder and the first N
        head layers stay fixed, :func:`symmol.training.transfer.freeze`).
    **options
        The architecture's own options (``symmol train --help`` lists them), e.g. ``hidden=(512,)``,
        ``dropout=0.3``, ``fingerprint="ecfp"``, ``radius=2``, ``fp_size=2048``, ``counts=True`` for
        ``"mlp"``; ``depth=3``, ``units=300``, ``readout="mean"`` for ``"dmpnn"``/``"gin"``.
        Unknown options are reported by :meth:`fit` (and :meth:`set_params`).

    Attributes
    ----------
    model_ : CompiledModel
        The fitted model.
    history_ : TrainHistory
        Training loss and validation score per epoch.
    target_names_ : tuple of str
        Target names, one output each.
    classes_ : ndarray
        ``[0, 1]`` (classification).
    initialized_ : list of str
        With ``init_from``: the parameters copied from the pretrained model.

    Examples
    --------
    >>> model = QSARModel("classification", epochs=30).fit(train_smiles, train_y)
    >>> proba = model.predict_proba(test_smiles)     # NaN rows for invalid SMILES
    """

    def __init__(self, task: str = "classification", architecture: str = "mlp", ensemble_size: int = 1,
                 backend: str = "numba", epochs: int | None = None, patience: int | None = None,
                 batch_size: int | None = None, optimizer: str = _TRAIN.optimizer,
                 learning_rate: float = _TRAIN.learning_rate, lr_schedule: str | None = None,
                 max_grad_norm: float | None = _TRAIN.max_grad_norm, weight_decay: float | None = None,
                 averaging: str = _TRAIN.averaging, ema_decay: float = _TRAIN.ema_decay,
                 swa_start: float = _TRAIN.swa_start, bagging: bool = _TRAIN.bagging, seed: int = _TRAIN.seed,
                 progress: bool = _TRAIN.progress, encoder_lr: float | None = _TRAIN.encoder_lr,
                 init_from: str | Path | None = None, freeze: str = "none", batch_order: str | None = None,
                 **options: Any):
        self.task = task
        self.architecture = architecture
        self.ensemble_size = ensemble_size
        self.backend = backend
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.max_grad_norm = max_grad_norm
        self.weight_decay = weight_decay
        self.averaging = averaging
        self.ema_decay = ema_decay
        self.swa_start = swa_start
        self.bagging = bagging
        self.seed = seed
        self.progress = progress
        self.encoder_lr = encoder_lr
        self.init_from = init_from
        self.freeze = freeze
        self.batch_order = batch_order
        self._options = dict(options)

    # -- scikit-learn parameters ----------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor's parameters and the architecture options given."""
        return {**super().get_params(deep), **self._options}

    def set_params(self, **params: Any) -> QSARModel:
        """Set constructor parameters and architecture options.

        Raises
        ------
        ValueError
            For a name that is neither a parameter nor an option of the (new, registered) architecture.
        """
        explicit = set(self._get_param_names())
        if "architecture" in params:
            self.architecture = params["architecture"]
        try:
            known: list[str] | None = model_kind(self.architecture).option_names
        except ValueError:  # an unknown architecture is reported by fit, as scikit-learn wants
            known = None
        for name, value in params.items():
            if name in explicit:
                setattr(self, name, value)
            elif known is None or name in known:
                self._options[name] = value
            else:
                raise ValueError(f"Invalid parameter {name!r} for estimator {type(self).__name__} "
                                 f"(architecture {self.architecture!r}). Valid parameters are: "
                                 f"{sorted(explicit | set(known))!r}.")
        return self

    def __getattr__(self, name: str) -> Any:
        """Return an architecture option as an attribute (``model.hidden``): the value given, else the default."""
        options = self.__dict__.get("_options")
        if options is None or name.startswith("_"):
            raise AttributeError(name)
        if name in options:
            return options[name]
        try:
            kind = model_kind(self.__dict__.get("architecture", ""))
        except ValueError:
            raise AttributeError(name) from None
        for option in kind.options:
            if option.name == name:
                return option.default
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        if self.task == "classification":
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags(multi_class=False)
        else:
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.non_deterministic = False
        return tags

    def _kind(self) -> ModelKind:
        return model_kind(self.architecture)

    def train_config(self) -> TrainConfig:
        """Return the training settings as a :class:`~symmol.training.config.TrainConfig` (checked).

        Settings of :data:`~symmol.models.registry.KIND_TRAINING_SETTINGS` left ``None`` take the
        architecture's ``training_defaults``, else ``TrainConfig``'s.
        """
        values = {name: getattr(self, name) for name in TrainConfig.__dataclass_fields__}
        kind_defaults = self._kind().training_defaults
        for name in KIND_TRAINING_SETTINGS:
            if values[name] is None:
                values[name] = kind_defaults.get(name, getattr(_TRAIN, name))
        return TrainConfig(**values)

    # -- inputs -------------------------------------------------------------------------------
    def _pretrained(self) -> CompiledModel | None:
        """Return the model of ``init_from`` (loaded once per path), or None."""
        if self.init_from is None:
            return None
        cached = self.__dict__.get("_pretrained_cache")
        if cached is None or cached[0] != str(self.init_from):
            cached = (str(self.init_from), load_model(self.init_from))
            self.__dict__["_pretrained_cache"] = cached
        pretrained = cached[1]
        kind = architecture_of(pretrained).name
        if kind != self.architecture:
            raise ValueError(f"{self.init_from} holds a {kind} model; fine-tune it with architecture={kind!r}, "
                             f"not {self.architecture!r}")
        return pretrained

    def resolved_options(self) -> dict[str, Any]:
        """Return the architecture options a fit uses: those given, over the pretrained model's when fine-tuning."""
        pretrained = self._pretrained()
        if pretrained is None:
            return dict(self._options)
        return {**self._kind().spec_options(pretrained.spec), **self._options}

    def model_inputs(self) -> list[ModelInput]:
        """Return the inputs (columns and featurizers) this estimator's architecture and options give."""
        return self._kind().inputs(self.resolved_options())

    def _table(self, X: Any, inputs: list[ModelInput]) -> pd.DataFrame:
        """``X`` as a table with the input columns (a 1-D sequence fills the one column the inputs read)."""
        columns = list(dict.fromkeys(c for i in inputs for c in i.featurizer.reads(i.column)))
        if isinstance(X, pd.DataFrame):
            table = X.reset_index(drop=True)
            if len(columns) == 1 and columns[0] not in table.columns and table.shape[1] == 1:
                table = table.set_axis(columns, axis=1)
            missing = [c for c in columns if c not in table.columns]
            if missing:
                raise ValueError(f"X has no column(s) {missing}; the {self.architecture} model reads {columns}")
            return table
        if isinstance(X, str):
            raise ValueError("X must be a sequence of inputs, not one string")
        if len(columns) != 1:
            raise ValueError(f"the {self.architecture} model reads columns {columns}: pass X as a DataFrame")
        values = np.asarray(X, dtype=object)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise ValueError(f"X must be a 1-D sequence or a DataFrame, got shape {values.shape}")
        return pd.DataFrame({columns[0]: list(values)})

    def featurize(self, X: Any) -> Featurized:
        """Features of ``X`` with this estimator's inputs (invalid rows flagged, not dropped)."""
        inputs = self.model_inputs()
        return featurize_inputs(inputs, self._table(X, inputs))

    def _featurize_strict(self, X: Any, what: str) -> Featurized:
        inputs = self.model_inputs()
        table = self._table(X, inputs)
        featurized = featurize_inputs(inputs, table)
        for row, error in enumerate(featurized.errors):
            if error:
                column = inputs[0].column if len(inputs) == 1 else None
                shown = f"SMILES {table[column].iloc[row]!r}" if column == "smiles" else "input"
                raise InvalidMoleculeError(f"{what} row {row}: {shown} rejected: {error}")
        return featurized

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None,
            target_names: Sequence[str] | None = None) -> QSARModel:
        """Train on inputs and targets; early stopping uses the validation set if given.

        Parameters
        ----------
        X, X_val
            SMILES (list, array, Series) or a DataFrame with the columns the model reads.
        y, y_val
            ``(n_rows,)`` or ``(n_rows, n_targets)`` numbers: 0/1 labels for classification (NaN =
            missing), values for regression.
        target_names
            One name per target column (default ``task0``, ``task1``, ...).

        Raises
        ------
        InvalidMoleculeError
            Naming the first training row a featurizer rejects, and why.
        ValueError
            Naming the target, row and value of a classification label other than 0/1 (NaN =
            missing) or an infinite regression target; for an unknown option.
        """
        train = self._featurize_strict(X, "training")
        val = self._featurize_strict(X_val, "validation") if X_val is not None and len(X_val) else None
        self._y_shape = np.ndim(y)
        return self.fit_featurized(train.batch, y, None if val is None else val.batch, y_val, target_names)

    def fit_featurized(self, batch: Batch, y: Any, val_batch: Batch | None = None, val_y: Any = None,
                       target_names: Sequence[str] | None = None,
                       on_validation: Callable[[int, float], None] | None = None) -> QSARModel:
        """Train on batches from :meth:`featurize` (every row valid); see :meth:`fit`.

        ``on_validation(epoch, score)`` is called after each validation (see
        :func:`symmol.training.loop.train_model`).
        """
        config = self.train_config()
        y_train = _as_target_matrix(y, len(batch))
        names = tuple(target_names) if target_names is not None else tuple(f"task{i}" for i in range(y_train.shape[1]))
        if len(names) != y_train.shape[1]:
            raise ValueError(f"{len(names)} target names for {y_train.shape[1]} target columns")
        check_targets(y_train, names, self.task, source="training")
        empty = [name for name, column in zip(names, y_train.T, strict=True) if np.isnan(column).all()]
        if empty:
            raise ValueError(f"target(s) {empty} have no measured value in the training set")
        y_val = None
        if val_batch is not None and len(val_batch):
            y_val = _as_target_matrix(val_y, len(val_batch))
            check_targets(y_val, names, self.task, source="validation")
        else:
            val_batch = None
        mean: tuple[float, ...] = ()
        std: tuple[float, ...] = ()
        if self.task == "regression":
            mean = tuple(float(v) for v in np.nanmean(y_train, axis=0))
            std = tuple(float(v) if v > 0 else 1.0 for v in np.nanstd(y_train, axis=0))
        problem = Problem(names, self.task, mean, std, config.seed, int(self.ensemble_size))
        parse_freeze(self.freeze)
        model = self._kind().make_model(problem, self.resolved_options(), backend=self.backend)
        pretrained = self._pretrained()
        if pretrained is not None:
            self.initialized_ = initialize_from(model, pretrained)
            freeze(model, self.freeze)
        elif self.freeze != "none":
            raise ValueError(f"freeze={self.freeze!r} needs a pretrained model (init_from)")
        self.history_: TrainHistory = train_model(model, batch, y_train, val_batch, y_val, config, on_validation)
        if val_batch is not None and y_val is not None:
            try:  # calibrators for predict --calibration, on the rows that chose the epoch (Chemprop's practice)
                model.calibrate(val_batch, y_val)
            except ValueError as exc:
                warnings.warn(f"no calibration stored: {exc}", stacklevel=2)
        fingerprints = model.ad_fingerprints(batch)
        if fingerprints is not None:
            model.train_fingerprints = fingerprints.to_packed()
        self._set_fitted(model)
        return self

    def _set_fitted(self, model: CompiledModel) -> None:
        self.model_ = model
        self.target_names_ = model.targets
        if model.task == "classification":
            self.classes_ = np.array([0, 1])
        if not hasattr(self, "_y_shape"):
            self._y_shape = 2

    def _fitted(self) -> CompiledModel:
        check_is_fitted(self, "model_")
        return self.model_

    # -- prediction -----------------------------------------------------------------------------
    def predict_scores(self, X: Any) -> np.ndarray:
        """``(n, n_targets)`` float32 scores: probabilities (classification) or values; NaN rows for invalid inputs."""
        model = self._fitted()
        featurized = featurize_inputs(model.inputs, self._table(X, model.inputs))
        scores = model.predict_batch(featurized.batch)
        scores[~featurized.valid] = np.nan
        return scores

    def _shaped(self, values: np.ndarray) -> np.ndarray:
        return values[:, 0] if values.shape[1] == 1 and self._y_shape == 1 else values

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values (regression) or 0/1 labels at probability 0.5 (classification); NaN for invalid rows.

        One target fitted with a 1-D ``y`` gives ``(n,)``, else ``(n, n_targets)``.
        """
        scores = self.predict_scores(X)
        if self._fitted().task == "classification":
            scores = np.where(np.isnan(scores), np.nan, (scores >= 0.5).astype(np.float32))
        return self._shaped(scores)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Predict the probabilities of the positive class; NaN rows for invalid inputs.

        ``(n, 2)`` columns ``[1 - p, p]`` for one target (scikit-learn's binary convention),
        ``(n, n_targets)`` ``p`` for several.

        Raises
        ------
        AttributeError
            For a regression model.
        """
        if self.task != "classification":
            raise AttributeError("predict_proba is for classification models")
        scores = self.predict_scores(X)
        return np.column_stack([1.0 - scores[:, 0], scores[:, 0]]) if scores.shape[1] == 1 else scores

    def predict_frame(self, X: Any, uncertainty: str | None = None, calibration: str | None = None,
                      coverage: float = 0.9) -> pd.DataFrame:
        """Predict into a DataFrame with the screening columns.

        The columns are ``row``, the input columns, one column per target (followed by
        ``<target>_std`` for a model with a spread estimator, and the calibrated ``<target>_lower``,
        ``<target>_upper`` or ``<target>_set``), ``status`` (``ok``/``invalid``) and ``error``.
        ``uncertainty``, ``calibration`` and ``coverage`` are ``symmol predict``'s options
        (:class:`~symmol.screen.scoring.UncertaintyRequest`); the calibration is the one fitted on
        the validation set given to :meth:`fit`.
        """
        model = self._fitted()
        table = self._table(X, model.inputs)
        request = UncertaintyRequest(uncertainty, calibration, coverage)
        return score_chunk(model, table.assign(row=np.arange(len(table)))[["row", *table.columns]], request)

    def metrics(self, X: Any, y: Any) -> dict[str, Any]:
        """Metrics on labelled data: ROC-AUC/PR-AUC (classification) or RMSE/MAE/R² (regression), per task and mean."""
        model = self._fitted()
        scores = self.predict_scores(X)
        return task_metrics(model.task, _as_target_matrix(y, len(scores)), scores, model.targets)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean ROC-AUC over tasks (classification) or mean R² (regression); higher is better.

        Raises
        ------
        ValueError
            If ``sample_weight`` is given (not supported).
        """
        if sample_weight is not None:
            raise ValueError("QSARModel.score does not take sample weights")
        metrics = self.metrics(X, y)
        return float(metrics["roc_auc"] if self.task == "classification" else metrics["r2"])

    # -- files ----------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the model directory (``model.json`` + ``params.npz``)."""
        return save_model(self._fitted(), directory)

    @classmethod
    def load(cls, directory: str | Path, backend: str = "numba") -> QSARModel:
        """Load a model directory written by :meth:`save` or ``symmol train`` (any registered kind)."""
        model = load_model(directory, backend=backend)
        kind = architecture_of(model)
        settings = TrainConfig.from_dict(model.train_config or {}, seed=model.spec.seed, progress=False).to_dict()
        estimator = cls(model.task, kind.name, ensemble_size=model.spec.ensemble_size, backend=backend, **settings,
                        **kind.spec_options(model.spec))
        estimator._set_fitted(model)
        return estimator
