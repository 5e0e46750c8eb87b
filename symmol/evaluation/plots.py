"""Figures of a trained model: learning curves, ROC curves, parity plots and uncertainty calibration (matplotlib).

Each ``plot_*`` function draws on a :class:`matplotlib.axes.Axes` (a new figure when none is
given) and returns it; :func:`save_training_figures` writes the set ``symmol train --plots``
puts into a model directory. Figures are built with :class:`matplotlib.figure.Figure`
directly, not through ``pyplot``, so nothing depends on a display or on global state.
matplotlib is an optional dependency: ``pip install 'symmol[plot]'``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import mean_squared_error, roc_auc_score, roc_curve

from symmol.evaluation.uncertainty import binned_rmv_rmse, interval_calibration_curve, miscalibration_area

__all__ = ["available", "plot_calibration", "plot_error_vs_sigma", "plot_history", "plot_hit_recovery", "plot_parity",
           "plot_roc", "save_training_figures"]


def available() -> bool:
    """Whether matplotlib (the ``plot`` extra) is installed."""
    return importlib.util.find_spec("matplotlib") is not None


def _new_axes(ax, size: tuple[float, float] = (5.0, 4.0)):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained").add_subplot()


def _distinct_colors(ax, n: int) -> None:
    """One colour per series: matplotlib's default cycle repeats after ten (Tox21 has twelve tasks)."""
    if n > 10:
        from matplotlib import colormaps
        from matplotlib.colors import ListedColormap

        ax.set_prop_cycle(color=cast(ListedColormap, colormaps["tab20"]).colors)


def plot_history(history: dict, ax=None):
    """Learning curves: mean training loss per epoch and the validation score (right axis).

    Parameters
    ----------
    history
        ``symmol train``'s ``history.json`` (or :class:`symmol.train.TrainHistory` fields):
        ``train_loss`` (per epoch), ``val_score`` (per epoch, higher is better; may be empty),
        ``monitor`` (its name, e.g. ``"roc_auc"`` or ``"-rmse"``) and ``best_epoch`` (0-based,
        the epoch whose parameters were kept; marked with a dotted line).
    ax
        Axes to draw on; a new figure's when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
        The loss axes; the validation curve is on its twin (``ax.right_ax``).
    """
    ax = _new_axes(ax)
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    ax.plot(epochs, history["train_loss"], color="tab:blue", marker=".", label="training loss")
    ax.set_xlabel("epoch")
    from matplotlib.ticker import MaxNLocator  # optional dependency (the ``plot`` extra)

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("training loss (mean per label)", color="tab:blue")
    val = history.get("val_score") or []
    if val:
        right = ax.twinx()
        monitor = history.get("monitor", "")
        label = f"validation {monitor}"
        right.plot(np.arange(1, len(val) + 1), val, color="tab:orange", marker=".", label=label)
        right.set_ylabel(label, color="tab:orange")
        ax.right_ax = right
    best = history.get("best_epoch", -1)
    if best is not None and best >= 0:
        ax.axvline(best + 1, color="grey", linestyle=":", label=f"kept: epoch {best + 1}")
    ax.set_title("training")
    return ax


