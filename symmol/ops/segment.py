"""PyTensor Ops for row gathers and segment reductions: the two halves of message passing.

Gathers copy rows out (embedding lookups, atoms → bonds); segment reductions pool rows into
segments (messages → atoms, atoms → molecules). Each is the other's gradient, as PyTensor
keeps ``AdvancedSubtensor1`` with its increment: the pullback of :class:`GatherRows` is a
:class:`SegmentSum` and that of :class:`SegmentSum` a :class:`GatherRows`.

GatherRows
    ``(W, idx) -> W[idx]`` of shape ``(n_out, n_features)``, ``out[k] = W[idx[k]]``.
    Gradient wrt ``W``: the scatter-add ``dW = segment_sum(g, idx, n_rows)``, so rows gathered
    twice get both contributions; ``idx`` is integer (disconnected). Unlike ``W[idx]`` in
    PyTensor, negative indices are rejected (``ValueError``), not wrapped.
UsedRows
    ``(idx, n_rows) -> (rows, inverse)``, the sorted distinct rows of ``idx``: the building
    block of row-sparse gradients (:func:`gather_rows_grad_rows`,
    :func:`symmol.ops.fingerprint.fingerprint_dot_grad_w_rows`).

The segment Ops take ``x`` of shape ``(n_rows, n_features)``, ``segment_ids`` of shape
``(n_rows,)`` (ints in ``[0, n_segments)``, any order) and a scalar ``n_segments``, and return
one row per segment, shape ``(n_segments, n_features)``:

SegmentSum
    ``out[s] = sum_{i: ids[i] = s} x[i]`` (0 for empty segments).
    Gradient: ``dx = g[ids]`` (:class:`GatherRows`).
SegmentMean
    ``out[s] = segment_sum[s] / count[s]`` (0 for empty segments).
    Gradient: ``dx[i] = g[ids[i]] / count[ids[i]]``.
SegmentMax
    Two outputs: ``out[s, j] = max_{i: ids[i] = s} x[i, j]`` (0 for empty segments) and
    ``argmax[s, j]`` (int64), the row attaining it; on ties the lowest row index wins
    (-1 for empty segments). Gradient: ``dx[argmax[s, j], j] = g[s, j]``, zero elsewhere:
    of tied rows only the lowest one receives the gradient (a valid subgradient; PyTorch's
    ``scatter_reduce(..., "amax")`` splits ties evenly instead, so the two differ only at
    exact ties). Results with NaN inputs are unspecified.
SegmentMaxGrad
    ``(g, argmax, n_rows) -> dx`` of shape ``(n_rows, n_features)``, the pullback of
    ``SegmentMax``; its own pullback (second order) is a generic ``take_along_axis``.

The integer inputs (``idx``, ``segment_ids``, ``n_segments``) are disconnected from gradients.
Backends: ``perform`` (NumPy reference: fancy indexing, ``np.unique``, ``np.add.at``,
``np.maximum.at``), Numba (:mod:`symmol.kernels.segment`, compiled serially into the graph: see
:func:`symmol.ops._numba_cache.graph_kernel`) and, for the segment Ops, C (``c_code``: serial
loops, same iteration order as the serial Numba path, so the same numbers). The gathers have
no C code: under the C linker ``perform``'s ``W[idx]`` (one NumPy ``take``) is already a single
C loop. The graph rewrite that turns a scatter-add into zeros into :class:`SegmentSum` is in
:mod:`symmol.ops.rewrites`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import cast

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType, disconnected_type
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.op import Op
from pytensor.link.c.op import COp
from pytensor.tensor import TensorLike
from pytensor.tensor.type import TensorType, integer_dtypes
from pytensor.tensor.variable import TensorVariable

from symmol.kernels import segment as _segment_kernels
from symmol.ops._csr import check_index_range
from symmol.ops._numba_cache import cache_version, register_graph_kernel
from symmol.ops._types import as_count, as_float_tensor, as_int_vector

__all__ = [
    "GatherRows",
    "SegmentMax",
    "SegmentMaxGrad",
    "SegmentMean",
    "SegmentSum",
    "UsedRows",
    "gather_rows",
    "gather_rows_grad_rows",
    "segment_max",
    "segment_max_grad",
    "segment_mean",
    "segment_sum",
    "used_rows",
]


# --------------------------------------------------------------------------- #
# gathers
# --------------------------------------------------------------------------- #


class GatherRows(Op):
    """Gather rows of a matrix: ``out[k] = W[idx[k]]``.

    Inputs
    ------
    W : float32/float64 matrix, shape (n_rows, n_features)
    idx : int vector, shape (n_out,)
        Row indices in ``[0, n_rows)``.

    Output
    ------
    out : matrix, shape (n_out, n_features), dtype of ``W``.

    Gradient: ``dW = segment_sum(g, idx, n_rows)`` (scatter-add); disconnected wrt ``idx``.
    Second order: the pullback of ``SegmentSum`` is ``GatherRows`` again.
    """

    __props__ = ()

    def make_node(self, W: TensorLike, idx: TensorLike) -> Apply:  # type: ignore[override]
        """Build the ``Apply`` node of ``W[idx]``.

        Returns
        -------
        Apply
            Inputs ``W`` and ``idx``; one output of ``W``'s dtype, static shape
            ``(len(idx), n_features)`` where known.

        Raises
        ------
        TypeError
            If ``W`` is not a float32/float64 matrix or ``idx`` not an integer vector.
        """
        name = type(self).__name__
        W = as_float_tensor(W, 2, name, "W")
        idx = as_int_vector(idx, name, "idx")
        out = TensorType(W.type.dtype, shape=(idx.type.shape[0], W.type.shape[1]))()
        return Apply(self, [W, idx], [out])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """Compute ``W[idx]`` with NumPy into ``output_storage[0][0]``.

        Raises
        ------
        ValueError
            If an index is outside ``[0, n_rows)`` (negative indices are not wrapped).
        """
        W, idx = inputs
        check_index_range(type(self).__name__, idx, W.shape[0], "idx")
        output_storage[0][0] = W[idx]

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return the output shape ``(n_out, n_features)``: the length of ``idx``, the width of ``W``."""
        W_shape, idx_shape = input_shapes
        return [(idx_shape[0], W_shape[1])]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Connect the output to ``W`` only; the integer ``idx`` is disconnected."""
        return [[True], [False]]

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Return ``[segment_sum(g, idx, n_rows), disconnected]``: the scatter-add gradient wrt ``W``."""
        W, idx = cast(Sequence[TensorVariable], inputs)
        (g,) = cotangents
        return [segment_sum(pt.cast(g, W.type.dtype), idx, W.shape[0]), disconnected_type()]


