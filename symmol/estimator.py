"""A scikit-learn-style estimator over SMILES: ``QSARModel().fit(smiles, y).predict(smiles)``.

The model is an ECFP → MLP (``architecture="mlp"``, the default) or a graph network on the
molecular graph (``"dmpnn"``: Chemprop's directed message passing; ``"gin"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from symmol.featurize import FeaturizedMolecules, MorganFingerprint
from symmol.fingerprints import FingerprintBatch
from symmol.metrics import task_metrics
from symmol.models.base import CompiledModel
from symmol.models.graph import AD_FEATURIZER, GraphModel, GraphSpec
from symmol.models.mlp import FingerprintMLP, MLPSpec
from symmol.models.store import load_model, save_model
from symmol.molgraph import FeaturizedGraphs, GraphFeaturizer
from symmol.pipeline import parse_mode_for
from symmol.screen import score_chunk
from symmol.targets import check_targets
from symmol.train import TrainConfig, TrainHistory, train_model

#: Model architectures of :class:`QSARModel`: the fingerprint MLP and two graph networks.
ARCHITECTURES = ("mlp", "dmpnn", "gin")
#: Defaults of ``hidden`` and ``dropout`` per architecture (graph networks: Chemprop's FFN head).
ARCHITECTURE_DEFAULTS = {"mlp": {"hidden": (512,), "dropout": 0.3},
                         "graph": {"hidden": (300,), "dropout": 0.0}}


class InvalidMoleculeError(ValueError):
    """Training data holds a SMILES that RDKit rejects."""


def _as_target_matrix(y, n_rows: int) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n_rows:
        raise ValueError(f"y must have {n_rows} rows (one per SMILES), got shape {arr.shape}")
    return arr


class QSARModel:
    """ECFP → MLP (or graph network) for one or several targets, trained with a compiled PyTensor step.

    Parameters
    ----------
    task
        ``"classification"`` (labels 0/1, NaN = missing) or ``"regression"``.
    hidden
        Hidden layer widths, e.g. ``(512,)`` or ``(1024, 256)``; for graph networks, the dense
        head after the readout. Default ``(512,)`` (MLP), ``(300,)`` (graph networks).
    dropout
        Dropout probability after each hidden layer (graph networks: before each dense layer
        of the head). Default 0.3 (MLP), 0.0 (graph networks).
    radius, fp_size, counts
        Morgan fingerprint parameters (ECFP4 = radius 2); MLP only.
    ensemble_size
        Members trained together in one compiled step; predictions are their mean.
    backend
        ``"numba"`` or ``"c"``.
    architecture
        ``"mlp"`` (ECFP → :class:`~symmol.models.mlp.FingerprintMLP`), ``"dmpnn"`` or
        ``"gin"`` (molecular graph → :class:`~symmol.models.graph.GraphModel`).
    depth, units, readout, n_atom_types
        Graph networks: message-passing steps, message width (Chemprop's ``d_h``), atom
        pooling (``"mean"``, ``"sum"``, ``"max"``) and buckets of the atom-invariant embedding.
    config
        Optimisation settings (:class:`~symmol.train.TrainConfig`); keyword arguments
        ``epochs``, ``patience``, ``batch_size``, ``optimizer``, ``learning_rate``,
        ``lr_schedule``, ``max_grad_norm``, ``weight_decay``, ``averaging`` (``"none"``,
        ``"ema"``, ``"swa"``: weight averaging over steps), ``ema_decay``, ``swa_start``,
        ``bagging`` (a bootstrap resample per ensemble member), ``seed``, ``progress``
        override its fields. The settings used are saved in ``model.json`` (``"training"``)
        and restored by :meth:`load`.

    Examples
    --------
    >>> model = QSARModel("classification", epochs=30).fit(train_smiles, train_y)
    >>> proba = model.predict(test_smiles)          # (n, n_targets), NaN rows for invalid SMILES
    """

    def __init__(self, task: str = "classification", hidden: Sequence[int] | None = None,
                 dropout: float | None = None, radius: int = 2, fp_size: int = 2048, counts: bool = False,
                 activation: str = "relu", ensemble_size: int = 1, backend: str = "numba",
                 config: TrainConfig | None = None, architecture: str = "mlp", depth: int = 3, units: int = 300,
                 readout: str = "mean", n_atom_types: int = 1024, **train_options):
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        defaults = ARCHITECTURE_DEFAULTS["mlp" if architecture == "mlp" else "graph"]
        self.task = task
        self.architecture = architecture
        self.hidden = tuple(int(h) for h in (defaults["hidden"] if hidden is None else hidden))
        self.dropout = defaults["dropout"] if dropout is None else float(dropout)
        self.activation = activation
        self.ensemble_size = int(ensemble_size)
        self.depth, self.units, self.readout, self.n_atom_types = int(depth), int(units), readout, int(n_atom_types)
        self.featurizer = (MorganFingerprint(radius, fp_size, counts) if architecture == "mlp"
                           else GraphFeaturizer())
        self.backend = backend
        base = config or TrainConfig()
        self.config = TrainConfig(**{**base.__dict__, **train_options})
        self.model_: CompiledModel | None = None
        self.history_: TrainHistory | None = None

    def featurize(self, smiles: Sequence[str]) -> FeaturizedMolecules | FeaturizedGraphs:
        """Features (fingerprints or graphs) of ``smiles`` with this model's featurizer; invalid rows flagged."""
        spec = self.featurizer.to_dict()
        return self.featurizer.from_smiles(list(smiles), parse_mode=parse_mode_for(spec))

    def fit(self, smiles: Sequence[str], y, val_smiles: Sequence[str] | None = None, val_y=None,
            target_names: Sequence[str] | None = None) -> QSARModel:
        """Train on SMILES and targets; early stopping uses the validation set if given.

        Raises
        ------
        InvalidMoleculeError
            Naming the first training row whose SMILES RDKit rejects, and why.
        ValueError
            Naming the target, row and value of a classification label other than 0/1 (NaN =
            missing) or an infinite regression target.
        """
        train_features = self._featurize_strict(smiles, "training").features
        val_features = None
        if val_smiles is not None and len(val_smiles):
            val_features = self._featurize_strict(val_smiles, "validation").features
        return self.fit_features(train_features, y, val_features, val_y, target_names,
                                 self.ad_fingerprints(smiles))

    def ad_fingerprints(self, smiles: Sequence[str]) -> FingerprintBatch | None:
        """What :meth:`fit_features` takes as ``ad_fingerprints`` for training molecules ``smiles``:
        ECFP4 for a graph network, ``None`` for an MLP (it keeps its own fingerprints)."""
        if self.architecture == "mlp":
            return None
        return AD_FEATURIZER.from_smiles(list(smiles), parse_mode="fast").fingerprints

    def fit_features(self, features, y, val_features=None, val_y=None, target_names: Sequence[str] | None = None,
                     ad_fingerprints: FingerprintBatch | None = None) -> QSARModel:
        """Train on precomputed features (from this model's :meth:`featurize`); see :meth:`fit`.

        Parameters
        ----------
        features, val_features
            :class:`~symmol.fingerprints.FingerprintBatch` (MLP) or
            :class:`~symmol.chem.graph.MolGraphBatch` (graph networks) of the training and
            validation molecules.
        ad_fingerprints
            Graph networks: ECFP4 (2048 bits) of the training molecules, one row per row of
            ``features``, kept for the applicability domain of ``symmol screen --ad``; an MLP
            keeps its own fingerprints and takes none.

        Raises
        ------
        ValueError
            As :meth:`fit`, and for ``ad_fingerprints`` given to an MLP, with another row count
            or other than 2048 bits.
        """
        if ad_fingerprints is not None:
            if self.architecture == "mlp":
                raise ValueError("ad_fingerprints is for graph networks; an MLP keeps its own training fingerprints")
            if len(ad_fingerprints) != len(features) or ad_fingerprints.fp_size != AD_FEATURIZER.fp_size:
                raise ValueError(f"ad_fingerprints must be ECFP4 with 2048 bits, one row per training molecule "
                                 f"({len(features)}); got {len(ad_fingerprints)} rows of "
                                 f"{ad_fingerprints.fp_size} bits")
        y_train = _as_target_matrix(y, len(features))
        names = tuple(target_names) if target_names is not None else tuple(f"task{i}" for i in range(y_train.shape[1]))
        if len(names) != y_train.shape[1]:
            raise ValueError(f"{len(names)} target names for {y_train.shape[1]} target columns")
        check_targets(y_train, names, self.task, source="training")
        empty = [name for name, column in zip(names, y_train.T, strict=True) if np.isnan(column).all()]
        if empty:
            raise ValueError(f"target(s) {empty} have no measured value in the training set")
        y_val = None
        if val_features is not None and len(val_features):
            y_val = _as_target_matrix(val_y, len(val_features))
            check_targets(y_val, names, self.task, source="validation")
        else:
            val_features = None
        mean: tuple[float, ...] = ()
        std: tuple[float, ...] = ()
        if self.task == "regression":
            mean = tuple(float(v) for v in np.nanmean(y_train, axis=0))
            std = tuple(float(v) if v > 0 else 1.0 for v in np.nanstd(y_train, axis=0))
        common = {"targets": names, "task": self.task, "hidden": self.hidden, "dropout": self.dropout,
                  "activation": self.activation, "featurizer": self.featurizer.to_dict(), "target_mean": mean,
                  "target_std": std, "seed": self.config.seed, "ensemble_size": self.ensemble_size}
        if self.architecture == "mlp":
            self.model_ = FingerprintMLP(MLPSpec(**common), backend=self.backend)
            ad_fingerprints = features
        else:
            self.model_ = GraphModel(GraphSpec(**common, message_passing=self.architecture, units=self.units,
                                               depth=self.depth, readout=self.readout,
                                               n_atom_types=self.n_atom_types), backend=self.backend)
        self.history_ = train_model(self.model_, features, y_train, val_features, y_val, self.config)
        if ad_fingerprints is not None:
            self.model_.train_fingerprints = ad_fingerprints.to_packed()
        return self

    def _featurize_strict(self, smiles: Sequence[str], what: str) -> FeaturizedMolecules | FeaturizedGraphs:
        smiles = list(smiles)  # positions, not labels, for a pandas Series with any index
        featurized = self.featurize(smiles)
        for row, error in enumerate(featurized.errors):
            if error:
                raise InvalidMoleculeError(f"{what} row {row}: SMILES {smiles[row]!r} rejected: {error}")
        return featurized

    def _fitted(self) -> CompiledModel:
        if self.model_ is None:
            raise RuntimeError("this QSARModel is not fitted yet; call fit() or QSARModel.load()")
        return self.model_

    def predict(self, smiles: Sequence[str]) -> np.ndarray:
        """``(n, n_targets)`` float32 scores (probabilities or values); NaN rows for invalid SMILES."""
        featurized = self.featurize(smiles)
        scores = self._fitted().predict_features(featurized.features)
        scores[~featurized.valid] = np.nan
        return scores

    def predict_frame(self, smiles: Sequence[str]) -> pd.DataFrame:
        """Predictions as a DataFrame with the screening columns: ``row``, ``smiles``, one
        column per target, ``status`` (``ok``/``invalid``) and ``error``."""
        return score_chunk(self._fitted(), pd.DataFrame({"row": np.arange(len(smiles)), "smiles": list(smiles)}))

    def score(self, smiles: Sequence[str], y) -> dict:
        """Metrics on labelled data (ROC-AUC/PR-AUC or RMSE/MAE/R², per task and mean)."""
        model = self._fitted()
        return task_metrics(model.task, _as_target_matrix(y, len(smiles)), self.predict(smiles), model.targets)

    def save(self, directory: str | Path) -> Path:
        """Write the model directory (``model.json`` + ``params.npz``)."""
        return save_model(self._fitted(), directory)

    @classmethod
    def load(cls, directory: str | Path, backend: str = "numba") -> QSARModel:
        """Load a model directory written by :meth:`save` or ``symmol train``."""
        model = load_model(directory, backend=backend)
        spec = model.spec
        fields = set(TrainConfig.__dataclass_fields__)
        saved = {k: v for k, v in (model.train_config or {}).items() if k in fields}
        config = TrainConfig(**{**saved, "seed": spec.seed, "progress": False})
        common = {"hidden": spec.hidden, "dropout": spec.dropout, "activation": spec.activation,
                  "ensemble_size": spec.ensemble_size, "backend": backend, "config": config}
        if isinstance(model, GraphModel):
            estimator = cls(spec.task, architecture=spec.message_passing, depth=spec.depth, units=spec.units,
                            readout=spec.readout, n_atom_types=spec.n_atom_types, **common)
        else:
            featurizer = MorganFingerprint.from_dict(spec.featurizer)
            estimator = cls(spec.task, radius=featurizer.radius, fp_size=featurizer.fp_size,
                            counts=featurizer.counts, **common)
            estimator.featurizer = featurizer  # FCFP and chirality too, which the constructor does not take
        estimator.model_ = model
        return estimator