def plot_roc(y_true: np.ndarray, y_score: np.ndarray, task_names: Sequence[str], ax=None, max_tasks: int = 12):
    """ROC curve of each task (scikit-learn's ``roc_curve``), with its ROC-AUC in the legend.

    Parameters
    ----------
    y_true
        ``(n_rows, n_tasks)`` 0/1 labels, NaN = not measured (left out of that task).
    y_score
        ``(n_rows, n_tasks)`` predicted probabilities.
    task_names
        One name per task. Tasks whose measured labels hold one class have no curve.
    ax
        Axes to draw on; a new figure's when ``None``.
    max_tasks
        Draw at most this many tasks (the first ones).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _new_axes(ax, (5.5, 5.0))
    _distinct_colors(ax, min(len(task_names), max_tasks))
    y_true, y_score = np.asarray(y_true, dtype=np.float64), np.asarray(y_score, dtype=np.float64)
    for j, name in enumerate(list(task_names)[:max_tasks]):
        measured = ~np.isnan(y_true[:, j])
        labels, scores = y_true[measured, j], y_score[measured, j]
        if labels.size == 0 or labels.min() == labels.max():
            continue
        fpr, tpr, _ = roc_curve(labels, scores)
        ax.plot(fpr, tpr, label=f"{name} ({roc_auc_score(labels, scores):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.legend(fontsize="small", title="task (ROC-AUC)")
    return ax


def plot_parity(y_true: np.ndarray, y_pred: np.ndarray, task_names: Sequence[str], ax=None):
    """Predicted against measured values of each task, with the line y = x and the RMSE.

    Parameters
    ----------
    y_true, y_pred
        ``(n_rows, n_tasks)`` measured (NaN = not measured) and predicted values, in the
        targets' units.
    task_names
        One name per task.
    ax
        Axes to draw on; a new figure's when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _new_axes(ax, (5.0, 5.0))
    _distinct_colors(ax, len(task_names))
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    lows, highs = [], []
    for j, name in enumerate(task_names):
        measured = ~np.isnan(y_true[:, j])
        t, p = y_true[measured, j], y_pred[measured, j]
        if t.size == 0:
            continue
        rmse = float(np.sqrt(mean_squared_error(t, p)))
        ax.scatter(t, p, s=10, alpha=0.6, label=f"{name} (RMSE {rmse:.3f})")
        lows.append(min(t.min(), p.min()))
        highs.append(max(t.max(), p.max()))
    if lows:
        lo, hi = min(lows), max(highs)
        ax.plot([lo, hi], [lo, hi], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("measured")
    ax.set_ylabel("predicted")
    ax.legend(fontsize="small")
    return ax


def plot_calibration(y_true: np.ndarray, y_score: np.ndarray, task_names: Sequence[str], std: np.ndarray | None = None,
                     ax=None):
    """Calibration curve of each task: observed against expected frequency, with the line y = x.

    Regression (``std`` given): the fraction of measured values inside the Gaussian central
    interval of each expected coverage (:func:`~symmol.evaluation.uncertainty.interval_calibration_curve`),
    labelled with the miscalibration area. Classification (``std`` None): the reliability diagram,
    the fraction of positives against the mean predicted probability in ten equal-width bins
    (scikit-learn's ``calibration_curve``).

    Parameters
    ----------
    y_true, y_score
        ``(n_rows, n_tasks)``: labels or measured values (NaN = not measured), probabilities or values.
    std
        ``(n_rows, n_tasks)`` predicted standard deviations (regression).
    ax
        Axes to draw on; a new figure's when ``None``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _new_axes(ax, (5.0, 5.0))
    _distinct_colors(ax, len(task_names))
    y_true, y_score = np.asarray(y_true, dtype=np.float64), np.asarray(y_score, dtype=np.float64)
    for j, name in enumerate(task_names):
        measured = ~np.isnan(y_true[:, j])
        if not measured.any():
            continue
        if std is None:
            fraction, mean_p = calibration_curve(y_true[measured, j], y_score[measured, j], n_bins=10)
            ax.plot(mean_p, fraction, marker="o", markersize=3, label=name)
        else:
            sigma = np.asarray(std, dtype=np.float64)[measured, j]
            expected, observed = interval_calibration_curve(y_true[measured, j], y_score[measured, j], sigma)
            area = miscalibration_area(y_true[measured, j], y_score[measured, j], sigma)
            ax.plot(expected, observed, label=f"{name} (miscalibration area {area:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("mean predicted probability" if std is None else "expected fraction in interval")
    ax.set_ylabel("fraction positive" if std is None else "observed fraction in interval")
    ax.legend(fontsize="small")
    return ax


def plot_error_vs_sigma(y_true: np.ndarray, y_pred: np.ndarray, std: np.ndarray, task_names: Sequence[str],
                        bins: int = 10, ax=None):
    """RMSE against root mean variance in σ-sorted bins of each task, with the line y = x.

    Points on the line mean σ matches the error at every level of σ
    (:func:`~symmol.evaluation.uncertainty.binned_rmv_rmse`; Levi et al. 2022).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _new_axes(ax, (5.0, 5.0))
    _distinct_colors(ax, len(task_names))
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    highs = []
    for j, name in enumerate(task_names):
        rmv, rmse = binned_rmv_rmse(y_true[:, j], y_pred[:, j], np.asarray(std, dtype=np.float64)[:, j], bins)
        if rmv.size:
            ax.plot(rmv, rmse, marker="o", markersize=3, label=name)
            highs.append(max(rmv.max(), rmse.max()))
    if highs:
        ax.plot([0, max(highs)], [0, max(highs)], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("root mean predicted variance (σ bin)")
    ax.set_ylabel("RMSE (σ bin)")
    ax.legend(fontsize="small")
    return ax


def plot_hit_recovery(fraction_evaluated: np.ndarray, fraction_found: np.ndarray, label: str,
                      top_fraction: float = 0.01, ax=None):
    """Draw an active-learning campaign's hit-recovery curve: percent of the top found against percent evaluated.

    The dotted line is random acquisition's expectation (the evaluated fraction of the top).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _new_axes(ax)
    evaluated = 100 * np.asarray(fraction_evaluated, dtype=np.float64)
    ax.plot(evaluated, 100 * np.asarray(fraction_found, dtype=np.float64), marker="o", label=label)
    ax.plot([0, evaluated.max()], [0, evaluated.max()], color="grey", linestyle=":", label="random (expected)")
    ax.set_xlabel("pool evaluated (%)")
    ax.set_ylabel(f"top {top_fraction:.0%} found (%)")
    ax.legend(fontsize="small")
    return ax


def save_training_figures(directory: str | Path, history: dict, task: str, y_true: np.ndarray,
                          y_score: np.ndarray, task_names: Sequence[str], split: str = "test",
                          std: np.ndarray | None = None) -> list[Path]:
    """Write the training figures into ``directory``; return their paths.

    ``training.png`` (:func:`plot_history`) and ``<split>_roc.png`` (classification,
    :func:`plot_roc`) or ``<split>_parity.png`` (regression, :func:`plot_parity`); for
    classification also ``<split>_calibration.png`` (:func:`plot_calibration`), and for regression
    with ``std`` (the model's σ) ``<split>_calibration.png`` and ``<split>_error_vs_sigma.png``
    (:func:`plot_error_vs_sigma`).

    Raises
    ------
    ImportError
        Without matplotlib.
    """
    directory = Path(directory)
    written = []
    figures = [("training.png", plot_history(history))]
    if len(y_true):
        plot = plot_roc if task == "classification" else plot_parity
        suffix = "roc" if task == "classification" else "parity"
        ax = plot(y_true, y_score, task_names)
        ax.set_title(f"{split} set")
        figures.append((f"{split}_{suffix}.png", ax))
        if task == "classification" or std is not None:
            figures.append((f"{split}_calibration.png", plot_calibration(y_true, y_score, task_names, std)))
        if task == "regression" and std is not None:
            figures.append((f"{split}_error_vs_sigma.png", plot_error_vs_sigma(y_true, y_score, std, task_names)))
    for name, ax in figures:
        path = directory / name
        ax.figure.savefig(path, dpi=120)
        written.append(path)
    return written
