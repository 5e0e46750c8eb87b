"""Keep freed memory in the process while compiled functions run in a loop (glibc's ``mallopt``).

A compiled training step allocates its large intermediates (a GRU's states and gates, activations,
gradients: megabytes each) with ``malloc`` and frees them before the next step. glibc hands
allocations above its mmap threshold to the kernel directly and gives the top of the heap back once
more than its trim threshold is free, so every step maps fresh pages again and the kernel zeroes
them on first touch: on a 2 x 256 GRU language model that was a fifth of each step's CPU time
(``bench/results/generation.md``). PyTorch's allocator keeps such blocks; :func:`retained_heap`
raises both thresholds so that glibc keeps them too, and trims the heap when the loop ends.

The thresholds stay raised for the rest of the process: setting them switches glibc's own
adjustment of the mmap threshold off for good, so lowering them again would leave every later large
allocation of the process (NumPy's, PyTorch's) mapped and unmapped each time.

Elsewhere than glibc (macOS, musl, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["retained_heap"]

#: ``mallopt`` parameters (glibc's ``malloc.h``).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Once raised, this much free memory may stay at the heap's top ...
RETAINED_BYTES = 1 << 30
#: ... and blocks up to this size come from the heap (a GRU's gates at 3 x 512 units are ~50 MB).
HEAP_BLOCK_BYTES = 256 << 20

_lock = threading.Lock()
_depth = 0
_raised = False


@functools.cache
def _glibc() -> Any:
    """Return the C library if it is glibc (has ``mallopt`` and ``malloc_trim``), else ``None``."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.gnu_get_libc_version()
    except (OSError, AttributeError):
        return None
    return libc


@contextmanager
def retained_heap() -> Iterator[None]:
    """Keep freed blocks in the heap while the block runs (re-entrant, thread-safe).

    The first use in a process sets glibc's thresholds for good: blocks up to
    :data:`HEAP_BLOCK_BYTES` come from the heap, and up to :data:`RETAINED_BYTES` of free memory may
    stay at its top. The outermost exit returns the free memory to the system (``malloc_trim``).
    """
    global _depth, _raised
    libc = _glibc()
    if libc is None:
        yield
        return
    with _lock:
        _depth += 1
        if not _raised:
            libc.mallopt(_M_MMAP_THRESHOLD, HEAP_BLOCK_BYTES)
            libc.mallopt(_M_TRIM_THRESHOLD, RETAINED_BYTES)
            _raised = True
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.malloc_trim(0)
