"""Compile a graph's Numba node functions in two processes at once (the cold-start half of ``numba``).

On a cold cache most of a graph's first call is Numba compiling its node functions one after the
other (a fingerprint MLP's training step: 29 node functions, ~7.7 s of its ~10.5 s on one core;
``bench/results/cold_start.md``). PyTensor caches every node function on disk under a key of the
node, so a node compiled by *another* process is, for this one, a cache load of a few milliseconds.
:class:`ParallelNumbaLinker` uses that: when it builds a graph function whose whole-graph cache entry
is missing, it forks a child that compiles the later half of the nodes (by a rough cost weight, in
topological order) into the cache, while this process compiles the earlier half at the first call and
then waits for the child; the graph function itself is compiled last, as without this linker, and its
callees are then compiled or loaded.

The child must guess the Numba type of each node's inputs without running the graph: shared
variables' types come from their values, the graph's other inputs are taken as C-contiguous arrays,
the outputs of the child's own nodes from their compiled signatures, and the other outputs from their
PyTensor types (C-contiguous, or any layout for views such as ``DimShuffle``; constants read-only).
A wrong guess costs time, never correctness: the parent then compiles that node itself. The child
leaves alone the nodes with an integer vector it would have to guess (shapes, split sizes), and its
cost is bounded: it may grow by 2 GiB of address space, and after its own half the parent waits for
it at most half as long as that half took (plus a second), then kills it and compiles what is left.
The child holds no resource of the parent's: it is forked while this thread holds Numba's compiler
lock (so no other thread is compiling), dies with the parent (``PR_SET_PDEATHSIG`` on Linux), writes
only Numba's cache files (atomically, as Numba does) and leaves by ``os._exit``.

Used on Linux (``fork`` and ``PR_SET_PDEATHSIG``) when the machine gives this process at least two
CPUs, PyTensor's Numba cache is on (``numba__cache``) and ``SYMMOL_PARALLEL_COMPILE`` is not ``0``;
otherwise it is PyTensor's ``NumbaLinker``. The compiled functions are the same machine code either way.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numba
from numba.core import types as numba_types
from numba.core.compiler_lock import global_compiler_lock
from numba.core.dispatcher import Dispatcher
from pytensor.configdefaults import config
from pytensor.graph.basic import Apply, Constant, Variable
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.linker import NumbaLinker

__all__ = ["ParallelNumbaLinker", "SplitCompile", "parallel_compile_enabled"]

#: Nodes a graph needs (with a cache key) before a second process pays for itself.
MIN_NODES = 8
#: Relative compile cost of the node functions that compile fastest (everything else weighs 1).
LIGHT_OPS = {"Shape_i": 0.3, "DimShuffle": 0.3, "MakeVector": 0.3, "ScalarFromTensor": 0.2, "CheckAndRaise": 0.2,
             "Assert": 0.2, "SpecifyShape": 0.2}
#: The child waited for after this process's own half: at most this share of that half's time (plus
#: :data:`CHILD_GRACE` seconds); then it is killed and this process compiles what the child had not.
CHILD_WAIT_SHARE = 0.5
CHILD_GRACE = 1.0
#: Address space the child may add to what it has at the fork (bytes).
CHILD_MEMORY = 2 * 2**30

_recording = threading.local()
_patch_lock = threading.Lock()


def parallel_compile_enabled() -> bool:
    """Whether graph functions compile in two processes (see the module's conditions)."""
    if os.environ.get("SYMMOL_PARALLEL_COMPILE", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cpus >= 2 and bool(config.numba__cache)


def _recording_funcify(op: Any, *args: Any, **kwargs: Any) -> tuple[Callable, str | None]:
    """PyTensor's ``numba_funcify_ensure_cache`` that also notes each node's function while recording."""
    function, key = _original_funcify(op, *args, **kwargs)
    record = getattr(_recording, "nodes", None)
    node = kwargs.get("node")
    if record is not None and isinstance(node, Apply):
        record[node] = (function, key)
    return function, key


_original_funcify = numba_basic.numba_funcify_ensure_cache


@contextlib.contextmanager
def _record_node_functions() -> Iterator[dict[Apply, tuple[Callable, str | None]]]:
    """Collect ``{node: (numba function, cache key)}`` of the graphs converted inside the block (this thread)."""
    with _patch_lock:
        if numba_basic.numba_funcify_ensure_cache is not _recording_funcify:
            numba_basic.numba_funcify_ensure_cache = _recording_funcify
    nodes: dict[Apply, tuple[Callable, str | None]] = {}
    _recording.nodes = nodes
    try:
        yield nodes
    finally:
        _recording.nodes = None


def _weight(node: Apply) -> float:
    return LIGHT_OPS.get(type(node.op).__name__, 1.0)


def _guessed_type(variable: Variable) -> Any:
    """Numba type of a value of ``variable`` as the graph function will pass it (a guess for non-constants)."""
    if isinstance(variable, Constant):
        typ = numba.typeof(variable.data)
        return typ.copy(readonly=True) if isinstance(typ, numba_types.Array) else typ
    owner = variable.owner
    view = owner is not None and bool(getattr(owner.op, "view_map", None))
    return numba_basic.get_numba_type(variable.type, layout="A" if view else "C")


def _compile_nodes(order: Sequence[Apply], functions: dict[Apply, Dispatcher], mine: set[Apply],
                   known: dict[Variable, Any], guess_integers: bool = True) -> None:
    """Compile the node functions of ``mine`` for the argument types known or guessed, in ``order``.

    ``known`` maps variables to Numba types; the outputs of each compiled node are added from its
    signature. A node whose types cannot be guessed or that fails to compile is left to the graph
    function's own compilation, and so, without ``guess_integers``, is a node with an integer vector
    input whose type is not known (shapes and split sizes, whose exact types steer Numba's
    specialisation: a wrong guess for ``Split``'s sizes once sent Numba's type inference past 9 GB).
    """
    for node in order:
        if node not in mine:
            continue
        if not guess_integers and any(_guessed_integer_vector(v, known) for v in node.inputs):
            continue
        try:
            arg_types = [known[v] if v in known else _guessed_type(v) for v in node.inputs]
            function = functions[node]
            _, _, folded, _ = function.get_call_template(arg_types, {})  # compiles (or loads) this signature
            returned = function.overloads[tuple(folded)].signature.return_type
        except Exception:  # noqa: BLE001 - a guess that does not type: the graph compiles this node itself
            continue
        outputs = [returned] if len(node.outputs) == 1 else list(returned)
        known.update(zip(node.outputs, outputs, strict=False))


def _guessed_integer_vector(variable: Variable, known: dict[Variable, Any]) -> bool:
    """Whether ``variable`` is a vector of integers (shapes, sizes) whose type would be guessed."""
    if variable in known or isinstance(variable, Constant):
        return False
    dtype = str(getattr(variable.type, "dtype", "float"))
    return getattr(variable.type, "ndim", 0) == 1 and dtype.startswith(("int", "uint"))


def _die_with_parent() -> None:
    """Linux: the kernel kills this (child) process when its parent exits."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _cap_memory() -> None:
    """Limit this (child) process's address space to its size now plus :data:`CHILD_MEMORY`."""
    try:
        import resource

        pages = int(Path("/proc/self/statm").read_text().split()[0])
        limit = pages * os.sysconf("SC_PAGE_SIZE") + CHILD_MEMORY
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError, ImportError):
        pass


def _reap(pid: int) -> None:
    """Kill and wait for a child that was never waited for (its function was never called)."""
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


class SplitCompile:
    """The graph function with its node functions split between a forked child and the first call.

    Parameters
    ----------
    jitted
        PyTensor's jitted graph function (compiled at its first call, calling the node functions).
    order
        The graph's nodes with a cache key, in topological order.
    functions
        Each of those nodes' Numba function, as the graph function calls it.
    inputs
        The graph's inputs, in the order of the call's arguments.
    known
        Numba types of the inputs known or guessed before the first call (shared values, C arrays).
    """

    def __init__(self, jitted: Callable, order: Sequence[Apply], functions: dict[Apply, Dispatcher],
                 inputs: Sequence[Variable], known: dict[Variable, Any]) -> None:
        self._jitted = jitted
        self._order = list(order)
        self._functions = functions
        self._inputs = list(inputs)
        total = sum(_weight(n) for n in self._order)
        child: set[Apply] = set()
        taken = 0.0
        for node in reversed(self._order):
            if taken >= total / 2:
                break
            child.add(node)
            taken += _weight(node)
        #: The nodes whose functions the forked child compiles into the cache.
        self.child_nodes = frozenset(child)
        self._mine = set(self._order) - child
        self._pid: int | None = self._fork(child, known)
        self._finalizer = weakref.finalize(self, _reap, self._pid) if self._pid else None

    @property
    def child_pid(self) -> int | None:
        """The child's process id until the first call has waited for it (None after, or if the fork failed)."""
        return self._pid

    def node_function(self, node: Apply) -> Dispatcher:
        """Return a node's Numba function (its ``_cache_hits``/``_cache_misses`` tell where it came from)."""
        return self._functions[node]

    def _fork(self, child: set[Apply], known: dict[Variable, Any]) -> int | None:
        sys.stdout.flush()
        sys.stderr.flush()
        with global_compiler_lock:  # no other thread is inside Numba's compiler at the fork
            try:
                pid = os.fork()
            except OSError:
                return None
            if pid:
                return pid
            status = 1
            try:
                _die_with_parent()
                _cap_memory()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    _compile_nodes(self._order, self._functions, child, dict(known), guess_integers=False)
                status = 0
            finally:
                os._exit(status)
        return None  # pragma: no cover - the child never returns

    def _wait_for_child(self, patience: float) -> None:
        pid, self._pid = self._pid, None
        if self._finalizer is not None:
            self._finalizer.detach()
        if not pid:
            return
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
            time.sleep(0.01)
        _reap(pid)

    def __call__(self, *args: Any) -> Any:
        """Run the graph; the first call compiles this process's half, waits for the child, then compiles the rest."""
        if self._mine:
            mine, self._mine = self._mine, set()
            known = {}
            for variable, value in zip(self._inputs, args, strict=True):
                with contextlib.suppress(ValueError):  # a value Numba cannot type: its node is left unguessed
                    known[variable] = numba.typeof(value)
            started = time.monotonic()
            _compile_nodes(self._order, self._functions, mine, known)
            self._wait_for_child(CHILD_WAIT_SHARE * (time.monotonic() - started) + CHILD_GRACE)
        return self._jitted(*args)


class ParallelNumbaLinker(NumbaLinker):
    """PyTensor's ``NumbaLinker`` whose cold compilation runs in two processes (module docstring)."""

    def fgraph_convert(self, fgraph: Any, order: Any = None, input_storage: Any = None, output_storage: Any = None,
                       storage_map: Any = None, **kwargs: Any) -> Any:
        """Convert as PyTensor does, noting each node's function and cache key and the storage (shared values)."""
        with _record_node_functions() as nodes:
            converted = super().fgraph_convert(fgraph, order=order, input_storage=input_storage,
                                               output_storage=output_storage, storage_map=storage_map, **kwargs)
        self._node_functions = {node: function for node, (function, key) in nodes.items()
                                if key is not None and node in fgraph.apply_nodes and isinstance(function, Dispatcher)}
        self._storage_map = storage_map or {}
        return converted

    def jit_compile(self, fn_and_cache: Any) -> Any:
        """PyTensor's graph function, wrapped to split its cold compilation when it is not cached yet."""
        jitted = super().jit_compile(fn_and_cache)
        functions: dict[Apply, Dispatcher] = getattr(self, "_node_functions", {})
        fgraph = self.fgraph
        if fgraph is None or len(functions) < MIN_NODES or not parallel_compile_enabled() or _is_cached(jitted):
            return jitted
        known: dict[Variable, Any] = {}
        for variable in fgraph.inputs:
            value = self._storage_map.get(variable, [None])[0]
            try:
                known[variable] = numba.typeof(value) if value is not None else _guessed_type(variable)
            except Exception:  # noqa: BLE001 - an input type Numba cannot name: leave it unguessed
                continue
        order = [node for node in fgraph.toposort() if node in functions]
        return SplitCompile(jitted, order, functions, fgraph.inputs, known)


def _is_cached(jitted: Any) -> bool:
    """Whether the graph function's own entry is in Numba's cache (then every callee loads with it)."""
    try:
        return os.path.exists(jitted._cache._cache_file._index_path)
    except AttributeError:
        return False
