import numpy as np
import pytensor
import pytensor.tensor as pt

from symmol.nn.objectives import masked_binary_crossentropy_from_logits, masked_squared_error


def _reference_bce(z, y):
    mask = ~np.isnan(y)
    p = 1 / (1 + np.exp(-z))
    terms = -(np.where(mask, y, 0) * np.log(p) + (1 - np.where(mask, y, 0)) * np.log(1 - p))
    return (terms * mask).sum() / max(mask.sum(), 1)


def test_masked_bce_equals_reference_and_ignores_nan_labels():
    z, y = pt.matrix("z"), pt.matrix("y")
    loss = masked_binary_crossentropy_from_logits(z, y)
    grad = pytensor.gradient.grad(loss, z)
    f = pytensor.function([z, y], [loss, grad])
    rng = np.random.default_rng(0)
    zv = rng.normal(size=(6, 3)) * 3
    yv = rng.integers(0, 2, size=(6, 3)).astype(float)
    yv[0, 1] = yv[4, 2] = np.nan
    value, g = f(zv, yv)
    assert np.isclose(value, _reference_bce(zv, yv), rtol=1e-12)
    assert g[0, 1] == 0.0 and g[4, 2] == 0.0
    # gradient of observed entries: (sigmoid(z) - y) / n_observed
    expected = (1 / (1 + np.exp(-zv)) - np.nan_to_num(yv)) / 16
    mask = ~np.isnan(yv)
    assert np.allclose(g[mask], expected[mask], rtol=1e-10)


def test_bce_is_stable_for_large_logits():
    z, y = pt.matrix("z"), pt.matrix("y")
    f = pytensor.function([z, y], masked_binary_crossentropy_from_logits(z, y))
    assert np.isclose(f(np.array([[800.0, -800.0]]), np.array([[0.0, 1.0]])), 800.0)


def test_masked_mse():
    p, y = pt.matrix("p"), pt.matrix("y")
    f = pytensor.function([p, y], masked_squared_error(p, y))
    assert np.isclose(f(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, np.nan], [3.0, 2.0]])), 5 / 3)
