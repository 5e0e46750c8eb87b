"""PyTensor Op for row gathers ``W[idx]`` (embedding lookups, atom → bond broadcasts).

GatherRows
    ``(W, idx) -> W[idx]`` of shape ``(n_out, n_features)``, ``out[k] = W[idx[k]]``.
    Gradient wrt ``W``: the scatter-add ``dW = segment_sum(g, idx, n_rows)``
    (:class:`symmol.ops.segment.SegmentSum`), so rows gathered twice get both
    contributions; ``idx`` is integer (disconnected).

Unlike ``W[idx]`` in PyTensor, negative indices are rejected (``ValueError``), not
wrapped. For a row-sparse gradient (only the rows that were used) see
:func:`gather_rows_grad_rows`.

Backends: ``perform`` (NumPy reference), Numba (:func:`symmol.kernels.segment.gather_rows`,
compiled serially into the graph, see
:func:`symmol.ops.fingerprint.graph_kernel`). No C code: under the C linker ``perform``'s ``W[idx]``
(one NumPy ``take``) is already a single C loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key
from pytensor.tensor import TensorLike
from pytensor.tensor.type import TensorType, integer_dtypes
from pytensor.tensor.variable import TensorVariable

from symmol.kernels import segment as _segment_kernels
from symmol.ops.fingerprint import _as_float_tensor, _as_int_vector, graph_kernel, kernel_source_version

__all__ = ["GatherRows", "UsedRows", "gather_rows", "gather_rows_grad_rows", "used_rows"]


def check_index_range(op_name: str, idx: np.ndarray, n: int, what: str) -> None:
    """NumPy check that every entry of ``idx`` is in ``[0, n)``; ``ValueError`` naming the first bad one."""
    bad = np.flatnonzero((idx < 0) | (idx >= n))
    if bad.size:
        k = int(bad[0])
        raise ValueError(f"{op_name}: {what}[{k}] = {int(idx[k])} is out of range [0, {n})")


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

    def make_node(self, W: TensorLike, idx: TensorLike) -> Apply:
        name = type(self).__name__
        W = _as_float_tensor(W, 2, name, "W")
        idx = _as_int_vector(idx, name, "idx")
        out = TensorType(W.type.dtype, shape=(idx.type.shape[0], W.type.shape[1]))()
        return Apply(self, [W, idx], [out])

    def perform(self, node: Apply, inputs: list[np.ndarray], output_storage: list[list]) -> None:
        W, idx = inputs
        check_index_range(type(self).__name__, idx, W.shape[0], "idx")
        output_storage[0][0] = W[idx]

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        W_shape, idx_shape = input_shapes
        return [(idx_shape[0], W_shape[1])]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[True], [False]]

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        from symmol.ops.segment import segment_sum

        W, idx = inputs
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
    return _gather_rows(W, idx)


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

    def make_node(self, idx: TensorLike, n_rows: TensorLike) -> Apply:
        idx = _as_int_vector(idx, type(self).__name__, "idx")
        n_rows = pt.as_tensor_variable(n_rows)
        if n_rows.type.ndim != 0 or n_rows.type.dtype not in integer_dtypes:
            raise TypeError(f"UsedRows: n_rows must be an integer scalar, got {n_rows.type}")
        return Apply(self, [idx, n_rows], [pt.lvector(), TensorType("int64", shape=idx.type.shape)()])

    def perform(self, node: Apply, inputs: list[np.ndarray], output_storage: list[list]) -> None:
        idx, n_rows = inputs
        check_index_range(type(self).__name__, idx, int(n_rows), "idx")
        rows, inverse = np.unique(idx, return_inverse=True)
        output_storage[0][0] = rows.astype(np.int64)
        output_storage[1][0] = inverse.astype(np.int64).reshape(idx.shape)

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        return [[False, False], [False, False]]


_used_rows = UsedRows()


def used_rows(idx: TensorLike, n_rows: TensorLike) -> tuple[TensorVariable, TensorVariable]:
    """Symbolic ``(rows, inverse)`` of :class:`UsedRows` (like ``np.unique(idx, return_inverse=True)``)."""
    rows, inverse = _used_rows(idx, n_rows)
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
    from symmol.ops.segment import segment_sum

    rows, inverse = used_rows(idx, n_rows)
    return rows, segment_sum(pt.as_tensor_variable(g), inverse, rows.shape[0])


#: Bump when the dispatch function below changes.
_NUMBA_DISPATCH_VERSION = 4
_NUMBA_CACHE_VERSION = _NUMBA_DISPATCH_VERSION * (1 << 48) + kernel_source_version(_segment_kernels)


@register_funcify_default_op_cache_key(GatherRows)
def _numba_funcify_gather_rows(op, node=None, **kwargs):
    kernel = graph_kernel(_segment_kernels.gather_rows)

    @numba_basic.numba_njit
    def gather_rows_numba(W, idx):
        return kernel(W, idx)

    return gather_rows_numba, _NUMBA_CACHE_VERSION


@register_funcify_default_op_cache_key(UsedRows)
def _numba_funcify_used_rows(op, node=None, **kwargs):
    kernel = graph_kernel(_segment_kernels.used_rows)

    @numba_basic.numba_njit
    def used_rows_numba(idx, n_rows):
        return kernel(idx, n_rows.item())

    return used_rows_numba, _NUMBA_CACHE_VERSION
