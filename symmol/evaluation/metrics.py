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

from symmol.kernels.concordance import concordance_counts


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


#: What ``ranking=True`` adds to :func:`regression_metrics` (from :func:`affinity_metrics`).
RANKING_METRICS = ("ci", "mse", "rm2", "pearson", "spearman")


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, task_names: Sequence[str],
                       ranking: bool = False) -> dict:
    """RMSE, MAE and R² per task and their mean over tasks (NaN targets ignored).

    R² is NaN (and left out of the mean) for a task with fewer than two observed values or
    a constant observed target, where it is undefined (scikit-learn would report 0 or 1).
    ``ranking=True`` adds :data:`RANKING_METRICS` (concordance index, MSE, r_m², Pearson,
    Spearman; :func:`affinity_metrics`), which cost a sort per task: for final reports, not
    every epoch's validation.

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
        if ranking:
            found = affinity_metrics(t, p)
            per_task[name].update({key: found[key] for key in RANKING_METRICS})
    keys = ("rmse", "mae", "r2") + (RANKING_METRICS if ranking else ())
    return {**{key: _nanmean([m[key] for m in per_task.values()]) for key in keys}, "per_task": per_task}


def task_metrics(task: str, y_true: np.ndarray, y_pred: np.ndarray, task_names: Sequence[str],
                 ranking: bool = False) -> dict:
    """:func:`classification_metrics` or :func:`regression_metrics` (``ranking`` passed on) by task type."""
    if task == "classification":
        return classification_metrics(y_true, y_pred, task_names)
    return regression_metrics(y_true, y_pred, task_names, ranking)


# --------------------------------------------------------------------------- #
# virtual screening: early recognition
# --------------------------------------------------------------------------- #

def _ranked_labels(y_true, y_score) -> np.ndarray:
    """``(n,) bool`` labels ordered best score first (ties keep input order)."""
    y_true, y_score = np.asarray(y_true), np.asarray(y_score, dtype=np.float64)
    if y_true.ndim != 1 or y_true.shape != y_score.shape or y_true.size == 0:
        raise ValueError(f"y_true and y_score must be non-empty and of one shape (n,), got {y_true.shape} and "
                         f"{y_score.shape}")
    if np.isnan(y_score).any():
        raise ValueError(f"y_score has NaN at row {int(np.flatnonzero(np.isnan(y_score))[0])}")
    labels = y_true.astype(bool)
    if not np.array_equal(labels, y_true):
        raise ValueError("y_true must hold 0/1 (active/inactive) labels")
    return labels[np.argsort(-y_score, kind="stable")]


def enrichment_factor(y_true, y_score, fraction: float = 0.01) -> float:
    """Enrichment factor EF at ``fraction`` of a ranked screen (EF1% for ``fraction=0.01``).

    ``EF = (actives among the top ⌈N·fraction⌉ / ⌈N·fraction⌉) / (actives / N)``; ``N`` molecules,
    ranked by ``y_score``, highest first, ties in input order. Range ``0 .. 1/fraction`` (at most
    ``N / actives``); 1 is random.

    Parameters
    ----------
    y_true : (n,) 0/1 (bool or numbers)
        1 = active.
    y_score : (n,) float
        Higher = ranked earlier.
    fraction
        In ``(0, 1]``.

    Raises
    ------
    ValueError
        On shapes, NaN scores, labels other than 0/1, or a fraction outside ``(0, 1]``.

    Notes
    -----
    Equal to RDKit's ``rdkit.ML.Scoring.Scoring.CalcEnrichment``, the function of Riniker &
    Landrum's benchmarking platform (J. Cheminform. 2013, 5, 26, doi:10.1186/1758-2946-5-26),
    which fails when ``⌈N·fraction⌉ = N``; computed here directly. 0 when there is no active.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    ranked = _ranked_labels(y_true, y_score)
    n_actives = int(ranked.sum())
    if n_actives == 0:
        return 0.0
    n_top = math.ceil(ranked.size * fraction)
    return float(ranked[:n_top].sum() / n_top / (n_actives / ranked.size))


