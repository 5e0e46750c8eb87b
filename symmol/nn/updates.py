"""Optimizers written as update rules: each returns an ``OrderedDict`` {shared: new value}.

Each rule takes, as Lasagne's ``loss_or_grads``, either a scalar loss (differentiated with
respect to ``params``) or one gradient expression per parameter. Pass the returned dict to
``pytensor.function(inputs, loss, updates=...)``; the compiled function then performs one
optimisation step per call. Hyperparameters may be Python numbers or
shared scalars: a learning rate held in a shared variable (see :mod:`symmol.nn.schedules`)
changes between calls without recompiling. The formulas are ``torch.optim``'s, step for
step (``tests/reference/make_torch_optim_reference.py`` records PyTorch's trajectories and
``tests/test_updates.py`` checks every rule against them to 1e-6 over 100 steps):

=============  =====================  ===============================================
rule           torch.optim            state per parameter
=============  =====================  ===============================================
``sgd``        ``SGD``                none
``momentum``   ``SGD(momentum, nesterov)``  velocity
``adam``       ``Adam``               m, v (+ one shared step counter)
``adamw``      ``AdamW``              m, v (+ one shared step counter)
``rmsprop``    ``RMSprop``            square average (+ gradient average if centered,
                                      + momentum buffer if momentum > 0)
``adagrad``    ``Adagrad``            sum of squared gradients (+ step counter)
=============  =====================  ===============================================

``weight_decay`` is ``torch.optim``'s: coupled L2 (``g ← g + λ·p``) for every rule except
``adamw``, where it is decoupled (``p ← p·(1 − lr·λ)``, Loshchilov & Hutter, ICLR 2019,
arXiv:1711.05101). ``decayed`` restricts it to a subset of the parameters, typically
``get_all_params(net, regularizable=True)`` (weights, not biases); ``None`` decays all.
Global-norm gradient clipping is :func:`total_norm_constraint`, applied to the gradients
before the rule.

``adam`` / ``adamw`` mark each parameter's step with :func:`symmol.ops.adam.adam_step`. The
Numba backend runs the step of a fingerprint weight matrix (a parameter whose gradient is
``FingerprintDotGradW``'s ``X.T @ G``) as one fused, in-place pass that never stores the dense
gradient (:class:`symmol.ops.adam.FingerprintAdam`), and that of any other vector or matrix
as one in-place loop (:class:`symmol.ops.adam.DenseAdam`), the same arithmetic; the other
backends compile the plain formulas.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Sequence
from typing import cast

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from pytensor.tensor.sharedvar import TensorSharedVariable

from symmol.ops.adam import adam_step


def _zeros_like(param: TensorSharedVariable, name: str, fill: float = 0.0) -> TensorSharedVariable:
    value = param.get_value(borrow=True)
    return pytensor.shared(np.full(value.shape, fill, dtype=value.dtype), name=f"{param.name}.{name}")


def _cast(value, like: TensorSharedVariable):
    """Cast a hyperparameter to the parameter's dtype (keeps float32 graphs float32)."""
    if isinstance(value, int | float | np.number):
        return np.asarray(value, dtype=like.dtype)
    return pt.cast(value, like.dtype)


def _step_counter(params: Sequence[TensorSharedVariable], name: str) -> TensorSharedVariable:
    """Create a shared float step counter ``t`` (0 before the first step) in the parameters' dtype."""
    return pytensor.shared(np.asarray(0.0, dtype=params[0].dtype), name=name)


def _coupled_decay(g, param: TensorSharedVariable, weight_decay, decayed: Collection | None):
    """``g + λ·p`` (torch.optim's ``weight_decay``) when ``param`` is decayed, else ``g``."""
    if not weight_decay or (decayed is not None and param not in decayed):
        return g
    return g + _cast(weight_decay, param) * param


def _gradients(loss_or_grads, params: Sequence) -> list:
    """Return one gradient expression per parameter from Lasagne's ``loss_or_grads``.

    ``loss_or_grads`` is a scalar loss (differentiated here with ``pytensor.gradient.grad``) or one
    gradient expression per parameter.
    """
    if not params:
        raise ValueError("no parameters to update")
    if isinstance(loss_or_grads, Variable):
        if loss_or_grads.type.ndim != 0:
            raise ValueError(f"the loss must be a scalar, got ndim {loss_or_grads.type.ndim}; "
                             "pass a scalar loss or a list of gradients")
        return cast(list, pytensor.gradient.grad(loss_or_grads, list(params)))  # one per parameter
    gradients = list(loss_or_grads)
    if len(gradients) != len(params):
        raise ValueError(f"{len(gradients)} gradients for {len(params)} parameters")
    return gradients


