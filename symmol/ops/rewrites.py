"""Every graph rewrite of symmol: generic forms users write → symmol's fast Ops, and the Numba backend's fusions.

Importing this module registers the rewrites (``symmol.ops`` imports it, so any use of
symmol's Ops enables them); all the registrations are at the end of the module, in the order
that fixes their place in PyTensor's rewrite databases. The Ops themselves stay in their
modules (:mod:`symmol.ops.fingerprint`, :mod:`symmol.ops.segment`, :mod:`symmol.ops.adam`,
:mod:`symmol.ops.reduce`).

Where they run
--------------
* ``canonicalize`` (every mode that optimises: ``NUMBA``, ``CVM``, ``FAST_RUN``): the
  products, ahead of the BLAS/sparse specialisations that would otherwise pick a generic kernel.
* ``specialize``: the scatter-add, which PyTensor first puts in ``AdvancedIncSubtensor1``
  form there.
* ``optdb`` at fixed positions, tag ``numba`` (only the Numba backend's query runs them): the
  fused Adam steps before PyTensor inlines ``OpFromGraph`` nodes (``inline_ofg_expansion``,
  position -0.01), and matrix sums after elementwise fusion (49) and before the destroy
  handler (49.5); tags ``fast_run``, ``inplace``: the in-place Adam steps (50.2).

How a fingerprint matrix is recognised
--------------------------------------
A fingerprint batch is a CSR matrix ``X`` of shape ``(n_rows, n_bits)``: either a
``pytensor.sparse.csr_matrix`` variable, a ``pytensor.sparse.CSR(values, indices,
indptr, shape)`` built from arrays, or the dense view of either through
``pytensor.sparse.dense_from_sparse``. Its arrays are read with ``csm_properties`` (or
straight from the ``CSR`` node).

Rewrites
--------
``local_sparse_dot_to_fingerprint_dot`` (canonicalize)
    ``pt.dot(X, W)`` / ``sparse.structured_dot(X, W)`` / ``sparse.dot(X, W)`` and, for the
    dense view, ``pt.dot(Xd, W)`` / ``Xd @ W`` with ``W`` a dense float matrix of the
    output's dtype → :class:`~symmol.ops.fingerprint.FingerprintDot`.
``local_sparse_t_dot_to_fingerprint_grad`` (canonicalize)
    ``structured_dot(X.T, G)`` and ``pt.dot(Xd.T, G)`` / ``Xd.T @ G`` (the gradients
    PyTensor builds for the forms above) → :class:`~symmol.ops.fingerprint.FingerprintDotGradW`.
``local_inc_subtensor_zeros_to_segment_sum`` (specialize)
    ``pt.zeros((n, d))[ids].inc(x)`` / ``pt.inc_subtensor(pt.zeros((n, d))[ids], x)`` with
    ``x`` of shape ``(len(ids), d)`` → :class:`~symmol.ops.segment.SegmentSum` (negative
    ids are wrapped first, as indexing does).
``local_lookup_before_product`` (canonicalize)
    ``table[ids] @ W`` → ``(table @ W)[ids]`` for a :class:`~symmol.ops.segment.GatherRows` or
    ``table[ids]`` lookup (an embedding), with reshapes and transposes of the rows between (a
    sequence model's time-major first projection): the table's few rows are multiplied instead of
    every token's copy.
``local_lookup_transposed_product`` (canonicalize)
    ``table[ids].T @ G`` (that product's weight gradient) → ``table.T @ segment_sum(G, ids)``.
``local_segment_sum_before_product`` (canonicalize, specialize)
    ``segment_sum(G @ M, ids, n)`` (the table's gradient) → ``segment_sum(G, ids, n) @ M``.
``local_lookup_before_conv`` (canonicalize)
    ``conv1d(table[tokens], W)`` → :class:`~symmol.ops.conv.TokenConv1D` of the per-tap tables
    ``table @ W[t]`` (DeepDTA's first convolution of each input: ``k`` lookups per position instead
    of a ``k * channels`` product).
``local_lookup_conv_weight_gradient``, ``local_segment_sum_of_conv_input_gradient`` (canonicalize)
    The filter and table gradients of that convolution through
    :class:`~symmol.ops.conv.TokenConv1DGradTable` and products with the table or the filters.
    These three carry the tag :data:`CPU_KERNEL_REWRITES`: the Numba and C backends only.
``local_fuse_fingerprint_adam`` (``symmol_fuse_fingerprint_adam``)
    ``AdamStep(p, X.T @ G, m, v, ...)`` → :class:`~symmol.ops.adam.FingerprintAdam`.
``local_fuse_dense_adam`` (``symmol_fuse_dense_adam``)
    any other ``AdamStep`` on a vector or matrix → :class:`~symmol.ops.adam.DenseAdam`.
``local_adam_inplace`` (``symmol_adam_inplace``)
    either Adam Op → its in-place form.
``local_matrix_sum`` (``symmol_matrix_sum``)
    ``Sum`` of a float matrix → :class:`~symmol.ops.reduce.MatrixSum`.

The lookup rewrites follow only moves of whole rows (the last axis kept, which they prove from
static shapes: symmol's layer parameters have static shapes) and keep the checks on the way.
Each rewrite checks at run time that the shapes the replaced Op would have checked agree
(``X.shape[1] == W.shape[0]``, the zeros' width equals ``x``'s, the gradient's ``n_bits``
equals the parameter's rows) with an ``Assert``.
"""

