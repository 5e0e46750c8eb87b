"""Evaluation metrics (scikit-learn), per task and averaged, with missing labels masked."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def classification_metrics(y_true: np.ndarray, y_score: np.ndarray, task_names: Sequence[str]) -> dict:
    """ROC-AUC and PR-AUC (average precision) per task and their mean over tasks.

    Parameters
    ----------
    y_true
        ``(n_rows, n_tasks)`` float with 0/1 labels; NaN = not measured (ignored).
    y_score
        ``(n_rows, n_tasks)`` predicted probabilities.

    Returns
    -------
    ``{"roc_auc": mean, "pr_auc": mean, "per_task": {task: {"roc_auc", "pr_auc", "n", "n_positive"}}}``.
    A task whose observed labels hold a single class gets NaN and is left out of the means.
    """
    per_task = {}
    for j, name in enumerate(task_names):
        mask = ~np.isnan(y_true[:, j])
        labels, scores = y_true[mask, j], y_score[mask, j]
        n_pos = int(labels.sum())
        both = 0 < n_pos < labels.size
        per_task[name] = {
            "roc_auc": float(roc_auc_score(labels, scores)) if both else float("nan"),
            "pr_auc": float(average_precision_score(labels, scores)) if both else float("nan"),
            "n": int(labels.size),
            "n_positive": n_pos,
        }
    return {
        "roc_auc": _nanmean([m["roc_auc"] for m in per_task.values()]),
        "pr_auc": _nanmean([m["pr_auc"] for m in per_task.values()]),
        "per_task": per_task,
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, task_names: Sequence[str]) -> dict:
    """RMSE, MAE and R² per task and their mean over tasks (NaN targets ignored).

    R² is NaN (and left out of the mean) for a task with fewer than two observed values or
    a constant observed target, where it is undefined (scikit-learn would report 0 or 1).

    Shapes ``(n_rows, n_tasks)``; units those of the targets.
    """
    per_task = {}
    for j, name in enumerate(task_names):
        mask = ~np.isnan(y_true[:, j])
        t, p = y_true[mask, j], y_pred[mask, j]
        enough = t.size >= 2 and np.ptp(t) > 0  # R² is undefined for a constant target
        per_task[name] = {
            "rmse": float(np.sqrt(mean_squared_error(t, p))) if t.size else float("nan"),
            "mae": float(mean_absolute_error(t, p)) if t.size else float("nan"),
            "r2": float(r2_score(t, p)) if enough else float("nan"),
            "n": int(t.size),
        }
    return {
        "rmse": _nanmean([m["rmse"] for m in per_task.values()]),
        "mae": _nanmean([m["mae"] for m in per_task.values()]),
        "r2": _nanmean([m["r2"] for m in per_task.values()]),
        "per_task": per_task,
    }


def task_metrics(task: str, y_true: np.ndarray, y_pred: np.ndarray, task_names: Sequence[str]) -> dict:
    """:func:`classification_metrics` or :func:`regression_metrics` by task type."""
    if task == "classification":
        return classification_metrics(y_true, y_pred, task_names)
    return regression_metrics(y_true, y_pred, task_names)
