"""Calibration of predicted uncertainties and probabilities, fitted on held-out rows and stored as JSON.

A :class:`Calibration` holds, per target, every calibrator that applies to a model's task:

* regression: **z-scaling** (one factor ``s`` per target so that ``s·σ`` minimises the Gaussian
  negative log-likelihood on the calibration rows: ``s² = mean(((y − μ)/σ)²)``; Levi et al., Sensors
  2022, doi:10.3390/s22155540; Chemprop's ``ZScalingCalibrator``) and **split-conformal intervals**
  (Vovk et al. 2005; Lei et al., JASA 2018, doi:10.1080/01621459.2017.1307116): the nonconformity
  scores ``|y − μ| / σ`` (``|y − μ|`` for a model without σ) are stored, so any coverage can be asked
  for at prediction time;
* classification: **Platt scaling** (a logistic fit on the logit of the probability, with Platt's
  smoothed targets; Platt 1999), **isotonic regression** (scikit-learn's ``IsotonicRegression``,
  stored as its thresholds) and **conformal label sets** (score ``1 − p(true label)``; Sadinle et
  al., JASA 2019, doi:10.1080/01621459.2017.1395341).

Nothing is pickled: :meth:`Calibration.to_dict` is JSON-ready and :meth:`Calibration.from_dict`
reads it back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.special

from symmol.evaluation.uncertainty import SET_LABELS, uncertainty_metrics

__all__ = ["CALIBRATION_METHODS", "Calibrated", "Calibration", "calibration_report", "conformal_calibration_curve",
           "conformal_miscalibration_area", "conformal_quantile"]

FORMAT = "symmol-calibration"
FORMAT_VERSION = 1
#: Calibration methods by task, in the order they are fitted.
CALIBRATION_METHODS = {"regression": ("zscaling", "conformal"), "classification": ("platt", "isotonic", "conformal")}


def conformal_quantile(scores: np.ndarray, coverage: float) -> float:
    """Return the split-conformal threshold: the ``⌈(n + 1)·coverage⌉``-th smallest of ``n`` scores.

    With exchangeable rows, a new row's score is at most this threshold with probability at least
    ``coverage``. ``inf`` when ``⌈(n + 1)·coverage⌉ > n`` (too few calibration rows for the coverage).

    Raises
    ------
    ValueError
        For a coverage outside (0, 1).
    """
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    rank = math.ceil((ordered.size + 1) * coverage - 1e-9)
    return float(ordered[rank - 1]) if rank <= ordered.size else math.inf


def conformal_calibration_curve(y: np.ndarray, mean: np.ndarray, std: np.ndarray | None, reference: Sequence[float],
                                points: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """Return the expected and observed coverage of split-conformal intervals, each ``(points,)``.

    The conformal counterpart of
    :func:`~symmol.evaluation.uncertainty.interval_calibration_curve`: for each expected proportion
    ``p`` on ``points`` equally spaced values in [0, 1], the interval is ``μ ± q_p·σ`` (``μ ± q_p``
    without σ) with ``q_p`` the :func:`conformal_quantile` of the calibration rows' nonconformity
    scores ``reference`` at ``p``; the observed proportion is the fraction of rows inside it. Rows
    with a NaN label, prediction or σ are skipped; empty arrays without rows.
    """
    y, mean = np.asarray(y, dtype=np.float64), np.asarray(mean, dtype=np.float64)
    residual = np.abs(y - mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = residual if std is None else residual / np.asarray(std, dtype=np.float64)
    score = score[np.isfinite(score) | (np.isfinite(residual) & (residual > 0))]  # σ = 0 with an error: inf
    if score.size == 0:
        return np.empty(0), np.empty(0)
    expected = np.linspace(0.0, 1.0, points)
    ordered = np.asarray(reference, dtype=np.float64)
    thresholds = np.array([0.0, *(conformal_quantile(ordered, p) for p in expected[1:-1]), math.inf])
    return expected, (score[None, :] <= thresholds[:, None]).mean(axis=1)


def conformal_miscalibration_area(y: np.ndarray, mean: np.ndarray, std: np.ndarray | None,
                                  reference: Sequence[float], points: int = 101) -> float:
    """Area between the observed and expected coverage of conformal intervals at every level, in [0, 0.5].

    :func:`~symmol.evaluation.uncertainty.miscalibration_area` with the intervals of
    :func:`conformal_calibration_curve` in place of Gaussian ones: how well the stored scores
    calibrate intervals of any coverage asked for at prediction time.
    """
    expected, observed = conformal_calibration_curve(y, mean, std, reference, points)
    if expected.size == 0:
        return float("nan")
    return float(np.trapezoid(np.abs(observed - expected), expected))


@dataclass
class Calibrated:
    """Calibrated predictions of ``n_rows`` rows and ``n_targets`` targets (float64; NaN where not known).

    Attributes
    ----------
    scores
        ``(n_rows, n_targets)``: values (regression) or calibrated probabilities (classification).
    std
        ``(n_rows, n_targets)`` σ in target units, or ``None``.
    lower, upper
        ``(n_rows, n_targets)`` interval bounds (regression), or ``None``.
    label_sets
        ``(n_rows, n_targets)`` object array of :data:`~symmol.evaluation.uncertainty.SET_LABELS`
        (classification conformal), or ``None``.
    """

    scores: np.ndarray
    std: np.ndarray | None = None
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    label_sets: np.ndarray | None = None


def _platt_fit(probability: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Fit ``(a, b)`` of ``p' = expit(a·logit(p) + b)``, minimising the log loss against Platt's smoothed targets."""
    logit = scipy.special.logit(np.clip(probability, 1e-7, 1 - 1e-7))
    n_pos, n_neg = labels.sum(), labels.size - labels.sum()
    target = np.where(labels == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        z = params[0] * logit + params[1]
        p = scipy.special.expit(z)
        value = np.sum(np.logaddexp(0.0, z) - target * z)
        residual = p - target
        return float(value), np.array([np.sum(residual * logit), np.sum(residual)])

    from scipy.optimize import minimize  # noqa: PLC0415 - imported when fitting (off every command's start)

    found = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(found.x[0]), float(found.x[1])


def _check_rows(y: np.ndarray, scores: np.ndarray, std: np.ndarray | None, n_targets: int) -> None:
    if y.ndim != 2 or y.shape != scores.shape or y.shape[1] != n_targets:
        raise ValueError(f"y and scores must be (n_rows, {n_targets}), got {y.shape} and {scores.shape}")
    if std is not None and std.shape != y.shape:
        raise ValueError(f"std must have the shape of y {y.shape}, got {std.shape}")


@dataclass
class Calibration:
    """Calibrators of one model, per target, fitted on one set of labelled rows.

    Attributes
    ----------
    task
        ``"regression"`` or ``"classification"``.
    targets
        The model's target names.
    uncertainty
        The σ estimator the regression calibrators were fitted on (``"ensemble"``, ``"gp"``...),
        ``None`` when fitted without σ (conformal intervals then have one width per target).
    source
        Where the calibration rows came from (``"validation set"``, a file name).
    n_rows
        Labelled calibration rows per target.
    parameters
        Method → its fitted values (lists per target), as :data:`CALIBRATION_METHODS` names them.
    """

    task: str
    targets: tuple[str, ...]
    uncertainty: str | None
    source: str
    n_rows: tuple[int, ...]
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods fitted (a subset of :data:`CALIBRATION_METHODS`'s, in its order)."""
        return tuple(m for m in CALIBRATION_METHODS[self.task] if m in self.parameters)

    @classmethod
    def fit(cls, task: str, targets: Sequence[str], y: np.ndarray, scores: np.ndarray, std: np.ndarray | None = None,
            uncertainty: str | None = None, source: str = "validation set") -> Calibration:
        """Fit every calibrator that applies on labelled rows.

        Parameters
        ----------
        task
            ``"regression"`` or ``"classification"``.
        targets
            Target names, one per column.
        y
            ``(n_rows, n_targets)`` labels (0/1 for classification); NaN = not measured.
        scores
            ``(n_rows, n_targets)`` predicted values (target units) or probabilities.
        std
            ``(n_rows, n_targets)`` σ from the estimator named by ``uncertainty`` (regression), or
            ``None``: then only conformal intervals of one width per target are fitted.
        uncertainty
            The σ estimator's name, stored so that predictions use the same one.
        source
            Stored description of the rows.

        Raises
        ------
        ValueError
            On shapes, an unknown task, a target without labelled rows, or ``std`` for classification.
        """
        if task not in CALIBRATION_METHODS:
            raise ValueError(f"task must be one of {tuple(CALIBRATION_METHODS)}, got {task!r}")
        y, scores = np.asarray(y, dtype=np.float64), np.asarray(scores, dtype=np.float64)
        std = None if std is None else np.asarray(std, dtype=np.float64)
        _check_rows(y, scores, std, len(targets))
        if task == "classification" and std is not None:
            raise ValueError("classification calibration takes probabilities only, not std")
        columns = []
        for j, name in enumerate(targets):
            mask = np.isfinite(y[:, j]) & np.isfinite(scores[:, j])
            if std is not None:
                mask &= np.isfinite(std[:, j]) & (std[:, j] > 0)
            if not mask.any():
                raise ValueError(f"target {name!r} has no labelled row to calibrate on")
            columns.append(mask)
        parameters: dict[str, dict[str, Any]] = {}
        if task == "regression":
            residual = [np.abs(y[m, j] - scores[m, j]) for j, m in enumerate(columns)]
            if std is not None:
                normalized = [r / std[m, j] for j, (r, m) in enumerate(zip(residual, columns, strict=True))]
                parameters["zscaling"] = {"scale": [float(np.sqrt(np.mean(z ** 2))) for z in normalized]}
                parameters["conformal"] = {"normalized": True, "scores": [np.sort(z).tolist() for z in normalized]}
            else:
                parameters["conformal"] = {"normalized": False, "scores": [np.sort(r).tolist() for r in residual]}
        else:
            platt = [_platt_fit(scores[m, j], y[m, j]) for j, m in enumerate(columns)]
            parameters["platt"] = {"a": [a for a, _ in platt], "b": [b for _, b in platt]}
            xs, ys = [], []
            for j, m in enumerate(columns):
                from sklearn.isotonic import IsotonicRegression  # noqa: PLC0415 - imported when fitting

                iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores[m, j], y[m, j])
                xs.append(iso.X_thresholds_.tolist())
                ys.append(iso.y_thresholds_.tolist())
            parameters["isotonic"] = {"x": xs, "y": ys}
            true_probability = [np.where(y[m, j] == 1, scores[m, j], 1 - scores[m, j]) for j, m in enumerate(columns)]
            parameters["conformal"] = {"scores": [np.sort(1 - p).tolist() for p in true_probability]}
        return cls(task, tuple(targets), uncertainty if std is not None else None, source,
                   tuple(int(m.sum()) for m in columns), parameters)

    def apply(self, method: str, scores: np.ndarray, std: np.ndarray | None = None, coverage: float = 0.9
              ) -> Calibrated:
        """Calibrated predictions by ``method`` (one of :attr:`methods`).

        Parameters
        ----------
        method
            ``zscaling`` (σ scaled; Gaussian intervals at ``coverage``), ``conformal`` (intervals or
            label sets at ``coverage``), ``platt`` or ``isotonic`` (calibrated probabilities).
        scores
            ``(n_rows, n_targets)`` the model's values or probabilities.
        std
            ``(n_rows, n_targets)`` σ from the calibrated estimator (:attr:`uncertainty`); needed
            exactly when the calibration was fitted with σ.
        coverage
            In (0, 1): the intervals' or sets' nominal coverage.

        Raises
        ------
        ValueError
            For a method not fitted, a coverage outside (0, 1), or ``std`` missing or unexpected.
        """
        if method not in self.methods:
            raise ValueError(f"calibration method {method!r} is not fitted for this {self.task} model "
                             f"(fitted: {', '.join(self.methods)})")
        if not 0.0 < coverage < 1.0:
            raise ValueError(f"coverage must be in (0, 1), got {coverage}")
        scores = np.asarray(scores, dtype=np.float64)
        if self.uncertainty is not None and std is None:
            raise ValueError(f"this calibration was fitted on σ from {self.uncertainty!r}: pass that std")
        if self.uncertainty is None and std is not None and self.task == "regression":
            std = None  # calibrated without σ: intervals ignore it
        std = None if std is None else np.asarray(std, dtype=np.float64)
        values = self.parameters[method]
        if method == "zscaling":
            assert std is not None
            scaled = std * np.asarray(values["scale"])[None, :]
            from scipy.stats import norm  # noqa: PLC0415 - imported when used (off every command's start)

            half = norm.ppf((1 + coverage) / 2) * scaled
            return Calibrated(scores, scaled, scores - half, scores + half)
        if method == "conformal" and self.task == "regression":
            q = np.array([conformal_quantile(s, coverage) for s in values["scores"]])[None, :]
            half = q * std if values["normalized"] else np.broadcast_to(q, scores.shape)
            return Calibrated(scores, std, scores - half, scores + half)
        if method == "platt":
            logit = scipy.special.logit(np.clip(scores, 1e-7, 1 - 1e-7))
            return Calibrated(scipy.special.expit(np.asarray(values["a"]) * logit + np.asarray(values["b"])))
        if method == "isotonic":
            calibrated = np.column_stack([np.interp(scores[:, j], x, y)
                                          for j, (x, y) in enumerate(zip(values["x"], values["y"], strict=True))])
            return Calibrated(np.where(np.isnan(scores), np.nan, calibrated))
        q = np.array([conformal_quantile(s, coverage) for s in values["scores"]])[None, :]
        has1, has0 = 1 - scores <= q, scores <= q
        labels = np.array(SET_LABELS, dtype=object)
        sets = labels[np.where(has0 & has1, 2, np.where(has1, 1, np.where(has0, 0, 3)))]
        sets[np.isnan(scores)] = ""
        return Calibrated(scores, label_sets=sets)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready document (:meth:`from_dict` reads it)."""
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "task": self.task, "targets": list(self.targets),
                "uncertainty": self.uncertainty, "source": self.source, "n_rows": list(self.n_rows),
                "parameters": self.parameters}

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Calibration:
        """Read :meth:`to_dict`'s document; ``ValueError`` naming what is wrong with it."""
        if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"not a {FORMAT} version {FORMAT_VERSION} document (format "
                             f"{document.get('format')!r}, version {document.get('format_version')!r})")
        try:
            task, targets = document["task"], tuple(document["targets"])
            parameters = dict(document["parameters"])
            calibration = cls(task, targets, document["uncertainty"], str(document["source"]),
                              tuple(int(n) for n in document["n_rows"]), parameters)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"incomplete calibration document ({exc!r})") from None
        unknown = set(parameters) - set(CALIBRATION_METHODS.get(task, ()))
        if task not in CALIBRATION_METHODS or unknown:
            raise ValueError(f"calibration for task {task!r} with unknown methods {sorted(unknown)}")
        return calibration


