"""Row gathers (symmol.ops.segment) against NumPy fancy indexing and scatter-add."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode, get_mode
from pytensor.gradient import verify_grad

from symmol.kernels.segment import gather_rows as gather_kernel
from symmol.ops.segment import gather_rows, gather_rows_grad_rows

PY = Mode(linker="py", optimizer="fast_run")
MODES = {"perform": PY, "numba": get_mode("NUMBA"), "c": get_mode("CVM")}
IDX = np.array([3, 0, 3, 7, 1, 3], dtype=np.int32)  # repeats, unsorted, rows 2, 4-6 unused


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_matches_numpy(dtype):
    W = np.random.default_rng(0).standard_normal((8, 5)).astype(dtype)
    np.testing.assert_array_equal(gather_kernel(W, IDX), W[IDX])
    assert gather_kernel(W, IDX[:0]).shape == (0, 5)
    with pytest.raises(ValueError, match="out of range"):
        gather_kernel(W, np.array([8]))
    with pytest.raises(ValueError, match="out of range"):
        gather_kernel(W, np.array([-1]))


@pytest.fixture(scope="module")
def compiled():
    W, idx, C = pt.matrix("W"), pt.ivector("idx"), pt.matrix("C")
    out = gather_rows(W, idx)
    grad = pytensor.grad((out * C).sum(), W)
    rows, grad_rows = gather_rows_grad_rows(C, idx, W.shape[0])
    return {name: pytensor.function([W, idx, C], [out, grad, rows, grad_rows], mode=mode)
            for name, mode in MODES.items()}


def test_forward_and_scatter_add_gradient_across_backends(compiled):
    rng = np.random.default_rng(1)
    W = rng.standard_normal((8, 5))
    C = rng.standard_normal((IDX.size, 5))
    dense = np.zeros_like(W)
    np.add.at(dense, IDX, C)
    for name, f in compiled.items():
        out, grad, rows, grad_rows = f(W, IDX, C)
        np.testing.assert_array_equal(out, W[IDX], err_msg=name)
        np.testing.assert_allclose(grad, dense, rtol=1e-14, atol=1e-14, err_msg=name)
        np.testing.assert_array_equal(rows, [0, 1, 3, 7], err_msg=name)
        np.testing.assert_allclose(grad_rows, dense[[0, 1, 3, 7]], rtol=1e-14, err_msg=name)


@pytest.mark.parametrize("mode", ["perform", "numba"])
def test_bad_index_raises(compiled, mode):
    with pytest.raises(ValueError, match="out of range"):
        compiled[mode](np.ones((8, 5)), np.array([8], dtype=np.int32), np.ones((1, 5)))


def test_infer_shape_and_types():
    W, idx = pt.matrix("W", shape=(None, 3)), pt.ivector("idx", shape=(4,))
    out = gather_rows(W, idx)
    assert out.type.shape == (4, 3)
    j = pt.ivector("j")
    g = pytensor.function([W, j], gather_rows(W, j).shape, mode=PY)
    assert not any(type(n.op).__name__ == "GatherRows" for n in g.maker.fgraph.toposort())
    np.testing.assert_array_equal(g(np.zeros((9, 3)), np.array([1, 2], dtype=np.int32)), [2, 3])
    with pytest.raises(TypeError, match="integer"):
        gather_rows(W, pt.vector("x"))


def test_verify_grad_first_and_second_order():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((8, 5))
    verify_grad(lambda w: gather_rows(w, IDX), [W], rng=rng, mode=PY)
    verify_grad(lambda w: pytensor.grad((gather_rows(w, IDX) ** 3).sum(), w), [W], rng=rng, mode=PY)
