"""PyTensor Ops for the 1-D convolution of sequences (NWC layout) and its two gradients.

A sequence batch ``x`` of shape ``(n, width, c)`` (channels last) and filters ``W`` of shape
``(k, c, o)`` give the valid cross-correlation (``torch.nn.functional.conv1d`` with stride 1, no
padding and weight ``W.transpose(2, 1, 0)`` on ``x.transpose(0, 2, 1)``):

Conv1D
    ``(x, W) -> y``, ``y[i, l, o] = sum_{t, c} x[i, l + t, c] * W[t, c, o]``, shape ``(n, width - k + 1, o)``.
    Pullback: ``[conv1d_grad_input(g, W), conv1d_grad_weights(x, g)]``.
Conv1DGradInput
    ``(dy, W) -> dx``, ``dx[i, p, c] = sum_{t, o} dy[i, p - t, o] * W[t, c, o]``, shape
    ``(n, width_out + k - 1, c)``. Pullback of cotangent ``G``: ``[conv1d(G, W), conv1d_grad_weights(G, dy)]``.
Conv1DGradWeights
    ``(x, dy) -> dW``, ``dW[t, c, o] = sum_{i, l} x[i, l + t, c] * dy[i, l, o]``, shape
    ``(width - width_out + 1, c, o)``. Pullback of ``H``: ``[conv1d_grad_input(dy, H), conv1d(x, H)]``.

Each is linear in each input, so the three are closed under differentiation (any order).

The first convolution of embedded tokens (``conv1d(E[tokens], W)``, DeepDTA's first layer of each
input) is a lookup per tap: ``y[i, l] = sum_t (E @ W[t])[tokens[i, l + t]]``. The rewrites of
:mod:`symmol.ops.rewrites` turn it, and its gradients, into these two Ops:

TokenConv1D
    ``(tokens, table) -> y``, ``y[i, l, o] = sum_t table[t, tokens[i, l + t], o]``, tokens ``(n, width)``
    ints, table ``(k, n_tokens, o)``. Pullback: ``[disconnected, token_conv1d_grad_table(tokens, g, n_tokens)]``.
TokenConv1DGradTable
    ``(tokens, dy, n_tokens) -> dtable`` of shape ``(k, n_tokens, o)``, ``k = width - width_out + 1``,
    ``dtable[t, v, o] = sum_{i, l: tokens[i, l + t] = v} dy[i, l, o]``. Pullback of ``H``:
    ``[disconnected, token_conv1d(tokens, H), disconnected]``.

Why an Op: written with PyTensor's generic Ops, a convolution is ``k`` tensor products over
strided slices of ``x`` whose gradients scatter into zero tensors, several full copies of the
input per tap; these Ops run the same arithmetic as a few large BLAS products over a block of
samples at a time (:mod:`symmol.kernels.conv`). Backends: ``perform`` (NumPy reference: one
batched product per kernel tap; the C linker runs it), Numba (the kernels, compiled
serially into the graph; their products call the multi-threaded BLAS), and PyTorch and JAX
(:mod:`symmol.ops.pytorch_dispatch`, :mod:`symmol.ops.jax_dispatch`: their own convolutions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.op import Op
from pytensor.scalar import upcast
from pytensor.tensor import TensorLike
from pytensor.tensor.type import TensorType, integer_dtypes
from pytensor.tensor.variable import TensorVariable

from symmol.kernels import conv as _conv_kernels
from symmol.ops._csr import check_index_range
from symmol.ops._numba_cache import cache_version, register_graph_kernel
from symmol.ops._types import as_count, as_float_tensor

__all__ = ["Conv1D", "Conv1DGradInput", "Conv1DGradWeights", "TokenConv1D", "TokenConv1DGradTable", "conv1d",
           "conv1d_grad_input", "conv1d_grad_weights", "token_conv1d", "token_conv1d_grad_table"]


def _operands(op: Op, a: TensorLike, b: TensorLike, names: tuple[str, str]) -> tuple[TensorVariable, TensorVariable]:
    """Both inputs as float 3-tensors of one dtype (``TypeError`` otherwise)."""
    name = type(op).__name__
    a = as_float_tensor(a, 3, name, names[0])
    b = as_float_tensor(b, 3, name, names[1])
    if a.type.dtype != b.type.dtype:
        raise TypeError(f"{name}: {names[0]} and {names[1]} must have one dtype, got {a.type.dtype} and {b.type.dtype}")
    return a, b


def _static_width(width: int | None, other: int | None, sign: int) -> int | None:
    """``width + sign * (other - 1)`` when both are known, else ``None``."""
    return None if width is None or other is None else width + sign * (other - 1)


def _check_channels(op_name: str, what: str, got: int, expected: int) -> None:
    if got != expected:
        raise ValueError(f"{op_name}: {what}: {got} against {expected}")


class Conv1D(Op):
    """Valid 1-D cross-correlation of a channels-last batch: ``(x, W) -> y``.

    Inputs
    ------
    x : float32/float64 tensor, shape (n, width, c)
    W : tensor of the same dtype, shape (k, c, o)

    Output
    ------
    y : shape (n, width - k + 1, o), ``y[i, l, o] = sum_{t, c} x[i, l + t, c] * W[t, c, o]``.

    Raises ``ValueError`` at run time if the channel counts differ or ``width < k``.
    """

    __props__ = ()

    def make_node(self, x: TensorLike, W: TensorLike) -> Apply:  # type: ignore[override]
        """Build the ``Apply`` node of ``conv1d(x, W)``.

        Raises
        ------
        TypeError
            If ``x`` or ``W`` is not a float32/float64 3-tensor, or their dtypes differ.
        """
        x, W = _operands(self, x, W, ("x", "W"))
        width = _static_width(x.type.shape[1], W.type.shape[0], -1)
        out = TensorType(x.type.dtype, shape=(x.type.shape[0], width, W.type.shape[2]))()
        return Apply(self, [x, W], [out])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """NumPy reference: one batched product per tap over the shifted input, summed (no patch copy)."""
        x, W = inputs
        name = type(self).__name__
        _check_channels(name, "the input channels of x and W differ", x.shape[2], W.shape[1])
        k = W.shape[0]
        if x.shape[1] < k:
            raise ValueError(f"{name}: the input is narrower than the filter ({x.shape[1]} < {k})")
        width_out = x.shape[1] - k + 1
        y = np.zeros((x.shape[0], width_out, W.shape[2]), dtype=x.dtype)
        for t in range(k):
            y += x[:, t:t + width_out] @ W[t]
        output_storage[0][0] = y

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return ``(n, width - k + 1, o)``."""
        (n, width, _), (k, _, o) = input_shapes
        return [(n, width - k + 1, o)]

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Return ``[conv1d_grad_input(g, W), conv1d_grad_weights(x, g)]``."""
        x, W = cast(Sequence[TensorVariable], inputs)
        g = cast(TensorVariable, cotangents[0]).astype(x.type.dtype)
        return [conv1d_grad_input(g, W), conv1d_grad_weights(x, g)]


class Conv1DGradInput(Op):
    """Gradient of :class:`Conv1D` wrt ``x``: ``(dy, W) -> dx``.

    Inputs
    ------
    dy : float32/float64 tensor, shape (n, width_out, o)
    W : tensor of the same dtype, shape (k, c, o)

    Output
    ------
    dx : shape (n, width_out + k - 1, c), ``dx[i, p, c] = sum_{t, o} dy[i, p - t, o] * W[t, c, o]``
    over ``0 <= p - t < width_out``.

    Raises ``ValueError`` at run time if ``dy.shape[2] != W.shape[2]``.
    """

    __props__ = ()

    def make_node(self, dy: TensorLike, W: TensorLike) -> Apply:  # type: ignore[override]
        """Build the ``Apply`` node of ``conv1d_grad_input(dy, W)``.

        Raises
        ------
        TypeError
            If ``dy`` or ``W`` is not a float32/float64 3-tensor, or their dtypes differ.
        """
        dy, W = _operands(self, dy, W, ("dy", "W"))
        width = _static_width(dy.type.shape[1], W.type.shape[0], +1)
        out = TensorType(dy.type.dtype, shape=(dy.type.shape[0], width, W.type.shape[1]))()
        return Apply(self, [dy, W], [out])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """NumPy reference: one product per tap, added at the tap's offset."""
        dy, W = inputs
        _check_channels(type(self).__name__, "the output channels of dy and W differ", dy.shape[2], W.shape[2])
        n, width_out, _ = dy.shape
        k, c, _ = W.shape
        dx = np.zeros((n, width_out + k - 1, c), dtype=dy.dtype)
        for t in range(k):
            dx[:, t:t + width_out] += dy @ W[t].T
        output_storage[0][0] = dx

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return ``(n, width_out + k - 1, c)``."""
        (n, width_out, _), (k, c, _) = input_shapes
        return [(n, width_out + k - 1, c)]

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Return ``[conv1d(G, W), conv1d_grad_weights(G, dy)]``."""
        dy, W = cast(Sequence[TensorVariable], inputs)
        G = cast(TensorVariable, cotangents[0]).astype(dy.type.dtype)
        return [conv1d(G, W), conv1d_grad_weights(G, dy)]