def bedroc(y_true, y_score, alpha: float = 20.0) -> float:
    """BEDROC, the Boltzmann-enhanced discrimination of ROC (early recognition), in ``[0, 1]``.

    With ``alpha = 20`` (the usual choice), 80 % of the score comes from the first 8 % of the
    ranking. Ranking and inputs as in :func:`enrichment_factor`; 0 when there is no active.

    Notes
    -----
    Truchon & Bayly, J. Chem. Inf. Model. 2007, 47, 488, doi:10.1021/ci600426e; computed by
    RDKit's ``rdkit.ML.Scoring.Scoring.CalcBEDROC``.
    """
    from rdkit.ML.Scoring.Scoring import CalcBEDROC

    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    return float(CalcBEDROC([[bool(v)] for v in _ranked_labels(y_true, y_score)], 0, alpha))


def virtual_screening_metrics(y_true, y_score, fractions: Sequence[float] = (0.01, 0.05),
                              alpha: float = 20.0) -> dict:
    """Compute ROC-AUC, PR-AUC, EF and BEDROC of one ranked screen; see :func:`enrichment_factor`.

    EF at each of ``fractions`` (keys ``"ef1%"``, ``"ef5%"``...) and BEDROC (key ``"bedroc20"`` for
    ``alpha=20``).
    """
    y_true = np.asarray(y_true)
    both = 0 < int(np.sum(y_true)) < y_true.size
    out = {
        "roc_auc": float(roc_auc_score(y_true, y_score)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y_true, y_score)) if both else float("nan"),
    }
    for fraction in fractions:
        out[f"ef{100 * fraction:g}%"] = enrichment_factor(y_true, y_score, fraction)
    out[f"bedroc{alpha:g}"] = bedroc(y_true, y_score, alpha)
    return out


# --------------------------------------------------------------------------- #
# binding affinity: ranking and agreement of continuous predictions
# --------------------------------------------------------------------------- #