def calibration_report(calibration: Calibration, y: np.ndarray, scores: np.ndarray, std: np.ndarray | None = None,
                       coverage: float = 0.9) -> dict[str, Any]:
    """Uncertainty metrics of held-out rows, uncalibrated and by every fitted method.

    Parameters
    ----------
    calibration
        Fitted on other rows (the validation set).
    y, scores, std
        ``(n_rows, n_targets)``: labels (NaN = not measured), predictions, σ from the calibrated
        estimator (regression, when the calibration has one).
    coverage
        Nominal coverage of the intervals and label sets.

    Returns
    -------
    ``{"coverage": coverage, "uncalibrated": {...}, <method>: {...}}``, each entry
    :func:`~symmol.evaluation.uncertainty.uncertainty_metrics` of the (calibrated) predictions;
    regression's ``conformal`` entry also has the :func:`conformal_miscalibration_area`.
    """
    task, targets = calibration.task, calibration.targets
    report: dict[str, Any] = {"coverage": coverage, "calibrated_on": calibration.source}
    if task == "classification" or std is not None:
        report["uncalibrated"] = uncertainty_metrics(task, y, scores, targets, std=std)
    for method in calibration.methods:
        found = calibration.apply(method, scores, std, coverage)
        spread = found.std if method == "zscaling" else None  # conformal leaves σ as it is: see "uncalibrated"
        report[method] = uncertainty_metrics(task, y, found.scores, targets, std=spread, lower=found.lower,
                                             upper=found.upper, label_sets=found.label_sets)
        if method == "conformal" and task == "regression":  # the intervals of every coverage, from the scores
            values = calibration.parameters[method]
            areas = [conformal_miscalibration_area(y[:, j], scores[:, j],
                                                   std[:, j] if values["normalized"] and std is not None else None,
                                                   values["scores"][j]) for j in range(len(targets))]
            for name, area in zip(targets, areas, strict=True):
                report[method]["per_task"][name]["miscalibration_area"] = area
            report[method]["miscalibration_area"] = float(np.nanmean(areas)) if np.isfinite(areas).any() else math.nan
    return report