class Conv1DGradWeights(Op):
    """Gradient of :class:`Conv1D` wrt ``W``: ``(x, dy) -> dW``, the filter width ``width - width_out + 1``.

    Inputs
    ------
    x : float32/float64 tensor, shape (n, width, c)
    dy : tensor of the same dtype, shape (n, width_out, o), ``width_out <= width``

    Output
    ------
    dW : shape (width - width_out + 1, c, o), ``dW[t, c, o] = sum_{i, l} x[i, l + t, c] * dy[i, l, o]``.

    Raises ``ValueError`` at run time if the sample counts differ or ``width_out > width``.
    """

    __props__ = ()

    def make_node(self, x: TensorLike, dy: TensorLike) -> Apply:  # type: ignore[override]
        """Build the ``Apply`` node of ``conv1d_grad_weights(x, dy)``.

        Raises
        ------
        TypeError
            If ``x`` or ``dy`` is not a float32/float64 3-tensor, or their dtypes differ.
        """
        x, dy = _operands(self, x, dy, ("x", "dy"))
        width, width_out = x.type.shape[1], dy.type.shape[1]
        k = None if width is None or width_out is None else width - width_out + 1
        out = TensorType(x.type.dtype, shape=(k, x.type.shape[2], dy.type.shape[2]))()
        return Apply(self, [x, dy], [out])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """NumPy reference: the windows of ``x`` contracted with ``dy`` over samples and positions."""
        x, dy = inputs
        name = type(self).__name__
        _check_channels(name, "x and dy have different numbers of samples", dy.shape[0], x.shape[0])
        k = x.shape[1] - dy.shape[1] + 1
        if dy.shape[1] < 1 or k < 1:
            raise ValueError(f"{name}: dy ({dy.shape[1]} positions) must be non-empty and no wider than x "
                             f"({x.shape[1]})")
        width_out = dy.shape[1]
        dW = np.stack([np.einsum("nlc,nlo->co", x[:, t:t + width_out], dy) for t in range(k)])
        output_storage[0][0] = dW.astype(x.dtype, copy=False)

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return ``(width - width_out + 1, c, o)``."""
        (_, width, c), (_, width_out, o) = input_shapes
        return [(width - width_out + 1, c, o)]

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Return ``[conv1d_grad_input(dy, H), conv1d(x, H)]``."""
        x, dy = cast(Sequence[TensorVariable], inputs)
        H = cast(TensorVariable, cotangents[0]).astype(x.type.dtype)
        return [conv1d_grad_input(dy, H), conv1d(x, H)]


