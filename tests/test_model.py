"""The fingerprint MLP end to end: training, backends, determinism, saving and loading."""

import json

import numpy as np
import pytest

from symmol.chem.io import read_molecules
from symmol.estimator import InvalidMoleculeError, QSARModel
from symmol.evaluation.splits import random_split
from symmol.models.store import ModelFileError, load_model, save_model

TASKS = ["NR-AR", "NR-AhR", "SR-MMP"]


@pytest.fixture(scope="module")
def tox21_small(tox21_path):
    table = read_molecules(tox21_path).iloc[:600]
    from symmol.chem.parse import parse_smiles_list

    table = table[parse_smiles_list(table["smiles"].tolist()).valid].reset_index(drop=True)
    return table["smiles"].to_numpy(), table[TASKS].astype(float).to_numpy()


def _small_model(backend="numba", seed=0, epochs=3):
    return QSARModel("classification", hidden=(64, 32), dropout=0.1, fp_size=512, backend=backend,
                     epochs=epochs, patience=0, batch_size=32, seed=seed, progress=False)


def test_backends_agree_and_seeds_repeat(tox21_small):
    smiles, y = tox21_small
    a = _small_model("numba").fit(smiles[:400], y[:400], target_names=TASKS)
    b = _small_model("numba").fit(smiles[:400], y[:400], target_names=TASKS)
    c = _small_model("c").fit(smiles[:400], y[:400], target_names=TASKS)
    pa, pb, pc = (m.predict_scores(smiles[400:]) for m in (a, b, c))
    assert np.array_equal(pa, pb)
    np.testing.assert_allclose(pa, pc, atol=1e-5)
    np.testing.assert_allclose(a.history_.train_loss, c.history_.train_loss, rtol=1e-5)
    assert a.history_.train_loss[-1] < a.history_.train_loss[0]
    d = _small_model("numba", seed=1).fit(smiles[:400], y[:400], target_names=TASKS)
    assert not np.allclose(pa, d.predict_scores(smiles[400:]))


def test_regression_learns_esol(example_data):
    table = read_molecules(example_data / "esol.csv", smiles_column="smiles")
    y = table[["measured log solubility in mols per litre"]].to_numpy(float)
    split = random_split(len(table), seed=0)
    smiles = table["smiles"].to_numpy()
    model = QSARModel("regression", hidden=(256,), counts=True, epochs=60, patience=10, progress=False)
    model.fit(smiles[split.train], y[split.train], smiles[split.val], y[split.val])
    rmse = model.metrics(smiles[split.test], y[split.test])["rmse"]
    baseline = float(np.std(y[split.test]))  # predicting the mean
    assert rmse < 0.6 * baseline


def test_invalid_training_smiles_names_the_row():
    with pytest.raises(InvalidMoleculeError, match=r"training row 1: SMILES 'C1CC' rejected"):
        _small_model().fit(["CCO", "C1CC"], [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], target_names=TASKS)


def test_predict_flags_invalid_rows(tox21_small):
    smiles, y = tox21_small
    model = _small_model(epochs=1).fit(smiles[:100], y[:100], target_names=TASKS)
    frame = model.predict_frame(["CCO", "not a smiles", "c1ccccc1N"])
    assert frame["status"].tolist() == ["ok", "invalid", "ok"]
    assert np.isnan(frame.loc[1, "NR-AR"]) and 0 < frame.loc[0, "NR-AR"] < 1
    assert "syntax error" in frame.loc[1, "error"]


