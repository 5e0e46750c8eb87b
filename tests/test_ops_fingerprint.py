"""Tests for the CSR fingerprint kernels and Ops (symmol.kernels.sparse, symmol.ops.fingerprint)."""

from __future__ import annotations

import warnings

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode, get_mode
from pytensor.gradient import verify_grad
from pytensor.link.numba.dispatch.basic import numba_funcify

from symmol.kernels.sparse import check_csr, csr_dense_matmul, csr_row_dot, csr_t_dense_matmul
from symmol.ops.fingerprint import (
    FingerprintDot,
    FingerprintDotGradW,
    FingerprintRowDot,
    fingerprint_dot,
    fingerprint_dot_grad_w,
    fingerprint_dot_grad_w_rows,
    fingerprint_row_dot,
)

N_BITS = 64
FLOATS = [np.float32, np.float64]
#: (float dtype, indptr dtype, indices dtype) combinations exercised by the kernels
#: (each is a separate Numba compilation, so not the full product).
KERNEL_DTYPES = [
    (np.float32, np.int64, np.int32),
    (np.float64, np.int64, np.int32),
    (np.float32, np.int32, np.int64),
    (np.float64, np.int64, np.int64),
]


# --------------------------------------------------------------------------- #
# data and plain-loop references
# --------------------------------------------------------------------------- #


