"""Generic user graphs compile to symmol's fast Ops (symmol.ops.rewrites)."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
import scipy.sparse as sp
from pytensor import sparse

from symmol.compile import get_backend_mode
from symmol.ops.fingerprint import FingerprintDot, FingerprintDotGradW
from symmol.ops.segment import SegmentSum

BACKENDS = ["numba", "c"]


def fingerprint_matrix(indptr, indices, values, n_bits):
    """Dense symbolic view ``(n_rows, n_bits)`` of a CSR batch: what a user writes ``pt.dot(X, W)`` with."""
    n_rows = pt.as_tensor_variable(indptr).shape[0] - 1
    X = sparse.CSR(values, indices, indptr, pt.stack([n_rows, pt.as_tensor_variable(n_bits)]).astype("int32"))
    return sparse.dense_from_sparse(X)


def op_types(f) -> set[str]:
    return {type(node.op).__name__ for node in f.maker.fgraph.toposort()}


@pytest.fixture(scope="module")
def batch():
    """A count-fingerprint CSR batch (values 1..3), 2048 bits, with an empty row."""
    rng = np.random.default_rng(0)
    X = sp.random(9, 2048, density=0.02, format="csr", dtype=np.float32, random_state=1)
    X.data[:] = rng.integers(1, 4, X.nnz)
    X = sp.vstack([X, sp.csr_matrix((1, 2048), dtype=np.float32)]).tocsr()
    W = rng.standard_normal((2048, 16)).astype(np.float32)
    return X, W


@pytest.mark.parametrize("form", ["pt.dot", "matmul", "structured_dot"])
def test_dot_of_sparse_fingerprints_uses_fingerprint_dot(batch, form):
    Xv, Wv = batch
    X = sparse.csr_matrix("X", dtype="float32")
    W = pytensor.shared(Wv, name="W")
    Xd = sparse.dense_from_sparse(X)
    out = {"pt.dot": lambda: pt.dot(X, W), "matmul": lambda: Xd @ W,
           "structured_dot": lambda: sparse.structured_dot(X, W)}[form]()
    grad = pytensor.grad((pt.tanh(out) ** 2).sum(), W)
    results = []
    for backend in BACKENDS:
        f = pytensor.function([X], [out, grad], mode=get_backend_mode(backend))
        ops = op_types(f)
        assert {"FingerprintDot", "FingerprintDotGradW"} <= ops, (backend, ops)
        assert not ops & {"StructuredDot", "Dot", "Dot22", "Blockwise", "DenseFromSparse"}, (backend, ops)
        results.append(f(Xv))
    dense = Xv.toarray().astype(np.float64)
    expected_out = dense @ Wv
    expected_grad = dense.T @ (2 * np.tanh(expected_out) * (1 - np.tanh(expected_out) ** 2))
    for out_v, grad_v in results:
        np.testing.assert_allclose(out_v, expected_out, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(grad_v, expected_grad, rtol=1e-4, atol=1e-4)
    # same loop order in Numba and C; the C compiler may fuse multiply-adds (FMA), so 1 ulp apart
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6, atol=1e-6)


def test_dot_of_fingerprint_matrix_from_csr_arrays(batch):
    """``pt.dot(fingerprint_matrix(indptr, indices, values, n_bits), W)``: no densification."""
    Xv, Wv = batch
    indptr, indices, values = pt.lvector("indptr"), pt.ivector("indices"), pt.fvector("values")
    W = pytensor.shared(Wv, name="W")
    X_fingerprints = fingerprint_matrix(indptr, indices, values, 2048)
    out = pt.dot(X_fingerprints, W)
    grad = pytensor.grad(out.sum(), W)
    args = (Xv.indptr.astype(np.int64), Xv.indices.astype(np.int32), Xv.data)
    results = []
    for backend in BACKENDS:
        f = pytensor.function([indptr, indices, values], [out, grad], mode=get_backend_mode(backend))
        nodes = f.maker.fgraph.toposort()
        assert any(isinstance(n.op, FingerprintDot) for n in nodes)
        assert any(isinstance(n.op, FingerprintDotGradW) for n in nodes)
        assert "DenseFromSparse" not in op_types(f)
        results.append(f(*args))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(results[0][0], Xv.toarray() @ Wv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(results[0][1], np.repeat(Xv.sum(axis=0).A.T, 16, axis=1), rtol=1e-5)


def test_width_mismatch_still_raises(batch):
    Xv, _ = batch
    X = sparse.csr_matrix("X", dtype="float32")
    W = pytensor.shared(np.ones((100, 3), np.float32))
    f = pytensor.function([X], pt.dot(X, W), mode=get_backend_mode("numba"))
    with pytest.raises(AssertionError, match="shapes"):
        f(Xv)


@pytest.mark.parametrize("backend", BACKENDS)
def test_scatter_add_into_zeros_becomes_segment_sum(backend):
    x, ids = pt.matrix("x"), pt.lvector("ids")
    written = [pt.zeros((5, x.shape[1]))[ids].inc(x), pt.inc_subtensor(pt.zeros((5, 3))[ids], x)]
    f = pytensor.function([x, ids], written, mode=get_backend_mode(backend))
    nodes = f.maker.fgraph.toposort()
    assert sum(isinstance(n.op, SegmentSum) for n in nodes) == 2
    assert "AdvancedIncSubtensor1" not in op_types(f)
    xv = np.arange(12.0).reshape(4, 3)
    idv = np.array([4, 0, -1, 2])  # -1 wraps to 4, as indexing does
    expected = np.zeros((5, 3))
    np.add.at(expected, idv, xv)
    for got in f(xv, idv):
        np.testing.assert_array_equal(got, expected)
    with pytest.raises((ValueError, IndexError)):
        f(xv, np.array([0, 1, 2, 5]))


def test_scatter_with_nonzero_buffer_is_left_alone():
    x, ids = pt.matrix("x"), pt.lvector("ids")
    f = pytensor.function([x, ids], pt.ones((5, 3))[ids].inc(x), mode=get_backend_mode("numba"))
    assert "SegmentSum" not in op_types(f)


def test_adam_on_pt_dot_model_fuses_into_fingerprint_adam(batch):
    """A user's ``pt.dot(X, W)`` model trained with ``adam`` gets the fused step under Numba,
    with the numbers of the unfused C graph."""
    from symmol.nn.updates import adam

    Xv, Wv = batch
    indptr, indices, values = pt.lvector("indptr"), pt.ivector("indices"), pt.fvector("values")
    args = (Xv.indptr.astype(np.int64), Xv.indices.astype(np.int32), Xv.data)
    trajectories = {}
    for backend in BACKENDS:
        W = pytensor.shared(Wv.copy(), name="W")
        loss = (pt.tanh(pt.dot(fingerprint_matrix(indptr, indices, values, 2048), W)) ** 2).mean()
        step = pytensor.function([indptr, indices, values], loss, updates=adam(loss, [W], 1e-2),
                                 mode=get_backend_mode(backend))
        ops = op_types(step)
        assert ("FingerprintAdam" in ops) == (backend == "numba"), (backend, ops)
        assert "DenseFromSparse" not in ops
        trajectories[backend] = ([float(step(*args)) for _ in range(5)], W.get_value())
    losses, weights = trajectories["numba"]
    assert losses[-1] < losses[0]
    np.testing.assert_allclose(losses, trajectories["c"][0], rtol=1e-5)
    np.testing.assert_allclose(weights, trajectories["c"][1], rtol=1e-5, atol=1e-6)


def test_float32_values_with_float64_weights_still_use_fingerprint_dot(batch):
    """Upcasting float32 fingerprint values to float64 weights is legal: no densification."""
    Xv, Wv = batch
    indptr, indices, values = pt.lvector("indptr"), pt.ivector("indices"), pt.fvector("values")
    W = pytensor.shared(Wv.astype(np.float64), name="W")
    out = pt.dot(fingerprint_matrix(indptr, indices, values, 2048), W)
    grad = pytensor.grad(out.sum(), W)
    f = pytensor.function([indptr, indices, values], [out, grad], mode=get_backend_mode("numba"))
    assert {"FingerprintDot", "FingerprintDotGradW"} <= op_types(f)
    assert "DenseFromSparse" not in op_types(f)
    out_v, grad_v = f(Xv.indptr.astype(np.int64), Xv.indices.astype(np.int32), Xv.data)
    dense = Xv.toarray().astype(np.float64)
    np.testing.assert_allclose(out_v, dense @ Wv.astype(np.float64), rtol=1e-12)
    np.testing.assert_allclose(grad_v, np.repeat(dense.sum(axis=0)[:, None], 16, axis=1), rtol=1e-12)
