"""Parallel kernels called from compiled PyTensor graphs through native entry points.

PyTensor caches each compiled Numba graph on disk, and a graph that links a Numba-cached or
``parallel=True`` kernel into its own code segfaults when it is loaded again (see
:func:`symmol.ops._numba_cache.graph_kernel`), so the Ops compile serial copies of the kernels
into the graph. That costs the two hottest loops of a training step their second core: the
forward ``X @ W`` and the fused Adam step on ``W`` (:func:`symmol.kernels.sparse.
csr_t_adam_step`), both limited by memory bandwidth, which a second thread nearly halves
(``bench/results/design_measurements.md``).

Here those kernels run where they are compiled and cached normally, by Numba, with
``parallel=True``: each is wrapped in a C-callable ``numba.cfunc`` (raw pointers and
lengths; ``cache=True``; the bodies are in :mod:`symmol.kernels.sparse`, so that the cache
goes stale with the kernels) whose address is registered with LLVM under a versioned symbol
name. A graph calls the symbol as a :class:`numba.types.ExternalFunction`: its code holds
only the name, so PyTensor's cache stores and reloads it like any other graph, and the
symbol is resolved in the loading process once :func:`entry_point` has registered it
(the Op's Numba dispatch calls it while building the graph, which happens on every compile,
cached or not).

A cfunc cannot raise: the graph validates the CSR structure and the shapes (serially,
O(n_rows + nnz)) before the call, so the kernel behind the symbol never meets bad input.
Entry points exist for the dtypes of symmol's training graphs (``indptr`` int64,
``indices`` int32, ``values``/weights float32 or float64); other dtypes keep the serial
in-graph kernels.

Importing this module compiles and registers nothing (about 1 ms): the cfuncs are compiled,
loaded from Numba's cache and registered with LLVM by :func:`entry_point`, on the first Numba
graph that needs them. The Ops' modules therefore import it at the top; keep it so (no work
at import time), or ``import symmol.ops`` pays for it. Inside :func:`deferred`, :func:`entry_point`
only names the symbol and notes it: a linker that compiles a graph's nodes in two processes
(:mod:`symmol.compile.parallel`) then compiles the entry points in the second one and calls
:func:`register` before it compiles any function that calls them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import threading
from collections.abc import Iterator

import llvmlite.binding as llvm
import numpy as np
from numba import cfunc, typeof, types
from numba.extending import intrinsic

from symmol.kernels import sparse as _sparse

__all__ = ["ENTRY_POINT_DTYPES", "cache_salt", "data_pointer", "deferred", "entry_point", "has_entry_point",
           "keep_alive", "register", "symbol_name"]

#: (indptr, indices) dtypes with entry points; weights/values: float32 or float64.
ENTRY_POINT_DTYPES = ("int64", "int32")

_INDPTR, _INDICES = types.int64, types.int32

#: The compiled cfuncs, kept referenced so their code stays mapped.
_KEEP_ALIVE: list = []


@intrinsic
def data_pointer(typingctx, array):
    """Pointer to the first element of ``array`` (Numba code only; the array must be C-contiguous)."""
    if not isinstance(array, types.Array):
        return None
    signature = types.CPointer(array.dtype)(array)

    def codegen(context, builder, sig, args):
        return context.make_array(array)(context, builder, args[0]).data

    return signature, codegen


@intrinsic
def keep_alive(typingctx, array):
    """Use ``array`` here (no code): its reference lives until this point of a Numba function.

    Numba frees an array after its last use, and taking its :func:`data_pointer` is a use: a
    contiguous copy made for an entry point (``np.ascontiguousarray`` of a strided view, e.g. the
    gradient slice of a concatenation) would be freed before the call that reads it. Call this
    on every such copy after the entry point returns.
    """
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, sig, args):
        return context.get_dummy_value()

    return types.none(array), codegen


def _signature(kind: str, dtype: types.Float) -> types.Type:
    p = types.CPointer
    if kind == "fingerprint_dot":
        return types.void(p(_INDPTR), types.int64, p(_INDICES), p(dtype), types.int64, p(dtype), types.int64,
                          types.int64, p(dtype))
    return types.void(p(_INDPTR), types.int64, p(_INDICES), p(dtype), types.int64, p(dtype), p(dtype), p(dtype),
                      p(dtype), types.int64, types.int64, *([dtype] * 5))


#: The cfunc bodies live beside their kernels, so Numba's cache of a cfunc goes stale with them.
_BODIES = {"fingerprint_dot": _sparse.csr_dense_matmul_pointers, "fingerprint_adam": _sparse.csr_t_adam_step_pointers}


def _fingerprint_dot_warm_args(dtype: np.dtype) -> tuple:
    return (np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, dtype), np.zeros((1, 1), dtype),
            np.zeros((0, 1), dtype))


def _fingerprint_adam_warm_args(dtype: np.dtype) -> tuple:
    one = dtype.type(1)
    return (np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, dtype), np.zeros((0, 1), dtype),
            np.zeros((1, 1), dtype), np.zeros((1, 1), dtype), np.ones((1, 1), dtype), one, one, one, one, one)


#: Each cfunc's kernel (the parallel overload the cfunc links) and arguments of an empty call to it.
_KERNELS = {"fingerprint_dot": (_sparse.csr_dense_matmul_into, _fingerprint_dot_warm_args),
            "fingerprint_adam": (_sparse.csr_t_adam_step, _fingerprint_adam_warm_args)}


def _compile_kernel(kind: str, dtype: np.dtype) -> None:
    """Compile (or load) the parallel overload a cfunc links, and make its scheduler symbols linkable.

    Linking parallel code needs the symbols (``do_scheduling``, ...) that starting Numba's thread pool
    registers. Numba's ``_launch_threads`` starts it without running anything (a no-op where it runs
    already), so this is safe in a forked child whose parent ran parallel code (running it there
    would abort under GNU OpenMP); without that function, an empty call starts it.
    """
    kernel, warm_args = _KERNELS[kind]
    args = warm_args(dtype)
    try:
        from numba.np.ufunc.parallel import _launch_threads
    except ImportError:  # pragma: no cover - a Numba without it: start the pool by an empty call
        kernel(*args)
        return
    _launch_threads()
    kernel.compile(tuple(typeof(a) for a in args))


@functools.cache
def _abi_version() -> str:
    """Digest of this module's and the kernels' source: a changed entry point gets a new symbol name."""
    source = inspect.getsource(_sparse) + inspect.getsource(_signature)
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def cache_salt() -> int:
    """Integer digest of the entry points' ABI, for the PyTensor cache keys of graphs that call them."""
    return int(_abi_version(), 16)


