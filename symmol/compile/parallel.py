"""Cold compilation of Numba graphs: node functions in two processes at once, the graph linked once.

On a cold cache most of a graph's first call is Numba compiling its node functions one after the
other (a fingerprint MLP's training step: 36 node functions, ~10 s on one core;
``bench/results/cold_start.md``). :class:`ParallelNumbaLinker`, the ``numba`` backend's linker, cuts
that in three ways:

* **Two processes.** PyTensor caches every node function on disk under a key of the node, so a node
  compiled by *another* process is, for this one, a cache load of a few milliseconds. When the linker
  builds a graph function whose whole-graph cache entry is missing, it forks a child; the first call
  then compiles nodes from the front of the topological order while the child compiles from the
  back (the heaviest nodes first), each claiming a node before compiling it (one byte per node in
  shared memory, under a lock shared across the fork), until they meet: the two finish within about
  one node of each other whatever each node costs. The child also compiles the native entry points
  the graph calls (:func:`symmol.ops.entry_points.deferred`; ~1 s for the fingerprint product) and
  the nodes calling them; this process loads them from Numba's cache after waiting for it.
* **The graph linked once** (:func:`_flat_graph_function`): the graph function is the graph body
  itself, not PyTensor's cached wrapper around an uncached body, which sent every node function's
  code through LLVM twice more.
* **Collections that leave the old heap alone while compiling** (:func:`paused_gc`): Numba's compiler
  allocates millions of objects, and each full collection walked the whole heap (RDKit, pandas, the
  data).

The child must guess the Numba type of each node's inputs without running the graph: shared
variables' types come from their values, the graph's other inputs are taken as C-contiguous arrays,
the outputs of the child's own nodes from their compiled signatures, and the other outputs from their
PyTensor types (C-contiguous, or any layout for views such as ``DimShuffle``; constants read-only).
A wrong guess costs time, never correctness: the graph function then compiles that node here. The
child leaves to this process the nodes with an integer vector it would have to guess (shapes, split
sizes), and its cost is bounded: it may grow by 2 GiB of address space, and after its own share this
process waits for it at most half as long as that share took (plus a second), then kills it and
compiles what is left. The child holds no resource of the parent's: it is forked while this thread
holds Numba's compiler lock (so no other thread is compiling), runs no parallel code (GNU OpenMP
aborts a forked child that does), dies with the parent (``PR_SET_PDEATHSIG`` on Linux), writes only
Numba's cache files (atomically, as Numba does) and leaves by ``os._exit``.

The linker is the ``numba`` backend's unless ``SYMMOL_PARALLEL_COMPILE=0`` (then it is PyTensor's
``NumbaLinker``); it forks only on Linux (``fork`` and ``PR_SET_PDEATHSIG``), when the machine gives
this process at least two CPUs and PyTensor's Numba cache is on (``numba__cache``). The compiled
functions compute the same either way (the tests compare losses and parameters bit for bit).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import mmap
import multiprocessing
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
from pytensor.link.numba.cache import compile_numba_function_src
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.linker import NumbaLinker

from symmol.ops import entry_points as _entry_points

__all__ = ["ParallelNumbaLinker", "SplitCompile", "linker_enabled", "parallel_compile_enabled", "paused_gc"]

#: Nodes a graph needs (with a cache key) before a second process pays for itself.
MIN_NODES = 8
#: Weight from which the child compiles a node first (a whole kernel compiled into the graph).
HEAVY = 3.0
#: The child waited for after this process's own half: at most this share of that half's time (plus
#: :data:`CHILD_GRACE` seconds); then it is killed and this process compiles what the child had not.
CHILD_WAIT_SHARE = 0.5
CHILD_GRACE = 1.0
#: Address space the child may add to what it has at the fork (bytes).
CHILD_MEMORY = 2 * 2**30
#: Seconds a claim waits for the lock shared with the child before giving up on the child.
LOCK_TIMEOUT = 2.0

_recording = threading.local()
_patch_lock = threading.Lock()


def linker_enabled() -> bool:
    """Whether the ``numba`` backend uses :class:`ParallelNumbaLinker` (``SYMMOL_PARALLEL_COMPILE`` is not ``0``)."""
    return os.environ.get("SYMMOL_PARALLEL_COMPILE", "1") != "0"


def parallel_compile_enabled() -> bool:
    """Whether graph functions compile in two processes (see the module's conditions)."""
    if not linker_enabled() or not sys.platform.startswith("linux"):
        return False
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cpus >= 2 and bool(config.numba__cache)


def _recording_funcify(op: Any, *args: Any, **kwargs: Any) -> tuple[Callable, str | None]:
    """PyTensor's ``numba_funcify_ensure_cache`` that also notes each node's function while recording.

    Noted per node: its function, its cache key, and whether converting it named a deferred entry point.
    """
    entries = getattr(_recording, "entries", None)
    before = len(entries) if entries is not None else 0
    function, key = _original_funcify(op, *args, **kwargs)
    record = getattr(_recording, "nodes", None)
    node = kwargs.get("node")
    if record is not None and isinstance(node, Apply):
        record[node] = (function, key, entries is not None and len(entries) > before)
    return function, key


_original_funcify = numba_basic.numba_funcify_ensure_cache


@contextlib.contextmanager
def _record_node_functions(entries: set) -> Iterator[dict[Apply, tuple[Callable, str | None, bool]]]:
    """Collect ``{node: (numba function, cache key, names a new entry point)}`` inside the block (this thread).

    ``entries`` is the set :func:`symmol.ops.entry_points.deferred` fills.
    """
    with _patch_lock:
        if numba_basic.numba_funcify_ensure_cache is not _recording_funcify:
            numba_basic.numba_funcify_ensure_cache = _recording_funcify
    nodes: dict[Apply, tuple[Callable, str | None, bool]] = {}
    _recording.nodes, _recording.entries = nodes, entries
    try:
        yield nodes
    finally:
        _recording.nodes = _recording.entries = None


def _weight(node: Apply) -> float:
    """Cold compile time of a node's function relative to an elementwise node's (the Op's ``numba_compile_weight``)."""
    return float(getattr(node.op, "numba_compile_weight", 1.0))


def _same_function(node: Apply, key: str | None) -> tuple:
    """Nodes with equal values compile to the same cached function (the second one loads the first).

    The Numba types are guessed as the child guesses them (a view is an ``A``-layout array, so a
    product of a transposed matrix is not the same function as a product of a fresh one).
    """
    if key is None:
        return (node,)
    try:
        return (key, tuple(_guessed_type(v) for v in node.inputs))
    except Exception:  # noqa: BLE001 - a type Numba cannot name: a group of its own
        return (node,)


def _guessed_type(variable: Variable) -> Any:
    """Numba type of a value of ``variable`` as the graph function will pass it (a guess for non-constants)."""
    if isinstance(variable, Constant):
        typ = numba.typeof(variable.data)
        return typ.copy(readonly=True) if isinstance(typ, numba_types.Array) else typ
    owner = variable.owner
    view = owner is not None and bool(getattr(owner.op, "view_map", None))
    return numba_basic.get_numba_type(variable.type, layout="A" if view else "C")


def _compile_node(node: Apply, function: Dispatcher, known: dict[Variable, Any]) -> bool:
    """Compile (or load) ``node``'s function for the argument types known or guessed; note its output types.

    ``known`` maps variables to Numba types; the outputs of the compiled node are added from its
    signature. Returns False (and leaves the node to the graph function's own compilation) when a
    guess does not type or the node fails to compile.
    """
    try:
        arg_types = [known[v] if v in known else _guessed_type(v) for v in node.inputs]
        _, _, folded, _ = function.get_call_template(arg_types, {})  # compiles (or loads) this signature
        returned = function.overloads[tuple(folded)].signature.return_type
    except Exception:  # noqa: BLE001 - a guess that does not type: the graph compiles this node itself
        return False
    outputs = [returned] if len(node.outputs) == 1 else list(returned)
    known.update(zip(node.outputs, outputs, strict=False))
    return True


def _is_integer(variable: Variable) -> bool:
    return str(getattr(variable.type, "dtype", "float")).startswith(("int", "uint"))


def _guessed_integer_vector(variable: Variable, known: dict[Variable, Any]) -> bool:
    """Whether ``variable`` is a vector of integers (shapes, sizes) whose type would be guessed."""
    if variable in known or isinstance(variable, Constant):
        return False
    dtype = str(getattr(variable.type, "dtype", "float"))
    return getattr(variable.type, "ndim", 0) == 1 and dtype.startswith(("int", "uint"))


_freeze_lock = threading.Lock()
_freeze_depth = 0


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Keep the cyclic garbage collector off the heap that existed before the block (see the module docstring).

    The objects alive at entry are frozen (``gc.freeze``: moved to a generation no collection walks) and
    thawed at exit, so collections inside the block walk only what the block allocated: Numba's and
    PyTensor's garbage is still collected (a long compile with the collector off would keep all of its
    cyclic garbage), but a full collection no longer walks RDKit's, pandas's and the data's objects.
    Nested and concurrent blocks freeze once, at the outermost entry, and thaw at the last exit.
    """
    global _freeze_depth
    with _freeze_lock:
        _freeze_depth += 1
        if _freeze_depth == 1:
            gc.freeze()
    try:
        yield
    finally:
        with _freeze_lock:
            _freeze_depth -= 1
            if _freeze_depth == 0:
                gc.unfreeze()


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


#: Owners of a node in :class:`_Claims`: nobody, the process or the child reaching it, or either of
#: them through another node of its group (the same function); only a ``PARENT`` node marks how far
#: the parent's front has come.
FREE, PARENT, CHILD, PARENT_GROUP, CHILD_GROUP = 0, 1, 2, 3, 4
_GROUP = {PARENT: PARENT_GROUP, CHILD: CHILD_GROUP}


class _Claims:
    """Which process compiles each node: one byte per node in memory shared with the forked child.

    A claim takes a whole group of nodes (those compiling to the same function) under a lock shared
    across the fork; a lock held by a child that died is given up on after :data:`LOCK_TIMEOUT` s
    (the parent then compiles everything still free).
    """

    def __init__(self, n_nodes: int) -> None:
        self._owners = mmap.mmap(-1, max(n_nodes, 1))  # anonymous and shared: the child writes, the parent reads
        self._lock = multiprocessing.get_context("fork").Lock()

    def owner(self, index: int) -> int:
        return self._owners[index]

    def reserve(self, indices: Iterator[int], owner: int) -> None:
        """Give ``indices`` to ``owner`` before the fork."""
        for i in indices:
            self._owners[i] = owner

    def claim(self, index: int, group: Sequence[int], owner: int) -> bool:
        """Give node ``index`` and the rest of its ``group`` to ``owner`` unless the other process has them.

        Returns True if they are ``owner``'s now (``index`` marked ``owner``, the rest ``owner``'s group mark).
        """
        mine = (FREE, owner, _GROUP[owner])
        if not self._lock.acquire(timeout=LOCK_TIMEOUT):  # a child died holding it: the parent takes the rest
            return owner == PARENT and all(self._owners[i] in mine for i in group)
        try:
            if any(self._owners[i] not in mine for i in group):
                return False
            for i in group:
                if i == index or self._owners[i] == FREE:
                    self._owners[i] = owner if i == index else _GROUP[owner]
            return True
        finally:
            self._lock.release()


class SplitCompile:
    """The graph function with its node functions compiled by a forked child and the first call at once.

    The first call takes nodes from the front of the topological order and the child from the
    back, each claiming a node (with every node that compiles to the same function) before
    compiling it, until they meet; so the two processes finish within about one node of each other
    whatever each node costs. The child starts with the native entry points the graph calls
    (:func:`symmol.ops.entry_points.deferred`) and the nodes calling them; this process registers
    those entry points (loading what the child compiled) after waiting for it.

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
    keys
        Each node's PyTensor cache key: nodes with the same key and input types are claimed together.
    entry_points
        The native entry points ``(kind, dtype)`` the graph calls, not registered in this process yet.
    entry_nodes
        The nodes whose functions call them (compiled by the child, or by the graph function).
    """

    def __init__(self, jitted: Callable, order: Sequence[Apply], functions: dict[Apply, Dispatcher],
                 inputs: Sequence[Variable], known: dict[Variable, Any], keys: dict[Apply, str | None] | None = None,
                 entry_points: frozenset[tuple[str, str]] = frozenset(),
                 entry_nodes: frozenset[Apply] = frozenset()) -> None:
        self._jitted = jitted
        self._order = list(order)
        self._functions = functions
        self._inputs = list(inputs)
        self._entry_points = entry_points
        keys = keys or {}
        groups: dict[tuple, list[int]] = {}
        for i, node in enumerate(self._order):
            groups.setdefault(_same_function(node, keys.get(node)), []).append(i)
        self._group = [groups[_same_function(node, keys.get(node))] for node in self._order]
        self._claims = _Claims(len(self._order))
        self._entry_indices = [i for i, node in enumerate(self._order) if node in entry_nodes]
        self._claims.reserve((j for i in self._entry_indices for j in self._group[i]), CHILD)
        self._compiled = False
        self._pid: int | None = self._fork(known)
        if self._pid is None:  # no child: this process compiles everything, the entry points first
            self._claims.reserve(iter(range(len(self._order))), FREE)
            for kind, dtype in sorted(entry_points):
                _entry_points.register(kind, dtype)
        self._finalizer = weakref.finalize(self, _reap, self._pid) if self._pid else None

    @property
    def child_pid(self) -> int | None:
        """The child's process id until the first call has waited for it (None after, or if the fork failed)."""
        return self._pid

    @property
    def child_nodes(self) -> frozenset[Apply]:
        """The nodes the child claimed (all of them compiled by it unless it was stopped early)."""
        return frozenset(node for i, node in enumerate(self._order) if self._claims.owner(i) in (CHILD, CHILD_GROUP))

    def node_function(self, node: Apply) -> Dispatcher:
        """Return a node's Numba function (its ``_cache_hits``/``_cache_misses`` tell where it came from)."""
        return self._functions[node]

    def _fork(self, known: dict[Variable, Any]) -> int | None:
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
                with warnings.catch_warnings(), paused_gc():
                    warnings.simplefilter("ignore")
                    self._compile_as_child(dict(known))
                status = 0
            finally:
                os._exit(status)
        return None  # pragma: no cover - the child never returns

    def _compile_as_child(self, known: dict[Variable, Any]) -> None:
        """Compile, in the child, the entry points and their callers, then nodes from the back until the parent's."""
        for kind, dtype in sorted(self._entry_points):
            _entry_points.register(kind, dtype)  # into Numba's cache; the parent loads it
        for i in self._entry_indices:
            _compile_node(self._order[i], self._functions[self._order[i]], known)
        # the heaviest nodes first, so that what the parent may wait for at the end is a light one
        heavy = [i for i, node in enumerate(self._order) if _weight(node) >= HEAVY]
        for i in [*heavy, *reversed(range(len(self._order)))]:
            owner = self._claims.owner(i)
            if owner == PARENT:
                if i in heavy:
                    continue
                return  # the parent takes nodes in order: everything before this one is its
            node = self._order[i]
            if owner != FREE or any(_guessed_integer_vector(v, known) for v in node.inputs):
                continue  # done already (or the parent's through its group), or an integer vector to guess
            if self._claims.claim(i, self._group[i], CHILD):
                _compile_node(node, self._functions[node], known)

    def _compile_as_parent(self, known: dict[Variable, Any]) -> None:
        """Compile, here, the nodes from the front, skipping the child's, until none is free.

        A node whose input types would be partly guessed (produced by nodes the child compiled) and
        that takes integers (shapes, sizes, axes) is left to the graph function: such guesses once sent
        Numba's type inference for a ``Split`` past 24 GB here, where no memory cap bounds it.
        """
        for i, node in enumerate(self._order):
            guessed = any(v not in known and not isinstance(v, Constant) for v in node.inputs)
            if guessed and any(_is_integer(v) for v in node.inputs):
                continue
            if self._claims.claim(i, self._group[i], PARENT):
                _compile_node(node, self._functions[node], known)

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
        """Run the graph; the first call compiles this process's share, waits for the child, then the rest."""
        if self._compiled:
            return self._jitted(*args)
        self._compiled = True
        with paused_gc():
            known = {}
            for variable, value in zip(self._inputs, args, strict=True):
                with contextlib.suppress(ValueError):  # a value Numba cannot type: its node is left unguessed
                    known[variable] = numba.typeof(value)
            started = time.monotonic()
            self._compile_as_parent(known)
            self._wait_for_child(CHILD_WAIT_SHARE * (time.monotonic() - started) + CHILD_GRACE)
            for kind, dtype in sorted(self._entry_points):
                _entry_points.register(kind, dtype)  # loaded from the cache where the child compiled it
            return self._jitted(*args)


