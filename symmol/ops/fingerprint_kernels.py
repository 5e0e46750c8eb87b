"""Covariance matrices of fingerprints: Tanimoto on bits, MinMax and continuous Tanimoto on counts.

The kernels of a Gaussian process on molecules (Ralaivola et al., Neural Networks 2005, 18, 1093,
doi:10.1016/j.neunet.2005.07.009; GAUCHE, Griffiths et al., NeurIPS 2023, arXiv:2212.04450):

Ops
---
TanimotoKernel
    ``(A, B) -> T`` with ``T[i, j] = c / (a + b - c)`` for packed ``uint64`` bit rows (``c`` common
    bits, ``a``/``b`` popcounts; 0 for two empty rows, as RDKit).
CountKernel(metric)
    ``(A_indptr, A_indices, A_values, B_indptr, B_indices, B_values) -> T`` for CSR rows of
    non-negative values: ``"minmax"`` ``sum min(x, y) / sum max(x, y)`` (RDKit's
    ``TanimotoSimilarity`` of count vectors) or ``"tanimoto"`` ``<x, y> / (|x|^2 + |y|^2 - <x, y>)``
    (GAUCHE's kernel on feature vectors); both equal the Tanimoto kernel on 0/1 values.

Both outputs are ``(n_A, n_B) float64`` and hyperparameter-free: a model scales them
(``outputscale * T + noise * I``) in the graph, so the gradient of a marginal likelihood with
respect to the hyperparameters is PyTensor's own. The fingerprints are data (integers, counts):
the Ops are disconnected from them.

Backends: ``perform`` is an independent NumPy reference (blocked, for tests and the Python
linker); the Numba linker calls serial copies of :func:`symmol.kernels.similarity.tanimoto_matrix`
and :func:`symmol.kernels.count_similarity.count_similarity_matrix`; :func:`tanimoto_kernel` and
:func:`count_kernel` call the parallel kernels directly, for a training set's matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytensor.gradient
import pytensor.tensor as pt
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key
from pytensor.tensor import TensorLike
from pytensor.tensor.type import TensorType

from symmol.kernels import count_similarity as _count_kernels
from symmol.kernels import similarity as _similarity_kernels
from symmol.ops._numba_cache import cache_version, graph_kernel, register_graph_kernel
from symmol.ops._types import as_int_vector

__all__ = ["COUNT_METRICS", "CountKernel", "TanimotoKernel", "count_kernel", "tanimoto_kernel"]

#: The metrics of :class:`CountKernel`.
COUNT_METRICS = tuple(_count_kernels.COUNT_METRICS)

#: Rows of ``A`` per NumPy block of the reference ``perform``.
_REFERENCE_BLOCK = 64


def _as_packed(x: TensorLike, op_name: str, arg: str) -> Variable:
    x = pt.as_tensor_variable(x)
    if x.type.ndim != 2 or x.type.dtype != "uint64":
        raise TypeError(f"{op_name}: {arg} must be a uint64 matrix of packed bits, got {x.type}")
    return x


def _as_csr_values(x: TensorLike, op_name: str, arg: str) -> Variable:
    x = pt.as_tensor_variable(x)
    if x.type.ndim != 1 or x.type.dtype not in ("float32", "float64"):
        raise TypeError(f"{op_name}: {arg} must be a float32/float64 vector of counts, got {x.type}")
    return x


class TanimotoKernel(Op):
    """Tanimoto similarities of two sets of packed bit fingerprints.

    Inputs
    ------
    A : (n_A, n_words) uint64
    B : (n_B, n_words) uint64

    Output
    ------
    (n_A, n_B) float64, in [0, 1]: ``bulk_similarity(A, B)`` of :mod:`symmol.similarity.search`.

    Gradient: disconnected from both inputs (bits are data).
    """

    __props__ = ()

    def make_node(self, a: TensorLike, b: TensorLike) -> Apply:  # type: ignore[override]
        """Build the node; ``TypeError`` unless both inputs are uint64 matrices."""
        a, b = _as_packed(a, "TanimotoKernel", "A"), _as_packed(b, "TanimotoKernel", "B")
        return Apply(self, [a, b], [TensorType("float64", shape=(a.type.shape[0], b.type.shape[0]))()])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """NumPy reference: popcounts of ``A[i] & B`` row block by row block."""
        a, b = inputs
        if a.shape[1] != b.shape[1]:
            raise ValueError(f"TanimotoKernel: A has {a.shape[1]} words per row, B has {b.shape[1]}")
        a_bits, b_bits = np.bitwise_count(a).sum(1), np.bitwise_count(b).sum(1)
        out = np.empty((a.shape[0], b.shape[0]), dtype=np.float64)
        for start in range(0, a.shape[0], _REFERENCE_BLOCK):
            block = a[start:start + _REFERENCE_BLOCK]
            common = np.bitwise_count(block[:, None, :] & b[None, :, :]).sum(2).astype(np.float64)
            den = a_bits[start:start + _REFERENCE_BLOCK, None] + b_bits[None, :] - common
            out[start:start + len(block)] = np.divide(common, den, out=np.zeros_like(common), where=den != 0)
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """``(n_A, n_B)``."""
        return [(input_shapes[0][0], input_shapes[1][0])]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Return that the output depends on no input differentiably."""
        return [[False], [False]]

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Disconnected from ``A`` and ``B``."""
        return [pytensor.gradient.disconnected_type(), pytensor.gradient.disconnected_type()]


class CountKernel(Op):
    """MinMax or continuous-Tanimoto similarities of two sets of CSR fingerprints.

    Parameters
    ----------
    metric : {"minmax", "tanimoto"}

    Inputs
    ------
    A_indptr : (n_A + 1,) integer; A_indices : (nnz_A,) integer; A_values : (nnz_A,) float32/float64
    B_indptr, B_indices, B_values : likewise for ``B``

    Indices must be unique within a row (as every featurizer gives them); values non-negative.

    Output
    ------
    (n_A, n_B) float64, in [0, 1].

    Gradient: disconnected from every input (fingerprints are data).
    """

    __props__ = ("metric",)

    def __init__(self, metric: str = "minmax"):
        if metric not in COUNT_METRICS:
            raise ValueError(f"CountKernel: metric must be one of {list(COUNT_METRICS)}, got {metric!r}")
        self.metric = metric

    def make_node(self, *csr: TensorLike) -> Apply:
        """Build the node from the six CSR arrays; ``TypeError`` for a wrong rank or dtype."""
        if len(csr) != 6:
            raise TypeError(f"CountKernel takes six CSR arrays (indptr, indices, values of A and B), got {len(csr)}")
        names = ("A_indptr", "A_indices", "A_values", "B_indptr", "B_indices", "B_values")
        inputs = [_as_csr_values(x, "CountKernel", name) if name.endswith("values")
                  else as_int_vector(x, "CountKernel", name) for x, name in zip(csr, names, strict=True)]
        return Apply(self, inputs, [TensorType("float64", shape=(None, None))()])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """NumPy reference on dense rows."""
        a_ptr, a_idx, a_val, b_ptr, b_idx, b_val = inputs
        n_features = int(max(a_idx.max(initial=-1), b_idx.max(initial=-1))) + 1
        dense_a, dense_b = _dense(a_ptr, a_idx, a_val, n_features), _dense(b_ptr, b_idx, b_val, n_features)
        if self.metric == "minmax":
            norms_a, norms_b = dense_a.sum(1), dense_b.sum(1)
        else:
            norms_a, norms_b = (dense_a**2).sum(1), (dense_b**2).sum(1)
        out = np.empty((len(dense_a), len(dense_b)), dtype=np.float64)
        for i, row in enumerate(dense_a):
            common = np.minimum(row[None, :], dense_b).sum(1) if self.metric == "minmax" else dense_b @ row
            den = norms_a[i] + norms_b - common
            out[i] = np.divide(common, den, out=np.zeros_like(common), where=den != 0)
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """``(n_A, n_B)`` from the ``indptr`` lengths."""
        return [(input_shapes[0][0] - 1, input_shapes[3][0] - 1)]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Return that the output depends on no input differentiably."""
        return [[False]] * 6

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Disconnected from every input."""
        return [pytensor.gradient.disconnected_type() for _ in inputs]


def _dense(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, n_features: int) -> np.ndarray:
    out = np.zeros((len(indptr) - 1, n_features), dtype=np.float64)
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    out[rows, indices] = values
    return out


def tanimoto_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tanimoto matrix ``(n_a, n_b) float64`` of packed ``uint64`` rows with the parallel kernel.

    Raises
    ------
    ValueError
        If the rows are not packed ``uint64`` of the same width.
    """
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    if a.dtype != np.uint64 or b.dtype != np.uint64 or a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected packed uint64 rows of one width, got {a.dtype}{a.shape} and {b.dtype}{b.shape}")
    return _similarity_kernels.tanimoto_matrix(a, b)


