"""How good an uncertainty is: ranking, calibration and sharpness metrics for σ, intervals and label sets.

Regression metrics take a predicted mean ``μ`` and standard deviation ``σ`` (both in target units)
per row, and optionally an interval ``[lower, upper]``; classification metrics take the predicted
probability of the positive class and optionally a conformal label set. Missing labels (NaN) are
left out; every function works on one target (1-D arrays), :func:`uncertainty_metrics` on a table
of targets.

Definitions follow Chemprop 2's uncertainty evaluators (``chemprop.uncertainty``) and the
uncertainty-toolbox (Chung et al. 2021, arXiv:2109.10254), stated per function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["SET_LABELS", "binned_rmv_rmse", "expected_calibration_error", "expected_normalized_calibration_error",
           "gaussian_nll", "interval_calibration_curve", "interval_metrics", "miscalibration_area", "set_metrics",
           "spearman_error_sigma", "uncertainty_metrics"]

#: How a binary label set is written in a table (``<target>_set`` columns): label 0, label 1, both, none.
SET_LABELS = ("0", "1", "0|1", "")


def _observed(*arrays: np.ndarray) -> list[np.ndarray]:
    """Return the rows of ``arrays`` (1-D, one length) where every value is finite."""
    arrays_f = [np.asarray(a, dtype=np.float64) for a in arrays]
    if len({a.shape for a in arrays_f}) != 1 or arrays_f[0].ndim != 1:
        raise ValueError(f"expected 1-D arrays of one length, got shapes {[a.shape for a in arrays_f]}")
    mask = np.logical_and.reduce([np.isfinite(a) for a in arrays_f])
    return [a[mask] for a in arrays_f]


def spearman_error_sigma(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """Spearman's rank correlation of the absolute error ``|y − μ|`` with ``σ``, in [−1, 1].

    1 means the rows with the largest σ have the largest errors; NaN with fewer than two rows or a
    constant σ. (Chemprop's ``spearman`` uncertainty evaluator.)
    """
    y, mean, std = _observed(y, mean, std)
    if y.size < 2 or np.ptp(std) == 0:
        return float("nan")
    from scipy.stats import spearmanr  # noqa: PLC0415 - scipy.stats costs half a second of every command's start

    return float(spearmanr(np.abs(y - mean), std).statistic)


def binned_rmv_rmse(y: np.ndarray, mean: np.ndarray, std: np.ndarray, bins: int = 10
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Root mean variance and RMSE of σ-sorted bins: ``(rmv, rmse)``, each ``(n_bins,)`` float64.

    Rows are sorted by σ and cut into ``bins`` bins of (nearly) equal count (fewer when there are
    fewer rows). ``rmv = sqrt(mean σ²)`` and ``rmse = sqrt(mean (y − μ)²)`` per bin; a calibrated σ
    gives ``rmv ≈ rmse`` in every bin (Levi et al., Sensors 2022, 22, 5540, doi:10.3390/s22155540).
    """
    y, mean, std = _observed(y, mean, std)
    if y.size == 0:
        return np.empty(0), np.empty(0)
    parts = np.array_split(np.argsort(std, kind="stable"), min(bins, y.size))
    rmv = np.array([np.sqrt(np.mean(std[p] ** 2)) for p in parts])
    rmse = np.array([np.sqrt(np.mean((y[p] - mean[p]) ** 2)) for p in parts])
    return rmv, rmse


def expected_normalized_calibration_error(y: np.ndarray, mean: np.ndarray, std: np.ndarray, bins: int = 10
                                          ) -> float:
    """ENCE: mean over σ bins of ``|RMV − RMSE| / RMV`` (:func:`binned_rmv_rmse`); ≥ 0, 0 when calibrated.

    Levi et al., Sensors 2022, 22, 5540, doi:10.3390/s22155540. NaN without rows.
    """
    rmv, rmse = binned_rmv_rmse(y, mean, std, bins)
    if rmv.size == 0:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(rmv > 0, np.abs(rmv - rmse) / rmv, np.inf)
    return float(np.mean(ratios))


def interval_calibration_curve(y: np.ndarray, mean: np.ndarray, std: np.ndarray, points: int = 101
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Return the expected and observed coverage of Gaussian central intervals, each ``(points,)``.

    For each expected proportion ``p`` on ``points`` equally spaced values in [0, 1], the observed
    proportion is the fraction of rows with ``|y − μ| ≤ z_{(1+p)/2} σ`` (uncertainty-toolbox's
    ``get_proportion_lists``). Empty arrays without rows.
    """
    y, mean, std = _observed(y, mean, std)
    if y.size == 0:
        return np.empty(0), np.empty(0)
    expected = np.linspace(0.0, 1.0, points)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(y - mean) / std
    z = np.where(std > 0, z, np.where(y == mean, 0.0, np.inf))
    from scipy.stats import norm  # noqa: PLC0415 - as above

    limits = norm.ppf((1.0 + expected) / 2.0)
    return expected, (z[None, :] <= limits[:, None]).mean(axis=1)


def miscalibration_area(y: np.ndarray, mean: np.ndarray, std: np.ndarray, points: int = 101) -> float:
    """Area between the observed and the expected coverage of Gaussian central intervals, in [0, 0.5].

    The trapezoidal integral of ``|observed − expected|`` over :func:`interval_calibration_curve`
    (uncertainty-toolbox's ``miscalibration_area``; Chemprop's ``miscalibration_area`` evaluator).
    0 is perfectly calibrated.
    """
    expected, observed = interval_calibration_curve(y, mean, std, points)
    if expected.size == 0:
        return float("nan")
    return float(np.trapezoid(np.abs(observed - expected), expected))


def gaussian_nll(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> float:
    """Mean Gaussian negative log-likelihood ``½ log(2πσ²) + (y − μ)² / 2σ²`` (nats per row; lower is better)."""
    y, mean, std = _observed(y, mean, std)
    if y.size == 0:
        return float("nan")
    variance = np.maximum(std, 1e-12) ** 2
    return float(np.mean(0.5 * np.log(2 * np.pi * variance) + (y - mean) ** 2 / (2 * variance)))


def interval_metrics(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> dict[str, float]:
    """``{"coverage", "width"}``: the fraction of rows with ``lower ≤ y ≤ upper`` and the mean width (target units)."""
    y, lower, upper = _observed(y, lower, upper)
    if y.size == 0:
        return {"coverage": float("nan"), "width": float("nan")}
    return {"coverage": float(np.mean((lower <= y) & (y <= upper))), "width": float(np.mean(upper - lower))}


def expected_calibration_error(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    """ECE of binary probabilities: ``Σ_b (n_b / n) |mean label − mean probability|`` over equal-width bins.

    The bins split [0, 1] into ``bins`` intervals of the predicted probability of the positive
    class (Naeini et al., AAAI 2015; the reliability diagram's gap, as in scikit-learn's
    ``calibration_curve`` with ``strategy="uniform"``). In [0, 1]; 0 is perfectly calibrated.
    """
    y, probability = _observed(y, probability)
    if y.size == 0:
        return float("nan")
    which = np.minimum((probability * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in np.unique(which):
        in_bin = which == b
        total += in_bin.sum() / y.size * abs(y[in_bin].mean() - probability[in_bin].mean())
    return float(total)


def set_metrics(y: np.ndarray, label_sets: Sequence[str] | np.ndarray) -> dict[str, float]:
    """``{"coverage", "size"}`` of binary conformal label sets written as :data:`SET_LABELS`.

    ``coverage``: the fraction of labelled rows whose label is in its set; ``size``: the mean
    number of labels per set (0 to 2).
    """
    y = np.asarray(y, dtype=np.float64)
    sets = np.asarray(label_sets, dtype=object)
    if y.shape != sets.shape or y.ndim != 1:
        raise ValueError(f"expected 1-D arrays of one length, got shapes {y.shape} and {sets.shape}")
    mask = np.isfinite(y) & np.array([s in SET_LABELS for s in sets], dtype=bool)
    if not mask.any():
        return {"coverage": float("nan"), "size": float("nan")}
    labels, kept = y[mask].astype(np.int64), sets[mask]
    has0 = np.array([s in ("0", "0|1") for s in kept])
    has1 = np.array([s in ("1", "0|1") for s in kept])
    covered = np.where(labels == 1, has1, has0)
    return {"coverage": float(covered.mean()), "size": float((has0.astype(int) + has1.astype(int)).mean())}


def _mean_over(per_task: dict[str, dict[str, float]]) -> dict[str, float]:
    keys = next(iter(per_task.values())).keys()
    means = {}
    for key in keys:
        values = [m[key] for m in per_task.values() if np.isfinite(m[key])]
        means[key] = float(np.mean(values)) if values else float("nan")
    return means


def uncertainty_metrics(task: str, y: np.ndarray, scores: np.ndarray, target_names: Sequence[str],
                        std: np.ndarray | None = None, lower: np.ndarray | None = None,
                        upper: np.ndarray | None = None, label_sets: np.ndarray | None = None) -> dict[str, Any]:
    """Every metric that applies, per target and averaged over targets.

    Parameters
    ----------
    task
        ``"regression"`` or ``"classification"``.
    y, scores
        ``(n_rows, n_targets)``: labels (NaN = not measured) and predicted values or probabilities.
    std
        ``(n_rows, n_targets)`` σ in target units (regression): Spearman, ENCE, miscalibration area, NLL.
    lower, upper
        ``(n_rows, n_targets)`` interval bounds (regression): coverage and width.
    label_sets
        ``(n_rows, n_targets)`` object array of :data:`SET_LABELS` (classification): set coverage and size.

    Returns
    -------
    ``{<metric>: mean over targets, ..., "per_task": {target: {<metric>: value}}}``. Classification
    always has ``ece``; regression without ``std`` or bounds has no entries but ``per_task``.
    """
    y, scores = np.asarray(y, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    per_task: dict[str, dict[str, float]] = {}
    for j, name in enumerate(target_names):
        entry: dict[str, float] = {}
        if task == "classification":
            entry["ece"] = expected_calibration_error(y[:, j], scores[:, j])
            if label_sets is not None:
                found = set_metrics(y[:, j], label_sets[:, j])
                entry["set_coverage"], entry["set_size"] = found["coverage"], found["size"]
        else:
            if std is not None:
                entry["spearman"] = spearman_error_sigma(y[:, j], scores[:, j], std[:, j])
                entry["ence"] = expected_normalized_calibration_error(y[:, j], scores[:, j], std[:, j])
                entry["miscalibration_area"] = miscalibration_area(y[:, j], scores[:, j], std[:, j])
                entry["nll"] = gaussian_nll(y[:, j], scores[:, j], std[:, j])
            if lower is not None and upper is not None:
                found = interval_metrics(y[:, j], lower[:, j], upper[:, j])
                entry["coverage"], entry["width"] = found["coverage"], found["width"]
        per_task[name] = entry
    has_metrics = any(bool(entry) for entry in per_task.values())
    means = _mean_over(per_task) if has_metrics else {}
    return {**means, "per_task": per_task}