_gather_rows = GatherRows()


def gather_rows(W: TensorLike, idx: TensorLike) -> TensorVariable:
    """Symbolic ``W[idx]`` with a scatter-add gradient; see :class:`GatherRows`.

    Parameters
    ----------
    W : float32/float64 matrix, shape (n_rows, n_features)
    idx : int vector, shape (n_out,), entries in ``[0, n_rows)``

    Returns
    -------
    TensorVariable
        Matrix of shape (n_out, n_features).

    Raises
    ------
    TypeError
        If ``W`` is not a float matrix or ``idx`` not an integer vector.
    """
    return cast(TensorVariable, _gather_rows(W, idx))


class UsedRows(Op):
    """Distinct rows referenced by an index vector: ``(idx, n_rows) -> (rows, inverse)``.

    Inputs
    ------
    idx : int vector, shape (n,), entries in ``[0, n_rows)``
    n_rows : int scalar

    Outputs
    -------
    rows : int64 vector, shape (n_used,)
        Sorted distinct values of ``idx``.
    inverse : int64 vector, shape (n,)
        ``rows[inverse] == idx``.

    No ``infer_shape``: ``n_used`` depends on the values of ``idx`` (PyTensor then takes
    shapes from the computed outputs). Not differentiable (integer outputs). The building block of row-sparse gradients:
    :func:`gather_rows_grad_rows` and
    :func:`symmol.ops.fingerprint.fingerprint_dot_grad_w_rows`.
    """

    __props__ = ()

    def make_node(self, idx: TensorLike, n_rows: TensorLike) -> Apply:  # type: ignore[override]
        """Build the ``Apply`` node of ``(rows, inverse)``.

        Returns
        -------
        Apply
            Inputs ``idx`` and ``n_rows``; outputs ``rows`` (int64 vector of unknown length) and
            ``inverse`` (int64 vector, the static shape of ``idx``).

        Raises
        ------
        TypeError
            If ``idx`` is not an integer vector or ``n_rows`` not an integer scalar.
        """
        idx = as_int_vector(idx, type(self).__name__, "idx")
        n_rows = pt.as_tensor_variable(n_rows)
        if n_rows.type.ndim != 0 or n_rows.type.dtype not in integer_dtypes:
            raise TypeError(f"UsedRows: n_rows must be an integer scalar, got {n_rows.type}")
        return Apply(self, [idx, n_rows], [pt.lvector(), TensorType("int64", shape=idx.type.shape)()])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """Compute ``np.unique(idx, return_inverse=True)`` as int64 arrays into the output storage.

        Raises
        ------
        ValueError
            If an entry of ``idx`` is outside ``[0, n_rows)``.
        """
        idx, n_rows = inputs
        check_index_range(type(self).__name__, idx, int(n_rows), "idx")
        rows, inverse = np.unique(idx, return_inverse=True)
        output_storage[0][0] = rows.astype(np.int64)
        output_storage[1][0] = inverse.astype(np.int64).reshape(idx.shape)

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Disconnect both (integer) outputs from both inputs."""
        return [[False, False], [False, False]]


_used_rows = UsedRows()


def used_rows(idx: TensorLike, n_rows: TensorLike) -> tuple[TensorVariable, TensorVariable]:
    """Symbolic ``(rows, inverse)`` of :class:`UsedRows` (like ``np.unique(idx, return_inverse=True)``)."""
    rows, inverse = cast(list[TensorVariable], _used_rows(idx, n_rows))
    return rows, inverse


def gather_rows_grad_rows(g: TensorLike, idx: TensorLike, n_rows: TensorLike
                          ) -> tuple[TensorVariable, TensorVariable]:
    """Row-sparse gradient of ``gather_rows(W, idx)`` wrt ``W``.

    Parameters
    ----------
    g : float matrix, shape (n_out, n_features)
        Cotangent of the gathered rows (``pytensor.grad(cost, gathered)``).
    idx : int vector, shape (n_out,)
    n_rows : int scalar
        Number of rows of ``W``.

    Returns
    -------
    rows : int64 vector, shape (n_used,)
        The distinct rows of ``W`` that were gathered, sorted.
    grad_rows : matrix, shape (n_used, n_features)
        ``dW[rows]``; every other row of the dense gradient is zero.

    An optimizer can then touch only those rows, e.g. SGD:
    ``updates[W] = pt.inc_subtensor(W[rows], -lr * grad_rows)``.
    """
    rows, inverse = used_rows(idx, n_rows)
    return rows, segment_sum(pt.as_tensor_variable(g), inverse, rows.shape[0])


# --------------------------------------------------------------------------- #
# segment reductions
# --------------------------------------------------------------------------- #


def _check_segments(op_name: str, x: np.ndarray, ids: np.ndarray, n_segments: int) -> None:
    """NumPy validation of the inputs of a segment reduction (``perform`` path)."""
    if n_segments < 0:
        raise ValueError(f"{op_name}: n_segments must be non-negative, got {n_segments}")
    if ids.shape[0] != x.shape[0]:
        raise ValueError(f"{op_name}: segment_ids has {ids.shape[0]} entries but x has {x.shape[0]} rows")
    check_index_range(op_name, ids, n_segments, "segment_ids")


# --------------------------------------------------------------------------- #
# C implementation. Without it the C linker runs ``perform``, whose ``np.add.at`` is
# ~60x slower than a loop: 5.4 ms against 0.09 ms (Numba kernel) to sum 3,200 float32
# rows x 128 features into 128 segments; np.maximum.at 11.4 ms against 0.7 ms
# (best of 50 in-process calls, project machine, 2 cores).
# --------------------------------------------------------------------------- #

_C_SUPPORT_CODE = r"""
#ifndef SYMMOL_SEGMENT_SUPPORT_CODE
#define SYMMOL_SEGMENT_SUPPORT_CODE

