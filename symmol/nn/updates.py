"""Optimizers written as update rules: each returns an ``OrderedDict`` {shared: new value}.

Pass the dict to ``pytensor.function(inputs, loss, updates=...)``; the compiled function
then performs one optimisation step per call. Hyperparameters may be Python numbers or
shared scalars (so a schedule can change them without recompiling). The formulas follow
``torch.optim`` (SGD with ``dampening=0``, Adam with ``eps`` added after bias correction) so
that results can be compared with PyTorch step for step.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.sharedvar import TensorSharedVariable


def _zeros_like(param: TensorSharedVariable, name: str) -> TensorSharedVariable:
    value = param.get_value(borrow=True)
    return pytensor.shared(np.zeros(value.shape, dtype=value.dtype), name=f"{param.name}.{name}")


def _cast(value, like: TensorSharedVariable):
    """A hyperparameter in the parameter's dtype (keeps float32 graphs float32)."""
    if isinstance(value, int | float):
        return np.asarray(value, dtype=like.dtype)
    return pt.cast(value, like.dtype)


def sgd(gradients: Sequence, params: Sequence[TensorSharedVariable], learning_rate) -> OrderedDict:
    """Plain stochastic gradient descent: ``p ← p − lr·g``."""
    updates = OrderedDict()
    for param, g in zip(params, gradients, strict=True):
        updates[param] = param - _cast(learning_rate, param) * g
    return updates


def momentum(gradients: Sequence, params: Sequence[TensorSharedVariable], learning_rate,
             momentum: float = 0.9, nesterov: bool = False) -> OrderedDict:
    """SGD with (optionally Nesterov) momentum, as ``torch.optim.SGD``.

    ``v ← μ·v + g``; ``p ← p − lr·v`` (Nesterov: ``p ← p − lr·(g + μ·v)``).
    Sutskever et al., ICML 2013.
    """
    updates = OrderedDict()
    for param, g in zip(params, gradients, strict=True):
        velocity = _zeros_like(param, "velocity")
        mu = _cast(momentum, param)
        new_velocity = mu * velocity + g
        step = g + mu * new_velocity if nesterov else new_velocity
        updates[velocity] = new_velocity
        updates[param] = param - _cast(learning_rate, param) * step
    return updates


def adam(gradients: Sequence, params: Sequence[TensorSharedVariable], learning_rate=1e-3,
         beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8) -> OrderedDict:
    """Adam (Kingma & Ba, ICLR 2015, arXiv:1412.6980), in ``torch.optim.Adam``'s form.

    ``m ← β1 m + (1−β1) g``; ``v ← β2 v + (1−β2) g²``;
    ``p ← p − lr / (1−β1ᵗ) · m / (sqrt(v) / sqrt(1−β2ᵗ) + ε)``.
    """
    updates = OrderedDict()
    step_count = pytensor.shared(np.asarray(0.0, dtype=params[0].dtype), name="adam.t")
    t = step_count + 1
    updates[step_count] = t
    for param, g in zip(params, gradients, strict=True):
        b1, b2, eps = (_cast(x, param) for x in (beta1, beta2, epsilon))
        one = np.asarray(1.0, dtype=param.dtype)
        m, v = _zeros_like(param, "m"), _zeros_like(param, "v")
        m_new = b1 * m + (one - b1) * g
        v_new = b2 * v + (one - b2) * pt.sqr(g)
        step_size = _cast(learning_rate, param) / (one - b1 ** t)
        denom = pt.sqrt(v_new) / pt.sqrt(one - b2 ** t) + eps
        updates[m] = m_new
        updates[v] = v_new
        updates[param] = param - step_size * m_new / denom
    return updates


OPTIMIZERS = {"sgd": sgd, "momentum": momentum, "adam": adam}


def get_optimizer(name: str):
    """Look an update rule up by name; raises ``ValueError`` listing the known ones."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose from {sorted(OPTIMIZERS)}") from None
