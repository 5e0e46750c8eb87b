"""Predict graphs that run interpreted until compiling pays: same predictions, the ski-rental switch, the overrides."""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pytest

from symmol.compile import TieredFunction
from symmol.kernels.tiering import CompileTier
from symmol.models import mlp
from symmol.models.mlp import FingerprintMLP, MLPSpec

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "data"


@numba.njit(cache=False)
def _not_compiled(x):  # pragma: no cover - never called: stands for the tier's kernels on a cold cache
    return x


@pytest.fixture(scope="module")
def tox21_batch():
    smiles = pd.read_csv(EXAMPLES / "tox21.csv")["smiles"].head(300).tolist()
    spec = MLPSpec(targets=("a",), task="classification")
    return spec, FingerprintMLP(spec).featurizer.featurize(smiles).batch


def _models(spec: MLPSpec) -> list[FingerprintMLP]:
    classifier = FingerprintMLP(MLPSpec(targets=("a", "b"), task="classification", hidden=(64, 32), seed=3,
                                        inputs=spec.inputs))
    regressor = FingerprintMLP(MLPSpec(targets=("logS",), task="regression", hidden=(48,), activation="gelu",
                                       target_mean=(-3.0,), target_std=(2.0,), ensemble_size=2, loss="mve",
                                       seed=5, inputs=spec.inputs))
    return [classifier, regressor]


@pytest.fixture
def cold_tier(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CompileTier:
    """A fresh tier (nothing compiled, empty tally) with a break-even of 1,000 rows, in ``auto`` mode."""
    tier = CompileTier("test MLP prediction", (_not_compiled,), break_even=1000, tally_dir=tmp_path)
    monkeypatch.setattr(mlp, "PREDICT_TIER", tier)
    monkeypatch.setenv("SYMMOL_COMPILE", "auto")
    return tier


def _predictions(model: FingerprintMLP, batch) -> list[np.ndarray]:
    out = [model.predict_batch(batch)]
    if model.task == "regression":
        out += [*model.predict_with_spread(batch, "mve"), *model.predict_with_spread(batch, "ensemble")]
    return out


def test_interpreted_predictions_equal_compiled_to_float32_rounding(tox21_batch, cold_tier,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    spec, batch = tox21_batch
    for interpreted_model, compiled_model in zip(_models(spec), _models(spec), strict=True):
        interpreted = _predictions(interpreted_model, batch)
        assert isinstance(interpreted_model._predict_fn, TieredFunction)
        assert not interpreted_model._predict_fn.is_compiled
        with monkeypatch.context() as m:
            m.setenv("SYMMOL_COMPILE", "always")
            compiled = _predictions(compiled_model, batch)
        assert compiled_model._predict_fn.is_compiled
        for a, b in zip(interpreted, compiled, strict=True):
            assert a.dtype == b.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
            assert np.abs(a - b).max() <= 4 * np.spacing(np.abs(b).max())  # a few ulps, not a different model


def test_the_graph_compiles_once_its_rows_reach_the_break_even(tox21_batch, cold_tier) -> None:
    spec, batch = tox21_batch
    model = _models(spec)[0]
    model.predict_batch(batch)  # 300 rows
    model.predict_batch(batch)  # 600
    function = model._predict_fn
    assert not function.is_compiled and cold_tier.uncompiled_work == 600
    model.predict_batch(batch.slice(0, 250))  # 850
    assert not function.is_compiled
    model.predict_batch(batch)  # 850 + 300 reaches 1,000: this call runs compiled
    assert function.is_compiled and cold_tier.uncompiled_work == 850
    assert model.predict_batch(batch).shape == (300, 2)


def test_a_compiled_tier_kernel_means_compile_at_once(tox21_batch, monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    spec, batch = tox21_batch
    compiled_kernel = numba.njit(cache=False)(lambda x: x)
    compiled_kernel(1)
    monkeypatch.setattr(mlp, "PREDICT_TIER", CompileTier("warm", (compiled_kernel,), 1e12, tmp_path))
    monkeypatch.setenv("SYMMOL_COMPILE", "auto")
    model = _models(spec)[0]
    model.predict_batch(batch.slice(0, 5))
    assert model._predict_fn.is_compiled


def test_never_interprets_and_mc_dropout_is_always_compiled(tox21_batch, cold_tier,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    spec, batch = tox21_batch
    monkeypatch.setenv("SYMMOL_COMPILE", "never")
    model = FingerprintMLP(MLPSpec(targets=("a",), task="classification", hidden=(32,), dropout=0.2,
                                   inputs=spec.inputs))
    for _ in range(5):
        model.predict_batch(batch)
    assert not model._predict_fn.is_compiled
    _, std = model.predict_with_spread(batch, "dropout", mc_samples=3)
    assert not isinstance(model._mc_dropout_fn, TieredFunction)  # its random streams differ between the paths
    assert std.shape == (300, 1) and np.all(std > 0)


def test_the_mlp_tier_counts_rows_and_watches_the_parallel_product() -> None:
    from symmol.kernels.sparse import csr_dense_matmul_into

    tier, rows = FingerprintMLP(MLPSpec(targets=("a",), task="classification")).predict_tier()
    assert tier is mlp.PREDICT_TIER and tier.kernels == (csr_dense_matmul_into,)
    assert rows((np.zeros(8, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))) == 7