from __future__ import annotations

from typing import cast

import pytensor.tensor as pt
from pytensor import sparse
from pytensor.compile import optdb
from pytensor.graph.basic import Variable
from pytensor.graph.rewriting.basic import (
    NodeProcessingGraphRewriter,
    WalkingGraphRewriter,
    dfs_rewriter,
    node_rewriter,
)
from pytensor.raise_op import Assert
from pytensor.scalar import Add, upcast
from pytensor.sparse.basic import CSM, DenseFromSparse, SparseTensorType
from pytensor.sparse.basic import Transpose as SparseTranspose
from pytensor.sparse.math import Dot as SparseDot
from pytensor.sparse.math import StructuredDot
from pytensor.tensor.basic import Alloc
from pytensor.tensor.blockwise import Blockwise
from pytensor.tensor.elemwise import CAReduce, DimShuffle
from pytensor.tensor.exceptions import NotScalarConstantError
from pytensor.tensor.math import Dot
from pytensor.tensor.rewriting.basic import register_canonicalize, register_specialize
from pytensor.tensor.shape import Reshape, SpecifyShape
from pytensor.tensor.subtensor import AdvancedIncSubtensor1, AdvancedSubtensor, AdvancedSubtensor1
from pytensor.tensor.type import TensorType, integer_dtypes
from pytensor.tensor.variable import TensorVariable

from symmol.ops._types import FLOAT_DTYPES
from symmol.ops.adam import AdamStep, DenseAdam, FingerprintAdam, dense_adam, fingerprint_adam
from symmol.ops.conv import Conv1D, Conv1DGradInput, Conv1DGradWeights, token_conv1d, token_conv1d_grad_table
from symmol.ops.fingerprint import FingerprintDotGradW, fingerprint_dot, fingerprint_dot_grad_w
from symmol.ops.reduce import MatrixSum
from symmol.ops.segment import GatherRows, SegmentSum, segment_sum

__all__ = [
    "CPU_KERNEL_REWRITES",
    "local_adam_inplace",
    "local_fuse_dense_adam",
    "local_fuse_fingerprint_adam",
    "local_inc_subtensor_zeros_to_segment_sum",
    "local_lookup_before_conv",
    "local_lookup_before_product",
    "local_lookup_conv_weight_gradient",
    "local_lookup_transposed_product",
    "local_matrix_sum",
    "local_segment_sum_before_product",
    "local_segment_sum_of_conv_input_gradient",
    "local_sparse_dot_to_fingerprint_dot",
    "local_sparse_t_dot_to_fingerprint_grad",
]

