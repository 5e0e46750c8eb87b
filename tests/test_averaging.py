"""Weight averaging (EMA, SWA) and bagging in the compiled training step, against NumPy references."""

import json

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from symmol.chem.io import read_molecules
from symmol.estimator import QSARModel
from symmol.featurizers import MorganFingerprint
from symmol.models.base import molecule_input
from symmol.models.mlp import FingerprintMLP, MLPSpec
from symmol.nn.objectives import masked_binary_crossentropy_from_logits, masked_squared_error
from symmol.training import TrainConfig, train_model
from symmol.training.step import TrainStep, bootstrap_weights

TASKS = ["NR-AR", "NR-AhR", "SR-MMP"]


@pytest.fixture(scope="module")
def tox21_fp(tox21_path):
    table = read_molecules(tox21_path).iloc[:160]
    model = QSARModel("classification", fp_size=256, progress=False)
    featurized = model.featurize(table["smiles"].tolist())
    rows = np.flatnonzero(featurized.valid)
    return featurized.batch.take(rows), table[TASKS].astype(float).to_numpy()[rows]


def _mlp(ensemble_size=1, seed=0):
    spec = MLPSpec(targets=tuple(TASKS), task="classification", hidden=(16,), dropout=0.2,
                   inputs=molecule_input(MorganFingerprint(2, 256)),
                   seed=seed, ensemble_size=ensemble_size)
    return FingerprintMLP(spec)


def _record_iterates(monkeypatch):
    """Patch TrainStep so that every call records the (post-update) trainable parameters."""
    iterates = []
    original = TrainStep.__call__

    def recording(self, *args):
        out = original(self, *args)
        iterates.append({p.name: p.get_value() for p in self.averages})
        return out

    monkeypatch.setattr(TrainStep, "__call__", recording)
    return iterates


def test_ema_weights_equal_numpy_reference(tox21_fp, monkeypatch):
    fps, y = tox21_fp
    iterates = _record_iterates(monkeypatch)
    model = _mlp()
    start = model.get_param_values()
    config = TrainConfig(epochs=3, patience=0, batch_size=32, averaging="ema", ema_decay=0.9, progress=False)
    train_model(model, fps, y, config=config)
    assert len(iterates) == 3 * int(np.ceil(len(fps) / 32))
    reference = {k: v.astype(np.float64) for k, v in start.items()}
    for t, params in enumerate(iterates):
        rate = 1.0 - min(0.9, (1.0 + t) / (10.0 + t))
        for name, value in params.items():
            reference[name] += rate * (value - reference[name])
    final = model.get_param_values()
    for name, value in reference.items():
        np.testing.assert_allclose(final[name], value, rtol=1e-4, atol=1e-6)
        assert not np.allclose(final[name], iterates[-1][name])  # the average, not the last iterate
    assert model.train_config["averaging"] == "ema" and model.train_config["ema_decay"] == 0.9


def test_swa_weights_are_the_mean_of_the_iterates_after_swa_start(tox21_fp, monkeypatch):
    fps, y = tox21_fp
    iterates = _record_iterates(monkeypatch)
    model = _mlp(ensemble_size=2)
    config = TrainConfig(epochs=4, patience=0, batch_size=40, averaging="swa", swa_start=0.5, progress=False)
    train_model(model, fps, y, config=config)
    per_epoch = int(np.ceil(len(fps) / 40))
    averaged = iterates[2 * per_epoch:]  # epochs 2 and 3 (0-based): floor(0.5 * 4) = 2
    assert len(averaged) == 2 * per_epoch
    final = model.get_param_values()
    assert {name.split(".")[0] for name in final} == {"m0", "m1"}
    for name in final:
        np.testing.assert_allclose(final[name], np.mean([it[name] for it in averaged], axis=0), rtol=1e-4,
                                   atol=1e-6)


def test_validation_and_early_stopping_use_the_averaged_weights(tox21_fp):
    fps, y = tox21_fp
    model = _mlp()
    config = TrainConfig(epochs=3, patience=5, batch_size=32, averaging="ema", progress=False)
    history = train_model(model, fps.slice(0, 120), y[:120], fps.slice(120, len(fps)), y[120:], config)
    from symmol.evaluation.metrics import task_metrics

    best = history.val_score[history.best_epoch]
    score = task_metrics("classification", y[120:], model.predict_batch(fps.slice(120, len(fps))),
                         TASKS)["roc_auc"]
    assert score == pytest.approx(best, abs=1e-6)


