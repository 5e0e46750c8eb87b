"""Compile symbolic networks into a predict function and a training step, on any backend.

Both builders take the networks' output layers (one, or one per ensemble member sharing their
input layers) and the input layers in call order; a compiled function takes each input layer's
arrays in that order (a fingerprint input's ``indptr, indices, values``; one array per other input
layer), then the targets (and, for a weighted step, the row weights).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import pytensor
import pytensor.tensor as pt

from symmol.compile.backends import ACCELERATOR_BACKENDS, device_context, get_backend_mode
from symmol.compile.padding import DeviceFunction, Padder, pad_csr
from symmol.compile.parallel import paused_gc
from symmol.compile.tiered import TieredFunction
from symmol.kernels.tiering import CompileTier
from symmol.nn.layers import (
    FingerprintInputLayer,
    Layer,
    get_all_layers,
    get_all_params,
    get_output,
    get_rng_updates,
    get_state_updates,
)
from symmol.nn.objectives import l2_penalty
from symmol.nn.updates import DECOUPLED_WEIGHT_DECAY, total_norm_constraint

__all__ = ["compile_function", "compile_predict", "compile_train_step", "input_layers_of", "input_variables"]

#: ``hook(updates, params)``: extends a training step's update dict before it is compiled.
UpdateHook = Callable[[dict, list], None]


def _members(networks: Layer | Sequence[Layer]) -> list[Layer]:
    return [networks] if isinstance(networks, Layer) else list(networks)


def input_layers_of(networks: Layer | Sequence[Layer]) -> list[Layer]:
    """Return the input layers (layers without inputs) of ``networks``, in order of first appearance.

    Raises
    ------
    ValueError
        If the networks have several input layers: their call order must then be given.
    """
    roots = [layer for layer in get_all_layers(_members(networks)) if not layer.input_layers]
    if len(roots) != 1:
        raise ValueError(f"the networks have {len(roots)} input layers ({[r.name for r in roots]}); "
                         "pass input_layers in call order")
    return roots


def input_variables(input_layers: Sequence[Layer]) -> list:
    """Return the symbolic variables of ``input_layers``, flattened in call order."""
    variables: list = []
    for layer in input_layers:
        var = getattr(layer, "input_var", None)
        if var is None:
            raise ValueError(f"{layer.name} is not an input layer")
        variables.extend(var if isinstance(var, tuple) else [var])
    return variables


def _padders(input_layers: Sequence[Layer]) -> list[tuple[int, Padder]]:
    """Per input layer: its number of arguments and how to pad them for JAX/PyTorch."""
    groups: list[tuple[int, Padder]] = []
    for layer in input_layers:
        var = layer.input_var  # type: ignore[attr-defined]
        groups.append((3, pad_csr) if isinstance(layer, FingerprintInputLayer)
                      else (len(var) if isinstance(var, tuple) else 1, None))
    return groups


#: A compile tier for a predict graph, and the work (rows) of a call from its arguments.
PredictTier = tuple[CompileTier, Callable[[Sequence[Any]], float]]


def compile_function(input_layers: Sequence[Layer], outputs: Any, backend: str = "numba", device: str = "cpu",
                     name: str | None = None, updates: dict | None = None, extra_inputs: Sequence = (),
                     tier: PredictTier | None = None) -> Any:
    """``pytensor.function`` of the input layers' variables (then ``extra_inputs``) on ``backend``.

    On ``jax``/``pytorch`` the function is wrapped in a :class:`~symmol.compile.padding.DeviceFunction`
    (CSR padding, device placement). With a ``tier`` (a function without ``updates``, ``numba``
    backend) it is a :class:`~symmol.compile.tiered.TieredFunction`: interpreted until compiling pays.
    """
    mode = get_backend_mode(backend, device)
    inputs = [*input_variables(input_layers), *extra_inputs]
    if tier is not None and backend == "numba" and not updates:
        return TieredFunction(lambda tier_mode: pytensor.function(inputs, outputs, mode=tier_mode, name=name), mode,
                              *tier)
    with device_context(backend, device), paused_gc():  # rewriting allocates much, as compiling does
        function = pytensor.function(inputs, outputs, updates=updates, mode=mode, name=name)
    if backend in ACCELERATOR_BACKENDS:
        return DeviceFunction(function, backend, device, _padders(input_layers))
    return function


def _mean(outputs: list) -> Any:
    return outputs[0] if len(outputs) == 1 else pt.add(*outputs) / np.float32(len(outputs))


def compile_predict(networks: Layer | Sequence[Layer], backend: str = "numba",
                    output_transform: Callable | None = None, device: str = "cpu",
                    input_layers: Sequence[Layer] | None = None, mc_dropout: bool = False,
                    tier: PredictTier | None = None) -> Callable[..., np.ndarray]:
    """Compile ``(*input arrays) → outputs`` with dropout off (or sampled, for MC dropout).

    Parameters
    ----------
    networks
        An output layer, or the output layers of ensemble members sharing their input layers;
        members' (transformed) outputs are averaged inside the compiled graph.
    backend
        A key of :data:`~symmol.compile.backends.BACKENDS` (see :func:`~symmol.compile.backends.get_backend_mode`).
    output_transform
        Optional symbolic map applied to the network output (e.g. ``pt.sigmoid``).
    device
        ``"cpu"`` or ``"cuda"`` (``jax`` / ``pytorch`` backends).
    input_layers
        The input layers in call order; default the networks' only input layer.
    mc_dropout
        Keep dropout on (every call draws new masks from the layers' random streams) and everything
        else in prediction mode (batch normalisation on its running statistics): one Monte Carlo
        dropout sample per call (Gal & Ghahramani, ICML 2016, arXiv:1506.02142).
    tier
        For a graph whose nodes run fast in NumPy: its compile tier and the rows of a call; the
        ``numba`` function then runs interpreted until compiling pays (:mod:`symmol.compile.tiered`).
        Ignored with ``mc_dropout`` (its random streams differ between the two paths) and on other backends.

    Returns
    -------
    Callable taking the input arrays (for a fingerprint input: ``indptr`` (n+1,) int64, ``indices``
    (nnz,) int32, ``values`` (nnz,) float32) and returning an ``(n, n_outputs)`` float32 array.
    """
    members = _members(networks)
    if mc_dropout:
        outputs = [get_output(member, deterministic=False, batch_norm_use_averages=True) for member in members]
        updates: dict = {}
        for member in members:
            updates.update(get_rng_updates(member))
    else:
        outputs, updates = [get_output(member, deterministic=True) for member in members], {}
    if output_transform is not None:
        outputs = [output_transform(output) for output in outputs]
    layers = list(input_layers) if input_layers is not None else input_layers_of(members)
    return compile_function(layers, _mean(outputs), backend, device, "predict", updates=updates or None,
                            tier=None if mc_dropout else tier)


def compile_train_step(networks: Layer | Sequence[Layer], loss_fn: Callable, optimizer: Callable, learning_rate: Any,
                       backend: str = "numba", weight_decay: float = 0.0, max_grad_norm: float | None = None,
                       device: str = "cpu", input_layers: Sequence[Layer] | None = None, row_weights: bool = False,
                       update_hook: UpdateHook | None = None, **optimizer_kwargs: Any) -> Callable[..., np.ndarray]:
    """Compile one optimisation step ``(*input arrays, targets[, row_weights]) → loss``.

    The step computes the training loss (dropout on), its gradient with respect to every
    ``trainable`` parameter (``pytensor.gradient.grad``), and applies ``optimizer``'s update
    dict in place. For an ensemble (a list of output layers sharing their input layers) the
    objective is the sum of the members' losses, so one call steps every member on the same
    minibatch; the returned loss is the members' mean.

    Parameters
    ----------
    loss_fn
        ``loss_fn(outputs, targets[, weights]) → scalar``, e.g.
        :func:`~symmol.nn.objectives.masked_binary_crossentropy_from_logits`.
    optimizer
        An update rule from :mod:`symmol.nn.updates`.
    learning_rate
        Float or shared scalar (e.g. a :mod:`symmol.nn.schedules` schedule's ``learning_rate``:
        the schedule then changes it between calls without recompiling).
    backend, device
        See :func:`~symmol.compile.backends.get_backend_mode`.
    weight_decay
        Coefficient λ on ``regularizable`` parameters. For rules with decoupled decay
        (:data:`~symmol.nn.updates.DECOUPLED_WEIGHT_DECAY`: ``adamw``) it goes to the rule
        (``p ← p·(1 − lr·λ)``); otherwise it adds ``λ/2 · Σ w²`` to the loss.
    max_grad_norm
        Clip the gradients to this global L2 norm before the update
        (:func:`~symmol.nn.updates.total_norm_constraint`); None: no clipping.
    input_layers
        The input layers in call order; default the networks' only input layer.
    row_weights
        Take a ``(n_rows, n_members)`` float32 argument after the targets: member ``m``'s loss
        counts row ``i`` ``row_weights[i, m]`` times (``loss_fn(outputs, targets, weights)``).
    update_hook
        Called as ``update_hook(updates, params)`` with the optimizer's update dict and the
        trainable parameters before compiling; may add updates (e.g. weight averages).
    optimizer_kwargs
        Further hyperparameters of the rule (``beta1``, ``momentum``, ...).
    """
    targets = pt.matrix("targets", dtype="float32")
    weights = pt.matrix("row_weights", dtype="float32") if row_weights else None
    members = _members(networks)
    losses = [loss_fn(get_output(member, deterministic=False), targets) if weights is None
              else loss_fn(get_output(member, deterministic=False), targets, weights[:, m])
              for m, member in enumerate(members)]
    objective = pt.add(*losses) if len(losses) > 1 else losses[0]
    params = [p for member in members for p in get_all_params(member, trainable=True)]
    decayed = [p for member in members for p in get_all_params(member, regularizable=True)]
    if weight_decay and optimizer in DECOUPLED_WEIGHT_DECAY:
        optimizer_kwargs = {**optimizer_kwargs, "weight_decay": weight_decay, "decayed": decayed}
    elif weight_decay:
        objective = objective + np.float32(weight_decay / 2) * l2_penalty(decayed)
    elif optimizer in DECOUPLED_WEIGHT_DECAY:
        optimizer_kwargs = {"weight_decay": 0.0, **optimizer_kwargs}
    gradients = cast(list, pytensor.gradient.grad(objective, params))  # one per parameter
    if max_grad_norm is not None:
        gradients = total_norm_constraint(gradients, max_grad_norm)
    updates = optimizer(gradients, params, learning_rate, **optimizer_kwargs)
    if update_hook is not None:
        update_hook(updates, params)
    for member in members:
        updates.update(get_state_updates(member))  # dropout RNG, BatchNorm running statistics
    layers = list(input_layers) if input_layers is not None else input_layers_of(members)
    extra = [targets] if weights is None else [targets, weights]
    return compile_function(layers, _mean(losses), backend, device, "train_step", updates, extra)
