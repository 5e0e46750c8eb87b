"""Update rules against plain NumPy versions of the torch.optim formulas."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from symmol.nn.updates import adam, get_optimizer, momentum, sgd


def _run(rule, steps=25, **kwargs):
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(4, 3))
    target = rng.normal(size=(4, 3))
    w = pytensor.shared(w0.copy(), name="w")
    loss = pt.sum(pt.sqr(w - target) * pt.arange(1, 4))
    g = pytensor.gradient.grad(loss, w)
    step = pytensor.function([], loss, updates=rule([g], [w], **kwargs))
    for _ in range(steps):
        step()
    return w0, target, w.get_value()


def _grad(w, target):
    return 2 * (w - target) * np.arange(1, 4)


def test_sgd():
    w, target, got = _run(sgd, learning_rate=0.05)
    for _ in range(25):
        w = w - 0.05 * _grad(w, target)
    assert np.allclose(got, w, atol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum(nesterov):
    w, target, got = _run(momentum, learning_rate=0.02, momentum=0.9, nesterov=nesterov)
    v = np.zeros_like(w)
    for _ in range(25):
        g = _grad(w, target)
        v = 0.9 * v + g
        w = w - 0.02 * ((g + 0.9 * v) if nesterov else v)
    assert np.allclose(got, w, atol=1e-12)


def test_adam():
    w, target, got = _run(adam, learning_rate=0.1)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, 26):
        g = _grad(w, target)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - 0.1 / (1 - 0.9**t) * m / (np.sqrt(v) / np.sqrt(1 - 0.999**t) + 1e-8)
    assert np.allclose(got, w, atol=1e-12)


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'"):
        get_optimizer("adamw")
