"""Input layer of a dense tensor. Mirrors ``lasagne.layers.input``.

The sparse fingerprint input is :class:`symmol.nn.layers.FingerprintInputLayer`.
"""

from __future__ import annotations

import pytensor.tensor as pt

from symmol.nn.layers.base import FLOATX, Layer

__all__ = ["InputLayer"]


class InputLayer(Layer):
    """Input of a dense tensor: creates the symbolic variable.

    Mirrors ``lasagne.layers.InputLayer``.

    Parameters
    ----------
    shape : tuple of int or None
        Static shape, ``None`` for unknown sizes (e.g. ``(None, 2048)``); sets ``ndim``.
    dtype : str
        ``"float32"`` (default) or an integer dtype for token/atom ids.
    units : int, optional
        Width reported to following layers (default: the last entry of ``shape``).
    name : str, optional
        Name of the layer and of its variable.

    Attributes
    ----------
    input_var : TensorVariable
        The symbolic input, of ``shape`` and ``dtype``.
    """

    def __init__(self, shape: tuple[int | None, ...], dtype: str = FLOATX, units: int | None = None,
                 name: str | None = None):
        super().__init__(None, name)
        self.shape = tuple(shape)
        self.input_var = pt.tensor(self.name, dtype=dtype, shape=self.shape)
        last = units if units is not None else (self.shape[-1] if self.shape else None)
        if last is not None:
            self.units = int(last)
