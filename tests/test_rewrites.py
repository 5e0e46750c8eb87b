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


# --------------------------------------------------------------------------- #
# table lookups before products
# --------------------------------------------------------------------------- #

LOOKUP_REWRITES = ("local_lookup_before_product", "local_lookup_transposed_product",
                   "local_segment_sum_before_product")


def token_projection_case(seed: int = 0):
    """A sequence model's first projection: token embeddings ``E[tokens]``, time-major, times ``W``."""
    rng = np.random.default_rng(seed)
    table = rng.standard_normal((7, 5))
    weights = rng.standard_normal((5, 6))
    tokens = rng.integers(0, 7, (4, 9)).astype(np.int32)
    cotangent = rng.standard_normal((9, 4, 6))
    return table, weights, tokens, cotangent


def table_reads(f, table) -> list[str]:
    """Names of the ops that read the table variable directly."""
    return sorted(type(node.op).__name__ for node in f.maker.fgraph.toposort()
                  if any(i is table or (i.owner is not None and i.owner.inputs and i.owner.inputs[0] is table
                                        and type(i.owner.op).__name__ in ("DimShuffle", "Transpose"))
                         for i in node.inputs))


@pytest.mark.parametrize("backend", BACKENDS)
def test_lookup_then_product_multiplies_the_table_once_with_the_same_values_and_gradients(backend):
    """``E[tokens] @ W`` (reshaped and transposed between) becomes ``(E @ W)[tokens]``, its weight
    gradient ``E.T @ segment_sum(G)`` and its table gradient ``segment_sum(G) @ W.T``; the values
    and gradients are those of the NumPy reference, and of the same graph without the rewrites."""
    from symmol.ops.segment import gather_rows

    E_value, W_value, tokens_value, C = token_projection_case()
    E = pytensor.shared(E_value, name="E", shape=E_value.shape)
    W = pytensor.shared(W_value, name="W", shape=W_value.shape)
    tokens = pt.imatrix("tokens")
    rows = gather_rows(E, tokens.flatten()).reshape((tokens.shape[0], tokens.shape[1], 5)).dimshuffle(1, 0, 2)
    y = pt.dot(rows, W)  # (L, n, 6)
    loss = pt.sum(pt.sin(y) * C)
    outputs = [loss, *pytensor.gradient.grad(loss, [E, W])]
    mode = get_backend_mode(backend)
    f = pytensor.function([tokens], outputs, mode=mode)
    plain = pytensor.function([tokens], outputs, mode=mode.excluding(*LOOKUP_REWRITES))

    x = E_value[tokens_value].transpose(1, 0, 2)  # (L, n, 5)
    y_ref = x @ W_value
    dy = np.cos(y_ref) * C
    dW = np.einsum("lnd,lno->do", x, dy)
    dE = np.zeros_like(E_value)
    np.add.at(dE, tokens_value.T, dy @ W_value.T)
    for got in (f(tokens_value), plain(tokens_value)):
        np.testing.assert_allclose(got[0], np.sum(np.sin(y_ref) * C), rtol=1e-10)
        np.testing.assert_allclose(got[1], dE, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got[2], dW, rtol=1e-10, atol=1e-12)
    # rewritten: the table is multiplied (E @ W, E.T @ ...) instead of gathered into 36 rows
    assert "GatherRows" not in table_reads(f, E) and "GatherRows" in table_reads(plain, E)
    assert sum(isinstance(node.op, SegmentSum) for node in f.maker.fgraph.toposort()) >= 1


def test_indexing_lookup_with_negative_ids_is_rewritten_with_wrapped_ids():
    """``E[ids]`` (PyTensor's ``AdvancedSubtensor1``, which wraps -1) gives the same gradients rewritten."""
    rng = np.random.default_rng(1)
    E_value, W_value = rng.standard_normal((6, 3)), rng.standard_normal((3, 4))
    E = pytensor.shared(E_value, name="E", shape=E_value.shape)
    W = pytensor.shared(W_value, name="W", shape=W_value.shape)
    ids = pt.lvector("ids")
    loss = pt.sum(pt.dot(E[ids], W) ** 2)
    f = pytensor.function([ids], pytensor.gradient.grad(loss, [E, W]), mode=get_backend_mode("numba"))
    ids_value = np.array([0, -1, 2, 5, 2])
    dy = 2 * (E_value[ids_value] @ W_value)
    dE = np.zeros_like(E_value)
    np.add.at(dE, ids_value, dy @ W_value.T)
    got_E, got_W = f(ids_value)
    np.testing.assert_allclose(got_E, dE, rtol=1e-10)
    np.testing.assert_allclose(got_W, E_value[ids_value].T @ dy, rtol=1e-10)
    assert "AdvancedSubtensor1" not in table_reads(f, E)


def test_reshape_that_changes_the_width_after_a_lookup_is_left_alone():
    """Rows of 4 reshaped into rows of 2 are not rows of the table: no rewrite, the plain product."""
    rng = np.random.default_rng(2)
    E_value, W_value = rng.standard_normal((5, 4)), rng.standard_normal((2, 3))
    E = pytensor.shared(E_value, name="E", shape=E_value.shape)
    ids = pt.lvector("ids")
    halves = E[ids].reshape((ids.shape[0] * 2, 2))
    f = pytensor.function([ids], pt.dot(halves, W_value), mode=get_backend_mode("numba"))
    ids_value = np.array([4, 1, 1])
    np.testing.assert_allclose(f(ids_value), E_value[ids_value].reshape(6, 2) @ W_value, rtol=1e-12)
    assert "AdvancedSubtensor1" in table_reads(f, E)


def test_segment_sum_of_a_product_sums_first():
    """``segment_sum(G @ M, ids, n)`` → ``segment_sum(G, ids, n) @ M``, same values."""
    from symmol.ops.segment import segment_sum

    rng = np.random.default_rng(3)
    G, M = pt.matrix("G"), pt.matrix("M")
    ids = pt.lvector("ids")
    f = pytensor.function([G, M, ids], segment_sum(pt.dot(G, M), ids, 3), mode=get_backend_mode("numba"))
    (node,) = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, SegmentSum)]
    assert node.inputs[0] is f.maker.fgraph.inputs[0]  # G itself is summed, then multiplied
    Gv, Mv, idv = rng.standard_normal((8, 4)), rng.standard_normal((4, 2)), np.array([0, 2, 2, 1, 0, 0, 1, 2])
    expected = np.zeros((3, 2))
    np.add.at(expected, idv, Gv @ Mv)
    np.testing.assert_allclose(f(Gv, Mv, idv), expected, rtol=1e-12)