def test_save_load_roundtrip_and_corruption(tox21_small, tmp_path):
    smiles, y = tox21_small
    model = _small_model(epochs=1).fit(smiles[:100], y[:100], target_names=TASKS)
    model.save(tmp_path / "m")
    spec = json.loads((tmp_path / "m" / "model.json").read_text())
    assert spec["spec"]["targets"] == TASKS
    assert spec["spec"]["inputs"] == {"smiles": {"column": "smiles", "featurizer": {
        "kind": "ecfp", "radius": 2, "fp_size": 512, "counts": False, "chirality": False}}}
    assert spec["format_version"] == 2 and spec["architecture"] == "mlp"
    assert set(spec["versions"]) >= {"symmol", "rdkit", "pytensor"}
    loaded = QSARModel.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_scores(smiles[100:120]), model.predict_scores(smiles[100:120]))

    params = tmp_path / "m" / "params.npz"
    good = params.read_bytes()
    params.write_bytes(good[:-40])
    with pytest.raises(ModelFileError, match="checksum does not match"):
        load_model(tmp_path / "m")
    params.write_bytes(good)
    spec["spec"]["hidden"] = [64, 16]
    (tmp_path / "m" / "model.json").write_text(json.dumps(spec))
    with pytest.raises(ModelFileError, match="shape .* does not match"):
        load_model(tmp_path / "m")
    (tmp_path / "m" / "model.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="corrupt JSON"):
        load_model(tmp_path / "m")
    with pytest.raises(ModelFileError, match="not a symmol model directory"):
        load_model(tmp_path / "nothing")


def test_saved_params_need_no_pickle(tox21_small, tmp_path):
    smiles, y = tox21_small
    model = _small_model(epochs=1).fit(smiles[:50], y[:50], target_names=TASKS)
    save_model(model.model_, tmp_path)
    with np.load(tmp_path / "params.npz", allow_pickle=False) as archive:
        assert archive["hidden0.W"].shape == (512, 64)
        assert archive["hidden0.W"].dtype == np.float32


def test_ensemble_predicts_the_mean_of_its_members(tox21_small, tmp_path):
    from symmol.compile import compile_predict

    smiles, y = tox21_small
    model = QSARModel("classification", hidden=(32,), fp_size=512, ensemble_size=3, epochs=2, patience=0,
                      progress=False).fit(smiles[:200], y[:200], target_names=TASKS)
    fitted = model.model_
    assert len(fitted.members) == 3
    assert {name.split(".")[0] for name in fitted.get_param_values()} == {"m0", "m1", "m2"}
    fps = model.featurize(smiles[200:260]).batch
    import pytensor.tensor as pt

    each = [compile_predict(member, "numba", pt.sigmoid)(fps.indptr, fps.indices, fps.values)
            for member in fitted.members]
    assert not np.allclose(each[0], each[1])
    np.testing.assert_allclose(fitted.predict_batch(fps), np.mean(each, axis=0), rtol=1e-5, atol=1e-7)
    model.save(tmp_path / "ens")
    again = QSARModel.load(tmp_path / "ens")
    np.testing.assert_array_equal(again.predict_scores(smiles[200:260]), model.predict_scores(smiles[200:260]))


def test_labels_other_than_0_1_and_pandas_index_errors_name_the_row(tox21_small):
    import pandas as pd

    smiles, y = tox21_small
    labels = y[:40].copy()
    labels[7, 2] = 2.0
    with pytest.raises(ValueError, match=r"training: target 'SR-MMP', row 7: 2 is not a 0/1 label"):
        _small_model(epochs=1).fit(smiles[:40], labels, target_names=TASKS)
    series = pd.Series(["CCO", "CCN", "C1CC"], index=[10, 11, 12])  # e.g. a filtered DataFrame column
    with pytest.raises(InvalidMoleculeError, match=r"training row 2: SMILES 'C1CC'"):
        _small_model().fit(series, np.zeros((3, 3)), target_names=TASKS)


def test_load_keeps_fcfp_and_chirality(tox21_small, tmp_path):
    from symmol.featurizers import MorganFingerprint

    smiles, y = tox21_small
    model = _small_model(epochs=1).set_params(fingerprint="fcfp", chirality=True)
    model.fit(smiles[:60], y[:60], target_names=TASKS).save(tmp_path / "fcfp")
    loaded = QSARModel.load(tmp_path / "fcfp")
    assert loaded.model_.featurizer == model.model_.featurizer == MorganFingerprint(2, 512, features=True,
                                                                                   chirality=True)
    probe = ["C[C@H](N)C(=O)O", "c1ccccc1O", "CCN(CC)CC"]
    np.testing.assert_array_equal(loaded.predict_scores(probe), model.predict_scores(probe))
    np.testing.assert_array_equal(loaded.predict_scores(probe), loaded.predict_frame(probe)[TASKS].to_numpy())


def test_model_json_that_is_not_an_object(tox21_small, tmp_path):
    smiles, y = tox21_small
    _small_model(epochs=1).fit(smiles[:30], y[:30], target_names=TASKS).save(tmp_path / "m")
    (tmp_path / "m" / "model.json").write_text("[1, 2]")
    with pytest.raises(ModelFileError, match="a JSON list, not an object"):
        load_model(tmp_path / "m")