def random_csr(rng, n_bits=N_BITS, dtype=np.float64, indptr_dtype=np.int64, idx_dtype=np.int32):
    """A CSR batch with empty rows, repeated rows, an all-bits row and a duplicate index."""
    rows = []
    for i in range(11):
        if i in (1, 7):  # empty rows (including the very last one below)
            rows.append([])
        elif i == 3:  # every bit on
            rows.append(list(range(n_bits)))
        elif i == 5:  # a repeat of row 2
            rows.append(list(rows[2]))
        elif i == 8:  # unsorted, with a duplicated bit
            rows.append([9, 2, 9, n_bits - 1, 0])
        else:
            size = int(rng.integers(1, n_bits // 3))
            rows.append(sorted(rng.choice(n_bits, size, replace=False).tolist()))
    rows.append([])
    indptr = np.zeros(len(rows) + 1, dtype=indptr_dtype)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    indices = np.array([b for r in rows for b in r], dtype=idx_dtype)
    # counts 1..3 (1.0 for plain bits); row 5 keeps row 2's values so it is a true repeat
    values = rng.integers(1, 4, size=indices.size).astype(dtype)
    s2, e2, s5 = indptr[2], indptr[3], indptr[5]
    values[s5 : s5 + (e2 - s2)] = values[s2:e2]
    return indptr, indices, values


def naive_matmul(indptr, indices, values, W):
    """out[i, j] = sum_k values[k] * W[indices[k], j], plain loops in float64."""
    n_rows = len(indptr) - 1
    out = np.zeros((n_rows, W.shape[1]))
    for i in range(n_rows):
        for k in range(indptr[i], indptr[i + 1]):
            for j in range(W.shape[1]):
                out[i, j] += float(values[k]) * float(W[indices[k], j])
    return out


def naive_t_matmul(indptr, indices, values, G, n_bits):
    """dW[b, j] = sum_{k: indices[k] == b} values[k] * G[row(k), j], plain loops in float64."""
    dW = np.zeros((n_bits, G.shape[1]))
    for i in range(len(indptr) - 1):
        for k in range(indptr[i], indptr[i + 1]):
            for j in range(G.shape[1]):
                dW[indices[k], j] += float(values[k]) * float(G[i, j])
    return dW


def naive_row_dot(indptr, indices, G, W):
    """out[k] = sum_j G[row(k), j] * W[indices[k], j], plain loops in float64."""
    out = np.zeros(len(indices))
    for i in range(len(indptr) - 1):
        for k in range(indptr[i], indptr[i + 1]):
            for j in range(G.shape[1]):
                out[k] += float(G[i, j]) * float(W[indices[k], j])
    return out


def tol(dtype):
    """(rtol, atol) of a kernel against the float64 reference (values are O(1)-O(10))."""
    return (1e-5, 1e-4) if dtype == np.float32 else (1e-12, 1e-11)


# --------------------------------------------------------------------------- #
# kernels
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(("dtype", "indptr_dtype", "idx_dtype"), KERNEL_DTYPES)
@pytest.mark.parametrize("n_hidden", [5, 37, 130])
def test_kernels_match_naive_loops(dtype, indptr_dtype, idx_dtype, n_hidden):
    rng = np.random.default_rng(0)
    indptr, indices, values = random_csr(
        rng, dtype=dtype, indptr_dtype=indptr_dtype, idx_dtype=idx_dtype
    )
    n_rows = len(indptr) - 1
    W = rng.standard_normal((N_BITS, n_hidden)).astype(dtype)
    G = rng.standard_normal((n_rows, n_hidden)).astype(dtype)
    rtol, atol = tol(dtype)

    out = csr_dense_matmul(indptr, indices, values, W)
    assert out.dtype == dtype and out.shape == (n_rows, n_hidden)
    np.testing.assert_allclose(out, naive_matmul(indptr, indices, values, W), rtol, atol)
    assert np.all(out[[1, 7, n_rows - 1]] == 0)  # empty rows
    np.testing.assert_array_equal(out[5], out[2])  # repeated rows
    all_bits = W.astype(np.float64).T @ values[indptr[3] : indptr[4]]
    np.testing.assert_allclose(out[3], all_bits, rtol, atol)

    dW = csr_t_dense_matmul(indptr, indices, values, G, N_BITS)
    assert dW.dtype == dtype and dW.shape == (N_BITS, n_hidden)
    np.testing.assert_allclose(dW, naive_t_matmul(indptr, indices, values, G, N_BITS), rtol, atol)

    dv = csr_row_dot(indptr, indices, G, W)
    assert dv.dtype == dtype and dv.shape == (len(indices),)
    np.testing.assert_allclose(dv, naive_row_dot(indptr, indices, G, W), rtol, atol)


@pytest.mark.parametrize("dtype", FLOATS)
def test_kernels_empty_batch_and_unused_bits(dtype):
    indptr = np.zeros(1, np.int64)
    indices = np.zeros(0, np.int32)
    values = np.zeros(0, dtype)
    W = np.ones((N_BITS, 3), dtype)
    G = np.ones((0, 3), dtype)
    assert csr_dense_matmul(indptr, indices, values, W).shape == (0, 3)
    dW = csr_t_dense_matmul(indptr, indices, values, G, N_BITS)
    assert dW.shape == (N_BITS, 3) and not dW.any()
    assert csr_row_dot(indptr, indices, G, W).shape == (0,)


@pytest.mark.parametrize(
    ("indptr", "indices", "n_values", "message"),
    [
        ([0, 2, 3], [1, N_BITS, 2], 3, "indices out of range"),
        ([0, 2, 3], [1, -1, 2], 3, "indices out of range"),
        ([0, 2, 1, 3], [1, 2, 3], 3, "non-decreasing"),
        ([1, 2, 3], [1, 2, 3], 3, "indptr"),
        ([0, 2, 4], [1, 2, 3], 3, "indptr"),
        ([0, 2, 3], [1, 2, 3], 2, "same length"),
    ],
)
def test_kernels_reject_malformed_csr(indptr, indices, n_values, message):
    indptr = np.array(indptr, np.int64)
    indices = np.array(indices, np.int32)
    values = np.ones(n_values)
    n_rows = len(indptr) - 1
    W = np.ones((N_BITS, 4))
    G = np.ones((n_rows, 4))
    with pytest.raises(ValueError, match=message):
        check_csr(indptr, indices, n_values, N_BITS)
    with pytest.raises(ValueError, match=message):
        csr_dense_matmul(indptr, indices, values, W)
    with pytest.raises(ValueError, match=message):
        csr_t_dense_matmul(indptr, indices, values, G, N_BITS)
    if n_values == len(indices):
        with pytest.raises(ValueError, match=message):
            csr_row_dot(indptr, indices, G, W)



def test_perform_rejects_decreasing_unsigned_indptr():
    """np.diff of an unsigned indptr wraps around; the reference path must still see the decrease."""
    indptr, indices, values = pt.vector("indptr", dtype="uint32"), pt.ivector("indices"), pt.dvector("values")
    W = pt.dmatrix("W")
    f = pytensor.function([indptr, indices, values, W], fingerprint_dot(indptr, indices, values, W),
                          mode=Mode(linker="py", optimizer=None))
    with pytest.raises(ValueError, match="non-decreasing"):
        f(np.array([0, 5, 2, 3], np.uint32), np.array([1, 2, 3], np.int32), np.ones(3), np.ones((N_BITS, 2)))

def test_kernels_reject_shape_mismatch():
    indptr = np.array([0, 1, 2], np.int64)
    indices = np.array([0, 1], np.int32)
    with pytest.raises(ValueError, match="rows"):
        csr_t_dense_matmul(indptr, indices, np.ones(2), np.ones((3, 4)), N_BITS)
    with pytest.raises(ValueError, match="columns"):
        csr_row_dot(indptr, indices, np.ones((2, 4)), np.ones((N_BITS, 5)))


# --------------------------------------------------------------------------- #
# Op construction
# --------------------------------------------------------------------------- #


def test_make_node_types_and_static_shapes():
    indptr = pt.tensor("indptr", dtype="int64", shape=(13,))
    indices = pt.ivector("indices")
    W = pt.tensor("W", dtype="float32", shape=(N_BITS, 8))
    # uint8 counts are cast to W's dtype
    out = fingerprint_dot(indptr, indices, pt.vector("values", dtype="uint8"), W)
    assert isinstance(out.owner.op, FingerprintDot)
    assert out.type.dtype == "float32" and out.type.shape == (12, 8)
    assert out.owner.inputs[2].type.dtype == "float32"

    dW = fingerprint_dot_grad_w(indptr, indices, pt.fvector(), pt.fmatrix(), N_BITS)
    assert isinstance(dW.owner.op, FingerprintDotGradW)
    assert dW.type.dtype == "float32" and dW.type.shape == (N_BITS, None)

    dv = fingerprint_row_dot(indptr, indices, pt.fmatrix(), pt.dmatrix())
    assert isinstance(dv.owner.op, FingerprintRowDot)
    assert dv.type.dtype == "float64" and dv.type.ndim == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((pt.fvector(), pt.ivector(), pt.dvector(), pt.dmatrix()), "indptr must have an integer"),
        ((pt.lvector(), pt.imatrix(), pt.dvector(), pt.dmatrix()), "indices must be a vector"),
        ((pt.lvector(), pt.ivector(), pt.dvector(), pt.imatrix()), "W must be float32 or float64"),
        ((pt.lvector(), pt.ivector(), pt.dvector(), pt.dtensor3()), "W must have ndim 2"),
        ((pt.lvector(), pt.ivector(), pt.dmatrix(), pt.dmatrix()), "values must be a vector"),
        ((pt.lvector(), pt.ivector(), pt.dvector(), pt.fmatrix()), "downcast"),
        ((pt.lvector(), pt.ivector(), pt.cvector(), pt.dmatrix()), "values must be real"),
    ],
)
def test_make_node_rejects_bad_inputs(args, message):
    with pytest.raises(TypeError, match=message):
        fingerprint_dot(*args)


