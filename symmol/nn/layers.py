"""Layers that build PyTensor expressions (Lasagne style).

A layer owns shared parameters registered with tags (``trainable``, ``regularizable``);
:func:`get_output` walks the layer graph and returns the symbolic output, and
:func:`get_all_params` collects parameters filtered by tags. Nothing here compiles: the
expressions go to :mod:`symmol.compile`.

Example
-------
>>> fp = FingerprintInputLayer(fp_size=2048)
>>> h = FingerprintDenseLayer(fp, 512, nonlinearity="relu", rng=rng)
>>> out = DenseLayer(DropoutLayer(h, 0.2), 12, nonlinearity="identity", rng=rng)
>>> logits = get_output(out)                       # training graph (dropout on)
>>> params = get_all_params(out, trainable=True)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.random.basic import uniform
from pytensor.tensor.random.variable import RandomGeneratorSharedVariable, shared_rng
from pytensor.tensor.sharedvar import TensorSharedVariable
from pytensor.tensor.variable import TensorVariable

from symmol.nn.init import Constant, GlorotUniform
from symmol.nn.nonlinearities import get_nonlinearity
from symmol.ops.fingerprint import fingerprint_dot

FLOATX = "float32"


class SymbolicFingerprints(NamedTuple):
    """Symbolic CSR fingerprint batch (see :class:`symmol.fingerprints.FingerprintBatch`).

    ``indptr`` (n_rows + 1,) int64, ``indices`` (nnz,) int32, ``values`` (nnz,) float32.
    """

    indptr: TensorVariable
    indices: TensorVariable
    values: TensorVariable


class Layer:
    """Base class: one input layer, parameters with tags, ``get_output_for``.

    State updates
    -------------
    Layers whose forward pass advances state (dropout's random stream, batch
    normalisation's running statistics) record ``{shared_variable: new_value}`` pairs in
    ``self.state_updates`` while :func:`get_output` builds the graph (the dict is cleared
    at the start of each :func:`get_output`). :func:`get_state_updates` collects them; a
    training function must pass them to ``pytensor.function(updates=...)`` together with
    the optimizer's updates, a prediction function (``deterministic=True``) gets none.
    """

    def __init__(self, incoming: Layer | None, name: str | None = None):
        self.input_layer = incoming
        self.name = name or type(self).__name__
        self.params: OrderedDict[TensorSharedVariable, set[str]] = OrderedDict()
        self.state_updates: dict = {}

    @property
    def input_layers(self) -> list[Layer]:
        """Layers feeding this one (empty for input layers)."""
        return [] if self.input_layer is None else [self.input_layer]

    def add_param(self, init: Callable, shape: tuple[int, ...], name: str, rng: np.random.Generator,
                  **tags: bool) -> TensorSharedVariable:
        """Create a float32 shared parameter and register it with its tags.

        Tags default to ``trainable=True``; pass ``regularizable=True`` for weights that
        weight decay should act on.
        """
        value = np.asarray(init(shape, rng), dtype=FLOATX)
        param = pytensor.shared(value, name=f"{self.name}.{name}")
        tags.setdefault("trainable", True)
        self.params[param] = {tag for tag, on in tags.items() if on}
        return param

    def get_params(self, **tags: bool) -> list[TensorSharedVariable]:
        """Parameters having every tag set True in ``tags`` and none set False."""
        wanted = {t for t, on in tags.items() if on}
        unwanted = {t for t, on in tags.items() if not on}
        return [p for p, ts in self.params.items() if wanted <= ts and not (unwanted & ts)]

    def get_output_for(self, incoming, deterministic: bool = False):
        raise NotImplementedError


class MergeLayer(Layer):
    """Base class of layers with several inputs; ``get_output_for`` receives a list."""

    def __init__(self, incomings: list[Layer], name: str | None = None):
        super().__init__(None, name)
        self._inputs = list(incomings)

    @property
    def input_layers(self) -> list[Layer]:
        return self._inputs


class InputLayer(Layer):
    """Input of a dense tensor: creates the symbolic variable.

    Parameters
    ----------
    shape
        Static shape, ``None`` for unknown sizes (e.g. ``(None, 2048)``); sets ``ndim``.
    dtype
        ``"float32"`` (default) or an integer dtype for token/atom ids.
    units
        Width reported to following layers (default: the last entry of ``shape``).
    """

    def __init__(self, shape: tuple[int | None, ...], dtype: str = FLOATX, units: int | None = None,
                 name: str | None = None):
        super().__init__(None, name)
        self.shape = tuple(shape)
        self.input_var = pt.tensor(self.name, dtype=dtype, shape=self.shape)
        last = units if units is not None else (self.shape[-1] if self.shape else None)
        if last is not None:
            self.units = int(last)


class FingerprintInputLayer(Layer):
    """Input of sparse fingerprints: creates the symbolic CSR variables.

    Parameters
    ----------
    fp_size
        Number of fingerprint features; the first weight matrix has this many rows.
    """

    def __init__(self, fp_size: int, name: str | None = None):
        super().__init__(None, name)
        self.fp_size = int(fp_size)
        self.input_var = SymbolicFingerprints(
            pt.vector("indptr", dtype="int64"),
            pt.vector("indices", dtype="int32"),
            pt.vector("values", dtype=FLOATX),
        )


class FingerprintDenseLayer(Layer):
    """Affine map of sparse fingerprints, ``f(x @ W + b)`` without densifying ``x``.

    Uses :func:`symmol.ops.fingerprint.fingerprint_dot`, which sums the rows of ``W`` of each
    molecule's on bits (about 50 of 2048), instead of a dense product.
    Output shape ``(n_rows, units)`` float32.
    """

    def __init__(self, incoming: FingerprintInputLayer, units: int, rng: np.random.Generator,
                 nonlinearity: str = "relu", W=GlorotUniform(), b=Constant(0.0), name: str | None = None):
        super().__init__(incoming, name)
        self.units = int(units)
        self.nonlinearity = get_nonlinearity(nonlinearity)
        self.W = self.add_param(W, (incoming.fp_size, self.units), "W", rng, regularizable=True)
        self.b = self.add_param(b, (self.units,), "b", rng)

    def get_output_for(self, incoming: SymbolicFingerprints, deterministic: bool = False):
        #: ``X @ W`` of the last graph built: take ``pytensor.grad(cost, layer.pre_activation)``
        #: for the row-sparse update of ``W`` (:func:`symmol.ops.fingerprint.fingerprint_dot_grad_w_rows`).
        self.pre_activation = fingerprint_dot(*incoming, self.W)
        return self.nonlinearity(self.pre_activation + self.b)


class DenseLayer(Layer):
    """Fully connected layer ``f(x @ W + b)``; ``x`` is ``(n_rows, n_in)``."""

    def __init__(self, incoming: Layer, units: int, rng: np.random.Generator, nonlinearity: str = "relu",
                 W=GlorotUniform(), b=Constant(0.0), name: str | None = None):
        super().__init__(incoming, name)
        self.units = int(units)
        self.nonlinearity = get_nonlinearity(nonlinearity)
        n_in = output_units(incoming)
        self.W = self.add_param(W, (n_in, self.units), "W", rng, regularizable=True)
        self.b = self.add_param(b, (self.units,), "b", rng)

    def get_output_for(self, incoming: TensorVariable, deterministic: bool = False):
        return self.nonlinearity(pt.dot(incoming, self.W) + self.b)


class DropoutLayer(Layer):
    """Inverted dropout: zero each unit with probability ``p`` and scale the rest by 1/(1-p).

    Identity when ``deterministic=True`` (prediction). Srivastava et al., JMLR 2014,
    https://jmlr.org/papers/v15/srivastava14a.html. The mask comes from a shared NumPy
    Generator (``seed``); the state advance is a state update (:func:`get_state_updates`)
    and must be passed to ``pytensor.function(updates=...)`` so that each call draws a new mask.
    """

    def __init__(self, incoming: Layer, p: float, seed: int, name: str | None = None):
        super().__init__(incoming, name)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = shared_rng(seed=seed, name=f"{self.name}.rng")

    def get_output_for(self, incoming: TensorVariable, deterministic: bool = False):
        if deterministic or self.p == 0.0:
            return incoming
        keep = np.float32(1.0 - self.p)
        next_rng, draw = uniform(0.0, 1.0, size=incoming.shape, rng=self.rng, return_next_rng=True,
                                 dtype=FLOATX)
        self.state_updates[self.rng] = next_rng
        return pt.switch(draw < keep, incoming / keep, np.float32(0.0))


class ElemwiseSumLayer(MergeLayer):
    """Sum of several layers' outputs of the same shape, ``sum_i coeffs[i] * x_i``."""

    def __init__(self, incomings: list[Layer], coeffs: float | list[float] = 1.0, name: str | None = None):
        super().__init__(incomings, name)
        n = len(incomings)
        self.coeffs = [float(coeffs)] * n if isinstance(coeffs, int | float) else [float(c) for c in coeffs]
        if len(self.coeffs) != n:
            raise ValueError(f"got {len(self.coeffs)} coefficients for {n} inputs")
        self.units = output_units(incomings[0])

    def get_output_for(self, incoming: list, deterministic: bool = False):
        terms = [x if c == 1.0 else np.float32(c) * x for c, x in zip(self.coeffs, incoming, strict=True)]
        return pt.add(*terms) if len(terms) > 1 else terms[0]


class NonlinearityLayer(Layer):
    """Elementwise activation ``f(x)`` (e.g. after a residual sum)."""

    def __init__(self, incoming: Layer, nonlinearity: str = "relu", name: str | None = None):
        super().__init__(incoming, name)
        self.nonlinearity = get_nonlinearity(nonlinearity)

    def get_output_for(self, incoming, deterministic: bool = False):
        return self.nonlinearity(incoming)


def residual_block(incoming: Layer, rng: np.random.Generator, n_layers: int = 2, nonlinearity: str = "relu",
                   name: str = "res") -> Layer:
    """Pre-sum residual block ``f(x + g(x))`` of ``n_layers`` dense layers of ``x``'s width.

    ``g`` is ``n_layers`` :class:`DenseLayer` (activation ``nonlinearity`` on all but the
    last); the sum is an :class:`ElemwiseSumLayer` and ``f`` a :class:`NonlinearityLayer`
    (He et al., CVPR 2016, doi:10.1109/CVPR.2016.90). Returns the block's output layer.
    """
    units = output_units(incoming)
    branch = incoming
    for i in range(n_layers):
        last = i == n_layers - 1
        branch = DenseLayer(branch, units, rng, nonlinearity="identity" if last else nonlinearity,
                            name=f"{name}.dense{i}")
    return NonlinearityLayer(ElemwiseSumLayer([incoming, branch], name=f"{name}.sum"), nonlinearity,
                             name=f"{name}.out")


def get_state_updates(layer: Layer) -> dict:
    """State updates (random streams, running statistics) of the graph last built by :func:`get_output`.

    Pass them to ``pytensor.function(updates=...)`` together with the optimizer's updates
    when compiling a training step; empty after ``get_output(..., deterministic=True)``.
    """
    updates: dict = {}
    for current in get_all_layers(layer):
        updates.update(current.state_updates)
    return updates


def get_rng_updates(layer: Layer) -> dict:
    """Only the random-stream part of :func:`get_state_updates` (dropout masks)."""
    return {var: new for var, new in get_state_updates(layer).items()
            if isinstance(var, RandomGeneratorSharedVariable)}


def output_units(layer: Layer) -> int:
    """Width of a layer's output (walks through shape-preserving layers)."""
    while not hasattr(layer, "units"):
        if not layer.input_layers:
            raise ValueError(f"{layer.name} has no known output width")
        layer = layer.input_layers[0]
    return layer.units


def get_all_layers(layer: Layer | list[Layer], treat_as_input=()) -> list[Layer]:
    """Every layer feeding ``layer`` (a layer or a list of layers), in topological order, inputs first.

    Layers in ``treat_as_input`` are included but not expanded: what feeds them is left out
    unless another path needs it (Lasagne's ``treat_as_input``).
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


def get_output(layer: Layer, inputs=None, deterministic: bool = False):
    """Symbolic output of ``layer``.

    Parameters
    ----------
    layer
        Last layer of the network.
    inputs
        Replacement for the input layers' variables: a dict ``{input_layer: variable}``, or
        one value for a network with a single input layer (default: each input layer's own
        ``input_var``). As in Lasagne, a dict key may also be any other layer of the
        network, whose output is then replaced by the given expression.
    deterministic
        ``True`` for prediction: dropout off, batch normalisation uses its running
        statistics, and no state updates are recorded.
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
                                                     deterministic=deterministic)
        else:
            values[current] = current.get_output_for(values[current.input_layer], deterministic=deterministic)
    return values[layer]


