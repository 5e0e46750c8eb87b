"""Functions over a network of layers: symbolic outputs, parameters, state updates, widths.

Mirrors ``lasagne.layers.helper``. Nothing here compiles: the expressions go to
:mod:`symmol.compile` (or ``pytensor.function``).
"""

from __future__ import annotations

from typing import cast

import numpy as np
from pytensor.tensor.random.variable import RandomGeneratorSharedVariable
from pytensor.tensor.sharedvar import TensorSharedVariable

from symmol.nn.layers.base import FLOATX, Layer, MergeLayer

__all__ = [
    "get_all_layers",
    "get_all_param_values",
    "get_all_params",
    "get_output",
    "get_rng_updates",
    "get_state_updates",
    "output_units",
    "set_all_param_values",
]


def get_state_updates(layer: Layer) -> dict:
    """State updates (random streams, running statistics) of the graph last built by :func:`get_output`.

    Pass them to ``pytensor.function(updates=...)`` together with the optimizer's updates
    when compiling a training step; empty after ``get_output(..., deterministic=True)``.

    Parameters
    ----------
    layer : Layer
        Last layer of the network.

    Returns
    -------
    dict
        ``{shared_variable: new_value}`` of every layer feeding ``layer``.
    """
    updates: dict = {}
    for current in get_all_layers(layer):
        updates.update(current.state_updates)
    return updates


def get_rng_updates(layer: Layer) -> dict:
    """Only the random-stream part of :func:`get_state_updates` (dropout masks).

    Parameters
    ----------
    layer : Layer
        Last layer of the network.

    Returns
    -------
    dict
        ``{random_generator_shared_variable: next_generator}``.
    """
    return {var: new for var, new in get_state_updates(layer).items()
            if isinstance(var, RandomGeneratorSharedVariable)}


def output_units(layer: Layer) -> int:
    """Width of a layer's output: its ``units``, else that of its first input (shape-preserving layers).

    Parameters
    ----------
    layer : Layer

    Returns
    -------
    int
        The size of the output's feature axis (axis 1 of ``(n, units)`` and ``(n, C, W)``
        outputs, the last axis of ``(n, L, units)`` ones).

    Raises
    ------
    ValueError
        If no layer on the path to an input layer knows its width.
    """
    while not hasattr(layer, "units"):
        if not layer.input_layers:
            raise ValueError(f"{layer.name} has no known output width")
        layer = layer.input_layers[0]
    return layer.units


def get_all_layers(layer: Layer | list[Layer], treat_as_input=()) -> list[Layer]:
    """Every layer feeding ``layer`` (a layer or a list of layers), in topological order, inputs first.

    Mirrors ``lasagne.layers.get_all_layers``.

    Parameters
    ----------
    layer : Layer or list of Layer
        Last layer(s) of the network.
    treat_as_input : iterable of Layer
        Layers included but not expanded: what feeds them is left out unless another path
        needs it (Lasagne's ``treat_as_input``).

    Returns
    -------
    list of Layer
        Each layer once, every layer after the layers feeding it.
    """
    leaves = {id(current) for current in treat_as_input}
    order: list[Layer] = []
    seen: set[int] = set()
    stack = [(current, False) for current in reversed(layer if isinstance(layer, list) else [layer])]
    while stack:
        current, expanded = stack.pop()
        if id(current) in seen:
            continue
        if expanded or id(current) in leaves:
            seen.add(id(current))
            order.append(current)
        else:
            stack.append((current, True))
            stack.extend((parent, False) for parent in reversed(current.input_layers) if id(parent) not in seen)
    return order