def count_kernel(a: tuple[np.ndarray, np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray, np.ndarray],
                 metric: str = "minmax") -> np.ndarray:
    """Similarity matrix ``(n_a, n_b) float64`` of two CSR sets ``(indptr, indices, values)`` (parallel kernel).

    Raises
    ------
    ValueError
        For an unknown ``metric``.
    """
    if metric not in COUNT_METRICS:
        raise ValueError(f"metric must be one of {list(COUNT_METRICS)}, got {metric!r}")
    return _count_kernels.count_similarity_matrix(*a, *b, _count_kernels.COUNT_METRICS[metric])


#: Bump when the registrations below change.
_NUMBA_DISPATCH_VERSION = 1
register_graph_kernel(TanimotoKernel, _similarity_kernels.tanimoto_matrix,
                      cache_version(_NUMBA_DISPATCH_VERSION, _similarity_kernels))
_COUNT_CACHE_VERSION = cache_version(_NUMBA_DISPATCH_VERSION, _count_kernels)


@register_funcify_default_op_cache_key(CountKernel)
def _numba_funcify_count_kernel(op, node=None, **kwargs):
    kernel = graph_kernel(_count_kernels.count_similarity_matrix)
    metric = _count_kernels.COUNT_METRICS[op.metric]

    @numba_basic.numba_njit
    def count_kernel_numba(a_indptr, a_indices, a_values, b_indptr, b_indices, b_values):
        return kernel(a_indptr, a_indices, a_values, b_indptr, b_indices, b_values, metric)

    return count_kernel_numba, _COUNT_CACHE_VERSION
