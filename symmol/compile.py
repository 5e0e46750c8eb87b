"""Compile symbolic networks into a training step and a predict function, per backend.

Backends map to PyTensor linkers:

========  ==========================================================================
``numba``  PyTensor's Numba linker (default): the whole graph becomes one LLVM function.
``c``      PyTensor's C VM (``CVM``): C thunks per node, compiled with the system compiler.
========  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def _members(networks: Layer | Sequence[Layer]) -> list[Layer]:
    return [networks] if isinstance(networks, Layer) else list(networks)


def _input_vars(networks: list[Layer]) -> list:
    firsts = {id(get_all_layers(n)[0]): get_all_layers(n)[0] for n in networks}
    if len(firsts) != 1:
        raise ValueError("ensemble members must share one FingerprintInputLayer")
    (first,) = firsts.values()
    if not isinstance(first, FingerprintInputLayer):
        raise TypeError("the network must start with a FingerprintInputLayer")
    return list(first.input_var)


def _mean(outputs: list):
    return outputs[0] if len(outputs) == 1 else pt.add(*outputs) / np.float32(len(outputs))


def compile_predict(networks: Layer | Sequence[Layer], backend: str = "numba",
                    output_transform: Callable | None = None) -> Callable[..., np.ndarray]:
    """Compile ``(indptr, indices, values) → outputs`` with dropout off.

    Parameters
    ----------
    networks
        Output layer of a network starting with a :class:`FingerprintInputLayer`, or the
        output layers of ensemble members sharing that input layer; members' (transformed)
        outputs are averaged inside the compiled graph.
    backend
        ``"numba"`` or ``"c"``.
    output_transform
        Optional symbolic map applied to the network output (e.g. ``pt.sigmoid``).

    Returns
    -------
    Callable taking ``indptr`` (n+1,) int64, ``indices`` (nnz,) int32, ``values`` (nnz,)
    float32 and returning an ``(n, n_outputs)`` float32 array.
    """
    members = _members(networks)
    outputs = [get_output(member, deterministic=True) for member in members]
    if output_transform is not None:
        outputs = [output_transform(output) for output in outputs]
    return pytensor.function(_input_vars(members), _mean(outputs), mode=get_backend_mode(backend),
                             name="predict")


def compile_train_step(networks: Layer | Sequence[Layer], loss_fn: Callable, optimizer: Callable, learning_rate,
                       backend: str = "numba", weight_decay: float = 0.0,
                       **optimizer_kwargs) -> Callable[..., np.ndarray]:
    """Compile one optimisation step ``(indptr, indices, values, targets) → loss``.

    The step computes the training loss (dropout on), its gradient with respect to every
    ``trainable`` parameter (``pytensor.gradient.grad``), and applies ``optimizer``'s update
    dict in place. For an ensemble (a list of output layers sharing one input layer) the
    objective is the sum of the members' losses, so one call steps every member on the same
    minibatch; the returned loss is the members' mean.

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
    members = _members(networks)
    losses = [loss_fn(get_output(member, deterministic=False), targets) for member in members]
    objective = pt.add(*losses) if len(losses) > 1 else losses[0]
    params = [p for member in members for p in get_all_params(member, trainable=True)]
    if weight_decay:
        decayed = [p for member in members for p in get_all_params(member, regularizable=True)]
        objective = objective + np.float32(weight_decay / 2) * l2_penalty(decayed)
    gradients = pytensor.gradient.grad(objective, params)
    updates = optimizer(gradients, params, learning_rate, **optimizer_kwargs)
    for member in members:
        updates.update(get_rng_updates(member))
    return pytensor.function([*_input_vars(members), targets], _mean(losses), updates=updates,
                             mode=get_backend_mode(backend), name="train_step")