class _CompiledAtFirstCall:
    """A graph function compiled in this process alone at its first call, with the collector paused then."""

    def __init__(self, jitted: Callable) -> None:
        self._jitted = jitted
        self._compiled = False

    def __call__(self, *args: Any) -> Any:
        if self._compiled:
            return self._jitted(*args)
        with paused_gc():
            result = self._jitted(*args)
        self._compiled = True
        return result


class ParallelNumbaLinker(NumbaLinker):
    """PyTensor's ``NumbaLinker`` whose cold compilation runs in two processes (module docstring)."""

    def fgraph_convert(self, fgraph: Any, order: Any = None, input_storage: Any = None, output_storage: Any = None,
                       storage_map: Any = None, **kwargs: Any) -> Any:
        """Convert as PyTensor does, noting each node's function, cache key and entry points, and the storage."""
        with _entry_points.deferred() as entry_points, _record_node_functions(entry_points) as nodes:
            converted = _flat_graph_function(fgraph, order=order, input_storage=input_storage,
                                             output_storage=output_storage, storage_map=storage_map, **kwargs)
        self._node_functions = {node: function for node, (function, key, _) in nodes.items()
                                if key is not None and node in fgraph.apply_nodes and isinstance(function, Dispatcher)}
        self._node_keys = {node: nodes[node][1] for node in self._node_functions}
        self._entry_nodes = frozenset(node for node, (_, _, entries) in nodes.items() if entries)
        self._entry_points = frozenset(entry_points)
        self._storage_map = storage_map or {}
        return converted

    def jit_compile(self, fn_and_cache: Any) -> Any:
        """PyTensor's graph function, wrapped to split its cold compilation when it is not cached yet."""
        jitted = super().jit_compile(fn_and_cache)
        functions: dict[Apply, Dispatcher] = getattr(self, "_node_functions", {})
        entry_points: frozenset[tuple[str, str]] = getattr(self, "_entry_points", frozenset())
        fgraph = self.fgraph
        entry_nodes: frozenset[Apply] = getattr(self, "_entry_nodes", frozenset())
        if _is_cached(jitted):
            for kind, dtype in sorted(entry_points):
                _entry_points.register(kind, dtype)
            return jitted
        if (fgraph is None or len(functions) < MIN_NODES or not parallel_compile_enabled()
                or not entry_nodes <= functions.keys()):
            for kind, dtype in sorted(entry_points):
                _entry_points.register(kind, dtype)
            return _CompiledAtFirstCall(jitted)
        known: dict[Variable, Any] = {}
        for variable in fgraph.inputs:
            value = self._storage_map.get(variable, [None])[0]
            try:
                known[variable] = numba.typeof(value) if value is not None else _guessed_type(variable)
            except Exception:  # noqa: BLE001 - an input type Numba cannot name: leave it unguessed
                continue
        order = [node for node in fgraph.toposort() if node in functions]
        return SplitCompile(jitted, order, functions, fgraph.inputs, known, self._node_keys, entry_points, entry_nodes)


