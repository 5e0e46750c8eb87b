"""Numba backend plumbing shared by symmol's Ops: serial kernel copies and PyTensor cache keys.

Every Op registers its Numba implementation with PyTensor's
``register_funcify_default_op_cache_key``: the dispatch function returns the jitted graph
function and an integer that PyTensor folds into the cache key of every compiled graph
containing the Op. symmol's integers are :func:`cache_version`: a hand-bumped version of the
dispatch code plus a digest of the kernel source (:func:`kernel_source_version`), so editing
either invalidates PyTensor's on-disk cache. The kernels themselves enter graphs as serial,
uncached copies (:func:`graph_kernel`); :func:`register_graph_kernel` is the dispatch of an
Op that only calls its kernel.
"""

from __future__ import annotations

import hashlib
import inspect
import types
from collections.abc import Callable
from types import ModuleType

import numba
from numba.core.dispatcher import Dispatcher
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

__all__ = ["cache_version", "graph_kernel", "kernel_source_version", "register_graph_kernel"]


def kernel_source_version(module: ModuleType) -> int:
    """Integer digest of a kernel module's source.

    Numba links the kernels into PyTensor's cached graph functions, and numba's
    cache does not notice edits to a callee; folding the kernel source into the
    PyTensor cache key makes every kernel edit invalidate those caches.

    Parameters
    ----------
    module : module
        A kernel module (:mod:`symmol.kernels.sparse`, :mod:`symmol.kernels.segment`).

    Returns
    -------
    int
        The first 48 bits of the SHA-256 of its source (0 if the source is unavailable).
    """
    try:
        src = inspect.getsource(module)
    except (OSError, TypeError):  # pragma: no cover - source unavailable (frozen install)
        return 0
    return int(hashlib.sha256(src.encode()).hexdigest()[:12], 16)


def cache_version(dispatch_version: int, kernels: ModuleType) -> int:
    """Cache-key integer of a Numba dispatch: ``dispatch_version * 2**48 + kernel_source_version(kernels)``.

    Parameters
    ----------
    dispatch_version : int
        Bumped by hand whenever the dispatch code (the graph function it builds) changes.
    kernels : module
        The kernel module the dispatch calls into.
    """
    return dispatch_version * (1 << 48) + kernel_source_version(kernels)


#: Serial, uncached copies of the kernels made by :func:`graph_kernel`, keyed by the original.
_GRAPH_KERNELS: dict[Dispatcher, Dispatcher] = {}


def graph_kernel(kernel: Dispatcher, _memo: dict | None = None) -> Dispatcher:
    """Return a fresh, uncached, serial Numba copy of ``kernel`` and of every jitted function it calls.

    Used by every Op's Numba dispatch. PyTensor caches each compiled graph function on
    disk (``numba__cache``). Measured with PyTensor 3.0.7 / Numba 0.65, each case run three
    times in fresh processes on a fresh cache directory, the second and later runs (which
    load the graph from the cache) segfault when

    * the graph calls a kernel that Numba caches itself (``cache=True``, as all of
      :mod:`symmol.kernels`), even a serial one (a one-node ``gather_rows`` graph, and
      ``segment_mean``, whose kernel calls ``segment_sum``); or
    * the graph contains a ``parallel=True`` kernel (``prange``) next to other nodes
      (``fingerprint_dot(...) * 2``), likely colliding names of the generated parfor
      functions once PyTensor makes Numba's function ids deterministic for its cache.

    So the kernel's Python function is re-jitted with its flags but ``cache=False`` and
    ``parallel=False``, and the jitted functions it calls are rebound (recursively) to such
    copies: the graph's cache entry is then the only one and loads correctly. The kernels
    stay parallel when called directly. At a training step's sizes the serial copies cost about
    nothing (``bench/results/design_measurements.md``).

    The forward ``X @ W`` and the fused Adam step keep both cores anyway: with the dtypes of
    symmol's training graphs they call the parallel kernels through native entry points
    (:mod:`symmol.ops.entry_points`) instead of such copies.

    The copies are made once per process and shared by every Op and graph (a kernel that
    several Ops call, such as ``check_csr``, compiles once; a predict function compiled after
    the training step reuses the step's compiled kernels).

    Parameters
    ----------
    kernel : numba Dispatcher
        A jitted kernel of :mod:`symmol.kernels`.

    Returns
    -------
    numba Dispatcher
        Its serial, uncached copy (the same object on every call).
    """
    memo = _GRAPH_KERNELS if _memo is None else _memo
    if kernel in memo:
        return memo[kernel]
    py_func = kernel.py_func
    namespace = dict(py_func.__globals__)
    for name in py_func.__code__.co_names:
        callee = namespace.get(name)
        if isinstance(callee, Dispatcher):
            namespace[name] = graph_kernel(callee, memo)
    fresh = types.FunctionType(py_func.__code__, namespace, py_func.__name__, py_func.__defaults__,
                               py_func.__closure__)
    flags = {k: v for k, v in kernel.targetoptions.items() if k != "nopython"}
    memo[kernel] = numba.njit(fresh, **{**flags, "cache": False, "parallel": False})
    return memo[kernel]


def _kernel_call(kernel: Dispatcher, n_inputs: int, size_last: bool) -> Callable:
    """Build the jitted graph function ``(*inputs) -> kernel(*inputs)``.

    With ``size_last`` the last input, a 0-d size array, is passed as a Python scalar (``n.item()``).
    """
    if size_last:
        if n_inputs == 2:
            @numba_basic.numba_njit
            def call(a, n):
                return kernel(a, n.item())
        elif n_inputs == 3:
            @numba_basic.numba_njit
            def call(a, b, n):
                return kernel(a, b, n.item())
        elif n_inputs == 5:
            @numba_basic.numba_njit
            def call(a, b, c, d, n):
                return kernel(a, b, c, d, n.item())
        else:
            raise NotImplementedError(f"no graph function for {n_inputs} inputs with a size last")
    else:
        @numba_basic.numba_njit
        def call(*inputs):
            return kernel(*inputs)
    return call


def register_graph_kernel(op_class: type, kernel: Dispatcher, version: int, size_last: bool = False,
                          compile_weight: float = 3.0) -> None:
    """Register the Numba dispatch of an Op that passes its inputs to a serial copy of ``kernel``.

    Parameters
    ----------
    op_class : type
        The Op class (its instances are dispatched on).
    kernel : numba Dispatcher
        The kernel of :mod:`symmol.kernels` called with the node's inputs in order; it is copied
        by :func:`graph_kernel` when the first graph holding the Op compiles.
    version : int
        Cache-key integer (:func:`cache_version`).
    size_last : bool
        The last input is an integer scalar size (``n_bits``, ``n_segments``, ``n_rows``) that the
        kernel takes as a Python integer.
    compile_weight : float
        Cold compile time of the node function relative to a typical elementwise node's (set as the
        class's ``numba_compile_weight``; :mod:`symmol.compile.parallel` balances two processes by it).
    """
    op_class.numba_compile_weight = compile_weight  # type: ignore[attr-defined]

    @register_funcify_default_op_cache_key(op_class)
    def funcify(op, node=None, **kwargs):
        return _kernel_call(graph_kernel(kernel), len(node.inputs), size_last), version
