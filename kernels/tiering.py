"""When to compile a kernel: run an exact uncompiled path until compiling would have paid for itself.

A fresh install has no compiled kernels: the SMILES reader and the Morgan kernels take about half a
minute to compile, the top-k similarity kernel about fifteen seconds, while RDKit (or NumPy) gives
the same numbers for ten molecules in milliseconds. A :class:`CompileTier` decides per call, like a
tiered JIT:

- kernels already compiled in this process, or cached on disk for this machine (an earlier run,
  ``symmol warm-cache``), are always used;
- otherwise the slower exact path runs, and the work it did is added up; once that sum plus the next
  call's work reaches the tier's ``break_even`` (the work the slower path does in the time compiling
  takes), the kernels are compiled and used from then on.

This is the ski-rental rule: whatever the total work turns out to be, it costs at most twice what the
best choice made in hindsight would have cost (Karlin et al., "Competitive randomized algorithms for
nonuniform problems", Algorithmica 1994, doi:10.1007/BF01189992). The results do not depend on the
choice: each slower path is checked equal to its kernels in the tests.

The environment variable ``SYMMOL_COMPILE`` overrides the rule: ``always`` (the kernels, compiling
them if needed; the tests use it so that kernel tests test kernels), ``never`` (the slower paths
only), ``auto`` (the default).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["COMPILE_MODES", "CompileTier", "always_compile", "compile_mode", "is_compiled"]

#: Values of the ``SYMMOL_COMPILE`` environment variable.
COMPILE_MODES = ("auto", "always", "never")


def compile_mode() -> str:
    """Return the ``SYMMOL_COMPILE`` setting, read at each call (``auto`` when unset).

    Raises
    ------
    ValueError
        When it is set to anything but one of :data:`COMPILE_MODES`.
    """
    mode = os.environ.get("SYMMOL_COMPILE", "auto").strip().lower() or "auto"
    if mode not in COMPILE_MODES:
        raise ValueError(f"SYMMOL_COMPILE must be one of {', '.join(COMPILE_MODES)}, got {mode!r}")
    return mode


@contextlib.contextmanager
def always_compile() -> Iterator[None]:
    """Within the block every tier uses (and so compiles) its kernels: ``SYMMOL_COMPILE=always``, then restored."""
    previous = os.environ.get("SYMMOL_COMPILE")
    os.environ["SYMMOL_COMPILE"] = "always"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SYMMOL_COMPILE"]
        else:
            os.environ["SYMMOL_COMPILE"] = previous


def is_compiled(dispatcher: Any) -> bool:
    """Whether calling a Numba dispatcher would not compile: compiled in this process or cached on disk.

    The on-disk check reads the dispatcher's cache index (Numba's ``FunctionCache``) and looks for an
    entry made by this machine's code generator from this function's current bytecode, the test Numba
    itself makes before loading a cached overload. Anything unexpected counts as not compiled.
    """
    if dispatcher.signatures:
        return True
    cache = getattr(dispatcher, "_cache", None)
    try:
        index = cache._cache_file._load_index()
        codegen = dispatcher.targetctx.codegen()
        return any(key[1:] == cache._index_key(key[0], codegen)[1:] for key in index)
    except Exception:  # noqa: BLE001 - a private Numba API: any failure means "compile to find out"
        return False


class CompileTier:
    """The ski-rental choice between a set of Numba kernels and an exact uncompiled path.

    Parameters
    ----------
    name
        What the kernels do, for messages.
    kernels
        The Numba dispatchers the compiled path calls from Python (each compiles its callees).
    break_even
        Work units (e.g. molecules, query-target pairs) the uncompiled path gets through in the
        time the kernels take to compile on a cold cache; > 0.

    Notes
    -----
    Thread-safe; each process keeps its own tally (its workers find kernels another process has
    cached on disk).
    """

    def __init__(self, name: str, kernels: Sequence[Any], break_even: float) -> None:
        if break_even <= 0:
            raise ValueError(f"break_even must be > 0, got {break_even}")
        self.name = name
        self.kernels = tuple(kernels)
        self.break_even = float(break_even)
        self.uncompiled_work = 0.0
        self._compiled = False
        self._lock = threading.Lock()

    def use_kernels(self, work: float) -> bool:
        """Whether the call about to do ``work`` units should use the kernels (compiling them if needed).

        Raises
        ------
        ValueError
            On an invalid ``SYMMOL_COMPILE``.
        """
        mode = compile_mode()
        if mode != "auto":
            return mode == "always"
        with self._lock:
            if self._compiled or all(is_compiled(kernel) for kernel in self.kernels):
                self._compiled = True
            elif self.uncompiled_work + work >= self.break_even:
                self._compiled = True
            else:
                self.uncompiled_work += work
            return self._compiled
