"""Sums of a matrix (all entries, columns or rows) for the Numba backend, cheap to compile.

Every training graph sums matrices: the loss (``sum(mask * per_label) / sum(mask)``) and
the bias gradients (``sum(G, axis=0)``). PyTensor's generic ``CAReduce`` serves any rank and
any strides: its Numba code sorts the input's strides at run time (``np.argsort``) and
transposes by the resulting permutation (Numba's ``transpose`` with a run-time tuple checks
the permutation with a ``set`` and copies shapes by slice assignment, which pulls in Numba's
error-message formatting: ``str``/``repr`` of integers, f-strings, hashing). Compiling that
machinery is what made the first ``Sum`` the most expensive function of a cold compile:
4.2 s of 14.0 s of CPU (Numba's ``numba:compile`` events, the standard MLP step, 2-core
machine; see ``bench/results/compile_time.md``).

:class:`MatrixSum` does the same arithmetic (float64 accumulation, like PyTensor's
``Sum{acc=float64}`` for float32 input, in the memory order of the input) with two loops
that index the matrix directly, so nothing of the above is compiled. The rewrite
``symmol_matrix_sum`` (in :mod:`symmol.ops.rewrites`; tag ``numba``: only the Numba backend's
query runs it, after elementwise fusion) turns ``Sum`` of a float matrix into it; the C, JAX
and PyTorch backends keep PyTensor's ``Sum``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key
from pytensor.tensor import TensorLike
from pytensor.tensor.type import TensorType

from symmol.ops._types import as_float_tensor

__all__ = ["MatrixSum"]

_AXES = (None, 0, 1)


class MatrixSum(Op):
    """Sum of a float matrix over all entries (``axis=None``), its rows (``0``) or columns (``1``).

    Inputs
    ------
    x : float32/float64 matrix, shape (n_rows, n_cols), any strides

    Output
    ------
    ``axis=None``: scalar; ``axis=0``: shape (n_cols,); ``axis=1``: shape (n_rows,); dtype of
    ``x``. Accumulation is in float64, in the memory order of ``x`` (row by row unless ``x``
    is column-major), like PyTensor's ``Sum{acc=float64}``.

    Gradient: ``g`` broadcast back to the shape of ``x``.
    """

    __props__ = ("axis",)

    def __init__(self, axis: int | None = None):
        if axis not in _AXES:
            raise ValueError(f"MatrixSum: axis must be None, 0 or 1, got {axis!r}")
        self.axis = axis

    def make_node(self, x: TensorLike) -> Apply:  # type: ignore[override]
        """Build the ``Apply`` node of the sum.

        Returns
        -------
        Apply
            Input ``x``; one output of ``x``'s dtype: a scalar for ``axis=None``, else a vector of
            the static length of the kept axis.

        Raises
        ------
        TypeError
            If ``x`` is not a float32/float64 matrix.
        """
        x = as_float_tensor(x, 2, type(self).__name__, "x")
        shape = () if self.axis is None else (x.type.shape[1 - self.axis],)
        return Apply(self, [x], [TensorType(x.type.dtype, shape=shape)()])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """Sum ``x`` with NumPy in float64 and store the result in ``x``'s dtype."""
        (x,) = inputs
        output_storage[0][0] = np.asarray(np.sum(x, axis=self.axis, dtype=np.float64), dtype=x.dtype)

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return ``()`` for ``axis=None``, else the length of the kept axis of ``x``."""
        (shape,) = input_shapes
        return [() if self.axis is None else (shape[1 - self.axis],)]

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Return ``[zeros_like(x) + g]``: the cotangent broadcast back to the shape of ``x``."""
        (x,), (g,) = inputs, cotangents
        g = pt.cast(g, x.type.dtype)
        if self.axis == 0:
            g = g[None, :]
        elif self.axis == 1:
            g = g[:, None]
        return [pt.zeros_like(x) + g]


# --------------------------------------------------------------------------- #
# Numba backend
# --------------------------------------------------------------------------- #

#: Bump when the dispatch function below changes.
_NUMBA_CACHE_VERSION = 2


def _matrix_sum_all(out_dtype: np.dtype):
    """Build the graph function of ``MatrixSum(axis=None)``: all entries, in the memory order of ``x``."""

    @numba_basic.numba_njit
    def matrix_sum_all(x):
        n, d = x.shape
        acc = 0.0
        if x.strides[0] >= x.strides[1]:
            for i in range(n):
                for j in range(d):
                    acc += x[i, j]
        else:
            for j in range(d):
                for i in range(n):
                    acc += x[i, j]
        return np.array(acc, dtype=out_dtype)

    return matrix_sum_all


def _matrix_sum_rows(out_dtype: np.dtype):
    """Build the graph function of ``MatrixSum(axis=0)``."""

    @numba_basic.numba_njit
    def matrix_sum_rows(x):
        """Sum over axis 0, in the memory order of ``x``."""
        n, d = x.shape
        if x.strides[0] >= x.strides[1]:
            acc = np.zeros(d, dtype=np.float64)
            for i in range(n):
                for j in range(d):
                    acc[j] += x[i, j]
            return acc.astype(out_dtype)
        out = np.empty(d, dtype=out_dtype)
        for j in range(d):
            total = 0.0
            for i in range(n):
                total += x[i, j]
            out[j] = total
        return out

    return matrix_sum_rows


def _matrix_sum_columns(out_dtype: np.dtype):
    """Build the graph function of ``MatrixSum(axis=1)``: the row sum of the transposed view."""
    matrix_sum_rows = _matrix_sum_rows(out_dtype)

    @numba_basic.numba_njit
    def matrix_sum_columns(x):
        return matrix_sum_rows(x.T)  # a view with swapped strides: the same loops, same order

    return matrix_sum_columns


@register_funcify_default_op_cache_key(MatrixSum)
def _numba_funcify_matrix_sum(op, node=None, **kwargs):
    out_dtype = np.dtype(node.outputs[0].type.dtype)
    if op.axis is None:
        return _matrix_sum_all(out_dtype), _NUMBA_CACHE_VERSION
    if op.axis == 0:
        return _matrix_sum_rows(out_dtype), _NUMBA_CACHE_VERSION
    return _matrix_sum_columns(out_dtype), _NUMBA_CACHE_VERSION