#: Tag of the rewrites that target symmol's CPU kernels; the JAX and PyTorch modes exclude it (their own
#: convolutions are fast on an accelerator, and JAX needs shapes the token Ops compute at run time).
CPU_KERNEL_REWRITES = "symmol_cpu_kernels"

_assert_shapes = Assert("symmol rewrite: shapes of the rewritten product do not match")
_assert_rows = Assert("symmol fused Adam: the gradient's n_bits differs from the parameter's rows")


# --------------------------------------------------------------------------- #
# fingerprint products (canonicalize)
# --------------------------------------------------------------------------- #


def _is_dense_matrix(v: Variable) -> bool:
    return isinstance(v.type, TensorType) and v.type.ndim == 2 and v.type.dtype in FLOAT_DTYPES


def _csr_parts(X: Variable):
    """``(values, indices, indptr, n_cols)`` of a CSR sparse variable, else ``None``."""
    if not isinstance(X.type, SparseTensorType) or X.type.format != "csr":
        return None
    if X.owner is not None and isinstance(X.owner.op, CSM) and X.owner.op.format == "csr":
        values, indices, indptr, shape = X.owner.inputs
    else:
        values, indices, indptr, shape = cast(list[TensorVariable], sparse.csm_properties(X))
    return values, indices, indptr, shape[1]


def _fingerprint_operand(x: Variable):
    """CSR parts if ``x`` is a CSR fingerprint matrix (sparse, or its dense view), else ``None``."""
    if x.owner is not None and isinstance(x.owner.op, DenseFromSparse):
        return _csr_parts(x.owner.inputs[0])
    return _csr_parts(x)


def _transposed_fingerprint_operand(x: Variable):
    """CSR parts if ``x`` is the transpose of a CSR fingerprint matrix, else ``None``."""
    if x.owner is None:
        return None
    op = x.owner.op
    if isinstance(op, SparseTranspose) or (isinstance(op, DimShuffle) and op.new_order == (1, 0)):
        return _fingerprint_operand(x.owner.inputs[0])
    return None


def _matrix_product_inputs(node):
    """Return ``(a, b)`` if ``node`` is a 2-D matrix product (dense, sparse or batched-matmul form), else None."""
    op = node.op
    if isinstance(op, StructuredDot | SparseDot | Dot) or (
        isinstance(op, Blockwise) and isinstance(op.core_op, Dot)
    ):
        a, b = node.inputs
        if a.type.ndim == 2 and b.type.ndim == 2:
            return a, b
    return None


@node_rewriter([StructuredDot, SparseDot, Dot, Blockwise])
def local_sparse_dot_to_fingerprint_dot(fgraph, node):
    """``X @ W`` with ``X`` a CSR fingerprint matrix → ``FingerprintDot``."""
    pair = _matrix_product_inputs(node)
    if pair is None:
        return None
    X, W = pair
    parts = _fingerprint_operand(X)
    out = node.outputs[0]
    if parts is None or not _is_dense_matrix(W) or W.type.dtype != out.type.dtype:
        return None
    values, indices, indptr, n_cols = parts
    if values.type.dtype.startswith("float") and upcast(values.type.dtype, W.type.dtype) != W.type.dtype:
        return None  # would need a cast of values the Op refuses (downcast)
    W = _assert_shapes(W, pt.eq(n_cols, W.shape[0]))
    return [fingerprint_dot(indptr, indices, values, W)]


@node_rewriter([StructuredDot, SparseDot, Dot, Blockwise])
def local_sparse_t_dot_to_fingerprint_grad(fgraph, node):
    """``X.T @ G`` with ``X`` a CSR fingerprint matrix → ``FingerprintDotGradW``."""
    pair = _matrix_product_inputs(node)
    if pair is None:
        return None
    Xt, G = pair
    parts = _transposed_fingerprint_operand(Xt)
    out = node.outputs[0]
    if parts is None or not _is_dense_matrix(G) or G.type.dtype != out.type.dtype:
        return None
    values, indices, indptr, n_cols = parts
    if values.type.dtype.startswith("float") and upcast(values.type.dtype, G.type.dtype) != G.type.dtype:
        return None  # would need a cast of values the Op refuses (downcast)
    G = _assert_shapes(G, pt.eq(indptr.shape[0] - 1, G.shape[0]))
    return [fingerprint_dot_grad_w(indptr, indices, values, G, pt.cast(n_cols, "int64"))]


