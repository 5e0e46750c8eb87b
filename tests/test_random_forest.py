"""The fingerprint random forest: its Numba kernel against plain tree walks and scikit-learn, files, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import roc_auc_score

from symmol import QSARModel
from symmol.cli.main import main
from symmol.featurizers import MorganFingerprint
from symmol.kernels.forest import forest_mean_csr
from symmol.models.random_forest import RandomForestSpec, _Forest, max_features
from symmol.models.store import load_model

ROOT = Path(__file__).resolve().parent.parent
ESOL = ROOT / "examples" / "data" / "esol.csv"
ESOL_TARGET = "measured log solubility in mols per litre"
BBBP = ROOT / "examples" / "data" / "bbbp.csv"


def bbbp() -> tuple[list[str], np.ndarray]:
    table = pd.read_csv(BBBP)
    table = table[[Chem.MolFromSmiles(s) is not None for s in table["smiles"]]]
    order = np.random.default_rng(0).permutation(len(table))
    return table["smiles"].to_numpy()[order].tolist(), table["p_np"].to_numpy(float)[order]


def reference_mean(dense: np.ndarray, forest: _Forest) -> np.ndarray:
    """Walk every tree of the flat arrays in plain Python."""
    out = np.zeros(len(dense))
    for i, row in enumerate(dense):
        for root in forest.roots:
            node = root
            while forest.left[node] >= 0:
                go_left = np.float64(np.float32(row[forest.feature[node]])) <= forest.threshold[node]
                node = forest.left[node] if go_left else forest.right[node]
            out[i] += forest.leaf_value[node]
    return out / len(forest.roots)


@pytest.mark.parametrize("counts", [False, True])
def test_kernel_equals_plain_walks_and_scikit_learn(counts):
    smiles, y = bbbp()
    batch = MorganFingerprint(counts=counts).from_smiles(smiles[:600]).batch
    dense = batch.to_dense(np.float32)
    train, test = slice(0, 450), slice(450, 600)
    classifier = RandomForestClassifier(n_estimators=40, random_state=0).fit(dense[train], y[train].astype(int))
    regressor = RandomForestRegressor(n_estimators=40, min_samples_leaf=2, random_state=0).fit(dense[train], y[train])
    for forest, expected in ((classifier, classifier.predict_proba(dense[test])[:, 1]),
                             (regressor, regressor.predict(dense[test]))):
        task = "classification" if forest is classifier else "regression"
        flat = _Forest.from_sklearn(forest, task)
        got = flat.predict(batch.slice(450, 600))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got, reference_mean(dense[test], flat), rtol=0, atol=1e-12)
        assert 0.05 < np.std(got)  # the trees do split on the features


def test_kernel_on_empty_rows_and_a_stump():
    # one tree: x[3] <= 0.5 -> 2.0 else -1.0; a lone leaf tree of value 4.0
    feature = np.array([3, 0, 0, 0], np.int32)
    threshold = np.array([0.5, 0, 0, 0])
    left, right = np.array([1, -1, -1, -1], np.int32), np.array([2, -1, -1, -1], np.int32)
    leaf_value = np.array([0.0, 2.0, -1.0, 4.0])
    indptr = np.array([0, 0, 1, 3], np.int64)
    indices = np.array([3, 1, 3], np.int32)
    values = np.ones(3, np.float32)
    got = forest_mean_csr(indptr, indices, values, 8, feature, threshold, left, right, leaf_value,
                          np.array([0, 3], np.int64))
    np.testing.assert_array_equal(got, [3.0, 1.5, 1.5])


def test_estimator_matches_scikit_learn_and_reloads_without_it(tmp_path):
    smiles, y = bbbp()
    estimator = QSARModel("classification", "rf", n_estimators=60, min_samples_leaf=2, seed=4, progress=False)
    estimator.fit(smiles[:1400], y[:1400, None])
    scores = estimator.predict_scores(smiles[1400:])[:, 0]
    dense = MorganFingerprint().from_smiles(smiles).batch.to_dense(np.float32)
    reference = RandomForestClassifier(n_estimators=60, min_samples_leaf=2, random_state=4)
    expected = reference.fit(dense[:1400], y[:1400].astype(int)).predict_proba(dense[1400:])[:, 1]
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-6)
    assert roc_auc_score(y[1400:], scores) > 0.85
    estimator.save(tmp_path / "rf")
    assert not list((tmp_path / "rf").rglob("*.pkl"))
    loaded = load_model(tmp_path / "rf")
    batch = loaded.featurize(pd.DataFrame({"smiles": smiles[1400:]})).batch
    np.testing.assert_array_equal(loaded.predict_batch(batch)[:, 0], scores)
    values = dict(np.load(tmp_path / "rf" / "params.npz"))
    values["t0.left"] = values["t0.left"].copy()
    values["t0.left"][0] = 0  # a cycle: the root's left child is itself
    with pytest.raises(ValueError, match="do not form trees"):
        loaded.set_param_values(values)


def test_regression_with_missing_labels_and_spec_checks():
    table = pd.read_csv(ESOL)
    y = table[ESOL_TARGET].to_numpy(float)
    both = np.stack([y, np.where(np.arange(len(y)) % 4 == 0, np.nan, -y)], axis=1)
    estimator = QSARModel("regression", "rf", n_estimators=30, progress=False).fit(table["smiles"][:900], both[:900])
    summary = estimator.history_.fit_summary
    assert summary["task0"]["n_fitted"] == 900 and summary["task1"]["n_fitted"] == 675
    predicted = estimator.predict_scores(table["smiles"][900:])
    assert np.corrcoef(predicted[:, 0], y[900:])[0, 1] > 0.8
    assert np.corrcoef(predicted[:, 1], -y[900:])[0, 1] > 0.8
    with pytest.raises(ValueError, match="not ensembled"):
        RandomForestSpec(targets=("y",), task="regression", ensemble_size=3)
    with pytest.raises(ValueError, match="fraction in"):
        max_features("1.5")
    assert max_features("0.2") == 0.2 and max_features("sqrt") == "sqrt"


def test_cli_train_predict_and_screen(tmp_path, capsys):
    out = tmp_path / "rf"
    assert main(["train", str(ESOL), "--smiles-column", "smiles", "--target", ESOL_TARGET, "--task", "regression",
                 "--architecture", "rf", "--n-estimators", "50", "--max-features", "0.2", "--counts",
                 "--no-progress", "--out", str(out)]) == 0
    spec = json.loads((out / "model.json").read_text())
    assert spec["architecture"] == "rf" and spec["spec"]["max_features"] == 0.2
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["rmse"] < 1.3
    assert main(["predict", str(out), str(ESOL), "--out", str(tmp_path / "p.csv"), "--no-progress"]) == 0
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert len(predictions) == len(pd.read_csv(ESOL)) and predictions[ESOL_TARGET].notna().all()
    capsys.readouterr()