def test_make_node_rejects_bad_n_bits():
    args = (pt.lvector(), pt.ivector(), pt.dvector(), pt.dmatrix())
    with pytest.raises(TypeError, match="n_bits must be a scalar"):
        fingerprint_dot_grad_w(*args, pt.lvector())
    with pytest.raises(TypeError, match="n_bits must have an integer dtype"):
        fingerprint_dot_grad_w(*args, pt.dscalar())
    with pytest.raises(ValueError, match="non-negative"):
        fingerprint_dot_grad_w(*args, -1)


def test_infer_shape_avoids_computing_the_op():
    indptr, indices, values = pt.lvector(), pt.ivector(), pt.dvector()
    W = pt.dmatrix()
    out = fingerprint_dot(indptr, indices, values, W)
    dW = fingerprint_dot_grad_w(indptr, indices, values, out, pt.lscalar("n_bits"))
    dv = fingerprint_row_dot(indptr, indices, out, W)
    inputs = [indptr, indices, values, W, dW.owner.inputs[4]]
    f = pytensor.function(inputs, [out.shape, dW.shape, dv.shape], on_unused_input="ignore")
    ops = {type(node.op) for node in f.maker.fgraph.toposort()}
    assert not ops & {FingerprintDot, FingerprintDotGradW, FingerprintRowDot}
    rng = np.random.default_rng(1)
    ip, ix, v = random_csr(rng)
    shapes = f(ip, ix, v, np.zeros((N_BITS, 6)), 100)
    assert [tuple(s) for s in shapes] == [(len(ip) - 1, 6), (100, 6), (len(ix),)]