# --------------------------------------------------------------------------- #
# scatter-add into zeros (specialize)
# --------------------------------------------------------------------------- #


@node_rewriter([AdvancedIncSubtensor1])
def local_inc_subtensor_zeros_to_segment_sum(fgraph, node):
    """``zeros((n, d))[ids].inc(x)`` (a scatter-add into zeros) → ``SegmentSum(x, ids, n)``."""
    if node.op.set_instead_of_inc:
        return None
    buffer, x, ids = node.inputs
    if not (buffer.owner is not None and isinstance(buffer.owner.op, Alloc)):
        return None
    fill, *shape = buffer.owner.inputs
    out = node.outputs[0]
    if len(shape) != 2 or x.type.ndim != 2 or x.type.dtype != out.type.dtype or out.type.dtype not in FLOAT_DTYPES:
        return None
    if x.type.broadcastable[0] or x.type.broadcastable[1]:
        return None  # a broadcast x is not one row per id
    try:
        if float(pt.get_underlying_scalar_constant_value(fill)) != 0.0:
            return None
    except NotScalarConstantError:
        return None
    n, d = shape
    x = _assert_shapes(x, pt.eq(x.shape[1], d), pt.eq(x.shape[0], ids.shape[0]))
    wrapped = pt.switch(pt.lt(ids, 0), ids + pt.cast(n, ids.type.dtype), ids)
    return [segment_sum(x, wrapped, n)]


# --------------------------------------------------------------------------- #
# table lookups before products (canonicalize)
# --------------------------------------------------------------------------- #

#: How rows moved between a lookup (or a product) and the op that reads them: ``("dimshuffle",
#: order of the leading axes)``, ``("reshape", shape vector, ndim)`` or ``("assert", op, conditions)``
#: (a check on the way, kept in the rewritten graph); the last axis never moves.
RowMove = tuple


def _keeps_width(fgraph, node) -> bool:
    """Whether a ``Reshape`` provably keeps its input's last axis (static shapes, or the graph's shape feature)."""
    x, out = node.inputs[0], node.outputs[0]
    if x.type.shape[-1] is not None and x.type.shape[-1] == out.type.shape[-1]:
        return True
    shape_feature = getattr(fgraph, "shape_feature", None)
    if shape_feature is None or x not in shape_feature.shape_of or out not in shape_feature.shape_of:
        return False
    return shape_feature.same_shape(out, x, out.type.ndim - 1, x.type.ndim - 1)


def _row_moves(fgraph, x: Variable, is_source) -> tuple[Variable, list[RowMove]] | None:
    """``(source, moves)`` if ``x`` is a ``source`` (``is_source(node)``) whose rows were only moved.

    Moves that keep the last axis whole: transposes of the leading axes (``DimShuffle`` with the
    last axis last, none dropped), reshapes of the leading axes (the width provably the same:
    :func:`_keeps_width`), ``SpecifyShape`` and ``Assert`` (its conditions move along); returned
    in the order they apply to ``source``.
    """
    moves: list[RowMove] = []
    while x.owner is not None:
        node = x.owner
        op = node.op
        if is_source(node):
            return x, moves[::-1]
        if isinstance(op, SpecifyShape):
            pass
        elif isinstance(op, Assert):
            moves.append(("assert", op, tuple(node.inputs[1:])))
        elif isinstance(op, DimShuffle):
            if op.drop or not op.new_order or op.new_order[-1] != op.input_ndim - 1:
                return None
            moves.append(("dimshuffle", tuple(op.new_order[:-1])))
        elif isinstance(op, Reshape):
            if op.ndim < 2 or not _keeps_width(fgraph, node):
                return None
            moves.append(("reshape", node.inputs[1], op.ndim))
        else:
            return None
        x = node.inputs[0]
    return None


