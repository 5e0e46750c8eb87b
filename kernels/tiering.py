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

The sum is kept on disk beside the kernels' Numba cache (``symmol_tiers.json``), so that it grows over
runs: a user who screens 20,000 molecules at a time pays the compile in about the tenth run, not never.

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
import json
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["COMPILE_MODES", "CompileTier", "always_compile", "compile_mode", "is_compiled"]

#: Values of the ``SYMMOL_COMPILE`` environment variable.
COMPILE_MODES = ("auto", "always", "never")
#: File, in a tier's tally directory, holding each tier's uncompiled work so far.
TALLY_FILE = "symmol_tiers.json"


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
    cache: Any = getattr(dispatcher, "_cache", None)
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
    tally_dir
        Where the uncompiled work is kept between processes (:data:`TALLY_FILE`); default: the
        directory of the first kernel's Numba cache. ``None`` there (no kernel, or no cache) keeps
        it in memory only.

    Raises
    ------
    ValueError
        On ``break_even <= 0``.

    Notes
    -----
    Thread-safe. Processes sharing a cache directory share the tally; concurrent updates may lose
    some work (the tally only decides when to compile, never what is computed), and an unreadable
    file counts as no work.
    """

    def __init__(self, name: str, kernels: Sequence[Any], break_even: float, tally_dir: Path | None = None) -> None:
        if break_even <= 0:
            raise ValueError(f"break_even must be > 0, got {break_even}")
        self.name = name
        self.kernels = tuple(kernels)
        self.break_even = float(break_even)
        self._tally_dir = tally_dir
        self._loaded = False
        self.uncompiled_work = 0.0
        self._compiled = False
        self._lock = threading.Lock()

    @property
    def tally_path(self) -> Path | None:
        """The file of the persisted tally, or ``None`` when it is kept in memory only."""
        if self._tally_dir is not None:
            return self._tally_dir / TALLY_FILE
        try:
            return Path(self.kernels[0]._cache._cache_path) / TALLY_FILE
        except (AttributeError, IndexError):
            return None

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
                return True
            if not self._loaded:
                self.uncompiled_work = max(self.uncompiled_work, self._read_tally().get(self.name, 0.0))
                self._loaded = True
            if self.uncompiled_work + work >= self.break_even:
                self._compiled = True
            else:
                self.uncompiled_work += work
                self._write_tally()
            return self._compiled

    def _read_tally(self) -> dict[str, float]:
        path = self.tally_path
        try:
            tally = json.loads(path.read_text()) if path is not None else {}
        except (OSError, ValueError):
            return {}
        if not isinstance(tally, dict):
            return {}
        return {str(k): float(v) for k, v in tally.items() if isinstance(v, int | float)}

    def _write_tally(self) -> None:
        path = self.tally_path
        if path is None:
            return
        tally = {**self._read_tally(), self.name: self.uncompiled_work}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tiers-")
        except OSError:  # a read-only cache directory: the tally stays in this process
            return
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(tally, handle)
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
