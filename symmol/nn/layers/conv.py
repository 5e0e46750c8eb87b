"""Sequence layers in NCW layout (batch, channels, width): 1-D convolution and pooling over the width.

Mirrors ``lasagne.layers.conv`` / ``lasagne.layers.pool`` for 1-D sequences. For protein and
SMILES sequences: tokens → :class:`symmol.nn.layers.EmbeddingLayer` (``channels_first=True``)
→ :class:`Conv1DLayer` → :class:`GlobalPoolLayer` (with a padding mask for sequences of
different lengths).
"""

from __future__ import annotations

from typing import cast

import numpy as np
import pytensor.tensor as pt
from pytensor.raise_op import Assert
from pytensor.tensor.variable import TensorVariable

from symmol.nn.init import Constant, GlorotUniform
from symmol.nn.layers.base import Layer, MergeLayer
from symmol.nn.layers.helper import output_units
from symmol.nn.nonlinearities import get_nonlinearity
from symmol.ops.conv import conv1d

__all__ = ["Conv1DLayer", "GlobalPoolLayer"]


class Conv1DLayer(Layer):
    """1-D cross-correlation ``f(conv(x, W) + b)``, as ``torch.nn.Conv1d`` (stride 1, dilation 1).

    ``out[n, o, l] = b[o] + sum_{c, t} W[o, c, t] * xp[n, c, l + t]`` where ``xp`` is ``x``
    zero-padded by ``pad`` on both sides of the width axis.

    Parameters
    ----------
    incoming : Layer
        Layer of shape ``(n, in_channels, width)``.
    units : int
        Output channels.
    filter_size : int
        Kernel width ``k``.
    rng : numpy.random.Generator
        For the initialisers.
    pad : {"same", "valid"} or int
        ``"same"`` (output width = input width; odd ``k``), ``"valid"`` (width - k + 1) or
        an int number of zeros on each side.
    nonlinearity : str
        Name of ``f`` (:func:`symmol.nn.nonlinearities.get_nonlinearity`).
    W, b : callable
        Initialisers of ``W`` ``(k, in_channels, units)`` (regularizable) and ``b`` ``(units,)``.
    name : str, optional

    Output ``(n, units, width_out)``, float32 for float32 input. The convolution is symmol's
    :class:`~symmol.ops.conv.Conv1D` Op on the channels-last view (BLAS products over blocks of
    samples); the transposes between stacked layers cancel in the compiled graph.
    """

    def __init__(self, incoming: Layer, units: int, filter_size: int, rng: np.random.Generator,
                 pad: str | int = "same", nonlinearity: str = "relu", W=GlorotUniform(), b=Constant(0.0),
                 name: str | None = None):
        super().__init__(incoming, name)
        self.units = int(units)
        self.filter_size = int(filter_size)
        if pad == "same":
            if self.filter_size % 2 == 0:
                raise ValueError(f"pad='same' needs an odd filter_size, got {self.filter_size}")
            self.pad = self.filter_size // 2
        elif pad == "valid":
            self.pad = 0
        elif isinstance(pad, int) and pad >= 0:
            self.pad = pad
        else:
            raise ValueError(f"pad must be 'same', 'valid' or a non-negative int, got {pad!r}")
        self.nonlinearity = get_nonlinearity(nonlinearity)
        in_channels = output_units(incoming)
        # stored (k, in_channels, units): tap t is a plain (in, out) matrix; torch's weight is W.transpose(2, 1, 0)
        self.W = self.add_param(W, (self.filter_size, in_channels, self.units), "W", rng, regularizable=True)
        self.b = self.add_param(b, (self.units,), "b", rng)

    def get_output_for(self, incoming, deterministic: bool = False, **kwargs: bool):
        """Return ``f(conv(x, W) + b)``, ``(n, units, width_out)``, for ``x`` of ``(n, in_channels, width)``.

        ``x`` is zero-padded by ``pad`` on both sides of the width axis first; the graph raises at run
        time (an ``Assert``) if the padded input is narrower than the kernel.
        """
        x = incoming
        if self.pad:
            zeros = pt.zeros((x.shape[0], x.shape[1], self.pad), dtype=x.dtype)
            x = pt.concatenate([zeros, x, zeros], axis=2)
        width_out = x.shape[2] - (self.filter_size - 1)
        # channels last before the check, so that the transposes of stacked layers meet and cancel
        x = cast(TensorVariable, _input_too_narrow(x.dimshuffle(0, 2, 1), pt.gt(width_out, 0)))
        out = conv1d(x, self.W)  # (n, width_out, units)
        return self.nonlinearity(out + self.b).dimshuffle(0, 2, 1)


_input_too_narrow = Assert("Conv1DLayer: the (padded) input is narrower than the filter")


class GlobalPoolLayer(MergeLayer):
    """Max or mean over the width axis of ``(n, C, W)``, with an optional padding mask.

    Like ``lasagne.layers.GlobalPoolLayer`` (``pool_function=max`` or ``mean``), with a mask.

    Parameters
    ----------
    incoming : Layer
        Layer of shape ``(n, C, W)``.
    mode : {"max", "mean"}
    mask : Layer, optional
        Layer of shape ``(n, W)``: 1 for real positions, 0 for padding. Masked positions are
        ignored (mean over real positions; max over real positions, 0 for a sequence with
        none).
    name : str, optional

    Output ``(n, C)``, dtype of the input.
    """

    def __init__(self, incoming: Layer, mode: str = "max", mask: Layer | None = None, name: str | None = None):
        super().__init__([incoming] if mask is None else [incoming, mask], name)
        if mode not in ("max", "mean"):
            raise ValueError(f"mode must be 'max' or 'mean', got {mode!r}")
        self.mode = mode
        self.units = output_units(incoming)

    def get_output_for(self, incoming: list, deterministic: bool = False, **kwargs: bool):
        """Return the max or mean over the width axis, ``(n, C)`` for ``incoming[0]`` of shape ``(n, C, W)``.

        With a mask (``incoming[1]``, ``(n, W)``) only real positions count; a sequence without any
        real position pools to 0.
        """
        x = incoming[0]
        if len(incoming) == 1:
            return x.max(axis=2) if self.mode == "max" else x.mean(axis=2)
        mask = pt.cast(incoming[1], x.dtype).dimshuffle(0, "x", 1)
        if self.mode == "mean":
            count = pt.maximum(mask.sum(axis=2), np.asarray(1, dtype=x.dtype))
            return (x * mask).sum(axis=2) / count
        lowest = np.asarray(np.finfo(x.dtype).min, dtype=x.dtype)
        pooled = pt.switch(mask > 0, x, lowest).max(axis=2)
        any_real = mask.max(axis=2) > 0
        return pt.switch(any_real, pooled, pt.zeros_like(pooled))