def symbol_name(kind: str, dtype: str) -> str:
    """Versioned symbol of the entry point ``kind`` (``fingerprint_dot`` or ``fingerprint_adam``) for ``dtype``."""
    return f"symmol_{kind}_{dtype}_{_abi_version()}"


_deferral = threading.local()


@contextlib.contextmanager
def deferred() -> Iterator[set[tuple[str, str]]]:
    """Within the block (this thread), :func:`entry_point` compiles nothing and notes ``(kind, dtype)`` here.

    The caller must :func:`register` every noted entry point before a function calling it is compiled
    or loaded (Numba resolves the symbol when it links the machine code).
    """
    noted: set[tuple[str, str]] = set()
    outer = getattr(_deferral, "noted", None)
    _deferral.noted = noted
    try:
        yield noted
    finally:
        _deferral.noted = outer


def entry_point(kind: str, dtype: str) -> types.ExternalFunction:
    """Compile (or load from Numba's cache) and register the entry point; return it for Numba code.

    Inside :func:`deferred` an entry point not registered yet is only named (and noted there).

    Parameters
    ----------
    kind : {"fingerprint_dot", "fingerprint_adam"}
    dtype : {"float32", "float64"}
        Dtype of the weights (and of ``values``, ``G``, ``m``, ``v``).

    Returns
    -------
    numba.types.ExternalFunction
        Callable from Numba code with pointers (:func:`data_pointer`) and lengths.
    """
    noted = getattr(_deferral, "noted", None)
    if noted is not None and (kind, dtype) not in _REGISTERED:
        noted.add((kind, dtype))
        return types.ExternalFunction(symbol_name(kind, dtype), _signature(kind, getattr(types, dtype)))
    return register(kind, dtype)


#: Entry points registered with LLVM in this process.
_REGISTERED: set[tuple[str, str]] = set()


@functools.cache
def register(kind: str, dtype: str) -> types.ExternalFunction:
    """Compile (or load from Numba's cache) and register the entry point ``kind`` for ``dtype`` (once per process).

    Returns
    -------
    numba.types.ExternalFunction
        As :func:`entry_point`.
    """
    _compile_kernel(kind, np.dtype(dtype))  # the overload the cfunc links, so nothing compiles twice
    signature = _signature(kind, getattr(types, dtype))
    compiled = cfunc(signature, cache=True, nopython=True)(_BODIES[kind])
    name = symbol_name(kind, dtype)
    llvm.add_symbol(name, compiled.address)
    _KEEP_ALIVE.append(compiled)
    _REGISTERED.add((kind, dtype))
    return types.ExternalFunction(name, signature)


def has_entry_point(indptr_dtype: str, indices_dtype: str, dtype: str) -> bool:
    """Whether a graph with these input dtypes can call the parallel entry points."""
    return (indptr_dtype, indices_dtype) == ENTRY_POINT_DTYPES and np.dtype(dtype).name in ("float32", "float64")