def sgd(gradients: Variable | Sequence, params: Sequence[TensorSharedVariable], learning_rate,
        weight_decay: float = 0.0, decayed: Collection | None = None) -> OrderedDict:
    """Plain stochastic gradient descent: ``p ← p − lr·(g + λ·p)`` (``torch.optim.SGD``).

    Parameters
    ----------
    gradients
        Symbolic gradients, one per parameter, same shapes.
    params
        Shared parameters to update.
    learning_rate
        Float or shared scalar.
    weight_decay, decayed
        Coupled L2 coefficient λ and the parameters it applies to (``None``: all).
    """
    gradients = _gradients(gradients, params)
    updates = OrderedDict()
    for param, g in zip(params, gradients, strict=True):
        g = _coupled_decay(g, param, weight_decay, decayed)
        updates[param] = param - _cast(learning_rate, param) * g
    return updates


def momentum(gradients: Variable | Sequence, params: Sequence[TensorSharedVariable], learning_rate,
             momentum: float = 0.9, nesterov: bool = False, weight_decay: float = 0.0,
             decayed: Collection | None = None) -> OrderedDict:
    """SGD with (optionally Nesterov) momentum, as ``torch.optim.SGD`` (``dampening=0``).

    ``g ← g + λ·p``; ``v ← μ·v + g``; ``p ← p − lr·v`` (Nesterov: ``p ← p − lr·(g + μ·v)``).
    Sutskever et al., ICML 2013. torch starts the buffer at ``g`` on the first step, which is
    ``μ·0 + g``: the same thing.
    """
    gradients = _gradients(gradients, params)
    updates = OrderedDict()
    for param, g in zip(params, gradients, strict=True):
        g = _coupled_decay(g, param, weight_decay, decayed)
        velocity = _zeros_like(param, "velocity")
        mu = _cast(momentum, param)
        new_velocity = mu * velocity + g
        step = g + mu * new_velocity if nesterov else new_velocity
        updates[velocity] = new_velocity
        updates[param] = param - _cast(learning_rate, param) * step
    return updates


def _adam_updates(gradients, params, learning_rate, beta1, beta2, epsilon, weight_decay, decayed,
                  decoupled: bool, name: str) -> OrderedDict:
    gradients = _gradients(gradients, params)
    updates = OrderedDict()
    step_count = _step_counter(params, f"{name}.t")
    t = step_count + 1
    updates[step_count] = t
    for param, g in zip(params, gradients, strict=True):
        b1, b2, eps = (_cast(x, param) for x in (beta1, beta2, epsilon))
        lr = _cast(learning_rate, param)
        one = np.asarray(1.0, dtype=param.dtype)
        start = param
        if decoupled:
            if weight_decay and (decayed is None or param in decayed):
                start = param * (one - lr * _cast(weight_decay, param))
        else:
            g = _coupled_decay(g, param, weight_decay, decayed)
        m, v = _zeros_like(param, "m"), _zeros_like(param, "v")
        step_size = lr / (one - b1 ** t)
        bias_correction2_sqrt = pt.sqrt(one - b2 ** t)
        # Marked for the Numba backend's fused, in-place steps (symmol.ops.adam); other
        # backends inline the marker back into adam_step_formulas.
        p_new, m_new, v_new = adam_step(start, g, m, v, step_size, bias_correction2_sqrt, b1, b2, eps)
        updates[m] = m_new
        updates[v] = v_new
        updates[param] = p_new
    return updates


def adam(gradients: Variable | Sequence, params: Sequence[TensorSharedVariable], learning_rate=1e-3,
         beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8, weight_decay: float = 0.0,
         decayed: Collection | None = None) -> OrderedDict:
    """Adam (Kingma & Ba, ICLR 2015, arXiv:1412.6980), in ``torch.optim.Adam``'s form.

    ``g ← g + λ·p``; ``m ← β1 m + (1−β1) g``; ``v ← β2 v + (1−β2) g²``;
    ``p ← p − lr / (1−β1ᵗ) · m / (sqrt(v) / sqrt(1−β2ᵗ) + ε)``.
    """
    return _adam_updates(gradients, params, learning_rate, beta1, beta2, epsilon, weight_decay, decayed,
                         decoupled=False, name="adam")


def adamw(gradients: Variable | Sequence, params: Sequence[TensorSharedVariable], learning_rate=1e-3,
          beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8, weight_decay: float = 1e-2,
          decayed: Collection | None = None) -> OrderedDict:
    """AdamW: Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    ``p ← p·(1 − lr·λ)`` for decayed parameters, then the Adam step of :func:`adam` (without
    L2 in the gradient). Loshchilov & Hutter, ICLR 2019, arXiv:1711.05101.
    """
    return _adam_updates(gradients, params, learning_rate, beta1, beta2, epsilon, weight_decay, decayed,
                         decoupled=True, name="adamw")