def _moved(x: Variable, moves: list[RowMove], width_axis: bool) -> TensorVariable:
    """Return ``x`` after ``moves``: rows of any width (``width_axis``), or row ids with no feature axis."""
    out = cast(TensorVariable, x)
    for move in moves:
        if move[0] == "assert":
            out = move[1](out, *move[2])
        elif move[0] == "dimshuffle":
            out = out.dimshuffle((*move[1], out.ndim - 1) if width_axis else move[1])
        else:
            _, shape, ndim = move
            if width_axis:
                out = out.reshape(pt.concatenate([shape[:-1], out.shape[-1:]]), ndim=ndim)
            else:
                out = out.reshape(shape[:-1], ndim=ndim - 1)
    return out


def _is_row_lookup(node) -> bool:
    """``table[ids]`` of a float matrix by one integer vector: :class:`GatherRows` or NumPy-style indexing."""
    if not isinstance(node.op, GatherRows | AdvancedSubtensor1 | AdvancedSubtensor) or len(node.inputs) != 2:
        return False
    table, ids = node.inputs
    return (table.type.ndim == 2 and table.type.dtype in FLOAT_DTYPES and ids.type.ndim == 1
            and ids.type.dtype in integer_dtypes)


def _lookup_rows(fgraph, x: Variable, ndim: int = 2):
    """``(lookup node, its ids moved as the rows were)`` if ``x`` is an ``ndim``-D view of a table lookup's rows."""
    if x.type.ndim != ndim:
        return None
    found = _row_moves(fgraph, x, _is_row_lookup)
    if found is None:
        return None
    lookup, moves = found
    return lookup.owner, _moved(lookup.owner.inputs[1], moves, width_axis=False)


def _non_negative_ids(lookup, ids: TensorVariable) -> TensorVariable:
    """Return ids as ``segment_sum`` needs them (indexing wraps negative ids; ``GatherRows`` refuses them)."""
    if isinstance(lookup.op, GatherRows):
        return ids
    n = pt.cast(lookup.inputs[0].shape[0], ids.dtype)
    return pt.switch(pt.lt(ids, 0), ids + n, ids)


@node_rewriter([Dot])
def local_lookup_before_product(fgraph, node):
    """``table[ids] @ W`` → ``(table @ W)[ids]``, rows moved between the lookup and the product followed."""
    a, W = node.inputs
    found = _lookup_rows(fgraph, a)
    if found is None or W.type.ndim != 2:
        return None
    lookup, ids = found
    return [lookup.op(pt.dot(lookup.inputs[0], W), ids)]


@node_rewriter([Dot])
def local_lookup_transposed_product(fgraph, node):
    """``table[ids].T @ G`` → ``table.T @ segment_sum(G, ids, len(table))``: the lookup's weight gradient."""
    at, G = node.inputs
    if at.owner is None or not isinstance(at.owner.op, DimShuffle) or at.owner.op.new_order != (1, 0):
        return None
    found = _lookup_rows(fgraph, at.owner.inputs[0])
    if found is None or G.type.ndim != 2 or G.type.dtype not in FLOAT_DTYPES:
        return None
    lookup, ids = found
    table = lookup.inputs[0]
    G = _assert_shapes(G, pt.eq(G.shape[0], ids.shape[0]))
    return [pt.dot(table.T, segment_sum(G, _non_negative_ids(lookup, ids), table.shape[0]))]


def _is_matrix_product(node) -> bool:
    return isinstance(node.op, Dot) and all(v.type.ndim == 2 for v in node.inputs)


@node_rewriter([SegmentSum])
def local_segment_sum_before_product(fgraph, node):
    """``segment_sum(G @ M, ids, n)`` → ``segment_sum(G, ids, n) @ M``: a lookup's table gradient, sum first.

    Rows moved between the product and the sum are followed (applied to ``G``). Fewer rows enter the
    product whenever there are fewer segments than rows (a vocabulary against a batch of tokens).
    """
    x, ids, n = node.inputs
    found = _row_moves(fgraph, x, _is_matrix_product)
    if found is None:
        return None
    product, moves = found
    G, M = product.owner.inputs
    moved = _moved(G, moves, width_axis=True)
    if G.type.dtype not in FLOAT_DTYPES or moved.type.ndim != 2:
        return None
    return [pt.dot(segment_sum(moved, ids, n), M)]


