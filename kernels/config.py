"""The one place for Numba compilation flags used by every kernel, and for how their on-disk cache goes stale."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

# Numba's OpenMP threading layer spin-waits between parallel regions by default, which on a
# shared machine stalls early parallel calls for seconds (bench/results/design_measurements.md).
# Set before Numba starts its thread pool; users may override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
from numba.core import caching  # noqa: E402

#: Flags for serial kernels: cached on disk, release the GIL, exact IEEE maths.
JIT_FLAGS = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}

#: Flags for kernels that use ``numba.prange`` over disjoint output slices.
PARALLEL_JIT_FLAGS = {**JIT_FLAGS, "parallel": True}

_KERNELS = Path(__file__).resolve().parent


def jit(*args: Any, **kwargs: Any) -> Any:
    """Return ``numba.njit`` with symmol's serial flags (keyword overrides allowed)."""
    return numba.njit(*args, **{**JIT_FLAGS, **kwargs})


def parallel_jit(*args: Any, **kwargs: Any) -> Any:
    """Return ``numba.njit`` with symmol's parallel flags (keyword overrides allowed)."""
    return numba.njit(*args, **{**PARALLEL_JIT_FLAGS, **kwargs})


@functools.cache
def sources_stamp() -> str:
    """Return the sha256 of every kernel source file (their paths and contents).

    Numba stamps a cached function with its own file's modification time and size only, but a kernel
    compiles the kernels it calls (often from other files, often inlined) into its own machine code.
    So every kernel's cache carries this stamp instead: editing or upgrading any kernel file makes
    every cached kernel stale and recompiles it (``tests/test_kernels_cache.py``).
    """
    digest = hashlib.sha256()
    for path in sorted(_KERNELS.rglob("*.py")):
        digest.update(path.relative_to(_KERNELS).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class _KernelsStamp:
    """Mixin for Numba's cache locators: the functions of ``kernels/`` carry :func:`sources_stamp`."""

    def get_source_stamp(self) -> str:
        return sources_stamp()

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        if not Path(py_file).resolve().is_relative_to(_KERNELS):
            return None
        return super().from_function(py_func, py_file)  # type: ignore[misc]


def _install_cache_locators() -> None:
    """Put a stamped variant of each of Numba's file-backed locators first, in Numba's own order."""
    classes = getattr(getattr(caching, "CacheImpl", None), "_locator_classes", None)
    bases = [getattr(caching, name, None) for name in
             ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")]
    if classes is None or any(base is None for base in bases):  # another Numba: its own stamps apply
        return
    if any(issubclass(cls, _KernelsStamp) for cls in classes):
        return
    classes[:0] = [type(f"Kernels{base.__name__}", (_KernelsStamp, base), {}) for base in bases]


_install_cache_locators()
