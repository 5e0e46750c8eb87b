"""Concordance index and r_m²: the O(n log n) kernel against the double loop, SciPy, and hand formulas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from symmol.evaluation.metrics import affinity_metrics, concordance_index, rm2
from symmol.kernels.concordance import concordance_counts

ESOL = Path(__file__).resolve().parents[1] / "examples" / "data" / "esol.csv"


def naive_concordance(y: np.ndarray, f: np.ndarray) -> float:
    """The double loop of DeepDTA/GraphDTA's CI: every pair with y_i > y_j, ties in f count one half."""
    concordant = pairs = 0.0
    for i in range(len(y)):
        for j in range(len(y)):
            if y[i] > y[j]:
                pairs += 1
                concordant += 1.0 if f[i] > f[j] else 0.5 if f[i] == f[j] else 0.0
    return concordant / pairs


@pytest.fixture(scope="module")
def esol() -> tuple[np.ndarray, np.ndarray]:
    """Measured log solubility and Delaney's ESOL equation's prediction: real values, with ties in both."""
    table = pd.read_csv(ESOL)
    return (table["measured log solubility in mols per litre"].to_numpy(),
            table["ESOL predicted log solubility in mols per litre"].to_numpy())


def test_ci_equals_the_double_loop_and_somers_d_on_real_values(esol) -> None:
    y, f = esol
    assert len(np.unique(y)) < len(y) and len(np.unique(f)) < len(f)  # ties in both are exercised
    expected = naive_concordance(y[:400], f[:400])
    assert concordance_index(y[:400], f[:400]) == pytest.approx(expected, abs=1e-12)
    assert 0.8 < expected < 0.95
    # Harrell's C = (1 + Somers' D of the predictions given the measured values) / 2; SciPy's is slow past ~150 rows
    y, f = y[:150], f[:150]
    assert concordance_index(y, f) == pytest.approx((1 + stats.somersd(y, f).statistic) / 2, abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_ci_counts_on_heavily_tied_random_values(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 120))
    y = rng.integers(0, 6, n).astype(float)  # few distinct values: many pairs are not comparable
    f = rng.integers(0, 4, n).astype(float)  # and many predictions tie
    concordant, tied, comparable = concordance_counts(y, f)
    distinct = sum(1 for i in range(n) for j in range(n) if y[i] > y[j])
    assert comparable == distinct
    assert tied == sum(1 for i in range(n) for j in range(n) if y[i] > y[j] and f[i] == f[j])
    if comparable:
        assert (concordant + 0.5 * tied) / comparable == pytest.approx(naive_concordance(y, f), abs=1e-12)


def test_ci_edges() -> None:
    assert concordance_index([1.0, 2.0, 3.0], [10.0, 20.0, 30.0]) == 1.0
    assert concordance_index([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == 0.0
    assert concordance_index([1.0, 2.0], [5.0, 5.0]) == 0.5
    assert np.isnan(concordance_index([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]))  # nothing comparable
    with pytest.raises(ValueError, match="y_pred has NaN at row 1"):
        concordance_index([1.0, 2.0], [0.0, np.nan])
    with pytest.raises(ValueError, match=r"one shape \(n,\)"):
        concordance_index([1.0, 2.0], [0.0, 1.0, 2.0])


def _hand_rm2(y: np.ndarray, f: np.ndarray, squared_terms: bool) -> float:
    r2 = np.corrcoef(y, f)[0, 1] ** 2
    k = (y @ f) / (f @ f)
    r02 = 1 - ((y - k * f) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    gap = abs(r2**2 - r02**2) if squared_terms else abs(r2 - r02)
    return r2 * (1 - np.sqrt(gap))


def test_rm2_follows_roy_and_deepdta_formulas_on_real_values(esol) -> None:
    y, f = esol
    assert rm2(y, f) == pytest.approx(_hand_rm2(y, f, squared_terms=False), rel=1e-12)
    assert rm2(y, f, "deepdta") == pytest.approx(_hand_rm2(y, f, squared_terms=True), rel=1e-12)
    assert rm2(y, f) != pytest.approx(rm2(y, f, "deepdta"), rel=1e-3)  # the two conventions differ here
    assert rm2(y, y) == pytest.approx(1.0) == rm2(y, 0.5 * y)  # r0² fits the scale through the origin
    assert rm2(y, y + 2.0) < 0.5  # perfect correlation with an offset: penalised
    assert np.isnan(rm2(y, np.ones_like(y)))
    with pytest.raises(ValueError, match="convention must be 'roy' or 'deepdta'"):
        rm2(y, f, "other")


def test_affinity_metrics_report_everything_and_skip_missing_labels(esol) -> None:
    y, f = esol
    with_missing = y.copy()
    with_missing[[3, 10]] = np.nan
    metrics = affinity_metrics(with_missing, f)
    kept = ~np.isnan(with_missing)
    assert metrics["n"] == int(kept.sum())
    assert set(metrics) == {"ci", "mse", "rm2", "rm2_deepdta", "pearson", "spearman", "rmse", "mae", "r2", "n"}
    assert metrics["ci"] == pytest.approx(concordance_index(y[kept], f[kept]))
    assert metrics["mse"] == pytest.approx(np.mean((y[kept] - f[kept]) ** 2))
    assert metrics["pearson"] == pytest.approx(stats.pearsonr(y[kept], f[kept]).statistic)
    assert metrics["spearman"] == pytest.approx(stats.spearmanr(y[kept], f[kept]).statistic)
    assert metrics["rmse"] == pytest.approx(np.sqrt(metrics["mse"]))


def test_per_group_pearson_is_the_mean_within_groups_of_enough_rows() -> None:
    from symmol.evaluation.metrics import per_group_pearson

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=12), rng.normal(size=15)
    y = np.concatenate([a, b, [1.0, 2.0, 3.0]])
    p = np.concatenate([a + rng.normal(size=12), -b, [3.0, 2.0, 1.0]])
    groups = ["a"] * 12 + ["b"] * 15 + ["tiny"] * 3
    mean, n = per_group_pearson(y, p, groups, min_size=10)
    assert n == 2
    assert mean == pytest.approx((np.corrcoef(a, p[:12])[0, 1] - 1.0) / 2, rel=1e-12)
    # across groups, a model that only knows each group's mean scores well; within them, not at all
    means = np.where(np.array(groups) == "a", 5.0, 0.0)
    assert np.isnan(per_group_pearson(y + means, means, groups)[0])
    with pytest.raises(ValueError, match="groups must have shape"):
        per_group_pearson(y, p, groups[:-1])