def rmsprop(gradients: Variable | Sequence, params: Sequence[TensorSharedVariable], learning_rate=1e-2,
            alpha: float = 0.99, epsilon: float = 1e-8, momentum: float = 0.0, centered: bool = False,
            weight_decay: float = 0.0, decayed: Collection | None = None) -> OrderedDict:
    """RMSProp (Tieleman & Hinton, 2012, Coursera lecture 6.5), as ``torch.optim.RMSprop``.

    ``s ← α s + (1−α) g²``; centered: ``ḡ ← α ḡ + (1−α) g`` and ``d = sqrt(s − ḡ²) + ε``,
    otherwise ``d = sqrt(s) + ε``; with momentum ``b ← μ b + g/d``, ``p ← p − lr·b``,
    otherwise ``p ← p − lr·g/d``.
    """
    gradients = _gradients(gradients, params)
    updates = OrderedDict()
    for param, g in zip(params, gradients, strict=True):
        g = _coupled_decay(g, param, weight_decay, decayed)
        a, eps, lr = _cast(alpha, param), _cast(epsilon, param), _cast(learning_rate, param)
        one = np.asarray(1.0, dtype=param.dtype)
        square_avg = _zeros_like(param, "square_avg")
        s_new = a * square_avg + (one - a) * pt.sqr(g)
        updates[square_avg] = s_new
        if centered:
            grad_avg = _zeros_like(param, "grad_avg")
            ga_new = a * grad_avg + (one - a) * g
            updates[grad_avg] = ga_new
            denom = pt.sqrt(s_new - pt.sqr(ga_new)) + eps
        else:
            denom = pt.sqrt(s_new) + eps
        if momentum:
            buffer = _zeros_like(param, "momentum_buffer")
            b_new = _cast(momentum, param) * buffer + g / denom
            updates[buffer] = b_new
            updates[param] = param - lr * b_new
        else:
            updates[param] = param - lr * g / denom
    return updates


def adagrad(gradients: Variable | Sequence, params: Sequence[TensorSharedVariable], learning_rate=1e-2,
            lr_decay: float = 0.0, epsilon: float = 1e-10, initial_accumulator_value: float = 0.0,
            weight_decay: float = 0.0, decayed: Collection | None = None) -> OrderedDict:
    """Adagrad (Duchi et al., JMLR 2011), as ``torch.optim.Adagrad``.

    ``lrₜ = lr / (1 + (t−1)·lr_decay)``; ``s ← s + g²``; ``p ← p − lrₜ · g / (sqrt(s) + ε)``.
    """
    gradients = _gradients(gradients, params)
    updates = OrderedDict()
    step_count = _step_counter(params, "adagrad.t")
    t = step_count + 1
    updates[step_count] = t
    for param, g in zip(params, gradients, strict=True):
        g = _coupled_decay(g, param, weight_decay, decayed)
        one = np.asarray(1.0, dtype=param.dtype)
        clr = _cast(learning_rate, param) / (one + (t - one) * _cast(lr_decay, param))
        accumulator = _zeros_like(param, "sum", fill=initial_accumulator_value)
        s_new = accumulator + pt.sqr(g)
        updates[accumulator] = s_new
        updates[param] = param - clr * g / (pt.sqrt(s_new) + _cast(epsilon, param))
    return updates


def total_norm_constraint(gradients: Sequence, max_norm: float, epsilon: float = 1e-6,
                          return_norm: bool = False):
    """Rescale gradients so that their global L2 norm is at most ``max_norm``.

    ``n = sqrt(Σ‖g‖²)``; every gradient is multiplied by ``min(1, max_norm / (n + ε))``, which
    is ``torch.nn.utils.clip_grad_norm_`` (norm_type 2) and Lasagne's
    ``total_norm_constraint``. Apply it to the gradients before the update rule.

    Parameters
    ----------
    gradients
        Symbolic gradients (any shapes, one float dtype).
    max_norm
        Largest allowed global norm, > 0.
    epsilon
        Added to the norm before dividing (torch uses 1e-6).
    return_norm
        Also return the symbolic norm before clipping.

    Returns
    -------
    list of clipped gradients, or ``(clipped, norm)`` with ``return_norm=True``.

    Raises
    ------
    ValueError
        ``max_norm`` not > 0 or no gradients.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    if not gradients:
        raise ValueError("no gradients to clip")
    dtype = gradients[0].dtype
    norm = pt.sqrt(pt.add(*[pt.sum(pt.sqr(g)) for g in gradients]) if len(gradients) > 1
                   else pt.sum(pt.sqr(gradients[0])))
    scale = pt.minimum(np.asarray(1.0, dtype=dtype), np.asarray(max_norm, dtype=dtype)
                       / (norm + np.asarray(epsilon, dtype=dtype)))
    clipped = [g * pt.cast(scale, g.dtype) for g in gradients]
    return (clipped, norm) if return_norm else clipped


OPTIMIZERS = {"sgd": sgd, "momentum": momentum, "adam": adam, "adamw": adamw, "rmsprop": rmsprop,
              "adagrad": adagrad}

#: Rules whose ``weight_decay`` is decoupled from the loss (applied by the rule, not as L2).
DECOUPLED_WEIGHT_DECAY = frozenset({adamw})


def get_optimizer(name: str):
    """Look an update rule up by name; raises ``ValueError`` listing the known ones."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose from {sorted(OPTIMIZERS)}") from None
