"""Elementwise activation functions on symbolic tensors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable


def identity(x: TensorVariable) -> TensorVariable:
    """Return ``x`` unchanged."""
    return x


def relu(x: TensorVariable) -> TensorVariable:
    """Return ``max(x, 0)``, elementwise."""
    return pt.maximum(x, 0)


def gelu(x: TensorVariable) -> TensorVariable:
    """Return ``x * Φ(x)``, the exact (erf) form of GELU; Hendrycks & Gimpel 2016, arXiv:1606.08415."""
    half = np.asarray(0.5, dtype=x.dtype)
    inv_sqrt2 = np.asarray(1.0 / np.sqrt(2.0), dtype=x.dtype)
    return half * x * (1 + pt.erf(x * inv_sqrt2))


def sigmoid(x: TensorVariable) -> TensorVariable:
    """Return ``1 / (1 + exp(-x))``, elementwise."""
    return pt.sigmoid(x)


def tanh(x: TensorVariable) -> TensorVariable:
    """Return ``tanh(x)``, elementwise."""
    return pt.tanh(x)


NONLINEARITIES: dict[str, Callable[[TensorVariable], TensorVariable]] = {
    "identity": identity, "relu": relu, "gelu": gelu, "sigmoid": sigmoid, "tanh": tanh,
}


def get_nonlinearity(name: str) -> Callable[[TensorVariable], TensorVariable]:
    """Look an activation up by name; raises ``ValueError`` listing the known names."""
    try:
        return NONLINEARITIES[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(NONLINEARITIES)}") from None
