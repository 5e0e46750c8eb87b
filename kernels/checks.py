"""Argument checks shared by the kernels' public wrappers (plain Python, run before any kernel)."""

from __future__ import annotations

import numpy as np


def as_array(name: str, x: object, dtype: type, ndim: int) -> np.ndarray:
    """``x`` as a C-contiguous array of exactly ``dtype`` and ``ndim``; ``ValueError`` otherwise."""
    arr = np.asarray(x)
    if arr.dtype != np.dtype(dtype):
        raise ValueError(f"{name} must have dtype {np.dtype(dtype).name}, got {arr.dtype.name}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]``; ``ValueError`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return int(value)
