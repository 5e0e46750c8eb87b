"""Dropout. Mirrors ``lasagne.layers.noise``."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.random.basic import uniform
from pytensor.tensor.random.variable import shared_rng
from pytensor.tensor.variable import TensorVariable

from symmol.nn.layers.base import FLOATX, Layer

__all__ = ["DropoutLayer"]


class DropoutLayer(Layer):
    """Inverted dropout: zero each unit with probability ``p`` and scale the rest by 1/(1-p).

    Mirrors ``lasagne.layers.DropoutLayer`` (``rescale=True``). Srivastava et al., JMLR 2014,
    https://jmlr.org/papers/v15/srivastava14a.html.

    Parameters
    ----------
    incoming : Layer
        Any shape; the output has the same shape, float32.
    p : float
        Drop probability, in ``[0, 1)``.
    seed : int
        Seed of the layer's shared NumPy Generator.
    name : str, optional

    Identity when ``deterministic=True`` (prediction). The advance of the random stream is a
    state update (:func:`symmol.nn.layers.get_state_updates`) and must be passed to
    ``pytensor.function(updates=...)`` so that each call draws a new mask.

    Raises
    ------
    ValueError
        If ``p`` is outside ``[0, 1)``.
    """

    def __init__(self, incoming: Layer, p: float, seed: int, name: str | None = None):
        super().__init__(incoming, name)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = shared_rng(seed=seed, name=f"{self.name}.rng")

    def get_output_for(self, incoming: TensorVariable, deterministic: bool = False, **kwargs: bool):
        """Return ``incoming`` with each unit zeroed with probability ``p`` and the rest scaled by ``1/(1-p)``.

        ``incoming`` itself when ``deterministic`` or ``p == 0``. Otherwise the layer's random state
        advances through :attr:`state_updates`.
        """
        if deterministic or self.p == 0.0:
            return incoming
        keep = np.float32(1.0 - self.p)
        next_rng, draw = uniform(0.0, 1.0, size=incoming.shape, rng=self.rng, return_next_rng=True,
                                 dtype=FLOATX)
        self.state_updates[self.rng] = next_rng
        return pt.switch(draw < keep, incoming / keep, np.float32(0.0))
