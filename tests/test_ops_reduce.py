"""Matrix sums (symmol.ops.reduce) against a plain loop, across backends, and the Numba-only rewrite."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode, get_mode
from pytensor.gradient import verify_grad
from pytensor.tensor.elemwise import CAReduce

from symmol.nn.objectives import masked_binary_crossentropy_from_logits
from symmol.ops.reduce import MatrixSum

PY = Mode(linker="py", optimizer="fast_run")
NUMBA = get_mode("NUMBA")


def reference_sum(x: np.ndarray, axis: int | None) -> np.ndarray:
    """Plain float64 loops, row by row."""
    n, d = x.shape
    if axis is None:
        total = 0.0
        for i in range(n):
            for j in range(d):
                total += float(x[i, j])
        return np.asarray(total)
    out = np.zeros(d if axis == 0 else n)
    for i in range(n):
        for j in range(d):
            out[j if axis == 0 else i] += float(x[i, j])
    return out


def layouts(dtype) -> dict[str, np.ndarray]:
    base = np.random.default_rng(0).standard_normal((7, 12)).astype(dtype)
    return {"C": base, "F": np.asfortranarray(base), "transposed": base.T, "strided": base[::2, 1::3],
            "empty rows": base[:0], "one row": base[:1]}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_matches_reference_on_every_layout_and_backend(dtype, axis):
    x = pt.matrix("x", dtype=np.dtype(dtype).name)
    out = MatrixSum(axis)(x)
    # the C linker has no C code for the Op (the rewrite never puts it in a C graph) and runs perform
    functions = {"perform": pytensor.function([x], out, mode=PY), "numba": pytensor.function([x], out, mode=NUMBA),
                 "c": pytensor.function([x], out, mode=get_mode("CVM"))}
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for layout, value in layouts(dtype).items():
        expected = reference_sum(value, axis)
        for name, f in functions.items():
            got = f(value)
            assert got.dtype == dtype and got.shape == expected.shape, (layout, name)
            np.testing.assert_allclose(got, expected, rtol=tol, atol=tol, err_msg=f"{layout} {name}")


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_verify_grad(axis):
    rng = np.random.default_rng(1)
    verify_grad(lambda x: MatrixSum(axis)(x), [rng.standard_normal((5, 4))], rng=rng)


def test_bad_arguments():
    with pytest.raises(ValueError, match="axis must be None, 0 or 1"):
        MatrixSum(2)
    with pytest.raises(TypeError):
        MatrixSum()(pt.vector("v"))


def _op_types(f) -> list[type]:
    return [type(node.op) for node in f.maker.fgraph.apply_nodes]


def _n_careduce(f) -> int:
    return sum(isinstance(node.op, CAReduce) for node in f.maker.fgraph.apply_nodes)


def test_rewrite_replaces_sums_under_numba_only():
    """The loss and bias-gradient sums of a training graph become MatrixSum with Numba, stay Sum with C."""
    logits, targets, b = pt.matrix("logits"), pt.matrix("targets"), pt.vector("b")
    loss = masked_binary_crossentropy_from_logits(logits + b, targets)
    outputs = [loss, pytensor.grad(loss, b)]
    rng = np.random.default_rng(2)
    z = rng.standard_normal((9, 3)).astype(np.float32)
    y = (rng.random((9, 3)) < 0.5).astype(np.float32)
    y[0, 1] = y[4, 2] = np.nan
    bias = rng.standard_normal(3).astype(np.float32)

    numba_f = pytensor.function([logits, targets, b], outputs, mode=NUMBA)
    ops = _op_types(numba_f)
    assert MatrixSum in ops and _n_careduce(numba_f) == 0
    axes = sorted(str(node.op.axis) for node in numba_f.maker.fgraph.apply_nodes if isinstance(node.op, MatrixSum))
    assert axes == ["0", "None", "None"]

    c_f = pytensor.function([logits, targets, b], outputs, mode=get_mode("CVM"))
    assert MatrixSum not in _op_types(c_f) and _n_careduce(c_f) == 3
    for got, want in zip(numba_f(z, y, bias), c_f(z, y, bias), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)

    # NumPy reference of the masked mean and its bias gradient
    mask = ~np.isnan(y)
    zz = z + bias
    per_label = np.logaddexp(0, zz) - np.nan_to_num(y) * zz
    expected_loss = (per_label * mask).sum() / mask.sum()
    expected_grad = ((1 / (1 + np.exp(-zz)) - np.nan_to_num(y)) * mask).sum(axis=0) / mask.sum()
    loss_value, grad_value = numba_f(z, y, bias)
    np.testing.assert_allclose(loss_value, expected_loss, rtol=1e-6)
    np.testing.assert_allclose(grad_value, expected_grad, rtol=1e-5, atol=1e-7)


def test_rewrite_leaves_other_reductions_alone():
    x3, xi = pt.tensor3("x3"), pt.imatrix("xi")
    f = pytensor.function([x3, xi], [x3.sum(), xi.sum(axis=0)], mode=NUMBA)
    assert MatrixSum not in _op_types(f) and _n_careduce(f) == 2
    m = pt.matrix("m")
    g = pytensor.function([m], pt.max(m, axis=0), mode=NUMBA)
    assert MatrixSum not in _op_types(g) and _n_careduce(g) == 1