/* Check 0 <= ids[i] < n and len(ids) == n_rows; set ValueError and return -1 otherwise. */
template <typename I>
static int symmol_seg_check(const I* ids, npy_intp n_ids, npy_intp n_rows, npy_int64 n)
{
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "n_segments must be non-negative");
        return -1;
    }
    if (n_ids != n_rows) {
        PyErr_SetString(PyExc_ValueError, "segment_ids must have one entry per row of x");
        return -1;
    }
    for (npy_intp i = 0; i < n_ids; ++i) {
        if ((npy_int64)ids[i] < 0 || (npy_int64)ids[i] >= n) {
            PyErr_Format(PyExc_ValueError, "segment_ids[%ld] = %lld is out of range [0, %lld)",
                         (long)i, (long long)ids[i], (long long)n);
            return -1;
        }
    }
    return 0;
}

/* out[s] = sum (or mean) of the rows x[i] with ids[i] == s. */
template <typename T, typename I>
static int symmol_seg_sum(const T* x, const I* ids, npy_intp n_rows, npy_intp d, npy_intp n, int mean, T* out)
{
    for (npy_intp q = 0; q < n * d; ++q) out[q] = 0;
    for (npy_intp i = 0; i < n_rows; ++i) {
        T* __restrict__ dst = out + (npy_intp)ids[i] * d;
        const T* __restrict__ src = x + i * d;
        for (npy_intp j = 0; j < d; ++j) dst[j] += src[j];
    }
    if (!mean) return 0;
    npy_int64* count = (npy_int64*)calloc(n > 0 ? n : 1, sizeof(npy_int64));
    if (!count) {
        PyErr_NoMemory();
        return -1;
    }
    for (npy_intp i = 0; i < n_rows; ++i) count[ids[i]] += 1;
    for (npy_intp s = 0; s < n; ++s) {
        if (count[s] > 1) {
            const double inv = 1.0 / (double)count[s];
            for (npy_intp j = 0; j < d; ++j) out[s * d + j] = (T)((double)out[s * d + j] * inv);
        }
    }
    free(count);
    return 0;
}