def _paired(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """``(n,)`` float64 copies of both, checked: one shape, no NaN (the first NaN row named)."""
    t, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if t.ndim != 1 or t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have one shape (n,), got {t.shape} and {p.shape}")
    for name, values in (("y_true", t), ("y_pred", p)):
        if np.isnan(values).any():
            raise ValueError(f"{name} has NaN at row {int(np.flatnonzero(np.isnan(values))[0])}")
    return t, p


def concordance_index(y_true, y_pred) -> float:
    """Concordance index (Harrell's C without censoring) of predictions against measured values.

    The share of pairs with different measured values that the predictions order the same way, a tie
    in the predictions counting one half: DeepDTA's and GraphDTA's CI (Öztürk et al., Bioinformatics
    2018, doi:10.1093/bioinformatics/bty593). 0.5 is random, 1 a perfect ranking. O(n log n)
    (:func:`symmol.kernels.concordance.concordance_counts`).

    Parameters
    ----------
    y_true, y_pred
        ``(n,)`` numbers (e.g. pKd), without NaN.

    Returns
    -------
    float
        In [0, 1]; NaN when no two measured values differ.

    Raises
    ------
    ValueError
        On shapes that differ or are not 1-D, or a NaN (naming its row).
    """
    t, p = _paired(y_true, y_pred)
    concordant, tied, comparable = concordance_counts(t, p)
    return (concordant + 0.5 * tied) / comparable if comparable else float("nan")


def rm2(y_true, y_pred, convention: str = "roy") -> float:
    """Return the modified squared correlation r_m² of predictions against measured values.

    ``r² · (1 − sqrt(|r² − r0²|))``, with ``r²`` the squared Pearson correlation and ``r0²`` the
    coefficient of determination of the regression through the origin, ``y ≈ k·ŷ`` with
    ``k = Σyŷ / Σŷ²`` (Roy et al., Molecules 2009, doi:10.3390/molecules14051660; the convention
    ``"roy"``). DeepDTA's code, which GraphDTA and later papers reuse for their published r_m²,
    takes ``sqrt(|(r²)² − (r0²)²|)`` instead; ``convention="deepdta"`` reproduces that, for tables
    set beside theirs.

    Parameters
    ----------
    y_true, y_pred
        ``(n,)`` numbers, without NaN.
    convention : {"roy", "deepdta"}

    Returns
    -------
    float
        At most 1; NaN when either input is constant.

    Raises
    ------
    ValueError
        On an unknown convention, shapes that differ, or a NaN (naming its row).
    """
    if convention not in ("roy", "deepdta"):
        raise ValueError(f"convention must be 'roy' or 'deepdta', got {convention!r}")
    t, p = _paired(y_true, y_pred)
    dt, dp = t - t.mean(), p - p.mean()
    spread = float(np.sum(dt * dt) * np.sum(dp * dp))
    if spread == 0.0:
        return float("nan")
    r2 = float(np.sum(dt * dp)) ** 2 / spread
    k = float(np.sum(t * p) / np.sum(p * p))
    r02 = 1.0 - float(np.sum((t - k * p) ** 2) / np.sum(dt * dt))
    gap = abs(r2 - r02) if convention == "roy" else abs(r2 * r2 - r02 * r02)
    return r2 * (1.0 - math.sqrt(gap))


def affinity_metrics(y_true, y_pred) -> dict[str, float]:
    """Return every metric the binding-affinity literature reports, for one target column.

    ``ci`` (:func:`concordance_index`), ``mse``, ``rm2`` (:func:`rm2`, Roy's formula) and
    ``rm2_deepdta`` (DeepDTA's code), ``pearson``, ``spearman`` (SciPy), and train's ``rmse``,
    ``mae``, ``r2``; ``n`` the rows. NaN measured values are left out.

    Raises
    ------
    ValueError
        On shapes that differ, or a NaN prediction for a measured row.
    """
    from scipy import stats

    t, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have one shape, got {t.shape} and {p.shape}")
    measured = ~np.isnan(t)
    t, p = _paired(t[measured], p[measured])
    varied = t.size >= 2 and np.ptp(t) > 0 and np.ptp(p) > 0
    mse = float(np.mean((t - p) ** 2)) if t.size else float("nan")
    return {
        "ci": concordance_index(t, p) if t.size >= 2 else float("nan"),
        "mse": mse,
        "rm2": rm2(t, p) if varied else float("nan"),
        "rm2_deepdta": rm2(t, p, "deepdta") if varied else float("nan"),
        "pearson": float(stats.pearsonr(t, p).statistic) if varied else float("nan"),
        "spearman": float(stats.spearmanr(t, p).statistic) if varied else float("nan"),
        "rmse": math.sqrt(mse),
        "mae": float(np.mean(np.abs(t - p))) if t.size else float("nan"),
        "r2": float(r2_score(t, p)) if t.size >= 2 and np.ptp(t) > 0 else float("nan"),
        "n": int(t.size),
    }


def per_group_pearson(y_true, y_pred, groups, min_size: int = 10) -> tuple[float, int]:
    """Mean Pearson correlation within groups: per-drug Pearson of drug-response models.

    Across all pairs, a drug-response model scores well by learning which drugs are potent; within
    one drug, only by ranking the cell lines, which is what personalised medicine asks. Drug-response
    benchmarks report the mean over drugs of the Pearson correlation between measured and predicted
    ln IC50 of that drug's test cell lines (e.g. Chiu et al., BMC Med. Genomics 2019,
    doi:10.1186/s12920-018-0460-9; DrEval, Bernett et al. 2026).

    Parameters
    ----------
    y_true, y_pred
        ``(n,)`` numbers without NaN.
    groups
        ``(n,)`` group labels (drug ids, or canonical SMILES for drugs screened under two ids).
    min_size
        Groups with fewer rows, or with constant measured or predicted values, are left out.

    Returns
    -------
    mean : float
        Mean of the groups' Pearson r; NaN when no group qualifies.
    n_groups : int
        The groups averaged.

    Raises
    ------
    ValueError
        On shapes that differ, or a NaN (naming its row).
    """
    t, p = _paired(y_true, y_pred)
    names = np.asarray(groups).astype(str)
    if names.shape != t.shape:
        raise ValueError(f"groups must have shape {t.shape}, got {names.shape}")
    labels = np.unique(names, return_inverse=True)[1]
    correlations = []
    for group in np.unique(labels):
        rows = labels == group
        if rows.sum() >= min_size and np.ptp(t[rows]) > 0 and np.ptp(p[rows]) > 0:
            correlations.append(float(np.corrcoef(t[rows], p[rows])[0, 1]))
    return (float(np.mean(correlations)) if correlations else float("nan")), len(correlations)
