"""Segment reductions (symmol.kernels.segment, symmol.ops.segment) against plain-loop references."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode, get_mode
from pytensor.gradient import verify_grad

from symmol.kernels import segment as kernels
from symmol.ops.segment import SegmentMax, SegmentMean, SegmentSum, segment_max, segment_mean, segment_sum

PY = Mode(linker="py", optimizer="fast_run")
MODES = {"perform": PY, "numba": get_mode("NUMBA"), "c": get_mode("CVM")}


def naive_segments(x, ids, n_segments):
    """Plain loops: per-segment sum, mean, max (0 if empty) and lowest argmax (-1 if empty)."""
    d = x.shape[1]
    total = np.zeros((n_segments, d))
    count = np.zeros(n_segments)
    mx = np.zeros((n_segments, d))
    arg = -np.ones((n_segments, d), dtype=np.int64)
    for i in range(x.shape[0]):
        s = ids[i]
        count[s] += 1
        for j in range(d):
            total[s, j] += x[i, j]
            if arg[s, j] < 0 or x[i, j] > mx[s, j]:
                mx[s, j] = x[i, j]
                arg[s, j] = i
    mean = total / np.maximum(count, 1)[:, None]
    return total, mean, mx, arg


def batch(rng, dtype, sorted_ids=True, tie=True):
    """12 rows in 6 segments, segments 2 and 5 empty, a tie in segment 3 (unless ``tie=False``)."""
    ids = np.array([0, 0, 1, 3, 3, 3, 3, 4, 4, 4, 4, 4], dtype=np.int64)
    x = rng.standard_normal((ids.size, 4)).astype(dtype)
    x[5, 1] = x[3, 1] = x[3:7, 1].max() + 1.0  # tie in segment 3, column 1: rows 3 and 5
    if not tie:
        x[5, 1] += 0.5
    if not sorted_ids:
        perm = rng.permutation(ids.size)
        ids, x = ids[perm], x[perm]
    return x, ids, 6


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sorted_ids", [True, False])
def test_kernels_match_naive(dtype, sorted_ids):
    x, ids, n = batch(np.random.default_rng(1), dtype, sorted_ids)
    total, mean, mx, arg = naive_segments(x.astype(np.float64), ids, n)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(kernels.segment_sum(x, ids, n), total, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(kernels.segment_mean(x, ids, n), mean, rtol=rtol, atol=rtol)
    got_max, got_arg = kernels.segment_max(x, ids, n)
    np.testing.assert_array_equal(got_max, mx.astype(dtype))
    np.testing.assert_array_equal(got_arg, arg)
    g = np.random.default_rng(2).standard_normal((n, 4)).astype(dtype)
    dx = kernels.segment_max_grad(g, got_arg, x.shape[0])
    expected = np.zeros_like(x)
    for s in range(n):
        for j in range(4):
            if arg[s, j] >= 0:
                expected[arg[s, j], j] += g[s, j]
    np.testing.assert_array_equal(dx, expected)


def test_kernels_reject_bad_ids():
    x = np.ones((3, 2))
    with pytest.raises(ValueError, match="out of range"):
        kernels.segment_sum(x, np.array([0, 1, 5]), 3)
    with pytest.raises(ValueError, match="out of range"):
        kernels.segment_max(x, np.array([0, -1, 1]), 3)
    with pytest.raises(ValueError, match="one entry per row"):
        kernels.segment_sum(x, np.array([0, 1]), 3)


@pytest.fixture(scope="module")
def compiled():
    """One function per mode: the three reductions and the gradient of a cost through all of them."""
    x, ids, n = pt.matrix("x"), pt.lvector("ids"), pt.lscalar("n")
    outs = [segment_sum(x, ids, n), segment_mean(x, ids, n), segment_max(x, ids, n)]
    cost = (outs[0] ** 2).sum() + (outs[1] ** 3).sum() + (outs[2] * pt.arange(4)).sum()
    grad = pytensor.grad(cost, x)
    return {name: pytensor.function([x, ids, n], [*outs, grad], mode=mode) for name, mode in MODES.items()}


@pytest.mark.parametrize("sorted_ids", [True, False])
def test_ops_agree_across_backends(compiled, sorted_ids):
    x, ids, n = batch(np.random.default_rng(3), np.float64, sorted_ids)
    total, mean, mx, arg = naive_segments(x, ids, n)
    # analytic gradient of the cost in `compiled`
    counts = np.bincount(ids, minlength=n)
    expected_grad = 2 * total[ids] + 3 * mean[ids] ** 2 / np.maximum(counts, 1)[ids, None]
    for s in range(n):
        for j in range(4):
            if arg[s, j] >= 0:
                expected_grad[arg[s, j], j] += j
    results = {name: f(x, ids, n) for name, f in compiled.items()}
    for name, (got_sum, got_mean, got_max, got_grad) in results.items():
        np.testing.assert_allclose(got_sum, total, rtol=1e-13, atol=1e-13, err_msg=name)
        np.testing.assert_allclose(got_mean, mean, rtol=1e-13, atol=1e-13, err_msg=name)
        np.testing.assert_array_equal(got_max, mx, err_msg=name)
        np.testing.assert_allclose(got_grad, expected_grad, rtol=1e-12, atol=1e-12, err_msg=name)
    # C and Numba run the same loops in the same order: identical numbers
    for got_numba, got_c in zip(results["numba"], results["c"], strict=True):
        np.testing.assert_array_equal(got_numba, got_c)
    # the tie (rows 3 and 5 of segment 3, column 1) sends the gradient to the lowest row only
    if sorted_ids:
        assert results["numba"][3][3, 1] == pytest.approx(expected_grad[3, 1])
        assert expected_grad[5, 1] == pytest.approx(2 * total[3, 1] + 3 * mean[3, 1] ** 2 / 4)


@pytest.mark.parametrize("mode", ["perform", "numba", "c"])
def test_ops_report_bad_ids(compiled, mode):
    x = np.ones((3, 4))
    with pytest.raises(ValueError, match="out of range"):
        compiled[mode](x, np.array([0, 1, 6]), 6)


def test_static_shapes_and_infer_shape():
    x, ids = pt.matrix("x", shape=(None, 5)), pt.lvector("ids")
    out = segment_sum(x, ids, 7)
    assert out.type.shape == (7, 5)
    n = pt.lscalar("n")
    for op in (SegmentSum(), SegmentMean(), SegmentMax()):
        shape = op(x, ids, n)[0].shape if isinstance(op, SegmentMax) else op(x, ids, n).shape
        f = pytensor.function([x, ids, n], shape, mode=PY)
        # shape inference must not run the Op
        assert not any(isinstance(node.op, type(op)) for node in f.maker.fgraph.toposort())
        np.testing.assert_array_equal(f(np.zeros((2, 5)), np.array([0, 1]), 9), [9, 5])
    with pytest.raises(TypeError, match="integer"):
        segment_sum(x, pt.vector("f"), 3)
    with pytest.raises(ValueError, match="non-negative"):
        segment_sum(x, ids, -1)


@pytest.mark.parametrize("fn", [segment_sum, segment_mean, segment_max])
def test_verify_grad_first_order(fn):
    rng = np.random.default_rng(4)
    x, ids, n = batch(rng, np.float64, sorted_ids=False, tie=False)  # max is differentiable there
    verify_grad(lambda v: fn(v, ids, n), [x], rng=rng, mode=PY)


@pytest.mark.parametrize("fn", [segment_sum, segment_mean, segment_max])
def test_verify_grad_second_order(fn):
    """Gradient of a gradient: the pullbacks are differentiable Ops too."""
    rng = np.random.default_rng(5)
    x, ids, n = batch(rng, np.float64, tie=False)

    def grad_of(v):
        return pytensor.grad((fn(v, ids, n) ** 3).sum(), v)

    verify_grad(grad_of, [x], rng=rng, mode=PY)