/* Column maxima per segment (0 if empty) and the lowest row attaining them (-1 if empty). */
template <typename T, typename I>
static void symmol_seg_max(const T* x, const I* ids, npy_intp n_rows, npy_intp d, npy_intp n, T* out,
                           npy_int64* arg)
{
    for (npy_intp q = 0; q < n * d; ++q) {
        out[q] = 0;
        arg[q] = -1;
    }
    for (npy_intp i = 0; i < n_rows; ++i) {
        const npy_intp base = (npy_intp)ids[i] * d;
        for (npy_intp j = 0; j < d; ++j) {
            const T v = x[i * d + j];
            if (arg[base + j] < 0 || v > out[base + j]) {
                out[base + j] = v;
                arg[base + j] = i;
            }
        }
    }
}

/* dx[arg[s, j], j] += g[s, j]; -1 entries skipped. Returns -1 (ValueError) on a bad entry. */
template <typename T, typename A>
static int symmol_seg_max_grad(const T* g, const A* arg, npy_intp n_seg, npy_intp d, npy_intp n_rows, T* dx)
{
    for (npy_intp q = 0; q < n_rows * d; ++q) dx[q] = 0;
    for (npy_intp q = 0; q < n_seg * d; ++q) {
        const npy_int64 a = (npy_int64)arg[q];
        if (a < -1 || a >= (npy_int64)n_rows) {
            PyErr_SetString(PyExc_ValueError, "argmax entries must be in [-1, n_rows)");
            return -1;
        }
        if (a >= 0) dx[a * d + q % d] += g[q];
    }
    return 0;
}

/* Ensure *z is a C-contiguous array of the given shape and type; -1 on failure. */
static int symmol_seg_prepare_output(PyArrayObject** z, int ndim, npy_intp* dims, int typenum)
{
    int ok = *z != NULL && PyArray_NDIM(*z) == ndim && PyArray_TYPE(*z) == typenum
             && PyArray_IS_C_CONTIGUOUS(*z);
    for (int k = 0; ok && k < ndim; ++k) ok = PyArray_DIMS(*z)[k] == dims[k];
    if (ok) return 0;
    Py_XDECREF(*z);
    *z = (PyArrayObject*)PyArray_EMPTY(ndim, dims, typenum, 0);
    return *z ? 0 : -1;
}