# --------------------------------------------------------------------------- #
# gradients
# --------------------------------------------------------------------------- #


def _grad_data(seed=2, n_hidden=5):
    rng = np.random.default_rng(seed)
    indptr, indices, values = random_csr(rng, n_bits=20)
    values = values + rng.random(values.size)  # non-integer weights
    n_rows = len(indptr) - 1
    W = rng.standard_normal((20, n_hidden))
    G = rng.standard_normal((n_rows, n_hidden))
    return rng, indptr, indices, values, W, G


PY_MODE = Mode(linker="py", optimizer="fast_run")


def test_verify_grad_fingerprint_dot():
    rng, indptr, indices, values, W, _ = _grad_data()
    verify_grad(
        lambda v, w: fingerprint_dot(indptr, indices, v, w), [values, W], rng=rng, mode=PY_MODE
    )


def test_verify_grad_grad_w_and_row_dot():
    rng, indptr, indices, values, W, G = _grad_data()
    verify_grad(
        lambda v, g: fingerprint_dot_grad_w(indptr, indices, v, g, 20),
        [values, G],
        rng=rng,
        mode=PY_MODE,
    )
    verify_grad(
        lambda g, w: fingerprint_row_dot(indptr, indices, g, w), [G, W], rng=rng, mode=PY_MODE
    )


def test_verify_grad_second_order():
    """The gradient graph (GradW and RowDot Ops) is itself differentiable."""
    rng, indptr, indices, values, W, _ = _grad_data()

    def grad_of_loss(v, w):
        loss = (pt.tanh(fingerprint_dot(indptr, indices, v, w)) ** 2).sum()
        g_v, g_w = pytensor.grad(loss, [v, w])
        return pt.concatenate([g_v, g_w.ravel()])

    verify_grad(grad_of_loss, [values, W], rng=rng, mode=PY_MODE)


def test_integer_inputs_are_disconnected():
    indptr, indices, values, W = pt.lvector(), pt.ivector(), pt.dvector(), pt.dmatrix()
    loss = fingerprint_dot(indptr, indices, values, W).sum()
    with pytest.raises(pytensor.gradient.DisconnectedInputError):
        pytensor.grad(loss, indices)
    g = pytensor.grad(loss, indptr, disconnected_inputs="ignore")
    assert g.eval({indptr: np.array([0, 1], np.int64)}).tolist() == [0, 0]


# --------------------------------------------------------------------------- #
# backends: Numba kernels, C code and perform agree on one graph
# --------------------------------------------------------------------------- #

BACKENDS = {
    "numba": get_mode("NUMBA"),
    "c": get_mode("CVM"),
    "python": PY_MODE,
}


def _graph(dtype):
    fl = "float32" if dtype == np.float32 else "float64"
    indptr, indices = pt.lvector("indptr"), pt.ivector("indices")
    values, W = pt.vector("values", dtype=fl), pt.matrix("W", dtype=fl)
    out = fingerprint_dot(indptr, indices, values, W)
    loss = (out**2).sum()
    g_values, g_W = pytensor.grad(loss, [values, W])
    return [indptr, indices, values, W], [out, loss, g_values, g_W]


def _compile(inputs, outputs, mode):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = pytensor.function(inputs, outputs, mode=mode)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "object mode" in m], messages
    return f


OUR_OPS = (FingerprintDot, FingerprintDotGradW, FingerprintRowDot)


