"""Graphs that run uncompiled, node by node in NumPy, until compiling them pays.

Numba compiles a small predict graph (a fingerprint MLP's six nodes) in two to four seconds on a
cold cache; PyTensor's ``py`` linker runs the same graph at once, each node's ``perform`` in NumPy,
about four times slower per row (measured on a 2-core machine: 22 ms against 6 ms for a Tox21
MLP on 4,096 ZINC molecules). A first ``symmol predict`` of ten molecules should not wait for the
compiler, and a screen of millions should not run interpreted. :class:`TieredFunction` applies the ski-rental rule
of :class:`~symmol.kernels.tiering.CompileTier` to a whole graph: uncompiled calls add their rows
to the tier's tally, and once the tally reaches the tier's break-even (or the tier's kernels are
compiled already, e.g. by ``symmol warm-cache`` or an earlier training run on this machine) the
Numba function is built and used from then on. ``SYMMOL_COMPILE=always|never`` overrides the rule.

Only graphs whose nodes all have fast ``perform`` methods belong here: the interpreted graph is
rewritten with PyTensor's ``fast_compile`` rewrites, which keep elementwise nodes apart (a fused
``Composite`` loops in Python in the ``py`` linker: 2,000× slower), and a kind whose ``perform``
loops over rows (the graph networks' gathers) must not declare a tier. The two paths agree to
float32 rounding (NumPy's and LLVM's ``exp`` may differ in the last bit; the BLAS calls differ in
summation order), not bit for bit: ``tests/test_tiered_function.py`` checks relative differences
below 1e-6.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from pytensor.compile.mode import Mode

from symmol.kernels.tiering import CompileTier

__all__ = ["INTERPRETED_MODE", "TieredFunction"]

#: PyTensor mode of the uncompiled path: each node's ``perform``, no elementwise fusion.
INTERPRETED_MODE = Mode(linker="py", optimizer="fast_compile")


class TieredFunction:
    """A PyTensor function that runs interpreted until its :class:`CompileTier` says compile.

    Parameters
    ----------
    build
        ``build(mode)`` returns the ``pytensor.function`` of the graph in ``mode``.
    compiled_mode
        The mode of the compiled path (PyTensor's ``NUMBA``).
    tier
        The break-even and tally (work = rows); its kernels being compiled means "compile now".
    work
        The work of a call from its arguments (e.g. the rows of a CSR batch: ``len(indptr) - 1``).

    Notes
    -----
    Thread-safe: the compiled function is built once, under a lock; calls themselves are not
    serialised (as for any PyTensor function, one instance per thread if calls overlap).
    """

    def __init__(self, build: Callable[[Mode], Any], compiled_mode: Mode, tier: CompileTier,
                 work: Callable[[Sequence[Any]], float]) -> None:
        self._build = build
        self._compiled_mode = compiled_mode
        self.tier = tier
        self._work = work
        self._interpreted: Any = None
        self._compiled: Any = None
        self._lock = threading.Lock()

    @property
    def is_compiled(self) -> bool:
        """Whether calls now go to the compiled function."""
        return self._compiled is not None

    def __call__(self, *args: Any) -> Any:
        """Run the graph on ``args``: compiled once the tier says so, interpreted until then."""
        compiled = self._compiled
        if compiled is None:
            with self._lock:
                if self._compiled is None and self.tier.use_kernels(self._work(args)):
                    self._compiled = self._build(self._compiled_mode)
                compiled = self._compiled
                if compiled is None and self._interpreted is None:
                    self._interpreted = self._build(INTERPRETED_MODE)
            if compiled is None:
                return self._interpreted(*args)
        return compiled(*args)