def _token_matrix(op: Op, tokens: TensorLike) -> TensorVariable:
    """``tokens`` as an integer matrix (``TypeError`` otherwise)."""
    tokens = pt.as_tensor_variable(tokens)
    if tokens.type.ndim != 2 or tokens.type.dtype not in integer_dtypes:
        raise TypeError(f"{type(op).__name__}: tokens must be an integer matrix, got {tokens.type}")
    return tokens


def _check_windows(op_name: str, tokens: np.ndarray, k: int, n_tokens: int) -> int:
    """Return ``width - k + 1`` after checking the token range and that a window fits."""
    if k < 1 or tokens.shape[1] < k:
        raise ValueError(f"{op_name}: the sequence is narrower than the filter ({tokens.shape[1]} < {k})")
    check_index_range(op_name, tokens.ravel(), n_tokens, "tokens")
    return tokens.shape[1] - k + 1


class TokenConv1D(Op):
    """Valid 1-D correlation of embedded tokens through per-tap tables: ``(tokens, table) -> y``.

    Inputs
    ------
    tokens : int tensor, shape (n, width)
        Token ids in ``[0, n_tokens)``.
    table : float32/float64 tensor, shape (k, n_tokens, o)
        ``table[t] = E @ W[t]``: the embedding ``E`` ``(n_tokens, c)`` times the filters ``W`` ``(k, c, o)``.

    Output
    ------
    y : shape (n, width - k + 1, o), ``y[i, l, o] = sum_t table[t, tokens[i, l + t], o]``, which is
    ``conv1d(E[tokens], W)``.

    Raises ``ValueError`` at run time if a token is out of range or ``width < k``.
    """

    __props__ = ()

    def make_node(self, tokens: TensorLike, table: TensorLike) -> Apply:  # type: ignore[override]
        """Build the ``Apply`` node of ``token_conv1d(tokens, table)``.

        Raises
        ------
        TypeError
            If ``tokens`` is not an integer matrix or ``table`` not a float32/float64 3-tensor.
        """
        tokens = _token_matrix(self, tokens)
        table = as_float_tensor(table, 3, type(self).__name__, "table")
        width = _static_width(tokens.type.shape[1], table.type.shape[0], -1)
        out = TensorType(table.type.dtype, shape=(tokens.type.shape[0], width, table.type.shape[2]))()
        return Apply(self, [tokens, table], [out])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """NumPy reference: one fancy-indexed lookup per tap, summed."""
        tokens, table = inputs
        k = table.shape[0]
        width_out = _check_windows(type(self).__name__, tokens, k, table.shape[1])
        y = np.zeros((tokens.shape[0], width_out, table.shape[2]), dtype=table.dtype)
        for t in range(k):
            y += table[t][tokens[:, t:t + width_out]]
        output_storage[0][0] = y

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return ``(n, width - k + 1, o)``."""
        (n, width), (k, _, o) = input_shapes
        return [(n, width - k + 1, o)]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Connect the output to the table only; the integer tokens are disconnected."""
        return [[False], [True]]

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Return ``[disconnected, token_conv1d_grad_table(tokens, g, n_tokens)]``."""
        tokens, table = cast(Sequence[TensorVariable], inputs)
        g = cast(TensorVariable, cotangents[0]).astype(table.type.dtype)
        return [disconnected_type(), token_conv1d_grad_table(tokens, g, table.shape[1])]


class TokenConv1DGradTable(Op):
    """Gradient of :class:`TokenConv1D` wrt the table: ``(tokens, dy, n_tokens) -> dtable``.

    Inputs
    ------
    tokens : int tensor, shape (n, width)
        Token ids in ``[0, n_tokens)``.
    dy : float32/float64 tensor, shape (n, width_out, o), ``width_out <= width``
    n_tokens : int scalar
        Rows of each tap's table.

    Output
    ------
    dtable : shape (width - width_out + 1, n_tokens, o),
    ``dtable[t, v, o] = sum_{i, l: tokens[i, l + t] = v} dy[i, l, o]``.

    Raises ``ValueError`` at run time if a token is out of range, the sample counts differ or ``dy``
    is wider than ``tokens``.
    """

    __props__ = ()

    def make_node(self, tokens: TensorLike, dy: TensorLike, n_tokens: TensorLike) -> Apply:  # type: ignore[override]
        """Build the ``Apply`` node of ``token_conv1d_grad_table(tokens, dy, n_tokens)``.

        Raises
        ------
        TypeError
            If ``tokens`` is not an integer matrix, ``dy`` not a float32/float64 3-tensor or
            ``n_tokens`` not an integer scalar.
        """
        name = type(self).__name__
        tokens = _token_matrix(self, tokens)
        dy = as_float_tensor(dy, 3, name, "dy")
        n_tokens, static_n = as_count(n_tokens, name, "n_tokens")
        width, width_out = tokens.type.shape[1], dy.type.shape[1]
        k = None if width is None or width_out is None else width - width_out + 1
        out = TensorType(dy.type.dtype, shape=(k, static_n, dy.type.shape[2]))()
        return Apply(self, [tokens, dy, n_tokens], [out])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """NumPy reference: ``np.add.at`` of ``dy`` into each tap's rows."""
        tokens, dy, n_tokens = inputs
        name = type(self).__name__
        if dy.shape[0] != tokens.shape[0]:
            raise ValueError(f"{name}: tokens and dy have different numbers of samples")
        if dy.shape[1] < 1:
            raise ValueError(f"{name}: dy must have at least one position")
        k = tokens.shape[1] - dy.shape[1] + 1
        width_out = _check_windows(name, tokens, k, int(n_tokens))
        dtable = np.zeros((k, int(n_tokens), dy.shape[2]), dtype=dy.dtype)
        for t in range(k):
            np.add.at(dtable[t], tokens[:, t:t + width_out], dy)
        output_storage[0][0] = dtable

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return ``(width - width_out + 1, n_tokens, o)``."""
        (_, width), (_, width_out, o), _ = input_shapes
        return [(width - width_out + 1, node.inputs[2], o)]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Connect the output to ``dy`` only."""
        return [[False], [True], [False]]

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Return ``[disconnected, token_conv1d(tokens, H), disconnected]``."""
        tokens, dy, _ = cast(Sequence[TensorVariable], inputs)
        H = cast(TensorVariable, cotangents[0]).astype(dy.type.dtype)
        return [disconnected_type(), token_conv1d(tokens, H), disconnected_type()]


_conv1d = Conv1D()
_conv1d_grad_input = Conv1DGradInput()
_conv1d_grad_weights = Conv1DGradWeights()
_token_conv1d = TokenConv1D()
_token_conv1d_grad_table = TokenConv1DGradTable()


def _upcast(a: TensorLike, b: TensorLike) -> tuple[TensorVariable, TensorVariable]:
    """Both operands in their common dtype (float32 weights in a float64 graph compute in float64, as ``dot``)."""
    a, b = pt.as_tensor_variable(a), pt.as_tensor_variable(b)
    dtype = upcast(a.type.dtype, b.type.dtype)
    return a.astype(dtype), b.astype(dtype)


def conv1d(x: TensorLike, W: TensorLike) -> TensorVariable:
    """Symbolic valid 1-D cross-correlation of channels-last sequences; see :class:`Conv1D`.

    Parameters
    ----------
    x : float32/float64 tensor, shape (n, width, c)
    W : tensor of the same dtype, shape (k, c, o)

    Returns
    -------
    TensorVariable
        Shape (n, width - k + 1, o).

    Raises
    ------
    TypeError
        If an input is not a float 3-tensor.
    """
    return cast(TensorVariable, _conv1d(*_upcast(x, W)))


def conv1d_grad_input(dy: TensorLike, W: TensorLike) -> TensorVariable:
    """Symbolic gradient of :func:`conv1d` wrt its input, shape (n, width_out + k - 1, c); see ``Conv1DGradInput``."""
    return cast(TensorVariable, _conv1d_grad_input(*_upcast(dy, W)))


def conv1d_grad_weights(x: TensorLike, dy: TensorLike) -> TensorVariable:
    """Symbolic gradient of :func:`conv1d` wrt its filters, shape (k, c, o); see :class:`Conv1DGradWeights`."""
    return cast(TensorVariable, _conv1d_grad_weights(*_upcast(x, dy)))


def token_conv1d(tokens: TensorLike, table: TensorLike) -> TensorVariable:
    """Symbolic ``conv1d(E[tokens], W)`` from the per-tap tables ``table[t] = E @ W[t]``; see :class:`TokenConv1D`.

    Parameters
    ----------
    tokens : int tensor, shape (n, width)
    table : float32/float64 tensor, shape (k, n_tokens, o)

    Returns
    -------
    TensorVariable
        Shape (n, width - k + 1, o), the table's dtype.

    Raises
    ------
    TypeError
        If ``tokens`` is not an integer matrix or ``table`` not a float 3-tensor.
    """
    return cast(TensorVariable, _token_conv1d(tokens, table))


def token_conv1d_grad_table(tokens: TensorLike, dy: TensorLike, n_tokens: TensorLike) -> TensorVariable:
    """Symbolic gradient of :func:`token_conv1d` wrt its table, shape (k, n_tokens, o); see ``TokenConv1DGradTable``."""
    return cast(TensorVariable, _token_conv1d_grad_table(tokens, dy, n_tokens))


# --------------------------------------------------------------------------- #
# Numba backend
# --------------------------------------------------------------------------- #

#: Bump when the registrations below change.
_NUMBA_DISPATCH_VERSION = 1
_VERSION = cache_version(_NUMBA_DISPATCH_VERSION, _conv_kernels)

register_graph_kernel(Conv1D, _conv_kernels.conv1d_forward, _VERSION)
register_graph_kernel(Conv1DGradInput, _conv_kernels.conv1d_grad_input, _VERSION)
register_graph_kernel(Conv1DGradWeights, _conv_kernels.conv1d_grad_weights, _VERSION)
register_graph_kernel(TokenConv1D, _conv_kernels.token_conv1d_forward, _VERSION)
register_graph_kernel(TokenConv1DGradTable, _conv_kernels.token_conv1d_grad_table, _VERSION, size_last=True)
