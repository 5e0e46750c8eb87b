"""Fully connected and elementwise-activation layers. Mirrors ``lasagne.layers.dense``."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

from symmol.nn.init import Constant, GlorotUniform
from symmol.nn.layers.base import Layer
from symmol.nn.layers.helper import output_units
from symmol.nn.nonlinearities import get_nonlinearity

__all__ = ["DenseLayer", "NonlinearityLayer"]


class DenseLayer(Layer):
    """Fully connected layer ``f(x @ W + b)``.

    Mirrors ``lasagne.layers.DenseLayer`` (2-D input only).

    Parameters
    ----------
    incoming : Layer
        Layer of shape ``(n_rows, n_in)``; ``n_in`` is its :func:`~symmol.nn.layers.output_units`.
    units : int
        Output width.
    rng : numpy.random.Generator
        For the initialisers.
    nonlinearity : str
        Name of the activation ``f`` (:func:`symmol.nn.nonlinearities.get_nonlinearity`).
    W, b : callable
        Initialisers of ``W`` ``(n_in, units)`` (regularizable) and ``b`` ``(units,)``.
    name : str, optional
        Prefix of the parameter names.

    Output ``(n_rows, units)``, float32 for float32 input.
    """

    def __init__(self, incoming: Layer, units: int, rng: np.random.Generator, nonlinearity: str = "relu",
                 W=GlorotUniform(), b=Constant(0.0), name: str | None = None):
        super().__init__(incoming, name)
        self.units = int(units)
        self.nonlinearity = get_nonlinearity(nonlinearity)
        n_in = output_units(incoming)
        self.W = self.add_param(W, (n_in, self.units), "W", rng, regularizable=True)
        self.b = self.add_param(b, (self.units,), "b", rng)

    def get_output_for(self, incoming: TensorVariable, deterministic: bool = False, **kwargs: bool):
        """Return ``f(x @ W + b)`` of shape ``(n_rows, units)`` for ``x`` of shape ``(n_rows, n_in)``."""
        return self.nonlinearity(pt.dot(incoming, self.W) + self.b)


class NonlinearityLayer(Layer):
    """Elementwise activation ``f(x)`` (e.g. after a residual sum).

    Mirrors ``lasagne.layers.NonlinearityLayer``.

    Parameters
    ----------
    incoming : Layer
        Any shape; the output has the same shape and dtype.
    nonlinearity : str
        Name of ``f`` (:func:`symmol.nn.nonlinearities.get_nonlinearity`).
    name : str, optional
    """

    def __init__(self, incoming: Layer, nonlinearity: str = "relu", name: str | None = None):
        super().__init__(incoming, name)
        self.nonlinearity = get_nonlinearity(nonlinearity)

    def get_output_for(self, incoming, deterministic: bool = False, **kwargs: bool):
        """Return ``f(x)``, elementwise: the shape and dtype of ``x``."""
        return self.nonlinearity(incoming)