@node_rewriter([Conv1D])
def local_lookup_before_conv(fgraph, node):
    """``conv1d(table[tokens], W)`` → ``token_conv1d(tokens, taps)``, ``taps[t] = table @ W[t]``: a lookup per tap."""
    x, W = node.inputs
    found = _lookup_rows(fgraph, x, 3)
    if found is None:
        return None
    lookup, tokens = found
    table = lookup.inputs[0]
    # (k, n_tokens, o), shapes stated: JAX needs the output widths as constants wherever they are static
    taps = pt.specify_shape(pt.matmul(table[None], W), (W.type.shape[0], table.type.shape[0], W.type.shape[2]))
    return [token_conv1d(_non_negative_ids(lookup, tokens), taps)]


@node_rewriter([Conv1DGradWeights])
def local_lookup_conv_weight_gradient(fgraph, node):
    """``conv1d_grad_weights(table[tokens], dy)`` → ``table`` contracted with ``token_conv1d_grad_table``."""
    x, dy = node.inputs
    found = _lookup_rows(fgraph, x, 3)
    if found is None:
        return None
    lookup, tokens = found
    table = lookup.inputs[0]
    k, _, o = node.outputs[0].type.shape
    dtaps = pt.specify_shape(token_conv1d_grad_table(_non_negative_ids(lookup, tokens), dy, table.shape[0]),
                             (k, table.type.shape[0], o))  # (k, n_tokens, o)
    return [pt.specify_shape(pt.matmul(table.T[None], dtaps), node.outputs[0].type.shape)]  # (k, c, o)


@node_rewriter([SegmentSum])
def local_segment_sum_of_conv_input_gradient(fgraph, node):
    """``segment_sum(rows of conv1d_grad_input(dy, W), tokens, n)`` → ``token_conv1d_grad_table`` contracted with ``W``.

    The gradient of a lookup feeding a convolution: per tap, the rows of ``dy`` summed by token,
    then one small product with the filters (only reshapes between, which keep the rows' order; the
    checks on the way are dropped with the rows they guarded: ``dy`` and the ids are checked again).
    """
    x, ids, n = node.inputs
    found = _row_moves(fgraph, x, lambda source: isinstance(source.op, Conv1DGradInput))
    if found is None or any(move[0] == "dimshuffle" for move in found[1]):
        return None
    dy, W = found[0].owner.inputs
    tokens = ids.reshape((dy.shape[0], dy.shape[1] + W.shape[0] - 1), ndim=2)
    dtaps = pt.specify_shape(token_conv1d_grad_table(tokens, dy, n), (W.type.shape[0], None, W.type.shape[2]))
    return [pt.sum(pt.matmul(dtaps, W.dimshuffle(0, 2, 1)), axis=0)]


# --------------------------------------------------------------------------- #
# Adam steps (Numba backend)
# --------------------------------------------------------------------------- #


@node_rewriter([AdamStep])
def local_fuse_fingerprint_adam(fgraph, node):
    """Fuse ``AdamStep(p, FingerprintDotGradW(indptr, indices, values, G, n), m, v, ...)`` → :class:`FingerprintAdam`.

    Also when the gradient is the generic ``X.T @ G`` of a fingerprint matrix that
    :func:`local_sparse_t_dot_to_fingerprint_grad` would turn into one.
    """
    p, g, m, v, *scalars = node.inputs
    if g.owner is None or p.type.ndim != 2:
        return False
    if not isinstance(g.owner.op, FingerprintDotGradW):
        # a user's pt.dot(X_fingerprints, W): the gradient is still the generic X.T @ G here
        replaced = local_sparse_t_dot_to_fingerprint_grad.transform(fgraph, g.owner)
        if not replaced:
            return False
        (g,) = replaced
    indptr, indices, values, G, n_bits = g.owner.inputs
    if g.type.dtype != p.type.dtype:
        return False
    p = _assert_rows(p, pt.eq(pt.cast(n_bits, "int64"), p.shape[0]))
    return fingerprint_adam(indptr, indices, values, G, p, m, v, *scalars)


