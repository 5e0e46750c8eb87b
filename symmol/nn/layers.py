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
from pytensor.tensor.random.variable import shared_rng
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
    """Base class: one input layer, parameters with tags, ``get_output_for``."""

    def __init__(self, incoming: Layer | None, name: str | None = None):
        self.input_layer = incoming
        self.name = name or type(self).__name__
        self.params: OrderedDict[TensorSharedVariable, set[str]] = OrderedDict()

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
        return self.nonlinearity(fingerprint_dot(*incoming, self.W) + self.b)


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
    Generator (``seed``); the state advance is returned by :func:`get_rng_updates` and must
    be passed to ``pytensor.function(updates=...)`` so that each call draws a new mask.
    """

    def __init__(self, incoming: Layer, p: float, seed: int, name: str | None = None):
        super().__init__(incoming, name)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = shared_rng(seed=seed, name=f"{self.name}.rng")
        self.rng_update: tuple | None = None

    def get_output_for(self, incoming: TensorVariable, deterministic: bool = False):
        if deterministic or self.p == 0.0:
            return incoming
        keep = np.float32(1.0 - self.p)
        next_rng, draw = uniform(0.0, 1.0, size=incoming.shape, rng=self.rng, return_next_rng=True,
                                 dtype=FLOATX)
        self.rng_update = (self.rng, next_rng)
        return pt.switch(draw < keep, incoming / keep, np.float32(0.0))


def get_rng_updates(layer: Layer) -> dict:
    """RNG state updates of the stochastic layers in the graph last built by :func:`get_output`.

    Pass them to ``pytensor.function`` together with the optimizer's updates.
    """
    return dict(current.rng_update for current in get_all_layers(layer)
                if getattr(current, "rng_update", None) is not None)


def output_units(layer: Layer) -> int:
    """Width of a layer's output (walks through shape-preserving layers)."""
    while not hasattr(layer, "units"):
        if layer.input_layer is None:
            raise ValueError(f"{layer.name} has no known output width")
        layer = layer.input_layer
    return layer.units


def get_all_layers(layer: Layer) -> list[Layer]:
    """Layers from the input to ``layer``, inputs first."""
    chain = []
    while layer is not None:
        chain.append(layer)
        layer = layer.input_layer
    return chain[::-1]


def get_output(layer: Layer, inputs=None, deterministic: bool = False):
    """Symbolic output of ``layer``.

    Parameters
    ----------
    layer
        Last layer of the network.
    inputs
        Replacement for the input layer's variables (default: its own ``input_var``).
    deterministic
        ``True`` for prediction: dropout off.
    """
    layers = get_all_layers(layer)
    for current in layers:
        if isinstance(current, DropoutLayer):
            current.rng_update = None
    value = inputs if inputs is not None else layers[0].input_var
    for current in layers[1:]:
        value = current.get_output_for(value, deterministic=deterministic)
    return value


def get_all_params(layer: Layer, **tags: bool) -> list[TensorSharedVariable]:
    """Parameters of every layer up to ``layer``, filtered by tags (e.g. ``trainable=True``)."""
    return [p for current in get_all_layers(layer) for p in current.get_params(**tags)]


def get_all_param_values(layer: Layer) -> dict[str, np.ndarray]:
    """Copies of all parameter values keyed by parameter name."""
    return {p.name: p.get_value(borrow=False) for p in get_all_params(layer)}


def set_all_param_values(layer: Layer, values: dict[str, np.ndarray]) -> None:
    """Set parameters from :func:`get_all_param_values` output.

    Raises
    ------
    ValueError
        If a parameter is missing, unexpected, or has the wrong shape.
    """
    params = {p.name: p for p in get_all_params(layer)}
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

