import math

import numpy as np
import pytest

from symmol.metrics import classification_metrics, regression_metrics


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
