"""Tests for the fused Adam steps (symmol.kernels.sparse.csr_t_adam_update, symmol.ops.adam)."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode, get_mode
from pytensor.gradient import verify_grad
from test_ops_fingerprint import naive_t_matmul, random_csr

from symmol.kernels.sparse import add_scaled_rows, csr_dense_matmul, csr_t_adam_update, csr_t_dense_matmul
from symmol.ops.adam import (
    AdamStep,
    DenseAdam,
    FingerprintAdam,
    adam_step,
    adam_step_formulas,
    dense_adam,
    fingerprint_adam,
)
from symmol.ops.fingerprint import FingerprintDotGradW, fingerprint_dot

N_BITS = 64
PY_MODE = Mode(linker="py", optimizer="fast_run")
MODES = {"numba": get_mode("NUMBA"), "c": get_mode("CVM"), "python": PY_MODE}


def adam_scalars(dtype, t=3, lr=1e-2, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """(step_size, bias_correction2_sqrt, beta1, beta2, epsilon) of step ``t`` in ``dtype``."""
    b1, b2 = dtype(beta1), dtype(beta2)
    one = dtype(1)
    return (dtype(lr) / (one - b1**t), np.sqrt(one - b2**t), b1, b2, dtype(epsilon))


def state(rng, dtype, n_hidden=7):
    W = rng.standard_normal((N_BITS, n_hidden)).astype(dtype)
    m = (0.1 * rng.standard_normal(W.shape)).astype(dtype)
    v = (0.1 * rng.random(W.shape) + 0.01).astype(dtype)
    return W, m, v


def numpy_adam(indptr, indices, values, G, W, m, v, scalars):
    """The unfused step in NumPy: float64 gradient by plain loops, cast, then the formulas."""
    g = naive_t_matmul(indptr, indices, values, G, W.shape[0]).astype(W.dtype)
    return adam_step_formulas(W, g, m, v, *scalars)


# --------------------------------------------------------------------------- #
# kernels
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_hidden", [1, 7, 130])
def test_kernel_is_the_unfused_step(dtype, n_hidden):
    rng = np.random.default_rng(0)
    indptr, indices, values = random_csr(rng, dtype=dtype)
    G = rng.standard_normal((len(indptr) - 1, n_hidden)).astype(dtype)
    W, m, v = state(rng, dtype, n_hidden)
    scalars = adam_scalars(dtype)
    # bitwise: the kernel's gradient is csr_t_dense_matmul's, its arithmetic the formulas'
    g = csr_t_dense_matmul(indptr, indices, values, G, N_BITS)
    want = adam_step_formulas(W, g, m, v, *scalars)
    got = [W.copy(), m.copy(), v.copy()]
    csr_t_adam_update(indptr, indices, values, G, *got, *scalars)
    for a, b in zip(got, want, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    # and against plain loops: rows of bits that are off still move (dense Adam)
    ref = numpy_adam(indptr, indices, values, G, W, m, v, scalars)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
    # a batch with bits 1 and 3 only: the other rows still move (m decays, W follows m)
    W2, m2, v2 = W.copy(), m.copy(), v.copy()
    csr_t_adam_update(np.array([0, 2]), np.array([1, 3]), np.ones(2, dtype), G[:1], W2, m2, v2, *scalars)
    off = np.setdiff1d(np.arange(N_BITS), [1, 3])
    np.testing.assert_array_equal(m2[off], scalars[2] * m[off])
    np.testing.assert_array_equal(W2[off], adam_step_formulas(W[off], 0 * W[off], m[off], v[off], *scalars)[0])
    assert np.mean(W2[off] != W[off]) > 0.9


def test_kernel_rejects_bad_input():
    rng = np.random.default_rng(1)
    W, m, v = state(rng, np.float64)
    G = np.ones((2, W.shape[1]))
    scalars = adam_scalars(np.float64)
    indptr, values = np.array([0, 1, 2]), np.ones(2)
    with pytest.raises(ValueError, match="out of range"):
        csr_t_adam_update(indptr, np.array([0, N_BITS]), values, G, W, m, v, *scalars)
    with pytest.raises(ValueError, match="rows"):
        csr_t_adam_update(indptr, np.array([0, 1]), values, G[:1], W, m, v, *scalars)
    with pytest.raises(ValueError, match="shape of W"):
        csr_t_adam_update(indptr, np.array([0, 1]), values, G, W, m[:3], v, *scalars)


def test_add_scaled_rows_is_sequential_sum():
    rng = np.random.default_rng(2)
    M = rng.standard_normal((9, 33)).astype(np.float32)
    rows = rng.integers(0, 9, size=11)
    weights = rng.integers(1, 4, size=11).astype(np.float32)
    for start, stop in [(0, 11), (2, 9), (3, 3), (5, 6)]:
        acc = np.full(33, 0.5, np.float32)
        want = acc.copy()
        for p in range(start, stop):
            want += weights[p] * M[rows[p]]
        add_scaled_rows(acc, M, rows, weights, start, stop)
        np.testing.assert_array_equal(acc, want)
    # the forward kernel built on it equals one row at a time
    indptr = np.array([0, 0, 5, 11])
    out = csr_dense_matmul(indptr, rows, weights, M)
    want = np.zeros(33, np.float32)
    for p in range(5, 11):
        want += weights[p] * M[rows[p]]
    np.testing.assert_array_equal(out[2], want)


# --------------------------------------------------------------------------- #
# Op
# --------------------------------------------------------------------------- #


def _symbolic(dtype):
    fl = np.dtype(dtype).name
    indptr, indices = pt.lvector("indptr"), pt.ivector("indices")
    values, G = pt.vector("values", dtype=fl), pt.matrix("G", dtype=fl)
    W, m, v = (pt.matrix(n, dtype=fl) for n in "Wmv")
    scalars = [pt.scalar(n, dtype=fl) for n in ("step", "bc2", "b1", "b2", "eps")]
    return [indptr, indices, values, G, W, m, v, *scalars]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", list(MODES))
def test_op_backends_agree_with_reference(dtype, mode):
    rng = np.random.default_rng(3)
    indptr, indices, values = random_csr(rng, dtype=dtype)
    G = rng.standard_normal((len(indptr) - 1, 7)).astype(dtype)
    W, m, v = state(rng, dtype)
    scalars = adam_scalars(dtype)
    inputs = _symbolic(dtype)
    f = pytensor.function(inputs, fingerprint_adam(*inputs), mode=MODES[mode])
    assert any(isinstance(n.op, FingerprintAdam) for n in f.maker.fgraph.toposort())
    before = [W.copy(), m.copy(), v.copy()]
    got = f(indptr, indices.astype(np.int32), values, G, W, m, v, *scalars)
    ref = numpy_adam(indptr, indices, values, G, W, m, v, scalars)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(got, ref, strict=True):
        assert a.dtype == dtype and a.shape == W.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
    for arr, old in zip((W, m, v), before, strict=True):  # the out-of-place Op leaves its inputs alone
        np.testing.assert_array_equal(arr, old)


@pytest.mark.parametrize("mode", ["numba", "python"])
def test_inplace_op_updates_storage(mode):
    rng = np.random.default_rng(4)
    indptr, indices, values = random_csr(rng)
    G = rng.standard_normal((len(indptr) - 1, 7))
    W0, m0, v0 = state(rng, np.float64)
    inputs = _symbolic(np.float64)
    # W, m, v may be destroyed: the inplace rewrite switches the Op to its in-place form
    f = pytensor.function([pytensor.In(x, mutable=True) if i in (4, 5, 6) else x for i, x in enumerate(inputs)],
                          fingerprint_adam(*inputs), mode=MODES[mode])
    assert [n.op.inplace for n in f.maker.fgraph.toposort() if isinstance(n.op, FingerprintAdam)] == [True]
    W, m, v = W0.copy(), m0.copy(), v0.copy()
    out = f(indptr, indices.astype(np.int32), values, G, W, m, v, *adam_scalars(np.float64))
    ref = numpy_adam(indptr, indices, values, G, W0, m0, v0, adam_scalars(np.float64))
    for got, arr, want in zip(out, (W, m, v), ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(arr, want, rtol=1e-12, atol=1e-12)  # updated in its own storage


def test_make_node_checks_and_shapes():
    inputs = _symbolic(np.float32)
    outs = fingerprint_adam(*inputs)
    assert [o.type.dtype for o in outs] == ["float32"] * 3
    assert [o.type.ndim for o in outs] == [2] * 3
    with pytest.raises(TypeError, match="scalar"):
        fingerprint_adam(*inputs[:7], pt.fvector(), *inputs[8:])
    with pytest.raises(TypeError, match="ndim 2"):
        fingerprint_adam(*inputs[:4], pt.fvector(), *inputs[5:])
    # infer_shape answers W's shape without running the Op
    f = pytensor.function(inputs, [o.shape for o in outs], mode=MODES["numba"], on_unused_input="ignore")
    assert not any(isinstance(n.op, FingerprintAdam) for n in f.maker.fgraph.toposort())


def test_verify_grad():
    rng = np.random.default_rng(5)
    indptr, indices, values = random_csr(rng, n_bits=N_BITS)
    G = rng.standard_normal((len(indptr) - 1, 3))
    W, m, v = state(rng, np.float64, 3)
    scalars = adam_scalars(np.float64)
    ip, ix = indptr, indices.astype(np.int32)

    def step(values, G, W, m, v, step_size, bc2):
        W_new, m_new, v_new = fingerprint_adam(ip, ix, values, G, W, m, v, step_size, bc2, *scalars[2:])
        return W_new + 2 * m_new + 3 * v_new

    verify_grad(step, [values, G, W, m, v, np.float64(scalars[0]), np.float64(scalars[1])],
                rng=np.random.default_rng(6), mode=PY_MODE, eps=1e-7)


# --------------------------------------------------------------------------- #
# rewrites: the Numba backend fuses, the others inline the formulas
# --------------------------------------------------------------------------- #


def _adam_graph(dtype=np.float32):
    """One Adam step of W and b for ``relu(X @ W + b).sum()**2`` through symmol.nn.updates.adam."""
    from symmol.nn.updates import adam

    rng = np.random.default_rng(7)
    W = pytensor.shared((0.3 * rng.standard_normal((N_BITS, 5))).astype(dtype), name="W")
    b = pytensor.shared(np.zeros(5, dtype), name="b")
    indptr, indices = pt.lvector("indptr"), pt.ivector("indices")
    values = pt.vector("values", dtype=np.dtype(dtype).name)
    loss = (pt.maximum(fingerprint_dot(indptr, indices, values, W) + b, 0).sum(axis=1) ** 2).mean()
    grads = pytensor.grad(loss, [W, b])
    assert isinstance(grads[0].owner.op, FingerprintDotGradW)
    updates = adam(grads, [W, b], learning_rate=1e-2)
    return [indptr, indices, values], loss, updates, (W, b)


def test_numba_fuses_and_others_inline():
    seen = {}
    for name, mode in MODES.items():
        inputs, loss, updates, _ = _adam_graph()
        f = pytensor.function(inputs, loss, updates=updates, mode=mode)
        ops = [n.op for n in f.maker.fgraph.toposort()]
        assert not any(isinstance(op, AdamStep) for op in ops), name
        seen[name] = [op for op in ops if isinstance(op, FingerprintAdam)]
        seen[name] += [op for op in ops if isinstance(op, DenseAdam)]
    assert [type(op) for op in seen["numba"]] == [FingerprintAdam, DenseAdam]  # W, then b
    assert all(op.inplace for op in seen["numba"])
    assert seen["c"] == [] and seen["python"] == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_training_matches_unfused(dtype):
    rng = np.random.default_rng(8)
    batches = [random_csr(rng, dtype=dtype) for _ in range(6)]
    params = {}
    for name in ("numba", "c"):
        inputs, loss, updates, shared = _adam_graph(dtype)
        f = pytensor.function(inputs, loss, updates=updates, mode=MODES[name])
        losses = [float(f(ip, ix.astype(np.int32), vals)) for ip, ix, vals in batches for _ in range(5)]
        params[name] = ([p.get_value() for p in shared], losses)
    # float32: Adam's first steps (tiny v) amplify rounding differences between the backends
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(params["numba"][1], params["c"][1], rtol=rtol)
    for a, b in zip(params["numba"][0], params["c"][0], strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


def test_adam_step_marker_inlines_to_formulas():
    x = pt.dmatrix("x")
    outs = adam_step(x, x * 2, x * 0, x * 0 + 1, 0.1, 0.5, 0.9, 0.999, 1e-8)
    f = pytensor.function([x], outs, mode=MODES["c"])
    assert not any(isinstance(n.op, AdamStep) for n in f.maker.fgraph.toposort())
    value = np.arange(6.0).reshape(2, 3)
    scalars = [np.float64(x) for x in (0.1, 0.5, 0.9, 0.999, 1e-8)]
    want = adam_step_formulas(value, 2 * value, 0 * value, 0 * value + 1, *scalars)
    for got, w in zip(f(value), want, strict=True):
        np.testing.assert_allclose(got, w, rtol=1e-14)


# --------------------------------------------------------------------------- #
# DenseAdam: every other vector or matrix parameter
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(11,), (6, 5)])
@pytest.mark.parametrize("mode", ["numba", "c", "python"])
def test_dense_adam_matches_formulas(dtype, shape, mode):
    rng = np.random.default_rng(9)
    p, m, v = (rng.standard_normal(shape).astype(dtype), (0.1 * rng.standard_normal(shape)).astype(dtype),
               (0.1 * rng.random(shape) + 0.01).astype(dtype))
    g_full = rng.standard_normal((2 * shape[0],) + shape[1:]).astype(dtype)
    g = g_full[::2]  # a strided gradient
    scalars = adam_scalars(dtype)
    tensors = [pt.tensor(name, dtype=np.dtype(dtype).name, shape=(None,) * len(shape)) for name in "pgmv"]
    f = pytensor.function(tensors, dense_adam(*tensors, *scalars), mode=MODES[mode])
    want = adam_step_formulas(p, g, m, v, *scalars)
    before = [x.copy() for x in (p, m, v)]
    got = f(p, g, m, v)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    for got_x, want_x in zip(got, want, strict=True):
        assert got_x.dtype == dtype
        np.testing.assert_allclose(got_x, want_x, rtol=rtol, atol=rtol)
    for x, x0 in zip((p, m, v), before, strict=True):  # not in place: the inputs are untouched
        np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("mode", ["numba", "python"])
def test_dense_adam_inplace_writes_the_storage(mode):
    rng = np.random.default_rng(10)
    p, g, m = (rng.standard_normal(8) for _ in range(3))
    v = rng.random(8) + 0.01
    want = adam_step_formulas(p, g, m, v, *adam_scalars(np.float64))
    tensors = [pt.dvector(name) for name in "pgmv"]
    outs = dense_adam(*tensors, *adam_scalars(np.float64))
    f = pytensor.function([pytensor.In(x, mutable=True) for x in tensors], outs, mode=MODES[mode])
    assert [node.op for node in f.maker.fgraph.apply_nodes] == [DenseAdam(inplace=True)]
    got = f(p, g, m, v)
    for x, got_x, want_x in zip((p, m, v), got, want, strict=True):
        np.testing.assert_allclose(x, want_x, rtol=1e-14)
        np.testing.assert_allclose(got_x, want_x, rtol=1e-14)


@pytest.mark.parametrize("mode", ["numba", "python"])
def test_dense_adam_shape_mismatch_raises(mode):
    tensors = [pt.dvector(name) for name in "pgmv"]
    f = pytensor.function(tensors, dense_adam(*tensors, *adam_scalars(np.float64)), mode=MODES[mode])
    with pytest.raises(ValueError, match="one shape"):
        f(np.zeros(3), np.zeros(4), np.zeros(3), np.zeros(3))


def test_dense_adam_rejects_other_ranks():
    with pytest.raises(TypeError, match="vector or a matrix"):
        dense_adam(pt.tensor3("p"), pt.tensor3("g"), pt.tensor3("m"), pt.tensor3("v"), *adam_scalars(np.float64))


def test_dense_adam_verify_grad():
    rng = np.random.default_rng(11)
    p, g, m = (rng.standard_normal((3, 4)) for _ in range(3))
    v = rng.random((3, 4)) + 0.1
    scalars = adam_scalars(np.float64)

    def step(p, g, m, v, step_size, bc2):
        p_new, m_new, v_new = dense_adam(p, g, m, v, step_size, bc2, *scalars[2:])
        return p_new + 2 * m_new + 3 * v_new

    verify_grad(step, [p, g, m, v, np.float64(scalars[0]), np.float64(scalars[1])],
                rng=np.random.default_rng(12), mode=PY_MODE, eps=1e-7)