def test_bootstrap_weights_are_seeded_multinomial_counts():
    weights = bootstrap_weights(50, 3, seed=7)
    assert weights.shape == (50, 3) and weights.dtype == np.float32
    np.testing.assert_array_equal(weights.sum(axis=0), [50, 50, 50])
    expected = np.bincount(np.random.default_rng(8).integers(0, 50, 50), minlength=50)
    np.testing.assert_array_equal(weights[:, 1], expected)
    assert not np.array_equal(weights[:, 0], weights[:, 1])
    np.testing.assert_array_equal(weights, bootstrap_weights(50, 3, seed=7))


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_weighted_loss_equals_the_loss_on_repeated_rows(task):
    rng = np.random.default_rng(0)
    outputs = rng.normal(size=(6, 2)).astype(np.float32)
    targets = rng.integers(0, 2, size=(6, 2)).astype(np.float32)
    targets[1, 0] = np.nan
    counts = np.array([2, 0, 1, 3, 0, 1], dtype=np.float32)
    o, t, w = pt.matrix("o"), pt.matrix("t"), pt.vector("w")
    objective = masked_binary_crossentropy_from_logits if task == "classification" else masked_squared_error
    loss = pytensor.function([o, t, w], objective(o, t, w))
    repeated = np.repeat(np.arange(6), counts.astype(int))
    x, yy = outputs[repeated].astype(np.float64), targets[repeated].astype(np.float64)
    mask = ~np.isnan(yy)
    per_label = (np.logaddexp(0, x) - np.nan_to_num(yy) * x if task == "classification"
                 else (x - np.nan_to_num(yy)) ** 2)
    assert loss(outputs, targets, counts) == pytest.approx(per_label[mask].mean(), rel=1e-5)
    ones = np.ones(6, np.float32)
    plain_mask = ~np.isnan(targets)
    xs = outputs.astype(np.float64)
    plain = (np.logaddexp(0, xs) - np.nan_to_num(targets) * xs if task == "classification"
             else (xs - np.nan_to_num(targets)) ** 2)
    assert loss(outputs, targets, ones) == pytest.approx(plain[plain_mask].mean(), rel=1e-5)


def test_bagging_gives_members_different_data_and_is_saved(tox21_fp, tmp_path):
    fps, y = tox21_fp
    kwargs = dict(hidden=(16,), fp_size=256, ensemble_size=2, epochs=2, patience=0, batch_size=32, progress=False)
    plain = QSARModel("classification", **kwargs).fit_featurized(fps, y, target_names=TASKS)
    bagged = QSARModel("classification", bagging=True, **kwargs).fit_featurized(fps, y, target_names=TASKS)
    a, b = plain.model_.get_param_values(), bagged.model_.get_param_values()
    assert not np.allclose(a["m0.hidden0.W"], b["m0.hidden0.W"])
    bagged.save(tmp_path / "bagged")
    document = json.loads((tmp_path / "bagged" / "model.json").read_text())
    assert document["training"]["bagging"] is True and document["training"]["epochs"] == 2
    again = QSARModel.load(tmp_path / "bagged")
    assert again.bagging is True and again.batch_size == 32


def test_config_rejects_bad_averaging_settings():
    with pytest.raises(ValueError, match="averaging"):
        TrainConfig(averaging="polyak")
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(ema_decay=1.0)
    with pytest.raises(ValueError, match="swa_start"):
        TrainConfig(swa_start=1.0)


def test_weighted_graph_with_unit_weights_trains_like_the_standard_step(tox21_fp):
    """Averaging only adds copies: the live parameters follow the same path as without it."""
    fps, y = tox21_fp
    plain, averaged = _mlp(), _mlp()
    base = dict(epochs=2, patience=0, batch_size=32, progress=False)
    a = train_model(plain, fps, y, config=TrainConfig(**base))
    b = train_model(averaged, fps, y, config=TrainConfig(**base, averaging="ema"))
    np.testing.assert_allclose(a.train_loss, b.train_loss, rtol=1e-5)
    assert plain.train_config["averaging"] == "none"


def test_validation_targets_are_checked_before_compiling(tox21_fp):
    fps, y = tox21_fp
    config = TrainConfig(epochs=1, progress=False)
    for val_y, shape in ((None, "None"), (y[:10, 0], r"\(10,\)"), (y[:9], r"\(9, 3\)")):
        with pytest.raises(ValueError, match=rf"validation targets must be \(10, 3\).* got {shape}"):
            train_model(_mlp(), fps, y, fps.take(np.arange(10)), val_y, config)
