"""Recurrent layers: the recurrence as one Op (:mod:`symmol.ops.recurrent`). Mirrors ``lasagne.layers.recurrent``."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.raise_op import Assert

from symmol.nn.init import Constant, GlorotUniform
from symmol.nn.layers.base import Layer, MergeLayer
from symmol.nn.layers.helper import output_units
from symmol.ops.recurrent import gru_sequence

__all__ = ["GRULayer"]


class GRULayer(MergeLayer):
    """Gated recurrent unit over ``(n, L, features)`` sequences (batch first), as ``torch.nn.GRU``.

    For each step ``t`` with ``h_0 = 0`` (or ``hid_init``)::

        r = sigmoid(x_t W_xr + b_xr + h W_hr + b_hr)
        z = sigmoid(x_t W_xz + b_xz + h W_hz + b_hz)
        c = tanh(x_t W_xc + b_xc + r * (h W_hc + b_hc))
        h_t = (1 - z) * c + z * h

    Cho et al., EMNLP 2014, arXiv:1406.1078. The input projections of all steps are one
    matrix product; the recurrence is one Op (:func:`symmol.ops.recurrent.gru_sequence`: a
    ``(n, units) x (units, 3 units)`` product and one pass over the gates per step, and
    backpropagation through time as its gradient). :meth:`cell` is one step as a graph, for loops
    that feed each step's output back (sampling).

    Like ``lasagne.layers.GRULayer``, with ``torch.nn.GRU``'s gate arithmetic (above).

    Parameters
    ----------
    incoming : Layer
        Layer of shape ``(n, L, features)``.
    units : int
        Hidden size.
    rng : numpy.random.Generator
        For the initialisers.
    mask : Layer, optional
        Layer ``(n, L)``, 1 for real steps and 0 for padding: a padded step keeps the
        previous state, so the final state is that of the last real step.
    only_return_final : bool
        Output ``(n, units)``, the final state, instead of ``(n, L, units)``.
    hid_init : Layer, optional
        Layer ``(n, units)`` giving the initial state ``h_0`` (learned through it, as Lasagne's
        ``hid_init`` given a layer); default zeros.
    W, b : callable
        Initialisers of ``W_x``, ``W_h`` (regularizable) and of ``b_x``, ``b_h``.
    name : str, optional

    Output float32 for float32 input.

    Parameters ``W_x`` ``(features, 3 units)`` and ``W_h`` ``(units, 3 units)`` hold the gates
    in the order (r, z, c): ``torch``'s ``weight_ih_l0.T`` and ``weight_hh_l0.T``; ``b_x``,
    ``b_h`` are ``bias_ih_l0``, ``bias_hh_l0``.
    """

    def __init__(self, incoming: Layer, units: int, rng: np.random.Generator, mask: Layer | None = None,
                 only_return_final: bool = False, W=GlorotUniform(), b=Constant(0.0), name: str | None = None,
                 hid_init: Layer | None = None):
        super().__init__([incoming, *([mask] if mask is not None else []),
                          *([hid_init] if hid_init is not None else [])], name)
        self.has_mask = mask is not None
        self.has_hid_init = hid_init is not None
        self.units = int(units)
        self.only_return_final = bool(only_return_final)
        n_in = output_units(incoming)
        self.W_x = self.add_param(W, (n_in, 3 * self.units), "W_x", rng, regularizable=True)
        self.W_h = self.add_param(W, (self.units, 3 * self.units), "W_h", rng, regularizable=True)
        self.b_x = self.add_param(b, (3 * self.units,), "b_x", rng)
        self.b_h = self.add_param(b, (3 * self.units,), "b_h", rng)

    def project(self, x):
        """Return the input projections ``x W_x + b_x`` of ``x`` (``(..., features)`` -> ``(..., 3 units)``)."""
        return pt.dot(x, self.W_x) + self.b_x

    def step(self, projected, h):
        """One GRU step as :meth:`cell` computes it, through the recurrence Op (its fused kernel: faster)."""
        return gru_sequence(projected[None], self.W_h, self.b_h, h)[0]

    def cell(self, projected, h):
        """One GRU step: the new state ``(n, units)`` from a step's :meth:`project` ``(n, 3 units)`` and ``h``."""
        u = self.units
        one = np.asarray(1, dtype=h.dtype)
        hp = pt.dot(h, self.W_h) + self.b_h
        r = pt.sigmoid(projected[:, :u] + hp[:, :u])
        z = pt.sigmoid(projected[:, u:2 * u] + hp[:, u:2 * u])
        c = pt.tanh(projected[:, 2 * u:] + r * hp[:, 2 * u:])
        return (one - z) * c + z * h

    def get_output_for(self, incoming: list, deterministic: bool = False, **kwargs: bool):
        """Run the GRU over the sequence ``incoming[0]`` of shape ``(n, L, features)``.

        Returns the states ``(n, L, units)``, or the final state ``(n, units)`` with
        ``only_return_final``. With a mask (``incoming[1]``, ``(n, L)``) padded steps keep the previous
        state; the graph raises at run time (an ``Assert``) if the mask is not ``(n, L)``. With
        ``hid_init`` (the last incoming) the recurrence starts from it.
        """
        x = incoming[0]
        # Time-major before the projection: the transpose moves the narrow input, the product then
        # writes (L, n, 3u) contiguously, and stacked layers' transposes cancel (states back and forth).
        projected = self.project(x.dimshuffle(1, 0, 2))  # (L, n, 3u)
        h0 = (pt.cast(incoming[-1], projected.dtype) if self.has_hid_init
              else pt.zeros((x.shape[0], self.units), dtype=projected.dtype))
        mask = None
        if self.has_mask:
            checked = _mask_shape(incoming[1], pt.eq(incoming[1].shape[0], x.shape[0]),
                                  pt.eq(incoming[1].shape[1], x.shape[1]))
            mask = pt.as_tensor_variable(checked).dimshuffle(1, 0)
        states = gru_sequence(projected, self.W_h, self.b_h, h0, mask)  # (L, n, u)
        return states[-1] if self.only_return_final else states.dimshuffle(1, 0, 2)


_mask_shape = Assert("GRULayer: the mask must be (n, L), the batch size and length of the input")