@node_rewriter([AdamStep])
def local_fuse_dense_adam(fgraph, node):
    """``AdamStep(p, g, m, v, ...)`` on a vector or matrix (any other ``g``) → :class:`DenseAdam`."""
    p, g, m, v, *scalars = node.inputs
    if p.type.ndim not in (1, 2) or p.type.dtype not in ("float32", "float64"):
        return False
    if g.owner is not None and isinstance(g.owner.op, FingerprintDotGradW):
        return False  # local_fuse_fingerprint_adam's (runs first; declined only on a dtype mismatch)
    return dense_adam(p, g, m, v, *scalars)


@node_rewriter([FingerprintAdam, DenseAdam])
def local_adam_inplace(fgraph, node):
    """Switch :class:`FingerprintAdam` / :class:`DenseAdam` to the in-place form.

    The destroy handler reverts it if unsafe.
    """
    if node.op.inplace:
        return False
    return type(node.op)(inplace=True)(*node.inputs, return_list=True)


# --------------------------------------------------------------------------- #
# matrix sums (Numba backend)
# --------------------------------------------------------------------------- #


@node_rewriter([CAReduce])
def local_matrix_sum(fgraph, node):
    """Turn a ``Sum`` of a float matrix into :class:`MatrixSum`.

    Only a sum with a float64 accumulator (PyTensor's default, and what :class:`MatrixSum` uses)
    and the input's dtype as output dtype.
    """
    op = node.op
    (x,) = node.inputs
    (out,) = node.outputs
    if not isinstance(op.scalar_op, Add) or x.type.ndim != 2 or x.type.dtype not in ("float32", "float64"):
        return False
    if out.type.dtype != x.type.dtype or op.acc_dtype not in (None, "float64"):
        return False
    axis = op.axis
    if axis is None or tuple(sorted(axis)) == (0, 1):
        new_axis = None
    elif len(axis) == 1:
        new_axis = int(axis[0])
    else:
        return False
    new = cast(TensorVariable, MatrixSum(new_axis)(x))
    return [pt.specify_shape(new, out.type.shape) if new.type.shape != out.type.shape else new]


# --------------------------------------------------------------------------- #
# registration: the order of the calls fixes the rewrites' order in each database
# --------------------------------------------------------------------------- #

register_canonicalize(local_sparse_dot_to_fingerprint_dot)
register_canonicalize(local_sparse_t_dot_to_fingerprint_grad)
register_canonicalize(local_lookup_before_product)
register_canonicalize(local_lookup_transposed_product)
register_canonicalize(local_segment_sum_before_product)
# CPU kernels only (CPU_KERNEL_REWRITES): accelerator backends keep their own convolutions
register_canonicalize(local_lookup_before_conv, CPU_KERNEL_REWRITES)
register_canonicalize(local_lookup_conv_weight_gradient, CPU_KERNEL_REWRITES)
register_canonicalize(local_segment_sum_of_conv_input_gradient, CPU_KERNEL_REWRITES)
register_specialize(local_inc_subtensor_zeros_to_segment_sum)
register_specialize(local_segment_sum_before_product, "local_segment_sum_before_product_specialize")
# Before "inline_ofg_expansion" (position -0.01), which would dissolve the AdamStep marker.
optdb.register("symmol_fuse_fingerprint_adam", dfs_rewriter(local_fuse_fingerprint_adam), "numba",
               position=-0.03)
optdb.register("symmol_fuse_dense_adam", dfs_rewriter(local_fuse_dense_adam), "numba", position=-0.02)
optdb.register("symmol_adam_inplace",
               WalkingGraphRewriter(local_adam_inplace, failure_callback=NodeProcessingGraphRewriter.warn_inplace),
               "fast_run", "inplace", position=50.2)
# After elementwise fusion (position 49), before the destroy handler (49.5).
optdb.register("symmol_matrix_sum", dfs_rewriter(local_matrix_sum), "numba", position=49.2)