def get_all_params(layer: Layer, **tags: bool) -> list[TensorSharedVariable]:
    """Parameters of every layer up to ``layer``, filtered by tags (e.g. ``trainable=True``)."""
    params = [p for current in get_all_layers(layer) for p in current.get_params(**tags)]
    return list(dict.fromkeys(params))


def _params_by_name(layer: Layer) -> dict[str, TensorSharedVariable]:
    params = get_all_params(layer)
    by_name = {p.name: p for p in params}
    if len(by_name) != len(params):
        names = [p.name for p in params]
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"parameter names {repeated} repeat: give the layers distinct names (name=...)")
    return by_name


def get_all_param_values(layer: Layer) -> dict[str, np.ndarray]:
    """Copies of all parameter values keyed by parameter name.

    Raises
    ------
    ValueError
        If two parameters share a name (two unnamed layers of one class).
    """
    return {name: p.get_value(borrow=False) for name, p in _params_by_name(layer).items()}


def set_all_param_values(layer: Layer, values: dict[str, np.ndarray]) -> None:
    """Set parameters from :func:`get_all_param_values` output.

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


def count_params(layer: Layer, **tags: bool) -> int:
    """Total number of scalar parameters (optionally filtered by tags)."""
    return int(sum(p.get_value(borrow=True).size for p in get_all_params(layer, **tags)))