def _flat_graph_function(fgraph: Any, **kwargs: Any) -> tuple[Callable, str | None]:
    """Convert the graph to one cached Numba function that calls the node functions directly.

    PyTensor's ``numba_funcify_ensure_cache`` makes a cacheable graph function a cached one-line
    wrapper around the uncached graph body; Numba links each callee's code into its caller and
    optimises and generates machine code for the linked whole, so every node function's code then
    went through LLVM twice more (in the body, then in the wrapper). Here the body's own source is
    compiled as the cached function (under a key of its own, beside PyTensor's entries).
    """
    if not config.numba__cache:
        return _original_funcify(fgraph, **kwargs)
    body: Any
    body, key = numba_basic.numba_funcify_and_cache_key(fgraph, **kwargs)
    py_func = getattr(body, "py_func", None)
    source = getattr(py_func, "__source__", None)
    if key is None or py_func is None or source is None:
        return body, None  # as PyTensor: a graph that cannot be cached (or not from its source)
    flat = compile_numba_function_src(source, py_func.__name__, dict(py_func.__globals__),
                                      cache_key=f"symmol-flat-{key}_fastmath{int(config.numba__fastmath)}")
    return numba_basic.numba_njit(flat, cache=True), key


def _is_cached(jitted: Any) -> bool:
    """Whether the graph function's own entry is in Numba's cache (then every callee loads with it)."""
    try:
        return os.path.exists(jitted._cache._cache_file._index_path)
    except AttributeError:
        return False
