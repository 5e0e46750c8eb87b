"""Figures of a trained model: the plotted data equal the history and scikit-learn's curves."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_curve

pytest.importorskip("matplotlib")

from symmol.cli.main import main  # noqa: E402
from symmol.evaluation.plots import (  # noqa: E402
    plot_calibration,
    plot_error_vs_sigma,
    plot_history,
    plot_parity,
    plot_roc,
)
from symmol.evaluation.uncertainty import binned_rmv_rmse, interval_calibration_curve  # noqa: E402


def test_history_curves_and_kept_epoch():
    history = {"train_loss": [0.7, 0.5, 0.45, 0.44], "val_score": [0.60, 0.71, 0.74, 0.73],
               "monitor": "roc_auc", "best_epoch": 2}
    ax = plot_history(history)
    loss_line = ax.get_lines()[0]
    np.testing.assert_array_equal(loss_line.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(loss_line.get_ydata(), history["train_loss"])
    kept = ax.get_lines()[1]
    assert list(kept.get_xdata()) == [3, 3]
    np.testing.assert_array_equal(ax.right_ax.get_lines()[0].get_ydata(), history["val_score"])
    assert ax.right_ax.get_ylabel() == "validation roc_auc"


def test_roc_curves_equal_sklearn_and_skip_single_class_tasks():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(50, 3)).astype(float)
    y[::4, 0] = np.nan
    y[:, 2] = 1.0  # one class: no curve
    scores = np.clip(y + rng.normal(0, 0.6, size=y.shape), 0, 1)
    scores[np.isnan(scores)] = 0.5
    ax = plot_roc(y, scores, ["a", "b", "const"])
    curves = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert [c.get_label().split()[0] for c in curves] == ["a", "b"]
    measured = ~np.isnan(y[:, 0])
    fpr, tpr, _ = roc_curve(y[measured, 0], scores[measured, 0])
    np.testing.assert_array_equal(curves[0].get_xdata(), fpr)
    np.testing.assert_array_equal(curves[0].get_ydata(), tpr)


def test_parity_points_are_the_measured_rows():
    y = np.array([[1.0, np.nan], [2.0, 0.5], [3.0, 1.5]])
    p = np.array([[1.5, 9.0], [2.0, 0.0], [2.5, 1.0]])
    ax = plot_parity(y, p, ["logS", "logP"])
    first, second = ax.collections
    np.testing.assert_array_equal(first.get_offsets(), [[1.0, 1.5], [2.0, 2.0], [3.0, 2.5]])
    np.testing.assert_array_equal(second.get_offsets(), [[0.5, 0.0], [1.5, 1.0]])
    assert "RMSE 0.408" in first.get_label()


def test_train_plots_flag_writes_pngs(tmp_path, tox21_path):
    data = tmp_path / "tox21_small.csv"
    pd.read_csv(tox21_path).iloc[:300].to_csv(data, index=False)
    out = tmp_path / "model"
    argv = ["train", str(data), "--task", "classification", "--target", "NR-AhR", "--target", "SR-MMP",
            "--epochs", "2", "--patience", "0", "--hidden", "16", "--fp-size", "256", "--no-progress",
            "--plots", "--out", str(out)]
    assert main(argv) == 0
    for name in ("training.png", "test_roc.png", "test_calibration.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(json.loads((out / "history.json").read_text())["train_loss"]) == 2


def test_uncertainty_figures_plot_the_metric_curves():
    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=(200, 1)), rng.uniform(0.2, 2, size=(200, 1))
    y = mu + sigma * rng.normal(size=(200, 1))
    line = plot_calibration(y, mu, ["logS"], std=sigma).get_lines()[0]
    expected, observed = interval_calibration_curve(y[:, 0], mu[:, 0], sigma[:, 0])
    np.testing.assert_array_equal(line.get_xdata(), expected)
    np.testing.assert_array_equal(line.get_ydata(), observed)
    assert "miscalibration area" in line.get_label()
    points = plot_error_vs_sigma(y, mu, sigma, ["logS"]).get_lines()[0]
    rmv, rmse = binned_rmv_rmse(y[:, 0], mu[:, 0], sigma[:, 0])
    np.testing.assert_array_equal(points.get_xdata(), rmv)
    np.testing.assert_array_equal(points.get_ydata(), rmse)


def test_train_plots_of_a_gp_include_its_uncertainty(tmp_path):
    out = tmp_path / "gp"
    esol = Path(__file__).resolve().parent.parent / "examples" / "data" / "esol.csv"
    assert main(["train", str(esol), "--smiles-column", "smiles", "--target",
                 "measured log solubility in mols per litre", "--task", "regression", "--architecture", "gp",
                 "--plots", "--out", str(out)]) == 0
    for name in ("test_parity.png", "test_calibration.png", "test_error_vs_sigma.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
