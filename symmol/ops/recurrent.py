"""PyTensor Ops for the recurrence of a GRU over a whole sequence and its backpropagation through time.

GRUSequence
    ``(projected (L, n, 3u), W_h (u, 3u), b_h (3u,), h0 (n, u), mask (L, n)) -> (states (L, n, u),
    gates (L, n, 4u))``, time-major, the gates in ``torch.nn.GRU``'s order (r, z, c) and then each
    step's ``(h W_h + b_h)_c``; padded steps (mask 0) keep the state (the arithmetic:
    :mod:`symmol.kernels.recurrent`). The gates are a workspace for the gradient, not a result:
    :func:`gru_sequence` returns the states, and nothing may differentiate through the gates. Pullback:
    ``GRUSequenceGrad(projected, W_h, b_h, h0, mask, states, gates, g)`` for the first four inputs;
    the mask is not differentiated (it is data: which steps are real).
GRUSequenceGrad
    ``(..., states, gates, d_states) -> (d_projected, dW_h, db_h, dh0)``. Its own gradient is not
    defined: second derivatives of a GRU go through the ``scan`` form (``GRULayer.cell``).

Why an Op: ``pytensor.scan`` of the GRU cell runs a generic inner graph per step and, for the
gradient, a second scan with its own buffers; the Numba kernels run each step as one BLAS product and
one fused pass over the gates. Backends: ``perform`` (NumPy reference, the same loop; the C linker
runs it), Numba (the kernels, compiled serially into the graph), PyTorch and JAX (the recurrence in
the backend's own operations, the gradient by its automatic differentiation:
:mod:`symmol.ops.pytorch_dispatch`, :mod:`symmol.ops.jax_dispatch`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.null_type import NullType
from pytensor.graph.op import Op
from pytensor.tensor import TensorLike
from pytensor.tensor.variable import TensorVariable

from symmol.kernels import recurrent as _kernels
from symmol.ops._numba_cache import cache_version, register_graph_kernel

__all__ = ["GRUSequence", "GRUSequenceGrad", "gru_sequence", "gru_step_reference"]


def gru_step_reference(a: np.ndarray, h: np.ndarray, W_h: np.ndarray, b_h: np.ndarray,
                       m: np.ndarray) -> tuple[np.ndarray, ...]:
    """One step in NumPy: the new state and ``(p_c, r, z, c)`` (``a`` the step's projection ``(n, 3u)``)."""
    u = h.shape[1]
    p = h @ W_h + b_h
    r = 1.0 / (1.0 + np.exp(-(a[:, :u] + p[:, :u])))
    z = 1.0 / (1.0 + np.exp(-(a[:, u:2 * u] + p[:, u:2 * u])))
    c = np.tanh(a[:, 2 * u:] + r * p[:, 2 * u:])
    m = m[:, None]
    return m * ((1 - z) * c + z * h) + (1 - m) * h, p[:, 2 * u:], r, z, c


def _as_typed(x: TensorLike, ndim: int, dtype: str, what: str) -> TensorVariable:
    x = pt.as_tensor_variable(x)
    if x.type.ndim != ndim:
        raise TypeError(f"GRUSequence: {what} must have {ndim} dimensions, got {x.type.ndim}")
    return cast(TensorVariable, x.astype(dtype))


def _inputs(projected: TensorLike, W_h: TensorLike, b_h: TensorLike, h0: TensorLike,
            mask: TensorLike) -> list[TensorVariable]:
    projected = pt.as_tensor_variable(projected)
    dtype = projected.type.dtype
    if dtype not in ("float32", "float64") or projected.type.ndim != 3:
        raise TypeError(f"GRUSequence: projected must be a float32/float64 3-tensor, got {projected.type}")
    return [cast(TensorVariable, projected), _as_typed(W_h, 2, dtype, "W_h"), _as_typed(b_h, 1, dtype, "b_h"),
            _as_typed(h0, 2, dtype, "h0"), _as_typed(mask, 2, dtype, "mask")]


class GRUSequence(Op):
    """The GRU recurrence over a time-major sequence; see the module docstring.

    Inputs: ``projected`` (L, n, 3u) float32/float64; ``W_h`` (u, 3u), ``b_h`` (3u,), ``h0`` (n, u),
    ``mask`` (L, n) cast to its dtype. Outputs: the states (L, n, u) and the gates (L, n, 4u).
    """

    __props__ = ()

    def make_node(self, projected: TensorLike, W_h: TensorLike, b_h: TensorLike, h0: TensorLike,  # type: ignore[override]
                  mask: TensorLike) -> Apply:
        """Build the node (``TypeError`` for inputs of the wrong rank or a non-float ``projected``)."""
        inputs = _inputs(projected, W_h, b_h, h0, mask)
        p = inputs[0].type
        states = pt.tensor(dtype=p.dtype, shape=(p.shape[0], p.shape[1], None))
        gates = pt.tensor(dtype=p.dtype, shape=(p.shape[0], p.shape[1], None))
        return Apply(self, inputs, [states, gates])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """NumPy reference: the loop over steps."""
        projected, W_h, b_h, h0, mask = inputs
        steps, n, u = projected.shape[0], projected.shape[1], h0.shape[1]
        states = np.empty((steps, n, u), dtype=projected.dtype)
        gates = np.empty((steps, n, 4 * u), dtype=projected.dtype)
        h = h0
        for t in range(steps):
            h, p_c, r, z, c = gru_step_reference(projected[t], h, W_h, b_h, mask[t])
            h = h.astype(projected.dtype)
            states[t], gates[t] = h, np.concatenate([r, z, c, p_c], axis=1)
        output_storage[0][0], output_storage[1][0] = states, gates

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return ``(L, n, u)`` and ``(L, n, 4u)``."""
        (steps, n, _), _, _, (_, u), _ = input_shapes
        return [(steps, n, u), (steps, n, 4 * u)]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Return that every input but the mask is differentiated.

        The gates depend on them too, so that a cost reading the gates reaches :meth:`pullback`,
        which refuses it.
        """
        return [[True, True], [True, True], [True, True], [True, True], [False, False]]

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Return the four gradients of :class:`GRUSequenceGrad` and a disconnected mask.

        Raises
        ------
        NotImplementedError
            If a cost depends on the gates output (a workspace, not differentiable).
        """
        if not isinstance(cotangents[1].type, DisconnectedType):
            raise NotImplementedError("GRUSequence's gates are a workspace for its gradient; use the states")
        g = cast(TensorVariable, cotangents[0]).astype(inputs[0].type.dtype)
        grads = cast(list[Variable], _gru_sequence_grad(*inputs, outputs[0], outputs[1], g))
        return [*grads, DisconnectedType()()]


class GRUSequenceGrad(Op):
    """Backpropagation through time of :class:`GRUSequence`: ``(..., states, gates, d_states) -> 4 gradients``."""

    __props__ = ()

    def make_node(self, projected: TensorLike, W_h: TensorLike, b_h: TensorLike, h0: TensorLike,  # type: ignore[override]
                  mask: TensorLike, states: TensorLike, gates: TensorLike, d_states: TensorLike) -> Apply:
        """Build the node; the outputs have the types of ``projected``, ``W_h``, ``b_h`` and ``h0``."""
        inputs = _inputs(projected, W_h, b_h, h0, mask)
        dtype = inputs[0].type.dtype
        inputs += [_as_typed(states, 3, dtype, "states"), _as_typed(gates, 3, dtype, "gates"),
                   _as_typed(d_states, 3, dtype, "d_states")]
        return Apply(self, inputs, [v.type() for v in inputs[:4]])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """NumPy reference: the steps backwards, gates recomputed from the stored states."""
        projected, W_h, b_h, h0, mask, states, _, d_states = inputs
        d_projected = np.empty_like(projected)
        dW, db = np.zeros_like(W_h), np.zeros_like(b_h)
        carry = np.zeros_like(h0)
        for t in range(projected.shape[0] - 1, -1, -1):
            h = states[t - 1] if t > 0 else h0
            _, p_c, r, z, c = gru_step_reference(projected[t], h, W_h, b_h, mask[t])
            m = mask[t][:, None]
            g = d_states[t] + carry
            g_new = m * g
            a_c = g_new * (1 - z) * (1 - c * c)
            a_r = a_c * p_c * r * (1 - r)
            a_z = g_new * (h - c) * z * (1 - z)
            d_projected[t] = np.concatenate([a_r, a_z, a_c], axis=1)
            d_p = np.concatenate([a_r, a_z, a_c * r], axis=1)
            dW += h.T @ d_p
            db += d_p.sum(axis=0)
            carry = (1 - m) * g + g_new * z + d_p @ W_h.T
        for storage, value in zip(output_storage, (d_projected, dW, db, carry), strict=True):
            storage[0] = np.asarray(value, dtype=projected.dtype)

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return the shapes of the first four inputs."""
        return list(input_shapes[:4])

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Not defined (second derivatives: differentiate the ``scan`` form instead)."""
        return [NullType("GRUSequenceGrad has no gradient; use GRULayer.cell in a scan")()
                for _ in inputs]


_gru_sequence = GRUSequence()
_gru_sequence_grad = GRUSequenceGrad()


def gru_sequence(projected: TensorLike, W_h: TensorLike, b_h: TensorLike, h0: TensorLike,
                 mask: TensorLike | None = None) -> TensorVariable:
    """Symbolic GRU recurrence; see :class:`GRUSequence`.

    Parameters
    ----------
    projected : tensor (L, n, 3u)
        The input projections of every step, time-major.
    W_h, b_h : tensors (u, 3u) and (3u,)
    h0 : tensor (n, u)
    mask : tensor (L, n), optional
        1 for real steps, 0 for padding; default all ones.

    Returns
    -------
    TensorVariable
        The states, shape (L, n, u), the dtype of ``projected`` (the node's first output).

    Raises
    ------
    TypeError
        For inputs of the wrong rank or a non-float ``projected``.
    """
    projected = pt.as_tensor_variable(projected)
    if mask is None:
        mask = pt.ones((projected.shape[0], projected.shape[1]), dtype=projected.type.dtype)
    return cast(list[TensorVariable], _gru_sequence(projected, W_h, b_h, h0, mask))[0]


# --------------------------------------------------------------------------- #
# Numba backend
# --------------------------------------------------------------------------- #

#: Bump when the registrations below change.
_NUMBA_DISPATCH_VERSION = 2
_VERSION = cache_version(_NUMBA_DISPATCH_VERSION, _kernels)

register_graph_kernel(GRUSequence, _kernels.gru_forward, _VERSION)
register_graph_kernel(GRUSequenceGrad, _kernels.gru_backward, _VERSION)