#endif
"""

#: Bump when the C code changes (the support code is hashed in too).
_C_CODE_VERSION = 1
_C_SUPPORT_HASH = int(hashlib.sha256(_C_SUPPORT_CODE.encode()).hexdigest()[:12], 16)


class _SegmentCOp(COp):
    """Shared C plumbing of the segment Ops."""

    __props__ = ()

    def c_support_code(self, **kwargs) -> str:
        return _C_SUPPORT_CODE

    def c_code_cache_version(self) -> tuple[int, ...]:
        return (_C_CODE_VERSION, _C_SUPPORT_HASH)

    def _reduce_c_code(self, node: Apply, inputs: list[str], outputs: list[str], sub: dict) -> str:
        x, ids, n = inputs
        z = outputs[0]
        typenum = node.outputs[0].type.dtype_specs()[2]
        if len(outputs) == 2:
            arg = outputs[1]
            prepare_arg = f"if (!err) err = symmol_seg_prepare_output(&{arg}, 2, dims, NPY_INT64);"
            compute = f"""symmol_seg_max((const dtype_{x}*)PyArray_DATA(c_x), (const dtype_{ids}*)PyArray_DATA(c_ids),
                           rows, d, (npy_intp)n_seg, (dtype_{z}*)PyArray_DATA({z}),
                           (npy_int64*)PyArray_DATA({arg}));"""
        else:
            prepare_arg = ""
            mean = int(isinstance(self, SegmentMean))
            compute = f"""err = symmol_seg_sum((const dtype_{x}*)PyArray_DATA(c_x),
                           (const dtype_{ids}*)PyArray_DATA(c_ids), rows, d, (npy_intp)n_seg, {mean},
                           (dtype_{z}*)PyArray_DATA({z}));"""
        return f"""
        {{
        PyArrayObject* c_x = PyArray_GETCONTIGUOUS({x});
        PyArrayObject* c_ids = PyArray_GETCONTIGUOUS({ids});
        int err = (c_x && c_ids) ? 0 : -1;
        if (!err) {{
            const npy_int64 n_seg = (npy_int64)((dtype_{n}*)PyArray_DATA({n}))[0];
            const npy_intp rows = PyArray_DIMS(c_x)[0], d = PyArray_DIMS(c_x)[1];
            err = symmol_seg_check((const dtype_{ids}*)PyArray_DATA(c_ids), PyArray_DIMS(c_ids)[0], rows, n_seg);
            npy_intp dims[2] = {{(npy_intp)n_seg, d}};
            if (!err) err = symmol_seg_prepare_output(&{z}, 2, dims, {typenum});
            {prepare_arg}
            if (!err) {{ {compute} }}
        }}
        Py_XDECREF(c_x);
        Py_XDECREF(c_ids);
        if (err) {{ {sub["fail"]} }}
        }}
        """


class _SegmentReduce(_SegmentCOp):
    """Shared ``make_node``/``infer_shape`` of the reductions ``(x, ids, n_segments) -> (n_segments, d)``."""

    __props__ = ()
    #: extra int64 ``argmax`` output (SegmentMax)
    with_argmax = False

    def make_node(self, x: TensorLike, segment_ids: TensorLike, n_segments: TensorLike) -> Apply:  # type: ignore[override]
        name = type(self).__name__
        x = as_float_tensor(x, 2, name, "x")
        segment_ids = as_int_vector(segment_ids, name, "segment_ids")
        n_segments, static = as_count(n_segments, name, "n_segments")
        shape = (static, x.type.shape[1])
        outputs = [TensorType(x.type.dtype, shape=shape)()]
        if self.with_argmax:
            outputs.append(TensorType("int64", shape=shape)())
        return Apply(self, [x, segment_ids, n_segments], outputs)

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        shape = (pt.cast(node.inputs[2], "int64"), input_shapes[0][1])
        return [shape] * len(node.outputs)

    def c_code(self, node: Apply, name: str, inputs: list[str], outputs: list[str], sub: dict) -> str:
        return self._reduce_c_code(node, inputs, outputs, sub)

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        n_out = len(node.outputs)
        return [[True] + [False] * (n_out - 1), [False] * n_out, [False] * n_out]


class SegmentSum(_SegmentReduce):
    """Per-segment sum ``out[s] = sum_{i: ids[i] = s} x[i]``; see the module docstring for shapes."""

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """Sum the rows of ``x`` per segment with ``np.add.at`` into ``output_storage[0][0]``.

        The output has shape ``(n_segments, n_features)`` and the dtype of ``x``.

        Raises
        ------
        ValueError
            If ``n_segments`` is negative, ``segment_ids`` and ``x`` differ in length, or an id is
            out of range.
        """
        x, ids, n = inputs
        n_segments = int(n)
        _check_segments(type(self).__name__, x, ids, n_segments)
        out = np.zeros((n_segments, x.shape[1]), dtype=x.dtype)
        np.add.at(out, ids, x)
        output_storage[0][0] = out

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Return ``[gather_rows(g, ids), disconnected, disconnected]``: ``dx = g[ids]``."""
        x, ids, _ = inputs
        (g,) = cotangents
        return [gather_rows(pt.cast(g, x.type.dtype), ids), disconnected_type(), disconnected_type()]


