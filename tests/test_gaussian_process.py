"""Fingerprint kernels (plain loops, RDKit), their Ops, and the Gaussian process against NumPy and SciPy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
import scipy.linalg
import scipy.special
import scipy.stats
from pytensor.compile.mode import Mode, get_mode
from pytensor.gradient import verify_grad
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from symmol import QSARModel
from symmol.cli.main import main
from symmol.featurizers import MorganFingerprint, make_featurizer
from symmol.featurizers.fragprints import fragment_functions
from symmol.models.gaussian_process import (
    GaussianProcess,
    GaussianProcessSpec,
    _compiled_nlml,
    negative_log_marginal_likelihood,
)
from symmol.models.store import ModelFileError, load_model
from symmol.ops.fingerprint_kernels import CountKernel, TanimotoKernel, count_kernel, tanimoto_kernel

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "ecfp_sample.smi"
ESOL = ROOT / "examples" / "data" / "esol.csv"
ESOL_TARGET = "measured log solubility in mols per litre"
PY = Mode(linker="py", optimizer="fast_run")
NUMBA = get_mode("NUMBA")


def sample_smiles(n: int = 80) -> list[str]:
    lines = [line.split()[0] for line in SAMPLE.read_text().splitlines() if line.strip()]
    return [s for s in lines if Chem.MolFromSmiles(s) is not None][:n]


def reference_similarity(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    """Plain loops over dense rows."""
    out = np.zeros((len(a), len(b)))
    for i in range(len(a)):
        for j in range(len(b)):
            if metric == "minmax":
                common, den = np.minimum(a[i], b[j]).sum(), np.maximum(a[i], b[j]).sum()
            else:
                common = float(a[i] @ b[j])
                den = float(a[i] @ a[i] + b[j] @ b[j]) - common
            out[i, j] = common / den if den else 0.0
    return out


@pytest.fixture(scope="module")
def fingerprints():
    smiles = sample_smiles()
    bits = MorganFingerprint(2, 2048).from_smiles(smiles).batch
    counts = MorganFingerprint(2, 2048, counts=True).from_smiles(smiles).batch
    return smiles, bits, counts


def test_kernels_equal_plain_loops_and_rdkit(fingerprints):
    smiles, bits, counts = fingerprints
    a, b = counts.slice(0, 30), counts.slice(30, 80)
    for metric in ("minmax", "tanimoto"):
        np.testing.assert_allclose(count_kernel(a.arrays(), b.arrays(), metric),
                                   reference_similarity(a.to_dense(np.float64), b.to_dense(np.float64), metric),
                                   rtol=1e-12)
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    rd_bits = [generator.GetFingerprint(m) for m in mols]
    rd_counts = [generator.GetCountFingerprint(m) for m in mols]
    packed = bits.to_packed()
    tanimoto = tanimoto_kernel(packed, packed)
    minmax = count_kernel(counts.arrays(), counts.arrays(), "minmax")
    for i in range(len(mols)):  # RDKit's own Tanimoto on bit vectors and on count vectors, to the last bit
        assert tanimoto[i].tolist() == DataStructs.BulkTanimotoSimilarity(rd_bits[i], rd_bits)
        assert minmax[i].tolist() == DataStructs.BulkTanimotoSimilarity(rd_counts[i], rd_counts)
    # on bits all three agree
    for metric in ("minmax", "tanimoto"):
        np.testing.assert_array_equal(count_kernel(bits.arrays(), bits.arrays(), metric), tanimoto)
    assert np.allclose(np.diag(tanimoto), 1.0) and tanimoto.min() >= 0.0
    assert np.linalg.eigvalsh(minmax).min() > -1e-9  # positive semi-definite


def test_empty_rows_give_zero_like_rdkit():
    empty = np.zeros((2, 32), dtype=np.uint64)
    np.testing.assert_array_equal(tanimoto_kernel(empty, empty), np.zeros((2, 2)))
    indptr, indices, values = np.zeros(3, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)
    np.testing.assert_array_equal(count_kernel((indptr, indices, values), (indptr, indices, values)), np.zeros((2, 2)))


def test_ops_agree_across_linkers_and_are_disconnected(fingerprints):
    _, bits, counts = fingerprints
    a, b = pt.matrix(dtype="uint64"), pt.matrix(dtype="uint64")
    packed = bits.to_packed()
    expected = tanimoto_kernel(packed[:20], packed)
    for mode in (PY, NUMBA):
        np.testing.assert_array_equal(pytensor.function([a, b], TanimotoKernel()(a, b), mode=mode)(packed[:20], packed),
                                      expected)
    csr = [pt.vector(dtype=d) for d in ("int64", "int32", "float32") * 2]
    for metric in ("minmax", "tanimoto"):
        expected = count_kernel(counts.slice(0, 20).arrays(), counts.arrays(), metric)
        for mode in (PY, NUMBA):
            fn = pytensor.function(csr, CountKernel(metric)(*csr), mode=mode)
            np.testing.assert_allclose(fn(*counts.slice(0, 20).arrays(), *counts.arrays()), expected, rtol=1e-12)
    # the hyperparameters get their gradient through the graph; the fingerprints are data
    s = pt.scalar(dtype="float64")
    grad = pytensor.gradient.grad(pt.sum(s * TanimotoKernel()(a, b)), s)
    fn = pytensor.function([a, b, s], grad, mode=PY)
    assert fn(packed[:5], packed[:7], 2.0) == pytest.approx(tanimoto_kernel(packed[:5], packed[:7]).sum())
    with pytest.raises(TypeError, match="uint64"):
        TanimotoKernel()(pt.matrix(dtype="float64"), b)
    with pytest.raises(ValueError, match="metric"):
        CountKernel("cosine")


def nlml_in_eigenbasis(similarity: np.ndarray, y: np.ndarray):
    eigenvalues, basis = np.linalg.eigh(similarity)
    nlml = _compiled_nlml("numba")
    return lambda theta: nlml(theta, np.maximum(eigenvalues, 0.0), basis.T @ y, basis.sum(axis=0))


def test_negative_log_marginal_likelihood_and_its_gradient(fingerprints):
    _, _, counts = fingerprints
    similarity = count_kernel(counts.arrays(), counts.arrays())
    y = np.random.default_rng(0).standard_normal(len(similarity))
    nlml = nlml_in_eigenbasis(similarity, y)
    theta = np.array([0.3, math.log(0.2), 0.1])
    value, gradient = nlml(theta)
    covariance = math.exp(theta[0]) * similarity + (math.exp(theta[1]) + 1e-6) * np.eye(len(y))
    expected = -scipy.stats.multivariate_normal(np.full(len(y), theta[2]), covariance).logpdf(y)
    assert value == pytest.approx(expected, rel=1e-9)
    step = 1e-6  # central differences
    numeric = [(nlml(theta + step * e)[0] - nlml(theta - step * e)[0]) / (2 * step) for e in np.eye(3)]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-6)

    eigenvalues, basis = np.linalg.eigh(similarity)
    constants = [pt.constant(a) for a in (np.maximum(eigenvalues, 0.0), basis.T @ y, basis.sum(axis=0))]
    verify_grad(lambda t: negative_log_marginal_likelihood(t, *constants), [theta], rng=np.random.default_rng(1),
                mode=PY)


def esol_split():
    table = pd.read_csv(ESOL)
    order = np.random.default_rng(0).permutation(len(table))
    train, test = order[:int(0.8 * len(table))], order[int(0.8 * len(table)):]
    smiles, y = table["smiles"].to_numpy(), table[ESOL_TARGET].to_numpy()
    return smiles[train], y[train], smiles[test], y[test]


def test_regression_matches_numpy_and_reaches_esol_target():
    """ESOL, random 80/20 (seed 0): the issue asks RMSE <= 0.90; NumPy's posterior must match the model's."""
    x_train, y_train, x_test, y_test = esol_split()
    estimator = QSARModel(task="regression", architecture="gp").fit(x_train, y_train)
    model = estimator.model_
    assert isinstance(model, GaussianProcess) and model.spec.kernel == "minmax" and model.featurizer.counts
    prediction = estimator.predict(x_test)
    rmse = float(np.sqrt(np.mean((prediction - y_test) ** 2)))
    assert rmse <= 0.90, rmse
    # the posterior written out in NumPy from the fitted hyperparameters
    s, noise, mu = model._fits[0].hyper
    featurizer = MorganFingerprint(2, 2048, counts=True)
    train_fp, test_fp = featurizer.from_smiles(list(x_train)).batch, featurizer.from_smiles(list(x_test)).batch
    z = (y_train - y_train.mean()) / y_train.std()
    covariance = s * count_kernel(train_fp.arrays(), train_fp.arrays()) + (noise + 1e-6) * np.eye(len(z))
    cross = s * count_kernel(test_fp.arrays(), train_fp.arrays())
    mean = cross @ np.linalg.solve(covariance, z - mu) + mu
    variance = s - np.einsum("ij,ji->i", cross, np.linalg.solve(covariance, cross.T))
    scores, std = model.predict_with_spread(test_fp)
    np.testing.assert_allclose(scores[:, 0], mean * y_train.std() + y_train.mean(), rtol=1e-4, atol=1e-4)
    # the spread of a new measurement: latent variance plus the noise (R&W eq. 2.24 with the noise term)
    np.testing.assert_allclose(std[:, 0], np.sqrt(np.maximum(variance, 0) + noise) * y_train.std(), rtol=1e-3,
                               atol=1e-4)
    # the optimum: a stationary point of the likelihood
    _, gradient = nlml_in_eigenbasis(count_kernel(train_fp.arrays(), train_fp.arrays()), z)(
        np.array([math.log(s), math.log(noise), mu]))
    assert np.abs(gradient[[0, 2]]).max() < 1e-2


def test_laplace_classifier_mode_and_probabilities():
    table = pd.read_csv(ROOT / "examples" / "data" / "bbbp.csv").iloc[:300]
    valid = [Chem.MolFromSmiles(s) is not None for s in table["smiles"]]
    table = table[valid]
    smiles, labels = table["smiles"].to_numpy(), table["p_np"].to_numpy(float)
    estimator = QSARModel(task="classification", architecture="gp", kernel="tanimoto", counts=False)
    estimator.fit(smiles[:250], labels[:250])
    model = estimator.model_
    fit = model._fits[0]
    assert fit.hyper[0] in (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
    # at the Laplace mode f = K (y - pi) (Rasmussen & Williams eq. 3.17): recover f and check pi
    train = MorganFingerprint(2, 2048).from_smiles(list(smiles[:250])).batch
    covariance = fit.hyper[0] * tanimoto_kernel(train.to_packed(), train.to_packed()) + 1e-6 * np.eye(250)
    mode = covariance @ fit.alpha
    np.testing.assert_allclose(labels[:250] - scipy.special.expit(mode), fit.alpha, atol=1e-6)
    np.testing.assert_allclose(fit.scale**2, scipy.special.expit(mode) * (1 - scipy.special.expit(mode)), atol=1e-6)
    # predictive probability: probit approximation of the latent Gaussian (R&W Alg. 3.2)
    test = MorganFingerprint(2, 2048).from_smiles(list(smiles[250:])).batch
    cross = fit.hyper[0] * tanimoto_kernel(test.to_packed(), train.to_packed())
    b_matrix = np.eye(250) + fit.scale[:, None] * covariance * fit.scale[None, :]
    v = scipy.linalg.solve_triangular(np.linalg.cholesky(b_matrix), (fit.scale[:, None] * cross.T), lower=True)
    latent_mean, latent_var = cross @ fit.alpha, fit.hyper[0] - (v**2).sum(0)
    expected = scipy.special.expit(latent_mean / np.sqrt(1 + math.pi * latent_var / 8))
    np.testing.assert_allclose(estimator.predict_proba(smiles[250:])[:, 1], expected, rtol=1e-4)


def test_save_load_subsample_and_missing_labels(tmp_path):
    x_train, y_train, x_test, _ = esol_split()
    y = np.stack([y_train, np.where(np.arange(len(y_train)) % 3 == 0, np.nan, -y_train)], axis=1)
    estimator = QSARModel(task="regression", architecture="gp", max_exact=200, seed=3).fit(x_train, y)
    summary = estimator.history_.fit_summary
    assert summary["targets"]["task0"] == {**summary["targets"]["task0"], "n_measured": len(y_train), "n_fitted": 200}
    assert summary["targets"]["task1"]["n_measured"] == int(np.isfinite(y[:, 1]).sum())
    assert len(summary["notes"]) == 2 and "random subsample of 200" in summary["notes"][0]
    before = estimator.model_.predict_with_spread(estimator.featurize(x_test).batch)
    estimator.save(tmp_path / "gp")
    loaded = load_model(tmp_path / "gp")
    after = loaded.predict_with_spread(loaded.featurize(pd.DataFrame({"smiles": x_test})).batch)
    np.testing.assert_allclose(after[0], before[0], rtol=1e-6)
    np.testing.assert_allclose(after[1], before[1], rtol=1e-4, atol=1e-6)
    values = dict(np.load(tmp_path / "gp" / "params.npz"))
    values["t1.alpha"] = values["t1.alpha"][:-1]
    with pytest.raises(ValueError, match="do not fit together"):
        loaded.set_param_values(values)
    with pytest.raises(ValueError, match="not ensembled"):
        GaussianProcessSpec(targets=("y",), task="regression", ensemble_size=2)
    (tmp_path / "gp" / "params.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "gp")


def test_fragprints_are_ecfp_then_rdkit_fragment_counts():
    smiles = sample_smiles(30)
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    featurizer = make_featurizer("fragprints")
    batch = featurizer.from_smiles(smiles).batch
    functions = fragment_functions()
    assert featurizer.fp_size == batch.fp_size == 2048 + len(functions) and len(functions) >= 80
    dense = batch.to_dense(np.float64)
    ecfp6 = rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=2048)
    for row, mol in enumerate(mols):
        np.testing.assert_array_equal(dense[row, :2048], ecfp6.GetFingerprintAsNumPy(mol))
        np.testing.assert_array_equal(dense[row, 2048:], [function(mol) for _, function in functions])


def test_cli_train_and_predict_report_the_standard_deviation(tmp_path, capsys):
    out = tmp_path / "gp"
    assert main(["train", str(ESOL), "--smiles-column", "smiles", "--target", ESOL_TARGET, "--task", "regression",
                 "--architecture", "gp", "--no-counts", "--kernel", "tanimoto", "--out", str(out)]) == 0
    history = json.loads((out / "history.json").read_text())
    assert history["fit"]["kernel"] == "tanimoto" and history["fit"]["targets"][ESOL_TARGET]["n_fitted"] > 800
    assert json.loads((out / "model.json").read_text())["architecture"] == "gp"
    assert main(["predict", str(out), str(ESOL), "--out", str(tmp_path / "p.csv"), "--ad", "--no-progress"]) == 0
    assert "test" in capsys.readouterr().out
    predictions = pd.read_csv(tmp_path / "p.csv")
    std = predictions[f"{ESOL_TARGET}_std"]
    assert (std > 0).all() and std.max() < 3 and predictions["ad"].between(0, 1).all()


def test_numba_and_c_backends_agree():
    x_train, y_train, x_test, _ = esol_split()
    models = [QSARModel(task="regression", architecture="gp", backend=backend, progress=False)
              .fit(x_train[:150], y_train[:150]) for backend in ("numba", "c")]
    batch = models[0].featurize(x_test[:40]).batch
    (mean_numba, std_numba), (mean_c, std_c) = (m.model_.predict_with_spread(batch) for m in models)
    np.testing.assert_allclose(mean_c, mean_numba, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(std_c, std_numba, rtol=1e-5, atol=1e-6)
    assert models[1].model_.backend == "c" and models[1].model_._fits[0].hyper.tolist() == pytest.approx(
        models[0].model_._fits[0].hyper.tolist(), rel=1e-5)