@pytest.mark.parametrize("dtype", FLOATS)
def test_backends_agree(dtype):
    rng = np.random.default_rng(4)
    indptr, indices, values = random_csr(rng, n_bits=N_BITS, dtype=dtype)
    W = (0.3 * rng.standard_normal((N_BITS, 24))).astype(dtype)
    inputs, outputs = _graph(dtype)

    results = {}
    for name, mode in BACKENDS.items():
        f = _compile(inputs, outputs, mode)
        nodes = f.maker.fgraph.toposort()
        assert {type(n.op) for n in nodes} >= set(OUR_OPS), name
        if name == "c":  # the C linker really runs the C code of our Ops
            thunks = dict(zip(f.vm.nodes, f.vm.thunks, strict=True))
            assert all(hasattr(thunks[n], "cthunk") for n in nodes if isinstance(n.op, OUR_OPS))
        results[name] = f(indptr, indices, values, W)

    ref = results["python"]
    assert ref[0].dtype == dtype and ref[3].shape == W.shape and ref[2].shape == values.shape
    # the python reference itself is right: forward against the plain loops
    np.testing.assert_allclose(ref[0], naive_matmul(indptr, indices, values, W), *tol(dtype))
    atol = 1e-5 if dtype == np.float32 else 1e-10
    for name in ("numba", "c"):
        for got, want in zip(results[name], ref, strict=True):
            assert got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=atol, atol=atol, err_msg=name)


def test_numba_graph_uses_registered_kernels():
    inputs, outputs = _graph(np.float64)
    f = _compile(inputs, outputs, BACKENDS["numba"])
    names = [type(n.op).__name__ for n in f.maker.fgraph.toposort()]
    for op in OUR_OPS:
        assert op.__name__ in names
        # a dedicated dispatch, not the generic object-mode fallback
        assert numba_funcify.dispatch(op) is not numba_funcify.dispatch(object)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_backends_raise_on_out_of_range_index(backend):
    inputs, outputs = _graph(np.float64)
    f = _compile(inputs, outputs[:1], BACKENDS[backend])
    indptr = np.array([0, 2, 3], np.int64)
    indices = np.array([1, N_BITS, 2], np.int32)
    with pytest.raises(ValueError, match="out of range"):
        f(indptr, indices, np.ones(3), np.ones((N_BITS, 4)))


# --------------------------------------------------------------------------- #
# row-sparse gradient
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "NUMBA", "CVM"])
def test_row_sparse_grad_equals_dense_grad_rows(mode):
    """``fingerprint_dot_grad_w_rows`` returns exactly the used rows of ``X.T @ G`` (counts as values)."""
    rng = np.random.default_rng(7)
    # 3 molecules (one empty), bits 5 and 9 repeated, counts as values
    indptr = np.array([0, 3, 3, 5], dtype=np.int64)
    indices = np.array([5, 9, 60, 9, 5], dtype=np.int32)
    values = np.array([1, 2, 3, 1, 1], dtype=np.float32)
    W = pytensor.shared(rng.standard_normal((N_BITS, 6)).astype(np.float32), name="W")
    ip, ix, v = pt.lvector("indptr"), pt.ivector("indices"), pt.fvector("values")
    out = fingerprint_dot(ip, ix, v, W)
    cost = (pt.tanh(out) ** 2).sum()
    G = pytensor.grad(cost, out)
    rows, grad_rows = fingerprint_dot_grad_w_rows(ip, ix, v, G, W.shape[0])
    dense = pytensor.grad(cost, W)
    # a lazy SGD step on the used rows only
    lr = np.float32(0.1)
    f = pytensor.function([ip, ix, v], [rows, grad_rows, dense], mode=mode,
                          updates={W: pt.inc_subtensor(W[rows], -lr * grad_rows)})
    W0 = W.get_value()
    got_rows, got_grad_rows, got_dense = f(indptr, indices, values)
    np.testing.assert_array_equal(got_rows, [5, 9, 60])
    np.testing.assert_allclose(got_grad_rows, got_dense[got_rows], rtol=1e-6, atol=1e-6)
    unused = np.setdiff1d(np.arange(N_BITS), got_rows)
    assert not got_dense[unused].any()
    np.testing.assert_allclose(W.get_value(), W0 - lr * got_dense, rtol=1e-6, atol=1e-6)