class SegmentMean(_SegmentReduce):
    """Per-segment mean (0 for empty segments); see the module docstring for shapes."""

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """Average the rows of ``x`` per segment (0 for empty segments) into ``output_storage[0][0]``.

        The output has shape ``(n_segments, n_features)`` and the dtype of ``x``.

        Raises
        ------
        ValueError
            If ``n_segments`` is negative, ``segment_ids`` and ``x`` differ in length, or an id is
            out of range.
        """
        x, ids, n = inputs
        n_segments = int(n)
        _check_segments(type(self).__name__, x, ids, n_segments)
        out = np.zeros((n_segments, x.shape[1]), dtype=x.dtype)
        np.add.at(out, ids, x)
        counts = np.bincount(ids, minlength=n_segments)
        out /= np.maximum(counts, 1).astype(x.dtype)[:, None]
        output_storage[0][0] = out

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Return ``[dx, disconnected, disconnected]`` with ``dx[i] = g[ids[i]] / count[ids[i]]``."""
        x, ids, n_segments = cast(Sequence[TensorVariable], inputs)
        (g,) = cotangents
        counts = segment_sum(pt.ones((x.shape[0], 1), dtype=x.type.dtype), ids, n_segments)
        scaled = pt.cast(g, x.type.dtype) / pt.maximum(counts, np.asarray(1, dtype=x.type.dtype))
        return [gather_rows(scaled, ids), disconnected_type(), disconnected_type()]


class SegmentMax(_SegmentReduce):
    """Per-segment column maximum and its row (``argmax``); see the module docstring."""

    with_argmax = True

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """Compute the per-segment column maxima and their lowest maximising rows into the output storage.

        Outputs ``out`` (dtype of ``x``; 0 for empty segments) and ``argmax`` (int64; -1 for empty
        segments), both of shape ``(n_segments, n_features)``.

        Raises
        ------
        ValueError
            If ``n_segments`` is negative, ``segment_ids`` and ``x`` differ in length, or an id is
            out of range.
        """
        x, ids, n = inputs
        n_segments = int(n)
        _check_segments(type(self).__name__, x, ids, n_segments)
        d = x.shape[1]
        out = np.full((n_segments, d), -np.inf, dtype=x.dtype)
        np.maximum.at(out, ids, x)
        # lowest row attaining the maximum: scan rows in reverse so the first one is written last
        argmax = np.full((n_segments, d), -1, dtype=np.int64)
        rows = np.arange(x.shape[0])
        for i in rows[::-1]:
            hit = x[i] == out[ids[i]]
            argmax[ids[i], hit] = i
        out[argmax < 0] = 0
        output_storage[0][0] = out
        output_storage[1][0] = argmax

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Return ``[dx, disconnected, disconnected]`` with ``dx`` from :func:`segment_max_grad`.

        ``dx`` is zero when the cotangent of the maxima is disconnected (only ``argmax`` is used).
        """
        x, _, _ = cast(Sequence[TensorVariable], inputs)
        g = cotangents[0]
        if isinstance(g.type, DisconnectedType):
            g_x = pt.zeros_like(x)
        else:
            g_x = segment_max_grad(pt.cast(g, x.type.dtype), outputs[1], x.shape[0])
        return [g_x, disconnected_type(), disconnected_type()]