def get_output(layer: Layer, inputs=None, deterministic: bool = False, **kwargs: bool):
    """Symbolic output of ``layer``.

    Mirrors ``lasagne.layers.get_output`` (one layer).

    Parameters
    ----------
    layer : Layer
        Last layer of the network.
    inputs : dict or TensorVariable, optional
        Replacement for the input layers' variables: a dict ``{input_layer: variable}``, or
        one value for a network with a single input layer (default: each input layer's own
        ``input_var``). As in Lasagne, a dict key may also be any other layer of the
        network, whose output is then replaced by the given expression.
    deterministic : bool
        ``True`` for prediction: dropout off, batch normalisation uses its running
        statistics, and no state updates are recorded.
    **kwargs
        Passed to every layer's ``get_output_for`` (Lasagne's mechanism), e.g.
        ``batch_norm_use_averages=True`` with ``deterministic=False`` for MC dropout.

    Returns
    -------
    TensorVariable
        The output expression (its shape and dtype are those of ``layer``'s output).

    Raises
    ------
    ValueError
        If ``inputs`` is a single value for a network with several input layers, names a
        layer outside the network, or an input layer has no variable.
    """
    everything = get_all_layers(layer)
    roots = [current for current in everything if not current.input_layers]
    if inputs is None:
        inputs = {}
    elif not isinstance(inputs, dict):
        if len(roots) != 1:
            raise ValueError(f"the network has {len(roots)} input layers; pass inputs as a dict")
        inputs = {roots[0]: inputs}
    unknown = [key for key in inputs if key not in everything]
    if unknown:
        raise ValueError(f"inputs names layer(s) {[getattr(k, 'name', k) for k in unknown]} that are not "
                         f"in the network of {layer.name}")
    layers = get_all_layers(layer, treat_as_input=list(inputs))  # nothing upstream of a replaced layer
    for current in layers:
        current.state_updates = {}
    values = {}
    for current in layers:
        if current in inputs:  # an input layer's variable, or any layer's output replaced (Lasagne)
            values[current] = inputs[current]
        elif not current.input_layers:
            values[current] = getattr(current, "input_var", None)
            if values[current] is None:
                raise ValueError(f"input layer {current.name} has no input variable")
        elif isinstance(current, MergeLayer):
            values[current] = current.get_output_for([values[p] for p in current.input_layers],
                                                     deterministic=deterministic, **kwargs)
        else:
            incoming = current.input_layer
            assert incoming is not None  # a layer with inputs that is no MergeLayer has exactly one
            values[current] = current.get_output_for(values[incoming], deterministic=deterministic, **kwargs)
    return values[layer]


def get_all_params(layer: Layer, **tags: bool) -> list[TensorSharedVariable]:
    """Parameters of every layer up to ``layer``, filtered by tags.

    Mirrors ``lasagne.layers.get_all_params``.

    Parameters
    ----------
    layer : Layer
        Last layer of the network.
    **tags : bool
        E.g. ``trainable=True``, ``regularizable=True`` (see :meth:`Layer.get_params`).

    Returns
    -------
    list of TensorSharedVariable
        Each parameter once, layers in the order of :func:`get_all_layers`.
    """
    params = [p for current in get_all_layers(layer) for p in current.get_params(**tags)]
    return list(dict.fromkeys(params))


def _params_by_name(layer: Layer) -> dict[str, TensorSharedVariable]:
    params = get_all_params(layer)
    names = [cast(str, p.name) for p in params]  # Layer.add_param names every parameter
    by_name = dict(zip(names, params, strict=True))
    if len(by_name) != len(params):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"parameter names {repeated} repeat: give the layers distinct names (name=...)")
    return by_name


def get_all_param_values(layer: Layer) -> dict[str, np.ndarray]:
    """Return copies of all parameter values keyed by parameter name.

    Like ``lasagne.layers.get_all_param_values``, but keyed by name (a list in Lasagne), so
    that a saved model loads into a network built again.

    Parameters
    ----------
    layer : Layer
        Last layer of the network.

    Returns
    -------
    dict of str to numpy.ndarray
        float32 arrays of the parameters' shapes (running statistics included).

    Raises
    ------
    ValueError
        If two parameters share a name (two unnamed layers of one class).
    """
    return {name: p.get_value(borrow=False) for name, p in _params_by_name(layer).items()}


def set_all_param_values(layer: Layer, values: dict[str, np.ndarray]) -> None:
    """Set parameters from :func:`get_all_param_values` output.

    Like ``lasagne.layers.set_all_param_values``, keyed by parameter name.

    Parameters
    ----------
    layer : Layer
        Last layer of the network.
    values : dict of str to array
        One array per parameter name, of the parameter's shape (cast to float32).

    Raises
    ------
    ValueError
        If a parameter is missing, unexpected, or has the wrong shape, or two parameters
        share a name.
    """
    params = _params_by_name(layer)
    missing, extra = set(params) - set(values), set(values) - set(params)
    if missing or extra:
        raise ValueError(f"parameter names differ: missing {sorted(missing)}, unexpected {sorted(extra)}")
    for name, param in params.items():
        value = np.asarray(values[name])
        expected = param.get_value(borrow=True).shape
        if value.shape != expected:
            raise ValueError(f"parameter {name}: shape {value.shape} does not match the model's {expected}")
        param.set_value(value.astype(FLOATX, copy=False))
