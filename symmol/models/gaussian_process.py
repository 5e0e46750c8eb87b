"""Exact Gaussian processes on fingerprints: Tanimoto kernel on bits, MinMax kernel on counts.

One independent GP per target on the molecules where that target is measured:

* **Regression** (Rasmussen & Williams, *Gaussian Processes for Machine Learning*, MIT Press 2006,
  Alg. 2.1): ``y = f + e``, ``f ~ GP(mu, s * T)``, ``e ~ N(0, noise)``, with ``T`` the MinMax (or
  Tanimoto) similarity matrix (:mod:`symmol.ops.fingerprint_kernels`), on standardised targets.
  The constant mean ``mu``, outputscale ``s`` and noise are the minimum of the negative log
  marginal likelihood, a compiled PyTensor function with its gradient (L-BFGS-B, two starts),
  evaluated in the eigenbasis of ``T`` (one eigendecomposition per fit, then O(n) per evaluation).
  Predictions are the posterior mean and the latent variance ``s * T(x, x) - v'v``; the standard
  deviation is reported with the mean (``<target>_std`` in ``symmol predict``/``screen``).
  GAUCHE (Griffiths et al., NeurIPS 2023, arXiv:2212.04450) is the reference recipe.
* **Binary classification** by the Laplace approximation with the logistic likelihood (R&W Alg. 3.1
  and 3.2): Newton iterations to the posterior mode, the outputscale chosen on a log grid by the
  approximate log marginal likelihood, and the predictive probability by the probit approximation
  ``sigmoid(m / sqrt(1 + pi v / 8))`` (MacKay 1992).

An exact GP costs ``O(n^2)`` memory and ``O(n^3)`` time in the training set size ``n``: past
``max_exact`` molecules per target (default 10,000: an 800 MB kernel matrix) the GP is fitted on a
random subsample of ``max_exact`` molecules (seeded), recorded as ``n_fitted`` in
:attr:`GaussianProcess.fit_summary` and in ``metrics.json``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, cast

import numpy as np
import pytensor
import pytensor.tensor as pt
import scipy.linalg
import scipy.optimize
import scipy.special
from pytensor.graph.basic import Variable
from pytensor.tensor.linalg import solve_triangular

from symmol.compile.backends import get_backend_mode
from symmol.data.batch import Batch
from symmol.data.fingerprints import FingerprintBatch
from symmol.featurizers.base import FingerprintFeaturizer
from symmol.featurizers.morgan import MorganFingerprint
from symmol.featurizers.registry import featurizer_class
from symmol.models.base import CompiledModel, ModelInput, ModelSpec, inputs_to_dict, molecule_input
from symmol.models.options import FINGERPRINT_OPTIONS, fingerprint_inputs, fingerprint_options, positive_int
from symmol.models.registry import ModelKind, Option, Problem, register_model_kind
from symmol.ops.fingerprint_kernels import COUNT_METRICS, CountKernel, TanimotoKernel, count_kernel, tanimoto_kernel

__all__ = ["GP", "GaussianProcess", "GaussianProcessSpec", "negative_log_marginal_likelihood"]

#: Added to the diagonal of every kernel matrix factorised (numerical floor of the noise).
JITTER = 1e-6
#: Bounds of the regression hyperparameters: log outputscale, log noise variance (standardised units).
_LOG_BOUNDS = ((math.log(1e-2), math.log(1e2)), (math.log(1e-4), math.log(10.0)))
#: Outputscales tried by the Laplace classifier.
_CLASSIFIER_SCALES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
_NEWTON_STEPS, _NEWTON_TOL = 50, 1e-8


@dataclass(frozen=True)
class GaussianProcessSpec(ModelSpec):
    """Problem and settings of a fingerprint GP (stored as JSON).

    Attributes
    ----------
    targets, task
        Target names; ``"regression"`` or ``"classification"`` (binary labels per target).
    inputs
        One fingerprint input; default ECFP4 counts, 2048 bits: on ESOL (random 80/20, seed 0) the
        MinMax kernel on counts reached RMSE 0.73 against 1.03 for Tanimoto on bits.
    kernel
        ``"minmax"`` or ``"tanimoto"`` (:class:`~symmol.ops.fingerprint_kernels.CountKernel`); on
        bit fingerprints both are the Tanimoto coefficient (computed on packed bits).
    max_exact
        Largest number of training molecules per target of the exact GP; more are subsampled.
    target_mean, target_std, seed, ensemble_size
        As every spec; ``ensemble_size`` must be 1 (a GP's variance is its own uncertainty) and
        ``seed`` draws the subsample.
    """

    targets: tuple[str, ...]
    task: str
    inputs: dict = field(default_factory=lambda: molecule_input(MorganFingerprint(counts=True)))
    kernel: str = "minmax"
    max_exact: int = 10_000
    target_mean: tuple[float, ...] = ()
    target_std: tuple[float, ...] = ()
    seed: int = 0
    ensemble_size: int = 1

    def __post_init__(self) -> None:
        self.check_problem()
        if int(self.ensemble_size) != 1:
            raise ValueError(f"a Gaussian process is not ensembled (ensemble_size 1), got {self.ensemble_size}")
        if len(self.inputs) != 1:
            raise ValueError(f"a fingerprint GP has one input, got {list(self.inputs)}")
        if self.kernel not in COUNT_METRICS:
            raise ValueError(f"kernel must be one of {list(COUNT_METRICS)}, got {self.kernel!r}")
        if int(self.max_exact) < 2:
            raise ValueError(f"max_exact must be at least 2, got {self.max_exact}")


@dataclass
class _TargetFit:
    """The fitted GP of one target: its training rows and the posterior's pieces.

    ``hyper`` is ``(outputscale, noise, mean)`` (regression; noise 0 for classification);
    ``alpha`` the weights of the posterior mean (``K^-1 (y - mu)``, or ``y - pi`` for
    classification); ``scale`` the ``sqrt(W)`` of the Laplace approximation (ones for regression).
    """

    rows: np.ndarray
    hyper: np.ndarray
    alpha: np.ndarray
    scale: np.ndarray
    log_marginal_likelihood: float
    chol: np.ndarray | None = None


def negative_log_marginal_likelihood(theta: Any, eigenvalues: Any, projected_y: Any, projected_ones: Any) -> Any:
    """Symbolic negative log marginal likelihood of a GP regression, in the eigenbasis of its kernel matrix.

    ``y ~ N(mu, s T + (noise + JITTER) I)`` (R&W eq. 2.30) with ``T = Q diag(eigenvalues) Q'``:
    ``0.5 sum r_i^2 / d_i + 0.5 sum log d_i + n/2 log 2 pi``, ``d = s eigenvalues + noise + JITTER``,
    ``r = Q'y - mu Q'1``. One eigendecomposition per fit makes every evaluation O(n) instead of a
    Cholesky factorisation.

    Parameters
    ----------
    theta : (3,) float64
        ``(log s, log noise, mu)``.
    eigenvalues, projected_y, projected_ones : (n,) float64
        Eigenvalues of ``T``, ``Q'y`` and ``Q'1``.
    """
    variance = pt.exp(theta[0]) * eigenvalues + pt.exp(theta[1]) + JITTER
    residual = projected_y - theta[2] * projected_ones
    n = eigenvalues.shape[0]
    return 0.5 * pt.sum(residual**2 / variance) + 0.5 * pt.sum(pt.log(variance)) + 0.5 * n * math.log(2 * math.pi)


@functools.cache
def _compiled_nlml(backend: str) -> Any:
    """Compiled ``(theta, eigenvalues, Q'y, Q'1) -> (nlml, dnlml/dtheta)`` (one per process)."""
    theta = pt.vector("theta", dtype="float64")
    arrays = [pt.vector(name, dtype="float64") for name in ("eigenvalues", "projected_y", "projected_ones")]
    nlml = negative_log_marginal_likelihood(theta, *arrays)
    gradient = cast(Variable, pytensor.gradient.grad(nlml, theta))
    return pytensor.function([theta, *arrays], [nlml, gradient], mode=get_backend_mode(backend))


@functools.cache
def _compiled_predictive(backend: str, packed: bool, kernel: str) -> Any:
    """Compiled ``(*query arrays, *train arrays, self_sim, alpha, scale, chol, s, mu) -> (mean, var)``.

    Latent mean ``s k' alpha + mu`` and variance ``s T(x, x) - v'v`` with ``v = L^-1 (scale * s k)``
    (R&W Alg. 2.1 and 3.2); ``scale`` is 1 for regression, ``sqrt(W)`` for the Laplace classifier.
    """
    if packed:
        query, train = [pt.matrix("q", dtype="uint64")], [pt.matrix("x", dtype="uint64")]
        similarity = TanimotoKernel()(*query, *train)
    else:
        query = [pt.vector("q_indptr", dtype="int64"), pt.vector("q_indices", dtype="int32"),
                 pt.vector("q_values", dtype="float32")]
        train = [pt.vector("x_indptr", dtype="int64"), pt.vector("x_indices", dtype="int32"),
                 pt.vector("x_values", dtype="float32")]
        similarity = CountKernel(kernel)(*query, *train)
    self_sim, alpha, scale = (pt.vector(name, dtype="float64") for name in ("self_sim", "alpha", "scale"))
    chol = pt.matrix("chol", dtype="float64")
    s, mu = pt.scalar("s", dtype="float64"), pt.scalar("mu", dtype="float64")
    cross = s * similarity
    mean = pt.dot(cross, alpha) + mu
    v = solve_triangular(chol, (cross * scale[None, :]).T, lower=True)
    variance = pt.maximum(s * self_sim - pt.sum(v**2, axis=0), 0.0)
    return pytensor.function([*query, *train, self_sim, alpha, scale, chol, s, mu], [mean, variance],
                             mode=get_backend_mode(backend))


class GaussianProcess(CompiledModel):
    """A Gaussian process per target on one fingerprint input.

    Parameters
    ----------
    spec
        Problem and settings.
    backend
        ``"numba"`` (default) or ``"c"``: how PyTensor compiles the marginal likelihood and the
        predictive function.
    """

    KIND: ClassVar[str] = "gaussian_process"
    SPEC: ClassVar[type[ModelSpec]] = GaussianProcessSpec
    spec: GaussianProcessSpec
    BACKENDS: ClassVar[tuple[str, ...]] = ("numba", "c")
    FITS_DIRECTLY: ClassVar[bool] = True
    predict_batch_size: ClassVar[int] = 2048

    def __init__(self, spec: GaussianProcessSpec, backend: str = "numba"):
        super().__init__(spec, backend)
        featurizer = self.featurizer
        if not isinstance(featurizer, FingerprintFeaturizer):
            raise ValueError(f"a fingerprint GP reads fingerprints, not {featurizer.kind!r}")
        #: Bit fingerprints take the packed Tanimoto kernel (MinMax and Tanimoto agree on bits).
        self.packed = not featurizer.counts
        self.members, self.input_layers = [], []
        self._train: FingerprintBatch | None = None
        self._fits: list[_TargetFit] = []
        #: What :meth:`fit_directly` returned (empty before fitting).
        self.fit_summary: dict[str, Any] = {}

    # -- inputs and kernels ---------------------------------------------------------------------
    def batch_arrays(self, batch: Batch) -> tuple[np.ndarray, ...]:
        """Packed ``uint64`` rows (bit fingerprints) or the CSR arrays ``(indptr, indices, values)``."""
        assert isinstance(batch, FingerprintBatch)
        return (batch.to_packed(),) if self.packed else batch.arrays()

    def _kernel_matrix(self, a: FingerprintBatch, b: FingerprintBatch) -> np.ndarray:
        if self.packed:
            return tanimoto_kernel(a.to_packed(), b.to_packed())
        return count_kernel(a.arrays(), b.arrays(), self.spec.kernel)

    @staticmethod
    def _self_similarity(batch: FingerprintBatch) -> np.ndarray:
        """``T(x, x)``: 1 for a molecule with any feature, 0 for an empty fingerprint (RDKit's 0/0 = 0)."""
        return (np.diff(batch.indptr) > 0).astype(np.float64)

    # -- fitting ----------------------------------------------------------------------------------
    def fit_directly(self, train: Batch, targets: np.ndarray) -> dict[str, Any]:
        """Fit one GP per target (regression targets standardised, classification labels 0/1).

        Parameters
        ----------
        train
            The training fingerprints (``FingerprintBatch``).
        targets : (n_rows, n_targets) float
            NaN = not measured (that molecule is left out of that target's GP).

        Returns
        -------
        dict
            :attr:`fit_summary`: the kernel; per target ``n_measured``, ``n_fitted``, the
            hyperparameters and the (approximate) log marginal likelihood; ``notes`` (one line per
            subsampled target).
        """
        assert isinstance(train, FingerprintBatch)
        rng = np.random.default_rng(self.spec.seed)
        chosen = []
        for j in range(targets.shape[1]):
            rows = np.flatnonzero(np.isfinite(targets[:, j]))
            if len(rows) > self.spec.max_exact:
                rows = np.sort(rng.choice(rows, self.spec.max_exact, replace=False))
            chosen.append(rows)
        used = np.unique(np.concatenate(chosen))
        self._train = train.take(used)
        self._fits, per_target, notes = [], {}, []
        matrices: dict[bytes, np.ndarray] = {}
        for j, (name, rows) in enumerate(zip(self.targets, chosen, strict=True)):
            local = np.searchsorted(used, rows)
            key = local.tobytes()
            if key not in matrices:
                matrices = {key: self._kernel_matrix(self._train.take(local), self._train.take(local))}
            similarity, y = matrices[key], targets[rows, j].astype(np.float64)
            fit = (self._fit_classifier(similarity, y) if self.task == "classification"
                   else self._fit_regression(similarity, y))
            fit.rows = local
            self._fits.append(fit)
            n_measured = int(np.isfinite(targets[:, j]).sum())
            per_target[name] = {
                "n_measured": n_measured, "n_fitted": len(rows), "outputscale": float(fit.hyper[0]),
                "noise": float(fit.hyper[1]), "mean": float(fit.hyper[2]),
                "log_marginal_likelihood": fit.log_marginal_likelihood,
            }
            if len(rows) < n_measured:
                notes.append(f"target {name!r}: exact GP on a random subsample of {len(rows)} of {n_measured} "
                             f"training molecules (max_exact {self.spec.max_exact}, seed {self.spec.seed})")
        self.fit_summary = {"kernel": "tanimoto" if self.packed else self.spec.kernel, "targets": per_target,
                            "notes": notes}
        return self.fit_summary

    def _fit_regression(self, similarity: np.ndarray, y: np.ndarray) -> _TargetFit:
        eigenvalues, basis = scipy.linalg.eigh(similarity)
        eigenvalues = np.maximum(eigenvalues, 0.0)  # T is positive semi-definite; rounding is not
        projected_y, projected_ones = basis.T @ y, basis.sum(axis=0)
        del basis
        fn = _compiled_nlml(self.backend)
        best = None
        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            value, gradient = fn(theta, eigenvalues, projected_y, projected_ones)
            return float(value), np.asarray(gradient)

        bounds: list[tuple[float | None, float | None]] = [*_LOG_BOUNDS, (None, None)]
        for log_noise in (math.log(0.1), math.log(0.5)):
            start = np.array([0.0, log_noise, float(y.mean())])
            result = scipy.optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds)
            if best is None or result.fun < best.fun:
                best = result
        assert best is not None
        s, noise, mu = math.exp(best.x[0]), math.exp(best.x[1]), float(best.x[2])
        chol = scipy.linalg.cholesky(s * similarity + (noise + JITTER) * np.eye(len(y)), lower=True)
        alpha = scipy.linalg.cho_solve((chol, True), y - mu)
        return _TargetFit(np.empty(0, np.int64), np.array([s, noise, mu]), alpha, np.ones(len(y)), -float(best.fun),
                          chol)

    @staticmethod
    def _laplace(covariance: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """Posterior mode of the logistic GP classifier (R&W Alg. 3.1).

        Returns (approximate log marginal likelihood, ``y - pi`` at the mode, ``sqrt(W)``, ``chol(B)``).
        """
        n = len(y)
        f = np.zeros(n)
        objective = -np.inf
        for _ in range(_NEWTON_STEPS):
            pi = scipy.special.expit(f)
            root_w = np.sqrt(pi * (1 - pi))
            chol = scipy.linalg.cholesky(np.eye(n) + root_w[:, None] * covariance * root_w[None, :], lower=True)
            b = root_w**2 * f + (y - pi)
            a = b - root_w * scipy.linalg.cho_solve((chol, True), root_w * (covariance @ b))
            f = covariance @ a
            new = -0.5 * float(a @ f) + float(np.sum(y * f - np.logaddexp(0.0, f)))
            if abs(new - objective) < _NEWTON_TOL * max(1.0, abs(new)):
                objective = new
                break
            objective = new
        pi = scipy.special.expit(f)
        root_w = np.sqrt(pi * (1 - pi))
        chol = scipy.linalg.cholesky(np.eye(n) + root_w[:, None] * covariance * root_w[None, :], lower=True)
        objective = -0.5 * float((y - pi) @ f) + float(np.sum(y * f - np.logaddexp(0.0, f)))
        return objective - float(np.sum(np.log(np.diag(chol)))), y - pi, root_w, chol

    def _fit_classifier(self, similarity: np.ndarray, y: np.ndarray) -> _TargetFit:
        best = None
        for s in _CLASSIFIER_SCALES:
            evidence, alpha, root_w, chol = self._laplace(s * similarity + JITTER * np.eye(len(y)), y)
            if best is None or evidence > best[0]:
                best = (evidence, s, alpha, root_w, chol)
        assert best is not None
        evidence, s, alpha, root_w, chol = best
        return _TargetFit(np.empty(0, np.int64), np.array([s, 0.0, 0.0]), alpha, root_w, evidence, chol)

    # -- parameters (model files) -------------------------------------------------------------------
    def get_param_values(self) -> dict[str, np.ndarray]:
        """Return the training fingerprints (CSR) and, per target ``t<j>``, its rows, hyperparameters and weights."""
        if self._train is None:
            return {}
        values = dict(zip(("train.indptr", "train.indices", "train.values"), self._train.arrays(), strict=True))
        for j, fit in enumerate(self._fits):
            values |= {f"t{j}.rows": fit.rows, f"t{j}.hyper": fit.hyper, f"t{j}.alpha": fit.alpha,
                       f"t{j}.scale": fit.scale, f"t{j}.log_marginal_likelihood": np.array(fit.log_marginal_likelihood)}
        return values

    def set_param_values(self, values: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`get_param_values` gave.

        Raises
        ------
        ValueError
            If an entry is missing or unexpected, or the shapes do not fit together.
        """
        expected = {"train.indptr", "train.indices", "train.values"} | {
            f"t{j}.{part}" for j in range(len(self.targets))
            for part in ("rows", "hyper", "alpha", "scale", "log_marginal_likelihood")}
        if set(values) != expected:
            missing, extra = sorted(expected - set(values)), sorted(set(values) - expected)
            raise ValueError(f"parameter names differ: missing {missing}, unexpected {extra}")
        train = FingerprintBatch(np.asarray(values["train.indptr"], np.int64),
                                 np.asarray(values["train.indices"], np.int32),
                                 np.asarray(values["train.values"], np.float32), self.featurizer.fp_size)  # type: ignore[attr-defined]
        fits = []
        for j in range(len(self.targets)):
            rows, hyper = np.asarray(values[f"t{j}.rows"], np.int64), np.asarray(values[f"t{j}.hyper"], np.float64)
            alpha, scale = np.asarray(values[f"t{j}.alpha"], np.float64), np.asarray(values[f"t{j}.scale"], np.float64)
            if hyper.shape != (3,) or not (rows.shape == alpha.shape == scale.shape) or rows.ndim != 1 \
                    or (len(rows) and (rows.min() < 0 or rows.max() >= len(train))):
                raise ValueError(f"target {self.targets[j]!r}: rows, hyper, alpha and scale do not fit together")
            fits.append(_TargetFit(rows, hyper, alpha, scale, float(values[f"t{j}.log_marginal_likelihood"])))
        self._train, self._fits = train, fits

    def _cholesky(self, fit: _TargetFit) -> np.ndarray:
        """Return the factor the predictive variance needs (recomputed after loading: not stored)."""
        if fit.chol is None:
            assert self._train is not None
            rows = self._train.take(fit.rows)
            similarity = fit.hyper[0] * self._kernel_matrix(rows, rows)
            if self.task == "classification":
                matrix = np.eye(len(fit.rows)) + fit.scale[:, None] * (similarity + JITTER * np.eye(len(fit.rows))) \
                    * fit.scale[None, :]
            else:
                matrix = similarity + (fit.hyper[1] + JITTER) * np.eye(len(fit.rows))
            fit.chol = scipy.linalg.cholesky(matrix, lower=True)
        return fit.chol

    # -- prediction ---------------------------------------------------------------------------------
    def _latent(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """Latent mean and variance ``(n_rows, n_targets)`` (standardised units for regression)."""
        self.check_batch(batch)
        if self._train is None:
            raise RuntimeError("this Gaussian process is not fitted")
        assert isinstance(batch, FingerprintBatch)
        if self._predict_fn is None:
            self._predict_fn = _compiled_predictive(self.backend, self.packed, self.spec.kernel)
        mean = np.empty((len(batch), len(self.targets)))
        variance = np.empty_like(mean)
        trains = [self.batch_arrays(self._train.take(fit.rows)) for fit in self._fits]
        for start in range(0, len(batch), self.predict_batch_size):
            part = batch.slice(start, min(start + self.predict_batch_size, len(batch)))
            arrays, self_sim = self.batch_arrays(part), self._self_similarity(part)
            for j, fit in enumerate(self._fits):
                m, v = self._predict_fn(*arrays, *trains[j], self_sim, fit.alpha, fit.scale, self._cholesky(fit),
                                        fit.hyper[0], fit.hyper[2])
                mean[start:start + len(part), j], variance[start:start + len(part), j] = m, v
        return mean, variance

    def predict_batch(self, batch: Batch, batch_size: int | None = None) -> np.ndarray:
        """Posterior mean (regression, target units) or predictive probability (classification).

        Returns
        -------
        ``(n_rows, n_targets)`` float32.
        """
        return self.predict_with_spread(batch)[0]

    def predict_members(self, batch: Batch, batch_size: int | None = None) -> np.ndarray:
        """``(1, n_rows, n_targets)``: the one "member" is the GP's prediction."""
        return self.predict_batch(batch)[None]

    @property
    def uncertainty_methods(self) -> tuple[str, ...]:
        """``("gp",)`` for regression: the posterior predictive standard deviation."""
        return ("gp",) if self.task == "regression" else ()

    def predict_with_spread(self, batch: Batch, method: str | None = None, mc_samples: int = 30
                            ) -> tuple[np.ndarray, np.ndarray | None]:
        """Scores and, for regression, the predictive standard deviation of a measurement, in target units.

        The variance is the latent posterior variance plus the fitted noise variance (R&W eq. 2.24
        with the noise term: the spread of a new measured value, not only of the latent mean).

        Returns
        -------
        scores : (n_rows, n_targets) float32
        std : (n_rows, n_targets) float32 or None
        """
        self.resolve_uncertainty(method)
        mean, variance = self._latent(batch)
        if self.task == "classification":
            probability = scipy.special.expit(mean / np.sqrt(1.0 + math.pi * variance / 8.0))
            return probability.astype(np.float32), None
        noise = np.array([fit.hyper[1] for fit in self._fits])
        std = np.sqrt(variance + noise[None, :])
        if self.spec.target_std:
            std = std * np.asarray(self.spec.target_std)
        return self._unscale(mean.astype(np.float32)), std.astype(np.float32)


# --------------------------------------------------------------------------
# registry entry
# --------------------------------------------------------------------------
def _inputs(options: dict[str, Any]) -> list[ModelInput]:
    if "counts" not in featurizer_class(options["fingerprint"]).parameter_names():
        options = {**options, "counts": None}  # the GP's counts default, for kinds without the setting
    return fingerprint_inputs(options)


def _spec(problem: Problem, inputs: list[ModelInput], options: dict[str, Any]) -> GaussianProcessSpec:
    return GaussianProcessSpec(**problem.spec_fields(), inputs=inputs_to_dict(inputs), kernel=options["kernel"],
                               max_exact=options["max_exact"])


def _options(spec: ModelSpec) -> dict[str, Any]:
    assert isinstance(spec, GaussianProcessSpec)
    return {**fingerprint_options(spec), "kernel": spec.kernel, "max_exact": spec.max_exact}


def _search_space(trial: Any) -> dict[str, Any]:
    """``symmol tune``'s GP settings: the representation and the kernel."""
    fingerprint = trial.suggest_categorical("gp.fingerprint", ["ecfp", "fragprints"])
    options = {"fingerprint": fingerprint, "radius": trial.suggest_int("gp.radius", 1, 3),
               "kernel": trial.suggest_categorical("gp.kernel", list(COUNT_METRICS))}
    if fingerprint == "ecfp":
        options["counts"] = trial.suggest_categorical("gp.counts", [True, False])
    return options


#: ``--architecture gp``.
GP = register_model_kind(ModelKind(
    name="gp",
    model_class=GaussianProcess,
    description="exact Gaussian process: Tanimoto kernel on fingerprint bits, MinMax on counts",
    options=(
        *(replace(option, default=True) if option.name == "counts" else option for option in FINGERPRINT_OPTIONS),
        Option("kernel", "minmax", "GP kernel on the fingerprint's values: minmax (sum min / sum max) or tanimoto "
               "(<x,y> / (|x|^2 + |y|^2 - <x,y>)); the two agree on bits", choices=COUNT_METRICS),
        Option("max_exact", 10_000, "largest training set per target of the exact GP; larger ones are "
               "subsampled to this size (seeded)", parse=positive_int),
    ),
    build_inputs=_inputs,
    build_spec=_spec,
    spec_options=_options,
    search_space=_search_space,
    tune_presets=({"gp.fingerprint": "ecfp", "gp.radius": 2, "gp.kernel": "minmax", "gp.counts": True},),
))