class SegmentMaxGrad(_SegmentCOp):
    """Pullback of :class:`SegmentMax`: ``dx[argmax[s, j], j] = g[s, j]``.

    Inputs
    ------
    g : float matrix, shape (n_segments, n_features)
    argmax : int64 matrix, shape (n_segments, n_features), entries in ``[-1, n_rows)``
    n_rows : int scalar

    Output
    ------
    dx : matrix, shape (n_rows, n_features), dtype of ``g``.

    Pullback wrt ``g``: ``dg[s, j] = h[argmax[s, j], j]`` (0 where ``argmax`` is -1), a
    generic ``take_along_axis``.
    """

    __props__ = ()

    def make_node(self, g: TensorLike, argmax: TensorLike, n_rows: TensorLike) -> Apply:  # type: ignore[override]
        """Build the ``Apply`` node of ``dx``.

        Returns
        -------
        Apply
            Inputs ``g``, ``argmax`` and ``n_rows``; one output of ``g``'s dtype and static shape
            ``(n_rows, n_features)`` where known.

        Raises
        ------
        TypeError
            If ``g`` is not a float32/float64 matrix, ``argmax`` not an integer matrix or ``n_rows``
            not an integer scalar.
        ValueError
            If ``n_rows`` is a negative constant.
        """
        name = type(self).__name__
        g = as_float_tensor(g, 2, name, "g")
        argmax = pt.as_tensor_variable(argmax)
        if argmax.type.ndim != 2 or argmax.type.dtype not in integer_dtypes:
            raise TypeError(f"{name}: argmax must be an integer matrix, got {argmax.type}")
        n_rows, static = as_count(n_rows, name, "n_rows")
        out = TensorType(g.type.dtype, shape=(static, g.type.shape[1]))()
        return Apply(self, [g, argmax, n_rows], [out])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """Scatter ``g`` to the rows ``argmax`` with ``np.add.at`` into ``output_storage[0][0]``.

        Raises
        ------
        ValueError
            If ``g`` and ``argmax`` differ in shape or an ``argmax`` entry is outside ``[-1, n_rows)``.
        """
        g, argmax, n = inputs
        name = type(self).__name__
        n_rows = int(n)
        if g.shape != argmax.shape:
            raise ValueError(f"{name}: g {g.shape} and argmax {argmax.shape} must have the same shape")
        if argmax.size and (argmax.min() < -1 or argmax.max() >= n_rows):
            raise ValueError(f"{name}: argmax entries must be in [-1, {n_rows})")
        dx = np.zeros((n_rows, g.shape[1]), dtype=g.dtype)
        seg, col = np.nonzero(argmax >= 0)
        np.add.at(dx, (argmax[seg, col], col), g[seg, col])
        output_storage[0][0] = dx

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return the output shape ``(n_rows, n_features)``."""
        return [(pt.cast(node.inputs[2], "int64"), input_shapes[0][1])]

    def c_code(self, node: Apply, name: str, inputs: list[str], outputs: list[str], sub: dict) -> str:
        """Return the C code of the node: contiguous inputs, checks, then ``symmol_seg_max_grad``.

        Sets ``ValueError`` and fails for a negative ``n_rows``, mismatched shapes or an ``argmax``
        entry outside ``[-1, n_rows)``.
        """
        g, arg, n = inputs
        (z,) = outputs
        typenum = node.outputs[0].type.dtype_specs()[2]
        return f"""
        {{
        PyArrayObject* c_g = PyArray_GETCONTIGUOUS({g});
        PyArrayObject* c_a = PyArray_GETCONTIGUOUS({arg});
        int err = (c_g && c_a) ? 0 : -1;
        if (!err) {{
            const npy_int64 n_rows = (npy_int64)((dtype_{n}*)PyArray_DATA({n}))[0];
            const npy_intp n_seg = PyArray_DIMS(c_g)[0], d = PyArray_DIMS(c_g)[1];
            if (n_rows < 0) {{
                PyErr_SetString(PyExc_ValueError, "n_rows must be non-negative");
                err = -1;
            }} else if (PyArray_DIMS(c_a)[0] != n_seg || PyArray_DIMS(c_a)[1] != d) {{
                PyErr_SetString(PyExc_ValueError, "g and argmax must have the same shape");
                err = -1;
            }}
            npy_intp dims[2] = {{(npy_intp)n_rows, d}};
            if (!err) err = symmol_seg_prepare_output(&{z}, 2, dims, {typenum});
            if (!err) err = symmol_seg_max_grad((const dtype_{g}*)PyArray_DATA(c_g),
                                                (const dtype_{arg}*)PyArray_DATA(c_a), n_seg, d,
                                                (npy_intp)n_rows, (dtype_{z}*)PyArray_DATA({z}));
        }}
        Py_XDECREF(c_g);
        Py_XDECREF(c_a);
        if (err) {{ {sub["fail"]} }}
        }}
        """

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Connect the output to ``g`` only; ``argmax`` and ``n_rows`` are integer."""
        return [[True], [False], [False]]

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Return ``[dg, disconnected, disconnected]`` with ``dg[s, j] = h[argmax[s, j], j]``.

        ``dg`` is 0 where ``argmax`` is -1 (a generic ``take_along_axis``).
        """
        g, argmax, _ = cast(Sequence[TensorVariable], inputs)
        (h,) = cotangents
        taken = pt.take_along_axis(pt.cast(h, g.type.dtype), pt.maximum(argmax, 0), axis=0)
        return [pt.switch(argmax >= 0, taken, pt.zeros_like(taken)), disconnected_type(), disconnected_type()]


_segment_sum = SegmentSum()
_segment_mean = SegmentMean()
_segment_max = SegmentMax()
_segment_max_grad = SegmentMaxGrad()



def segment_sum(x: TensorLike, segment_ids: TensorLike, n_segments: TensorLike) -> TensorVariable:
    """Sum the rows of ``x`` per segment: ``out[s] = sum_{i: ids[i] = s} x[i]`` (0 if empty).

    Parameters
    ----------
    x : float32/float64 matrix, shape (n_rows, n_features)
    segment_ids : int vector, shape (n_rows,)
        Segment of each row, in ``[0, n_segments)``; any order (sorted is faster).
    n_segments : int scalar (Python int or symbolic)

    Returns
    -------
    TensorVariable
        Matrix of shape (n_segments, n_features), dtype of ``x``.

    Raises
    ------
    TypeError
        At graph construction, for wrong ranks or dtypes.
    ValueError
        At run time, if an id is out of range or lengths differ.
    """
    return cast(TensorVariable, _segment_sum(x, segment_ids, n_segments))


def segment_mean(x: TensorLike, segment_ids: TensorLike, n_segments: TensorLike) -> TensorVariable:
    """Average the rows of ``x`` per segment (0 if empty).

    Parameters
    ----------
    x : float32/float64 matrix, shape (n_rows, n_features)
    segment_ids : int vector, shape (n_rows,)
        Segment of each row, in ``[0, n_segments)``; any order (sorted is faster).
    n_segments : int scalar (Python int or symbolic)

    Returns
    -------
    TensorVariable
        Matrix of shape (n_segments, n_features), dtype of ``x``.

    Raises
    ------
    TypeError
        At graph construction, for wrong ranks or dtypes.
    ValueError
        At run time, if an id is out of range or lengths differ.
    """
    return cast(TensorVariable, _segment_mean(x, segment_ids, n_segments))


def segment_max(x: TensorLike, segment_ids: TensorLike, n_segments: TensorLike) -> TensorVariable:
    """Take the column maximum of ``x`` per segment (0 if empty); the gradient goes to the lowest maximising row.

    Parameters
    ----------
    x : float32/float64 matrix, shape (n_rows, n_features)
    segment_ids : int vector, shape (n_rows,)
        Segment of each row, in ``[0, n_segments)``; any order (sorted is faster).
    n_segments : int scalar (Python int or symbolic)

    Returns
    -------
    TensorVariable
        Matrix of shape (n_segments, n_features), dtype of ``x``.

    Raises
    ------
    TypeError
        At graph construction, for wrong ranks or dtypes.
    ValueError
        At run time, if an id is out of range or lengths differ.
    """
    return cast(list[TensorVariable], _segment_max(x, segment_ids, n_segments))[0]




def segment_max_grad(g: TensorLike, argmax: TensorLike, n_rows: TensorLike) -> TensorVariable:
    """Symbolic pullback of :func:`segment_max`; see :class:`SegmentMaxGrad`."""
    return cast(TensorVariable, _segment_max_grad(g, argmax, n_rows))


# --------------------------------------------------------------------------- #
# Numba backend
# --------------------------------------------------------------------------- #

#: Bump when the gathers' dispatch changes.
_GATHER_DISPATCH_VERSION = 4
#: Bump when the segment reductions' dispatch changes.
_SEGMENT_DISPATCH_VERSION = 5
_GATHER_CACHE_VERSION = cache_version(_GATHER_DISPATCH_VERSION, _segment_kernels)
_SEGMENT_CACHE_VERSION = cache_version(_SEGMENT_DISPATCH_VERSION, _segment_kernels)

register_graph_kernel(GatherRows, _segment_kernels.gather_rows, _GATHER_CACHE_VERSION)
register_graph_kernel(UsedRows, _segment_kernels.used_rows, _GATHER_CACHE_VERSION, size_last=True)
register_graph_kernel(SegmentSum, _segment_kernels.segment_sum, _SEGMENT_CACHE_VERSION, size_last=True)
register_graph_kernel(SegmentMean, _segment_kernels.segment_mean, _SEGMENT_CACHE_VERSION, size_last=True)
register_graph_kernel(SegmentMax, _segment_kernels.segment_max, _SEGMENT_CACHE_VERSION, size_last=True)
register_graph_kernel(SegmentMaxGrad, _segment_kernels.segment_max_grad, _SEGMENT_CACHE_VERSION, size_last=True)
