"""Backend parity: the same MLP, data and initial parameters on every backend available here.

Each backend predicts and takes a few Adam steps from identical initial parameters; outputs,
losses and the parameters after training must agree with the Numba backend to float32
precision. Backends whose package is missing are skipped with the reason; the ``gpu`` test
runs the JAX/PyTorch backends on a CUDA device and is skipped without one.
"""

import importlib.util

import numpy as np
import pytest

from symmol.compile import (
    BACKENDS,
    compile_predict,
    compile_train_step,
    csr_bucket_size,
    cuda_available,
    get_backend_mode,
    pad_csr,
)
from symmol.data.fingerprints import FingerprintBatch
from symmol.featurizers import MorganFingerprint
from symmol.models.base import molecule_input
from symmol.models.mlp import MLPSpec, build_mlp
from symmol.nn.layers import get_all_param_values
from symmol.nn.objectives import masked_squared_error
from symmol.nn.updates import adam

N_BITS = 256
STEPS = 4
def _batch():
    rng = np.random.default_rng(0)
    per_row = rng.integers(3, 20, size=48)
    indptr = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int64)
    indices = np.concatenate([np.sort(rng.choice(N_BITS, k, replace=False)) for k in per_row]).astype(np.int32)
    values = rng.integers(1, 4, size=len(indices)).astype(np.float32)  # counts
    targets = rng.normal(size=(48, 3)).astype(np.float32)
    targets[::7, 1] = np.nan  # missing labels are masked
    return indptr, indices, values, targets


def _model():
    spec = MLPSpec(targets=("a", "b", "c"), task="regression", hidden=(32, 16), dropout=0.0, seed=3,
                   inputs=molecule_input(MorganFingerprint(2, N_BITS, counts=True)))
    return build_mlp(spec)[1]


def _run(backend: str, device: str = "cpu"):
    members = _model()
    indptr, indices, values, targets = _batch()
    predict = compile_predict(members, backend=backend, device=device)
    before = np.asarray(predict(indptr, indices, values))
    step = compile_train_step(members, masked_squared_error, adam, 1e-2, backend=backend, device=device)
    losses = [float(step(indptr, indices, values, targets)) for _ in range(STEPS)]
    params = get_all_param_values(members[0])
    return before, np.asarray(losses), params


def _available(backend: str) -> str | None:
    package = {"jax": "jax", "pytorch": "torch"}.get(backend)
    if package and importlib.util.find_spec(package) is None:
        return f"{package} is not installed (pip install symmol[{backend}])"
    return None


@pytest.fixture(scope="module")
def reference():
    return _run("numba")


# the C backend's cold compile (~60 s of g++) exceeds the default suite's budget
@pytest.mark.parametrize("backend", [pytest.param(b, marks=pytest.mark.slow) if b == "c" else b
                                     for b in BACKENDS if b != "numba"])
def test_backend_matches_numba(backend, reference):
    reason = _available(backend)
    if reason:
        pytest.skip(reason)
    before, losses, params = _run(backend)
    want_before, want_losses, want_params = reference
    np.testing.assert_allclose(before, want_before, rtol=1e-5, atol=1e-5)
    assert want_losses[-1] < want_losses[0]  # the steps did train
    np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
    assert params.keys() == want_params.keys()
    for name, want in want_params.items():
        np.testing.assert_allclose(params[name], want, rtol=1e-5, atol=1e-5, err_msg=name)


def test_bad_backend_or_device():
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        get_backend_mode("tpu")
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        get_backend_mode("numba", device="gpu")
    with pytest.raises(ValueError, match="runs on the CPU only"):
        get_backend_mode("c", device="cuda")


@pytest.mark.gpu
@pytest.mark.parametrize("backend", ["jax", "pytorch"])
def test_cuda_matches_cpu(backend, reference):
    if _available(backend):
        pytest.skip(_available(backend))
    if not cuda_available(backend):
        pytest.skip(f"no CUDA device visible to {backend}")
    before, losses, params = _run(backend, device="cuda")
    np.testing.assert_allclose(before, reference[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(losses, reference[1], rtol=1e-5)
    for name, want in reference[2].items():
        np.testing.assert_allclose(params[name], want, rtol=1e-5, atol=1e-5, err_msg=name)


def test_csr_bucket_sizes_bound_the_padding():
    sizes = [csr_bucket_size(n) for n in range(1, 100_000)]
    assert all(s >= n and s <= max(16, 1.125 * n) for n, s in zip(range(1, 100_000), sizes, strict=True))
    assert len(set(sizes[10_000:12_000])) <= 3  # a ZINC-like minibatch range sees few shapes
    assert csr_bucket_size(497) == 512 and csr_bucket_size(11_520) == 12_288 and csr_bucket_size(4096) == 4096


def test_pad_csr_keeps_the_product():
    """Padding entries (bit 0, value 0, in the last row) change neither X @ W nor X.T @ G."""
    indptr, indices, values, _ = _batch()
    padded = pad_csr(indptr, indices, values)
    assert padded[1].size == csr_bucket_size(indices.size) > indices.size and padded[0][-1] == padded[1].size

    def dense(ip, ix, vals):
        X = np.zeros((len(ip) - 1, N_BITS), np.float32)
        np.add.at(X, (np.repeat(np.arange(len(ip) - 1), np.diff(ip)), ix), vals)
        return X

    np.testing.assert_array_equal(dense(*padded), dense(indptr, indices, values))
    np.testing.assert_array_equal(padded[0][:-1], indptr[:-1])
    empty = (np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
    assert all(a is b for a, b in zip(pad_csr(*empty), empty, strict=True))


@pytest.mark.parametrize("backend", ["jax", "pytorch"])
def test_fingerprint_mlp_model_predicts_on_accelerator_backends(backend):
    """FingerprintMLP passes its inputs explicitly (CompiledModel); the accelerator backends must accept them."""
    if _available(backend):
        pytest.skip(_available(backend))
    from symmol.models.graph_network import GraphModel, GraphSpec
    from symmol.models.mlp import FingerprintMLP, MLPSpec

    spec = MLPSpec(targets=("a", "b"), task="classification", hidden=(8,),
                   inputs=molecule_input(MorganFingerprint(2, N_BITS, counts=True)))
    batch = FingerprintBatch(*_batch()[:3], N_BITS)
    want = FingerprintMLP(spec).predict_batch(batch)
    np.testing.assert_allclose(FingerprintMLP(spec, backend=backend).predict_batch(batch), want,
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=f"GraphModel compiles with the numba or c backend, not '{backend}'"):
        GraphModel(GraphSpec(targets=("a",), task="regression"), backend=backend)
