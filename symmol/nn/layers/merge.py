"""Layers that merge several inputs: elementwise sums, concatenation, row gathers. Mirrors ``lasagne.layers.merge``.

:func:`residual_block` builds the usual pre-sum residual block from an :class:`ElemwiseSumLayer`.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from symmol.nn.layers.base import Layer, MergeLayer
from symmol.nn.layers.dense import DenseLayer, NonlinearityLayer
from symmol.nn.layers.helper import output_units
from symmol.ops.segment import gather_rows

__all__ = ["ConcatLayer", "ElemwiseSumLayer", "GatherLayer", "residual_block"]


class ConcatLayer(MergeLayer):
    """Concatenation of several layers' outputs along one axis.

    Mirrors ``lasagne.layers.ConcatLayer`` (without ``cropping``): the output is
    ``pt.concatenate([x_1, ..., x_k], axis=axis)``.

    Parameters
    ----------
    incomings : list of Layer
        At least one layer; their outputs must have one rank and agree on every axis but
        ``axis``.
    axis : int
        Axis along which to concatenate (default 1, the feature axis of ``(n, units)``
        outputs); negative values count from the end.
    name : str, optional

    Attributes
    ----------
    units : int
        For ``axis`` 1 or -1 the sum of the inputs' widths
        (:func:`~symmol.nn.layers.output_units`), so a :class:`~symmol.nn.layers.DenseLayer`
        can follow: correct for ``(n, units)`` inputs, for ``(n, C, W)`` inputs with
        ``axis=1`` and for ``(n, L, units)`` inputs with ``axis=-1``. Along any other axis
        the width of the first input (the feature axis is not concatenated).

    Output: the inputs' shape with the sizes along ``axis`` summed; dtype the inputs'
    common upcast (float32 for float32 inputs). The gradient wrt each input is its slice of
    the output's gradient.

    Raises
    ------
    ValueError
        If ``incomings`` is empty.
    """

    def __init__(self, incomings: list[Layer], axis: int = 1, name: str | None = None):
        super().__init__(incomings, name)
        if not self.input_layers:
            raise ValueError("ConcatLayer needs at least one input layer")
        self.axis = int(axis)
        if self.axis in (1, -1):
            self.units = sum(output_units(layer) for layer in self.input_layers)
        else:
            self.units = output_units(self.input_layers[0])

    def get_output_for(self, incoming: list, deterministic: bool = False, **kwargs: bool):
        """Return the inputs' outputs concatenated along :attr:`axis`."""
        return pt.concatenate(incoming, axis=self.axis)


class ElemwiseSumLayer(MergeLayer):
    """Sum of several layers' outputs of the same shape, ``sum_i coeffs[i] * x_i``.

    Mirrors ``lasagne.layers.ElemwiseSumLayer``.

    Parameters
    ----------
    incomings : list of Layer
        Layers with outputs of one shape (and width).
    coeffs : float or list of float
        One coefficient for every input, or one per input (default 1).
    name : str, optional

    Output: the inputs' shape, float32 for float32 inputs.

    Raises
    ------
    ValueError
        If the number of coefficients differs from the number of inputs.
    """

    def __init__(self, incomings: list[Layer], coeffs: float | list[float] = 1.0, name: str | None = None):
        super().__init__(incomings, name)
        n = len(incomings)
        self.coeffs = [float(coeffs)] * n if isinstance(coeffs, int | float) else [float(c) for c in coeffs]
        if len(self.coeffs) != n:
            raise ValueError(f"got {len(self.coeffs)} coefficients for {n} inputs")
        self.units = output_units(incomings[0])

    def get_output_for(self, incoming: list, deterministic: bool = False, **kwargs: bool):
        """Return ``sum_i coeffs[i] * x_i`` (a coefficient of 1 is not multiplied in)."""
        terms = [x if c == 1.0 else np.float32(c) * x for c, x in zip(self.coeffs, incoming, strict=True)]
        return pt.add(*terms) if len(terms) > 1 else terms[0]


def residual_block(incoming: Layer, rng: np.random.Generator, n_layers: int = 2, nonlinearity: str = "relu",
                   name: str = "res") -> Layer:
    """Pre-sum residual block ``f(x + g(x))`` of ``n_layers`` dense layers of ``x``'s width.

    ``g`` is ``n_layers`` :class:`~symmol.nn.layers.DenseLayer` (activation ``nonlinearity`` on
    all but the last); the sum is an :class:`ElemwiseSumLayer` and ``f`` a
    :class:`~symmol.nn.layers.NonlinearityLayer` (He et al., CVPR 2016,
    doi:10.1109/CVPR.2016.90).

    Parameters
    ----------
    incoming : Layer
        Layer of shape ``(n_rows, units)``.
    rng : numpy.random.Generator
        For the dense layers' initialisers.
    n_layers : int
        Dense layers in the branch ``g``.
    nonlinearity : str
        Activation of the branch's hidden layers and of the block's output.
    name : str
        Prefix of the block's layer (and parameter) names.

    Returns
    -------
    Layer
        The block's output layer, shape ``(n_rows, units)``.
    """
    units = output_units(incoming)
    branch = incoming
    for i in range(n_layers):
        last = i == n_layers - 1
        branch = DenseLayer(branch, units, rng, nonlinearity="identity" if last else nonlinearity,
                            name=f"{name}.dense{i}")
    return NonlinearityLayer(ElemwiseSumLayer([incoming, branch], name=f"{name}.sum"), nonlinearity,
                             name=f"{name}.out")


class GatherLayer(MergeLayer):
    """Rows of one layer's output picked by an index layer: ``x[index]``.

    Encodes each distinct entity of a batch once: a protein network runs on the batch's distinct
    sequences ``(u, ...)`` and this layer hands row ``index[i]`` to pair ``i``. The gradient
    scatter-adds each pair's cotangent into its entity's row (:func:`symmol.ops.segment.gather_rows`),
    so the parameters get exactly the per-pair graph's gradient, summed in another order.

    Parameters
    ----------
    incoming : Layer
        Output ``(u, units)`` float.
    index : Layer
        Output ``(n,)`` integer, entries in ``[0, u)``.
    name : str, optional

    Output ``(n, units)``, the dtype of ``incoming``; an index out of range raises at run time.
    """

    def __init__(self, incoming: Layer, index: Layer, name: str | None = None):
        super().__init__([incoming, index], name)
        self.units = output_units(incoming)

    def get_output_for(self, incoming: list, deterministic: bool = False, **kwargs: bool):
        """Return ``incoming[0][incoming[1]]``."""
        return gather_rows(incoming[0], incoming[1])
