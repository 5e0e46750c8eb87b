"""The one place for Numba compilation flags used by every kernel."""

from __future__ import annotations

import os

# Numba's OpenMP threading layer spin-waits between parallel regions by default; on a
# shared 2-core machine that stalled early parallel calls for seconds (measured 8-40 s vs
# 0.07 s with a passive policy). Set before Numba starts its thread pool; users may override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402

#: Flags for serial kernels: cached on disk, release the GIL, exact IEEE maths.
JIT_FLAGS = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}

#: Flags for kernels that use ``numba.prange`` over disjoint output slices.
PARALLEL_JIT_FLAGS = {**JIT_FLAGS, "parallel": True}


def jit(*args, **kwargs):
    """``numba.njit`` with symmol's serial flags (keyword overrides allowed)."""
    return numba.njit(*args, **{**JIT_FLAGS, **kwargs})


def parallel_jit(*args, **kwargs):
    """``numba.njit`` with symmol's parallel flags (keyword overrides allowed)."""
    return numba.njit(*args, **{**PARALLEL_JIT_FLAGS, **kwargs})
