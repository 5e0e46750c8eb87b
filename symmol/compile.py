"""Compile symbolic networks into a training step and a predict function, per backend.

Backends map to PyTensor linkers:

========  ==========================================================================
``numba``  PyTensor's Numba linker (default): the whole graph becomes one LLVM function.
``c``      PyTensor's C VM (``CVM``): C thunks per node, compiled with the system compiler.
========  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import get_mode

from symmol.nn.layers import (
    FingerprintInputLayer,
    Layer,
    get_all_layers,
    get_all_params,
    get_output,
    get_rng_updates,
)
from symmol.nn.objectives import l2_penalty

BACKENDS = {"numba": "NUMBA", "c": "CVM"}


def get_backend_mode(backend: str):
    """PyTensor compilation mode for a backend name; ``ValueError`` for unknown names."""
    try:
        return get_mode(BACKENDS[backend])
    except KeyError:
        raise ValueError(f"unknown backend {backend!r}; choose from {sorted(BACKENDS)}") from None


def _input_vars(network: Layer) -> list:
    first = get_all_layers(network)[0]
    if not isinstance(first, FingerprintInputLayer):
        raise TypeError("the network must start with a FingerprintInputLayer")
    return list(first.input_var)


def compile_predict(network: Layer, backend: str = "numba",
                    output_transform: Callable | None = None) -> Callable[..., np.ndarray]:
    """Compile ``(indptr, indices, values) → outputs`` with dropout off.

    Parameters
    ----------
    network
        Output layer of a network starting with a :class:`FingerprintInputLayer`.
    backend
        ``"numba"`` or ``"c"``.
    output_transform
        Optional symbolic map applied to the network output (e.g. ``pt.sigmoid``).

    Returns
    -------
    Callable taking ``indptr`` (n+1,) int64, ``indices`` (nnz,) int32, ``values`` (nnz,)
    float32 and returning an ``(n, n_outputs)`` float32 array.
    """
    output = get_output(network, deterministic=True)
    if output_transform is not None:
        output = output_transform(output)
    return pytensor.function(_input_vars(network), output, mode=get_backend_mode(backend),
                             name="predict")


def compile_train_step(network: Layer, loss_fn: Callable, optimizer: Callable, learning_rate,
                       backend: str = "numba", weight_decay: float = 0.0,
                       **optimizer_kwargs) -> Callable[..., np.ndarray]:
    """Compile one optimisation step ``(indptr, indices, values, targets) → loss``.

    The step computes the training loss (dropout on), its gradient with respect to every
    ``trainable`` parameter (``pytensor.gradient.grad``), and applies ``optimizer``'s update
    dict in place.

    Parameters
    ----------
    loss_fn
        ``loss_fn(outputs, targets) → scalar``, e.g.
        :func:`~symmol.nn.objectives.masked_binary_crossentropy_from_logits`.
    optimizer
        An update rule from :mod:`symmol.nn.updates`.
    learning_rate
        Float or shared scalar.
    weight_decay
        L2 coefficient λ on ``regularizable`` parameters: adds ``λ/2 · Σ w²`` to the loss.
    """
    targets = pt.matrix("targets", dtype="float32")
    output = get_output(network, deterministic=False)
    loss = loss_fn(output, targets)
    objective = loss
    if weight_decay:
        penalty = l2_penalty(get_all_params(network, regularizable=True))
        objective = loss + np.float32(weight_decay / 2) * penalty
    params = get_all_params(network, trainable=True)
    gradients = pytensor.gradient.grad(objective, params)
    updates = optimizer(gradients, params, learning_rate, **optimizer_kwargs)
    updates.update(get_rng_updates(network))
    return pytensor.function([*_input_vars(network), targets], loss, updates=updates,
                             mode=get_backend_mode(backend), name="train_step")
