import math

import numpy as np
import pytest

from symmol.evaluation.metrics import classification_metrics, regression_metrics


def test_classification_masks_missing_and_single_class_tasks():
    y = np.array([[1, 0, np.nan], [0, 0, 1], [1, np.nan, 1], [0, 0, np.nan]])
    p = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.6], [0.6, 0.5, 0.7], [0.4, 0.2, 0.1]])
    m = classification_metrics(y, p, ["a", "b", "c"])
    assert m["per_task"]["a"]["roc_auc"] == 1.0
    assert m["per_task"]["a"]["n"] == 4
    assert math.isnan(m["per_task"]["b"]["roc_auc"])  # only negatives observed
    assert m["roc_auc"] == 1.0  # mean over tasks with both classes


def test_regression_values():
    y = np.array([[1.0], [2.0], [np.nan], [4.0]])
    p = np.array([[1.5], [2.0], [100.0], [3.0]])
    m = regression_metrics(y, p, ["t"])
    assert np.isclose(m["rmse"], np.sqrt((0.25 + 0 + 1) / 3))
    assert np.isclose(m["mae"], 0.5)


def test_r2_of_a_constant_target_is_nan_and_left_out_of_the_mean():

    y = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    p = np.array([[0.0, 0.0], [2.0, 1.0], [5.0, 2.5]])
    metrics = regression_metrics(y, p, ["constant", "varied"])
    assert np.isnan(metrics["per_task"]["constant"]["r2"])
    assert metrics["r2"] == pytest.approx(1 - 0.25 / 2.0)


def _naive_ef(labels, scores, fraction):
    order = sorted(range(len(scores)), key=lambda i: -scores[i])  # stable: ties in input order
    top = math.ceil(len(scores) * fraction)
    found = sum(labels[i] for i in order[:top])
    return (found / top) / (sum(labels) / len(labels))


def _naive_bedroc(labels, scores, alpha):
    """Truchon & Bayly 2007: RIE over 1-based ranks, rescaled between the worst and best orderings."""
    n, n_act = len(labels), sum(labels)
    order = sorted(range(n), key=lambda i: -scores[i])
    ranks = [r + 1 for r, i in enumerate(order) if labels[i]]

    def rie(rs):
        return sum(math.exp(-alpha * r / n) for r in rs)

    best, worst = rie(range(1, n_act + 1)), rie(range(n - n_act + 1, n + 1))
    return (rie(ranks) - worst) / (best - worst)


def test_enrichment_factor_and_bedroc_equal_the_definitions():
    from symmol.evaluation.metrics import bedroc, enrichment_factor, virtual_screening_metrics

    rng = np.random.default_rng(0)
    labels = (rng.random(1000) < 0.03).astype(int)
    scores = np.round(rng.random(1000) + 0.8 * labels, 2)  # ties included
    for fraction in (0.01, 0.02, 0.05, 0.1):
        assert enrichment_factor(labels, scores, fraction) == pytest.approx(_naive_ef(labels, scores, fraction))
    assert bedroc(labels, scores, 20.0) == pytest.approx(_naive_bedroc(labels, scores, 20.0), rel=1e-9)
    perfect = labels.astype(float)
    assert enrichment_factor(labels, perfect, 0.01) == pytest.approx(len(labels) / labels.sum())  # top 1% all active
    assert bedroc(labels, perfect) == pytest.approx(1.0)
    assert bedroc(labels, -perfect) == pytest.approx(0.0, abs=1e-12)
    metrics = virtual_screening_metrics(labels, scores)
    assert set(metrics) == {"roc_auc", "pr_auc", "ef1%", "ef5%", "bedroc20"}
    with pytest.raises(ValueError, match="y_score has NaN at row 2"):
        enrichment_factor([0, 1, 0], [0.1, 0.2, np.nan])
    with pytest.raises(ValueError, match="0/1"):
        bedroc([0, 2, 0], [0.1, 0.2, 0.3])


def test_enrichment_factor_when_the_top_fraction_is_the_whole_screen():
    from symmol.evaluation.metrics import enrichment_factor, virtual_screening_metrics

    assert enrichment_factor([1], [0.5], 0.01) == 1.0
    assert enrichment_factor([1] + [0] * 9, np.linspace(1, 0, 10), 0.95) == 1.0
    assert enrichment_factor([0, 0], [0.1, 0.2], 0.5) == 0.0
    assert virtual_screening_metrics([1, 0], [0.9, 0.1])["ef1%"] == 2.0
