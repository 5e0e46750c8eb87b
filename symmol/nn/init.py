"""Parameter initialisers (NumPy, seeded): each is called with a shape and a Generator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape``, as ``torch.nn.init`` computes them.

    A vector counts its length both ways; a matrix is ``(in, out)``; a convolution weight
    stored ``(*kernel, in, out)`` (:class:`symmol.nn.layers.Conv1DLayer`) multiplies both by the
    kernel size.
    """
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


@dataclass(frozen=True)
class GlorotUniform:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    Glorot & Bengio, AISTATS 2010 (http://proceedings.mlr.press/v9/glorot10a).
    """

    gain: float = 1.0

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Draw an array of ``shape`` from ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))`` (float64)."""
        fan_in, fan_out = fans(shape)
        bound = self.gain * np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, size=shape)


@dataclass(frozen=True)
class HeUniform:
    """U(-a, a) with a = gain * sqrt(3 / fan_in); gain sqrt(2) for ReLU.

    He et al., ICCV 2015, doi:10.1109/ICCV.2015.123.
    """

    gain: float = float(np.sqrt(2.0))

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Draw an array of ``shape`` from ``U(-a, a)``, ``a = gain * sqrt(3 / fan_in)`` (float64)."""
        bound = self.gain * np.sqrt(3.0 / fans(shape)[0])
        return rng.uniform(-bound, bound, size=shape)


@dataclass(frozen=True)
class Constant:
    """Every entry equal to ``value``."""

    value: float = 0.0

    def __call__(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Return an array of ``shape`` filled with ``value`` (``rng`` is not used)."""
        return np.full(shape, self.value)
