"""Uncertainty metrics, calibrators (against direct restatements and scikit-learn) and the predict/calibrate CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.special
import scipy.stats
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression

from symmol import QSARModel
from symmol.cli.main import main
from symmol.evaluation.calibration import (
    Calibration,
    calibration_report,
    conformal_calibration_curve,
    conformal_quantile,
)
from symmol.evaluation.uncertainty import (
    expected_calibration_error,
    expected_normalized_calibration_error,
    gaussian_nll,
    interval_metrics,
    miscalibration_area,
    set_metrics,
    spearman_error_sigma,
    uncertainty_metrics,
)
from symmol.models.store import ModelFileError, load_model

ROOT = Path(__file__).resolve().parent.parent
ESOL = ROOT / "examples" / "data" / "esol.csv"
ESOL_TARGET = "measured log solubility in mols per litre"
BBBP = ROOT / "examples" / "data" / "bbbp.csv"


def gaussian_rows(n: int, seed: int, sigma_scale: float = 1.0):
    """Rows with heteroscedastic Gaussian errors: ``y ~ N(mu, sigma²)``; the model reports ``sigma_scale·σ``."""
    rng = np.random.default_rng(seed)
    mu = rng.normal(size=n)
    sigma = rng.uniform(0.2, 2.0, size=n)
    y = mu + sigma * rng.normal(size=n)
    return y, mu, sigma * sigma_scale


# --------------------------------------------------------------------------- metrics
def test_metrics_match_direct_restatements():
    y, mu, sigma = gaussian_rows(500, 0)
    # NLL: SciPy's log density
    assert gaussian_nll(y, mu, sigma) == pytest.approx(-np.mean(scipy.stats.norm.logpdf(y, mu, sigma)), rel=1e-10)
    # ENCE with 5 bins, written as a loop over sorted rows
    order = np.argsort(sigma)
    expected = np.mean([abs(np.sqrt(np.mean(sigma[b] ** 2)) - np.sqrt(np.mean((y[b] - mu[b]) ** 2)))
                        / np.sqrt(np.mean(sigma[b] ** 2)) for b in np.array_split(order, 5)])
    assert expected_normalized_calibration_error(y, mu, sigma, bins=5) == pytest.approx(expected)
    # miscalibration area: observed fraction inside each central interval, integrated
    grid = np.linspace(0, 1, 101)
    observed = [np.mean(np.abs(y - mu) <= scipy.stats.norm.ppf((1 + p) / 2) * sigma) for p in grid]
    assert miscalibration_area(y, mu, sigma) == pytest.approx(np.trapezoid(np.abs(np.array(observed) - grid), grid))
    assert spearman_error_sigma(y, mu, sigma) == pytest.approx(scipy.stats.spearmanr(np.abs(y - mu), sigma)[0])
    assert interval_metrics(np.array([0.0, 1.0, 5.0]), np.array([-1.0, 2.0, 0.0]), np.array([1.0, 3.0, 6.0])) == {
        "coverage": pytest.approx(2 / 3), "width": pytest.approx(3.0)}


def test_metrics_tell_calibrated_from_overconfident_sigma():
    y, mu, sigma = gaussian_rows(4000, 1)
    assert miscalibration_area(y, mu, sigma) < 0.02
    assert expected_normalized_calibration_error(y, mu, sigma) < 0.1
    assert spearman_error_sigma(y, mu, sigma) > 0.2  # larger σ, larger errors
    overconfident = sigma / 4
    assert miscalibration_area(y, mu, overconfident) > 0.3
    assert expected_normalized_calibration_error(y, mu, overconfident) > 2.5
    assert gaussian_nll(y, mu, overconfident) > gaussian_nll(y, mu, sigma) + 1


def test_ece_matches_scikit_learn_reliability_curve():
    rng = np.random.default_rng(2)
    p = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < p ** 2).astype(float)  # overconfident in the positive class
    fraction, mean_p = calibration_curve(y, p, n_bins=10, strategy="uniform")
    counts = np.histogram(p, bins=np.linspace(0, 1, 11))[0]
    expected = np.sum(counts[counts > 0] / p.size * np.abs(fraction - mean_p))
    assert expected_calibration_error(y, p) == pytest.approx(expected)
    assert expected_calibration_error(y, p) > 0.1


def test_metrics_skip_missing_labels_and_average_over_targets():
    y, mu, sigma = gaussian_rows(300, 3)
    y2 = y.copy()
    y2[::3] = np.nan
    report = uncertainty_metrics("regression", np.column_stack([y, y2]), np.column_stack([mu, mu]), ["a", "b"],
                                 std=np.column_stack([sigma, sigma]))
    keep = ~np.isnan(y2)
    assert report["per_task"]["b"]["nll"] == pytest.approx(gaussian_nll(y[keep], mu[keep], sigma[keep]))
    assert report["nll"] == pytest.approx((report["per_task"]["a"]["nll"] + report["per_task"]["b"]["nll"]) / 2)
    assert set_metrics(np.array([1.0, 0.0, 1.0, np.nan]), ["1", "0|1", "0", "1"]) == {
        "coverage": pytest.approx(2 / 3), "size": pytest.approx(4 / 3)}


# --------------------------------------------------------------------------- calibrators
def test_conformal_quantile_is_the_finite_sample_rank():
    scores = np.arange(1.0, 20.0)  # 19 scores: rank ceil(20 * 0.9) = 18
    assert conformal_quantile(scores, 0.9) == 18.0
    assert conformal_quantile(scores, 0.95) == 19.0
    assert math.isinf(conformal_quantile(scores[:5], 0.9))  # ceil(6 * 0.9) = 6 > 5
    with pytest.raises(ValueError, match="coverage"):
        conformal_quantile(scores, 1.0)


def test_conformal_intervals_reach_their_coverage_on_exchangeable_rows():
    """Split-conformal coverage holds on average over calibration draws (Lei et al. 2018, Thm 2.2)."""
    covered = []
    for seed in range(200):
        y, mu, sigma = gaussian_rows(200, seed, sigma_scale=0.3)  # σ too small: conformal must widen it
        calibration = Calibration.fit("regression", ["t"], y[:100, None], mu[:100, None], sigma[:100, None], "toy")
        found = calibration.apply("conformal", mu[100:, None], sigma[100:, None], coverage=0.9)
        assert found.lower is not None and found.upper is not None
        covered.append(np.mean((found.lower[:, 0] <= y[100:]) & (y[100:] <= found.upper[:, 0])))
    assert 0.89 <= np.mean(covered) <= 0.93


def test_conformal_calibration_curve_matches_a_restatement_and_fixes_a_wrong_scale():
    y, mu, sigma = gaussian_rows(2000, 11, sigma_scale=0.3)  # σ too small by a factor 3.3 and not Gaussian-scaled
    calibration = Calibration.fit("regression", ["t"], y[:1000, None], mu[:1000, None], sigma[:1000, None], "toy")
    reference = calibration.parameters["conformal"]["scores"][0]
    expected, observed = conformal_calibration_curve(y[1000:], mu[1000:], sigma[1000:], reference, points=11)
    score = np.abs(y[1000:] - mu[1000:]) / sigma[1000:]
    ordered = np.sort(reference)
    for p, found in zip(expected[1:-1], observed[1:-1], strict=True):  # the ⌈(n+1)p⌉-th smallest reference score
        assert found == np.mean(score <= ordered[math.ceil(1001 * p - 1e-9) - 1])
    assert (observed[0], observed[-1]) == (0.0, 1.0)
    report = calibration_report(calibration, y[1000:, None], mu[1000:, None], sigma[1000:, None])
    assert report["uncalibrated"]["miscalibration_area"] > 0.3  # Gaussian intervals of the raw σ
    assert report["conformal"]["miscalibration_area"] < 0.03  # conformal intervals at every level
    assert report["conformal"]["per_task"]["t"]["miscalibration_area"] == report["conformal"]["miscalibration_area"]


def test_z_scaling_minimises_the_gaussian_nll():
    y, mu, sigma = gaussian_rows(1000, 4, sigma_scale=0.25)
    calibration = Calibration.fit("regression", ["t"], y[:, None], mu[:, None], sigma[:, None], "toy")
    scale = calibration.parameters["zscaling"]["scale"][0]
    assert scale == pytest.approx(np.sqrt(np.mean(((y - mu) / sigma) ** 2)))
    assert 3.5 < scale < 4.5  # the reported σ was a quarter of the true one
    nll = [gaussian_nll(y, mu, sigma * scale * f) for f in (0.95, 1.0, 1.05)]
    assert nll[1] < nll[0] and nll[1] < nll[2]
    found = calibration.apply("zscaling", mu[:, None], sigma[:, None], coverage=0.9)
    assert found.std is not None and found.lower is not None
    np.testing.assert_allclose(found.std[:, 0], sigma * scale)
    np.testing.assert_allclose(found.lower[:, 0], mu - scipy.stats.norm.ppf(0.95) * sigma * scale)


def test_platt_and_isotonic_match_scikit_learn():
    rng = np.random.default_rng(5)
    p = rng.uniform(0.01, 0.99, size=800)
    y = (rng.uniform(size=800) < scipy.special.expit(2 * scipy.special.logit(p) - 0.5)).astype(float)
    calibration = Calibration.fit("classification", ["t"], y[:, None], p[:, None], source="toy")
    isotonic = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p, y)
    grid = np.linspace(0, 1, 51)
    np.testing.assert_allclose(calibration.apply("isotonic", grid[:, None]).scores[:, 0], isotonic.predict(grid),
                               atol=1e-12)
    from sklearn.calibration import _sigmoid_calibration  # Platt's fit with smoothed targets

    a_sk, b_sk = _sigmoid_calibration(scipy.special.logit(p), y)  # p' = 1 / (1 + exp(a_sk·f + b_sk))
    params = calibration.parameters["platt"]
    assert params["a"][0] == pytest.approx(-a_sk, abs=2e-3) and params["b"][0] == pytest.approx(-b_sk, abs=2e-3)
    assert 1.7 < params["a"][0] < 2.3  # the planted slope
    calibrated = calibration.apply("platt", p[:, None]).scores[:, 0]
    assert expected_calibration_error(y, calibrated) < expected_calibration_error(y, p)


def test_conformal_label_sets_cover_and_round_trip_as_json():
    rng = np.random.default_rng(6)
    p = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < p).astype(float)
    calibration = Calibration.fit("classification", ["t"], y[:1000, None], p[:1000, None], source="toy")
    loaded = Calibration.from_dict(json.loads(json.dumps(calibration.to_dict())))
    sets = loaded.apply("conformal", p[1000:, None], coverage=0.8).label_sets
    assert sets is not None
    found = set_metrics(y[1000:], sets[:, 0])
    assert 0.77 <= found["coverage"] <= 0.84 and 0.9 < found["size"] < 1.5
    np.testing.assert_array_equal(sets, calibration.apply("conformal", p[1000:, None], coverage=0.8).label_sets)
    with pytest.raises(ValueError, match="not fitted"):
        calibration.apply("zscaling", p[:, None])
    with pytest.raises(ValueError, match="format"):
        Calibration.from_dict({"format": "other"})


# --------------------------------------------------------------------------- real data
def test_gp_conformal_intervals_on_esol_cover_the_held_out_molecules():
    table = pd.read_csv(ESOL)
    order = np.random.default_rng(0).permutation(len(table))
    train, val, test = order[:800], order[800:964], order[964:]
    smiles, y = table["smiles"].to_numpy(), table[ESOL_TARGET].to_numpy()
    estimator = QSARModel("regression", "gp", progress=False).fit(smiles[train], y[train], smiles[val], y[val])
    model = estimator.model_
    assert model.calibration is not None and model.calibration.uncertainty == "gp"
    assert model.calibration.n_rows == (164,)
    batch = estimator.featurize(smiles[test]).batch
    scores, std = model.predict_with_spread(batch)
    report = calibration_report(model.calibration, y[test, None], scores, std)
    assert 0.82 <= report["conformal"]["coverage"] <= 0.97  # 164 test molecules: ±0.05 is two sd
    assert report["uncalibrated"]["spearman"] > 0.1  # the GP's σ ranks its errors
    assert report["zscaling"]["miscalibration_area"] < 0.1


@pytest.fixture(scope="module")
def esol_ensemble(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("unc") / "ens"
    assert main(["train", str(ESOL), "--smiles-column", "smiles", "--target", ESOL_TARGET, "--task", "regression",
                 "--architecture", "mlp", "--ensemble-size", "3", "--epochs", "4", "--no-progress", "--out",
                 str(out)]) == 0
    return out


def test_predict_contract_adds_std_and_conformal_interval(esol_ensemble, tmp_path):
    metrics = json.loads((esol_ensemble / "metrics.json").read_text())
    report = metrics["test"]["uncertainty"]
    assert {"uncalibrated", "zscaling", "conformal"} <= set(report) and report["coverage"] == 0.9
    assert 0.0 <= report["conformal"]["coverage"] <= 1.0 and report["conformal"]["width"] > 0
    out = tmp_path / "p.csv"
    assert main(["predict", str(esol_ensemble), str(ESOL), "--out", str(out), "--uncertainty", "ensemble",
                 "--calibration", "conformal", "--coverage", "0.9", "--no-progress"]) == 0
    table = pd.read_csv(out)
    score, std, lower, upper = (table[ESOL_TARGET + s] for s in ("", "_std", "_lower", "_upper"))
    assert (std > 0).all() and (lower < score).all() and (score < upper).all()
    # the interval is the stored conformal quantile of |y - μ| / σ times σ
    calibration = load_model(esol_ensemble).calibration
    assert calibration is not None
    q = conformal_quantile(calibration.parameters["conformal"]["scores"][0], 0.9)
    np.testing.assert_allclose(upper - score, q * std, rtol=1e-5)
    # a wider coverage, asked at prediction time, widens every interval
    wide = tmp_path / "w.csv"
    assert main(["predict", str(esol_ensemble), str(ESOL), "--out", str(wide), "--calibration", "conformal",
                 "--coverage", "0.99", "--no-progress"]) == 0
    assert (pd.read_csv(wide)[ESOL_TARGET + "_upper"] >= upper - 1e-9).all()


def test_predict_refuses_what_a_model_cannot_give(esol_ensemble, tmp_path, capsys):
    out = str(tmp_path / "p.csv")
    assert main(["predict", str(esol_ensemble), str(ESOL), "--out", out, "--calibration", "platt"]) == 2
    assert "calibration 'platt' is not fitted for this regression model" in capsys.readouterr().err
    assert main(["predict", str(esol_ensemble), str(ESOL), "--out", out, "--uncertainty", "gp"]) == 2
    assert "no 'gp' uncertainty; it offers: ensemble" in capsys.readouterr().err
    bare = tmp_path / "bare"  # a model directory without calibration.json
    bare.mkdir()
    for path in esol_ensemble.iterdir():
        if path.name != "calibration.json":
            (bare / path.name).write_bytes(path.read_bytes())
    assert main(["predict", str(bare), str(ESOL), "--out", out, "--calibration", "conformal"]) == 2
    assert "no stored calibration" in capsys.readouterr().err


def test_calibrate_command_refits_on_chosen_rows(esol_ensemble, tmp_path, capsys):
    model_dir = tmp_path / "copy"
    model_dir.mkdir()
    for path in esol_ensemble.iterdir():
        model_dir.joinpath(path.name).write_bytes(path.read_bytes())
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps([{"train": [], "val": list(range(0, 300)), "test": []}]))
    assert main(["calibrate", str(model_dir), str(ESOL), "--smiles-column", "smiles", "--splits-file", str(splits),
                 "--rows", "val"]) == 0
    assert "on σ from 'ensemble' on 300 labelled rows of esol.csv (val rows of splits.json)" in capsys.readouterr().out
    calibration = load_model(model_dir).calibration
    assert calibration is not None and calibration.n_rows == (300,) and len(calibration.parameters["conformal"]
                                                                            ["scores"][0]) == 300
    # a calibration of other targets is refused when the model loads
    document = json.loads((model_dir / "calibration.json").read_text())
    (model_dir / "calibration.json").write_text(json.dumps({**document, "targets": ["other"]}))
    with pytest.raises(ModelFileError, match="calibrated for a regression model of targets"):
        load_model(model_dir)


def test_classification_sets_and_calibrated_probabilities(tmp_path):
    out = tmp_path / "bbbp"
    assert main(["train", str(BBBP), "--smiles-column", "smiles", "--target", "p_np", "--task", "classification",
                 "--architecture", "mlp", "--split", "scaffold", "--epochs", "3", "--no-progress", "--out",
                 str(out)]) == 0
    report = json.loads((out / "metrics.json").read_text())["test"]["uncertainty"]
    assert {"uncalibrated", "platt", "isotonic", "conformal"} <= set(report)
    assert 0 <= report["platt"]["ece"] <= 1 and 0 <= report["conformal"]["set_coverage"] <= 1
    raw, sets, platt = (tmp_path / f"{name}.csv" for name in ("raw", "sets", "platt"))
    assert main(["predict", str(out), str(BBBP), "--out", str(raw), "--no-progress"]) == 0
    assert main(["predict", str(out), str(BBBP), "--out", str(sets), "--calibration", "conformal",
                 "--no-progress"]) == 0
    assert main(["predict", str(out), str(BBBP), "--out", str(platt), "--calibration", "platt", "--no-progress"]) == 0
    raw_p = pd.read_csv(raw)["p_np"]
    table = pd.read_csv(sets, keep_default_na=False)
    assert set(table.loc[table["status"] == "ok", "p_np_set"]) <= {"0", "1", "0|1", ""}
    model = load_model(out)
    assert model.calibration is not None
    params = model.calibration.parameters["platt"]
    logit = scipy.special.logit(np.clip(raw_p.to_numpy(), 1e-7, 1 - 1e-7))
    np.testing.assert_allclose(pd.read_csv(platt)["p_np"], scipy.special.expit(params["a"][0] * logit
                                                                               + params["b"][0]), atol=1e-6)


# --------------------------------------------------------------------------- MC dropout
def test_mc_dropout_std_matches_the_bernoulli_variance():
    """One hidden layer: Var(z) = sum_j (h_j w_j)^2 p / (1 - p) over inverted-dropout masks, exactly."""
    table = pd.read_csv(ESOL).iloc[:300]
    estimator = QSARModel("regression", hidden=(64,), dropout=0.3, epochs=3, progress=False)
    estimator.fit(table["smiles"], table[ESOL_TARGET])
    model = estimator.model_
    assert model.uncertainty_methods == ("dropout",) and not model.reports_spread  # on request only
    batch = estimator.featurize(table["smiles"].iloc[:20]).batch
    scores, std = model.predict_with_spread(batch, "dropout", mc_samples=3000)
    np.testing.assert_array_equal(scores, model.predict_batch(batch))
    params = model.get_param_values()
    hidden = np.maximum(batch.to_dense() @ params["hidden0.W"] + params["hidden0.b"], 0)
    exact = np.sqrt(((hidden * params["output.W"][:, 0]) ** 2).sum(axis=1) * 0.3 / 0.7) * model.spec.target_std[0]
    np.testing.assert_allclose(std[:, 0], exact, rtol=0.08)
    again = model.predict_with_spread(batch, "dropout", mc_samples=3000)[1]
    np.testing.assert_array_equal(again, std)  # masks seeded by the rows: the same batch, the same σ


def test_mc_dropout_needs_a_model_with_dropout(tmp_path, capsys):
    out = tmp_path / "nodrop"
    assert main(["train", str(ESOL), "--smiles-column", "smiles", "--target", ESOL_TARGET, "--task", "regression",
                 "--architecture", "mlp", "--dropout", "0", "--epochs", "2", "--no-progress", "--out",
                 str(out)]) == 0
    assert main(["predict", str(out), str(ESOL), "--out", str(tmp_path / "p.csv"), "--uncertainty", "dropout"]) == 2
    assert "trained without dropout: train with --dropout > 0" in capsys.readouterr().err


def test_dropout_uncertainty_calibrated_end_to_end(tmp_path, capsys):
    out = tmp_path / "mlp"
    assert main(["train", str(ESOL), "--smiles-column", "smiles", "--target", ESOL_TARGET, "--task", "regression",
                 "--architecture", "mlp", "--epochs", "3", "--no-progress", "--out", str(out)]) == 0
    assert load_model(out).calibration.uncertainty is None  # a single MLP: conformal without σ at training
    assert main(["calibrate", str(out), str(ESOL), "--smiles-column", "smiles", "--uncertainty", "dropout"]) == 0
    assert "on σ from 'dropout'" in capsys.readouterr().out
    predictions = tmp_path / "p.csv"
    assert main(["predict", str(out), str(ESOL), "--out", str(predictions), "--uncertainty", "dropout",
                 "--mc-samples", "10", "--calibration", "zscaling", "--no-progress"]) == 0
    table = pd.read_csv(predictions)
    assert (table[ESOL_TARGET + "_std"] > 0).all() and (table[ESOL_TARGET + "_lower"] < table[ESOL_TARGET]).all()
    assert main(["predict", str(out), str(ESOL), "--out", str(predictions), "--calibration", "zscaling"]) == 2
    assert "fitted on σ from 'dropout'" in capsys.readouterr().err


# --------------------------------------------------------------------------- mean-variance estimation
def test_gaussian_nll_objective_matches_numpy():
    import pytensor
    import pytensor.tensor as pt

    from symmol.nn.objectives import masked_gaussian_nll

    rng = np.random.default_rng(7)
    outputs, targets = rng.normal(size=(6, 4)).astype(np.float32), rng.normal(size=(6, 2)).astype(np.float32)
    targets[1, 0] = targets[4, 1] = np.nan
    o, t = pt.matrix("o"), pt.matrix("t")
    found = pytensor.function([o, t], masked_gaussian_nll(o, t))(outputs, targets)
    variance = np.log1p(np.exp(outputs[:, 2:])) + 1e-6
    per_label = 0.5 * (np.log(variance) + (outputs[:, :2] - targets) ** 2 / variance)
    assert found == pytest.approx(np.nanmean(per_label), rel=1e-5)


def test_mve_head_predicts_mean_and_std_like_numpy(tmp_path):
    table = pd.read_csv(ESOL)
    estimator = QSARModel("regression", hidden=(32,), loss="mve", epochs=15, progress=False)
    estimator.fit(table["smiles"].iloc[:800], table[ESOL_TARGET].iloc[:800])
    model = estimator.model_
    assert model.uncertainty_methods == ("mve", "dropout") and model.reports_spread
    batch = estimator.featurize(table["smiles"].iloc[800:850]).batch
    mean, std = model.predict_with_spread(batch)
    p = model.get_param_values()
    out = np.maximum(batch.to_dense() @ p["hidden0.W"] + p["hidden0.b"], 0) @ p["output.W"] + p["output.b"]
    scale, shift = model.spec.target_std[0], model.spec.target_mean[0]
    np.testing.assert_allclose(mean[:, 0], out[:, 0] * scale + shift, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(std[:, 0], np.sqrt(np.log1p(np.exp(out[:, 1])) + 1e-6) * scale, rtol=1e-4)
    errors = np.abs(mean[:, 0] - table[ESOL_TARGET].iloc[800:850].to_numpy())
    assert scipy.stats.spearmanr(errors, std[:, 0])[0] > 0  # the head learned something about its errors
    estimator.save(tmp_path / "mve")
    np.testing.assert_array_equal(load_model(tmp_path / "mve").predict_with_spread(batch)[1], std)
    with pytest.raises(ValueError, match="'mve' for regression only"):
        QSARModel("classification", loss="mve", epochs=1, progress=False).fit(["CCO", "CCN"], [0, 1])


def test_train_loss_mve_from_the_command_line(tmp_path):
    out = tmp_path / "mve"
    assert main(["train", str(ESOL), "--smiles-column", "smiles", "--target", ESOL_TARGET, "--task", "regression",
                 "--architecture", "dmpnn", "--loss", "mve", "--epochs", "3", "--no-progress", "--out", str(out)]) == 0
    report = json.loads((out / "metrics.json").read_text())["test"]["uncertainty"]
    assert load_model(out).calibration.uncertainty == "mve" and "spearman" in report["uncalibrated"]
    predictions = tmp_path / "p.csv"
    assert main(["predict", str(out), str(ESOL), "--out", str(predictions), "--calibration", "conformal",
                 "--no-progress"]) == 0
    table = pd.read_csv(predictions)
    assert (table[ESOL_TARGET + "_std"] > 0).all() and (table[ESOL_TARGET + "_upper"] > table[ESOL_TARGET]).all()
