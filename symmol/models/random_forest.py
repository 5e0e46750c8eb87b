"""Random forests on fingerprints: scikit-learn fits them, a Numba kernel predicts, no pickle stores them.

One forest per target, on the molecules where that target is measured (as the RF-500 baseline of
``bench/molnet.py``): :class:`sklearn.ensemble.RandomForestClassifier` (binary labels; the score is
the mean over trees of each leaf's fraction of positives, ``predict_proba(X)[:, 1]``) or
:class:`sklearn.ensemble.RandomForestRegressor` (the mean over trees of the leaf means), on the
dense fingerprint values (Breiman, *Machine Learning* 45, 2001, doi:10.1023/A:1010933404324).

After fitting, every tree's nodes are copied out of scikit-learn's ``tree_`` arrays into flat arrays
(the model file's parameters; :mod:`symmol.kernels.forest` describes the layout), and predictions,
screening included, walk those arrays in :func:`~symmol.kernels.forest.forest_mean_csr` on sparse
rows and all threads, without scikit-learn: a model directory holds no pickle and loads under any
scikit-learn version.

On a scaffold split a forest on ECFP4 bits is hard to beat where actives are few and
scaffold-specific (HIV: ``bench/results/molnet_summary.md``), which is why ``symmol tune`` offers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numba
import numpy as np

from symmol.data.batch import Batch
from symmol.data.fingerprints import FingerprintBatch
from symmol.featurizers.base import FingerprintFeaturizer
from symmol.featurizers.morgan import MorganFingerprint
from symmol.kernels.forest import forest_mean_csr
from symmol.models.base import CompiledModel, ModelInput, ModelSpec, inputs_to_dict, molecule_input
from symmol.models.options import FINGERPRINT_OPTIONS, fingerprint_inputs, fingerprint_options, positive_int
from symmol.models.registry import ModelKind, Option, Problem, register_model_kind

__all__ = ["RF", "RandomForest", "RandomForestSpec", "max_features"]

#: The node arrays of a fitted forest, as stored per target (``t<j>.<name>``).
NODE_ARRAYS = ("feature", "threshold", "left", "right", "leaf_value", "roots")


def max_features(value: Any) -> str | float:
    """Parse ``max_features``: ``"sqrt"``, ``"log2"`` or a fraction of the features in (0, 1].

    Raises
    ------
    ValueError
        For anything else.
    """
    if isinstance(value, str) and value.strip() in ("sqrt", "log2"):
        return value.strip()
    fraction = float(value)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"expected sqrt, log2 or a fraction in (0, 1], got {value!r}")
    return fraction


@dataclass(frozen=True)
class RandomForestSpec(ModelSpec):
    """Problem and settings of a fingerprint random forest (stored as JSON).

    Attributes
    ----------
    targets, task
        Target names; ``"regression"`` or ``"classification"`` (binary labels per target).
    inputs
        One fingerprint input; default ECFP4 bits, 2048.
    n_estimators, max_features, min_samples_leaf
        scikit-learn's settings of the same names (defaults: its own, with 500 trees).
    target_mean, target_std, seed, ensemble_size
        As every spec; ``seed`` is the forests' ``random_state``; ``ensemble_size`` must be 1 (a
        forest is already an ensemble).
    """

    targets: tuple[str, ...]
    task: str
    inputs: dict = field(default_factory=lambda: molecule_input(MorganFingerprint()))
    n_estimators: int = 500
    max_features: str | float = "sqrt"
    min_samples_leaf: int = 1
    target_mean: tuple[float, ...] = ()
    target_std: tuple[float, ...] = ()
    seed: int = 0
    ensemble_size: int = 1

    def __post_init__(self) -> None:
        self.check_problem()
        if int(self.ensemble_size) != 1:
            raise ValueError(f"a random forest is not ensembled further (ensemble_size 1), got {self.ensemble_size}")
        if len(self.inputs) != 1:
            raise ValueError(f"a fingerprint random forest has one input, got {list(self.inputs)}")
        positive_int(self.n_estimators)
        positive_int(self.min_samples_leaf)
        max_features(self.max_features)


@dataclass
class _Forest:
    """One target's forest as flat node arrays (:mod:`symmol.kernels.forest`)."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf_value: np.ndarray
    roots: np.ndarray

    DTYPES: ClassVar[dict[str, type]] = {"feature": np.int32, "threshold": np.float64, "left": np.int32,
                                         "right": np.int32, "leaf_value": np.float64, "roots": np.int64}

    @classmethod
    def from_sklearn(cls, forest: Any, task: str) -> _Forest:
        """Copy the nodes of a fitted scikit-learn forest (leaf values: mean, or fraction of class 1)."""
        parts: dict[str, list[np.ndarray]] = {name: [] for name in NODE_ARRAYS}
        offset = 0
        for estimator in forest.estimators_:
            tree = estimator.tree_
            leaf = tree.children_left < 0
            value = tree.value[:, 0, :]
            if task == "classification":
                totals = value.sum(axis=1)
                positive = list(forest.classes_).index(1) if 1 in forest.classes_ else None
                leaf_value = value[:, positive] / totals if positive is not None else np.zeros(len(value))
            else:
                leaf_value = value[:, 0]
            parts["feature"].append(np.where(leaf, 0, tree.feature))
            parts["threshold"].append(tree.threshold)
            parts["left"].append(np.where(leaf, -1, tree.children_left + offset))
            parts["right"].append(np.where(leaf, -1, tree.children_right + offset))
            parts["leaf_value"].append(leaf_value)
            parts["roots"].append(np.array([offset]))
            offset += tree.node_count
        return cls(**{name: np.concatenate(arrays).astype(cls.DTYPES[name]) for name, arrays in parts.items()})

    @classmethod
    def from_values(cls, values: dict[str, np.ndarray], prefix: str, n_features: int) -> _Forest:
        """Read back :meth:`values`, checking that the nodes form trees over ``n_features`` features.

        Raises
        ------
        ValueError
            Naming the target prefix, for arrays of different lengths or indices out of range.
        """
        forest = cls(**{name: np.ascontiguousarray(values[f"{prefix}.{name}"], cls.DTYPES[name])
                        for name in NODE_ARRAYS})
        n = len(forest.feature)
        split = forest.left >= 0
        if not (len(forest.threshold) == len(forest.left) == len(forest.right) == len(forest.leaf_value) == n) \
                or not len(forest.roots) or forest.roots.min() < 0 or forest.roots.max() >= n \
                or (split.any() and (forest.feature[split].min() < 0 or forest.feature[split].max() >= n_features
                                     or forest.left[split].max() >= n or forest.right[split].min() < 0
                                     or forest.right[split].max() >= n
                                     or (forest.left[split] <= np.flatnonzero(split)).any()
                                     or (forest.right[split] <= np.flatnonzero(split)).any())):
            raise ValueError(f"{prefix}: the node arrays do not form trees over {n_features} features")
        return forest

    def values(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.{name}": getattr(self, name) for name in NODE_ARRAYS}

    def predict(self, batch: FingerprintBatch) -> np.ndarray:
        indptr, indices, values = batch.arrays()
        return forest_mean_csr(indptr, indices, values, batch.fp_size, self.feature, self.threshold, self.left,
                               self.right, self.leaf_value, self.roots)


class RandomForest(CompiledModel):
    """A random forest per target on one fingerprint input.

    Parameters
    ----------
    spec
        Problem and settings.
    backend
        Accepted for the interface; fitting is scikit-learn's and prediction the Numba kernel's
        whatever the backend.
    """

    KIND: ClassVar[str] = "random_forest"
    SPEC: ClassVar[type[ModelSpec]] = RandomForestSpec
    spec: RandomForestSpec
    FITS_DIRECTLY: ClassVar[bool] = True
    predict_batch_size: ClassVar[int] = 8192

    def __init__(self, spec: RandomForestSpec, backend: str = "numba"):
        super().__init__(spec, backend)
        if not isinstance(self.featurizer, FingerprintFeaturizer):
            raise ValueError(f"a fingerprint random forest reads fingerprints, not {self.featurizer.kind!r}")
        self.members, self.input_layers = [], []
        self._forests: list[_Forest] = []
        #: What :meth:`fit_directly` returned (empty before fitting).
        self.fit_summary: dict[str, Any] = {}

    def batch_arrays(self, batch: Batch) -> tuple[np.ndarray, ...]:
        """Return the CSR arrays ``(indptr, indices, values)`` of the fingerprints."""
        assert isinstance(batch, FingerprintBatch)
        return batch.arrays()

    def fit_directly(self, train: Batch, targets: np.ndarray) -> dict[str, Any]:
        """Fit one forest per target on all threads Numba uses.

        Parameters
        ----------
        train
            The training fingerprints (``FingerprintBatch``).
        targets : (n_rows, n_targets) float
            NaN = not measured (that molecule is left out of that target's forest); classification
            labels 0/1.

        Returns
        -------
        dict
            Per target, the rows fitted and the forest's node count.

        Raises
        ------
        ValueError
            If a target has no measured row.
        """
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        self.check_batch(train)
        assert isinstance(train, FingerprintBatch)
        dense = train.to_dense(np.float32)
        settings = {"n_estimators": int(self.spec.n_estimators), "max_features": self.spec.max_features,
                    "min_samples_leaf": int(self.spec.min_samples_leaf), "random_state": int(self.spec.seed),
                    "n_jobs": numba.get_num_threads()}
        forests, summary = [], {}
        for j, name in enumerate(self.targets):
            rows = np.flatnonzero(~np.isnan(targets[:, j]))
            if rows.size == 0:
                raise ValueError(f"target {name!r} has no measured training row")
            if self.task == "classification":
                forest: Any = RandomForestClassifier(**settings).fit(dense[rows], targets[rows, j].astype(int))
            else:
                forest = RandomForestRegressor(**settings).fit(dense[rows], targets[rows, j])
            forests.append(_Forest.from_sklearn(forest, self.task))
            summary[name] = {"n_fitted": int(rows.size), "nodes": int(len(forests[-1].feature))}
        self._forests = forests
        self.fit_summary = summary
        return summary

    def get_param_values(self) -> dict[str, np.ndarray]:
        """Return every target's node arrays, keyed ``t<j>.<array>``."""
        values: dict[str, np.ndarray] = {}
        for j, forest in enumerate(self._forests):
            values |= forest.values(f"t{j}")
        return values

    def set_param_values(self, values: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`get_param_values` gave.

        Raises
        ------
        ValueError
            If an entry is missing or unexpected, or a target's nodes do not form trees.
        """
        expected = {f"t{j}.{name}" for j in range(len(self.targets)) for name in NODE_ARRAYS}
        if set(values) != expected:
            missing, extra = sorted(expected - set(values)), sorted(set(values) - expected)
            raise ValueError(f"parameter names differ: missing {missing}, unexpected {extra}")
        n_features = int(self.featurizer.fp_size)  # type: ignore[attr-defined]
        self._forests = [_Forest.from_values(values, f"t{j}", n_features) for j in range(len(self.targets))]

    def predict_batch(self, batch: Batch, batch_size: int | None = None) -> np.ndarray:
        """Mean over trees: the probability of class 1 (classification) or the value in target units.

        Returns
        -------
        ``(n_rows, n_targets)`` float32.

        Raises
        ------
        RuntimeError
            If the forest is not fitted.
        """
        self.check_batch(batch)
        if not self._forests:
            raise RuntimeError("this random forest is not fitted")
        assert isinstance(batch, FingerprintBatch)
        out = np.empty((len(batch), len(self.targets)), np.float32)
        for j, forest in enumerate(self._forests):
            out[:, j] = forest.predict(batch)
        return self._unscale(out)

    def predict_members(self, batch: Batch, batch_size: int | None = None) -> np.ndarray:
        """``(1, n_rows, n_targets)``: the one "member" is the forest's prediction."""
        return self.predict_batch(batch)[None]

    @property
    def uncertainty_methods(self) -> tuple[str, ...]:
        """None: the spread of a forest's trees is not offered as an uncertainty."""
        return ()


# --------------------------------------------------------------------------
# registry entry
# --------------------------------------------------------------------------
def _spec(problem: Problem, inputs: list[ModelInput], options: dict[str, Any]) -> RandomForestSpec:
    return RandomForestSpec(**problem.spec_fields(), inputs=inputs_to_dict(inputs),
                            n_estimators=options["n_estimators"], max_features=options["max_features"],
                            min_samples_leaf=options["min_samples_leaf"])


def _options(spec: ModelSpec) -> dict[str, Any]:
    assert isinstance(spec, RandomForestSpec)
    return {**fingerprint_options(spec), "n_estimators": spec.n_estimators, "max_features": spec.max_features,
            "min_samples_leaf": spec.min_samples_leaf}


def _search_space(trial: Any) -> dict[str, Any]:
    """``symmol tune``'s forest settings: the fingerprint and the trees' randomness and leaf size.

    ``max_features`` stays at or below 5 % of the bits: a fit's time grows with it (on HIV's 33,000
    training molecules 500 trees take ~5 minutes on 2 cores at ``sqrt``, 45 of 2,048 bits).
    """
    return {"radius": trial.suggest_int("rf.radius", 1, 3),
            "counts": trial.suggest_categorical("rf.counts", [False, True]),
            "max_features": trial.suggest_categorical("rf.max_features", ["sqrt", "log2", 0.05]),
            "min_samples_leaf": trial.suggest_int("rf.min_samples_leaf", 1, 5, log=True)}


#: ``--architecture rf``.
RF = register_model_kind(ModelKind(
    name="rf",
    model_class=RandomForest,
    description="random forest on fingerprints (scikit-learn's fit; a Numba kernel predicts)",
    options=(
        *FINGERPRINT_OPTIONS,
        Option("n_estimators", 500, "trees per target", parse=positive_int),
        Option("max_features", "sqrt", "features tried per split: sqrt, log2 or a fraction in (0, 1]",
               parse=max_features),
        Option("min_samples_leaf", 1, "fewest training molecules in a leaf", parse=positive_int),
    ),
    build_inputs=fingerprint_inputs,
    build_spec=_spec,
    spec_options=_options,
    search_space=_search_space,
    tune_presets=({"rf.radius": 2, "rf.counts": False, "rf.max_features": "sqrt", "rf.min_samples_leaf": 1},),
))
