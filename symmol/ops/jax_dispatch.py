"""JAX implementations of symmol's Ops, for PyTensor's ``JAX`` linker.

PyTensor converts each node of a compiled graph with the single-dispatch function
``jax_funcify``; :func:`register` registers symmol's Ops with it so that
:func:`symmol.compile.get_backend_mode` can compile whole models with ``backend="jax"`` (on
CPU or a CUDA device). ``jax`` is an optional dependency: it is imported by :func:`register`,
which runs only when that backend is selected, so importing this module needs no ``jax``.

Every implementation is written with static output shapes (JAX's ``jit`` needs them): the CSR
row of each stored entry is ``searchsorted(indptr[1:], arange(nnz), side="right")``, of length
``nnz``, instead of a ``repeat`` whose length depends on the data. Scalar sizes (``n_bits``,
``n_segments``, ``n_rows``) are read from the node when they are constants, otherwise they must
be concrete at trace time (PyTensor passes ``W.shape[0]``, a Python int under ``jit``).

Unlike ``perform``, Numba and C, these implementations do not validate indices (a check would
need a device-to-host sync per call): out-of-range CSR ``indices``, segment ids or
``GatherRows`` indices are clamped or dropped by JAX. symmol's own batches
(:func:`symmol.compile.pad_csr`) are valid by construction; validate hand-built inputs with
:func:`symmol.kernels.sparse.check_csr` first.

Ops covered (semantics in their own modules):

* :class:`~symmol.ops.fingerprint.FingerprintDot`, ``FingerprintDotGradW``, ``FingerprintRowDot``
* :class:`~symmol.ops.segment.SegmentSum`, ``SegmentMean``, ``SegmentMax``, ``SegmentMaxGrad``
* :class:`~symmol.ops.segment.GatherRows`
* :class:`~symmol.ops.conv.Conv1D`, ``Conv1DGradInput``, ``Conv1DGradWeights`` (``jax.lax.conv_general_dilated``)
* :class:`~symmol.ops.conv.TokenConv1D` (a lookup per tap) and ``TokenConv1DGradTable`` (``.at[].add``)
* :class:`~symmol.ops.recurrent.GRUSequence` (``jax.lax.scan``) and ``GRUSequenceGrad`` (``jax.vjp`` of it)
"""

from __future__ import annotations

import functools

import numpy as np

from symmol.ops._types import output_dtype, static_size
from symmol.ops.conv import Conv1D, Conv1DGradInput, Conv1DGradWeights, TokenConv1D, TokenConv1DGradTable
from symmol.ops.fingerprint import FingerprintDot, FingerprintDotGradW, FingerprintRowDot
from symmol.ops.recurrent import GRUSequence, GRUSequenceGrad
from symmol.ops.segment import GatherRows, SegmentMax, SegmentMaxGrad, SegmentMean, SegmentSum

__all__ = ["register"]


@functools.cache
def register() -> None:
    """Register symmol's Ops with ``pytensor.link.jax.dispatch.jax_funcify`` (idempotent).

    Raises
    ------
    ImportError
        ``jax`` is not installed (``pip install symmol[jax]``).
    """
    _register_fingerprint_ops()
    _register_segment_reductions()
    _register_max_grad_and_gather()
    _register_convolutions()
    _register_recurrence()


def _register_fingerprint_ops() -> None:
    """Register ``FingerprintDot``, ``FingerprintDotGradW`` and ``FingerprintRowDot``."""
    import jax
    import jax.numpy as jnp
    from pytensor.link.jax.dispatch import jax_funcify

    def row_ids(indptr, nnz):
        return jnp.searchsorted(indptr[1:], jnp.arange(nnz, dtype=indptr.dtype), side="right")

    @jax_funcify.register(FingerprintDot)
    def _fingerprint_dot(op, node, **kwargs):
        dtype = output_dtype(node)

        def fingerprint_dot(indptr, indices, values, W):
            n_rows = indptr.shape[0] - 1
            rows = row_ids(indptr, indices.shape[0])
            contrib = values.astype(dtype)[:, None] * W[indices].astype(dtype)
            return jax.ops.segment_sum(contrib, rows, num_segments=n_rows, indices_are_sorted=True)

        return fingerprint_dot

    @jax_funcify.register(FingerprintDotGradW)
    def _fingerprint_dot_grad_w(op, node, **kwargs):
        dtype, static_bits = output_dtype(node), static_size(node, 4)

        def fingerprint_dot_grad_w(indptr, indices, values, G, n_bits):
            n = static_bits if static_bits is not None else int(n_bits)
            rows = row_ids(indptr, indices.shape[0])
            contrib = values.astype(dtype)[:, None] * G[rows].astype(dtype)
            return jnp.zeros((n, G.shape[1]), dtype=dtype).at[indices].add(contrib)

        return fingerprint_dot_grad_w

    @jax_funcify.register(FingerprintRowDot)
    def _fingerprint_row_dot(op, node, **kwargs):
        dtype = output_dtype(node)

        def fingerprint_row_dot(indptr, indices, G, W):
            rows = row_ids(indptr, indices.shape[0])
            return jnp.sum(G[rows].astype(dtype) * W[indices].astype(dtype), axis=1)

        return fingerprint_row_dot


def _register_segment_reductions() -> None:
    """Register ``SegmentSum``, ``SegmentMean`` and ``SegmentMax``."""
    import jax
    import jax.numpy as jnp
    from pytensor.link.jax.dispatch import jax_funcify

    def segment_count(ids, n, dtype):
        return jax.ops.segment_sum(jnp.ones(ids.shape[0], dtype=dtype), ids, num_segments=n)

    @jax_funcify.register(SegmentSum)
    def _segment_sum(op, node, **kwargs):
        static = static_size(node, 2)

        def segment_sum(x, ids, n_segments):
            n = static if static is not None else int(n_segments)
            return jax.ops.segment_sum(x, ids, num_segments=n)

        return segment_sum

    @jax_funcify.register(SegmentMean)
    def _segment_mean(op, node, **kwargs):
        static = static_size(node, 2)

        def segment_mean(x, ids, n_segments):
            n = static if static is not None else int(n_segments)
            total = jax.ops.segment_sum(x, ids, num_segments=n)
            return total / jnp.maximum(segment_count(ids, n, x.dtype), 1)[:, None]

        return segment_mean

    @jax_funcify.register(SegmentMax)
    def _segment_max(op, node, **kwargs):
        static = static_size(node, 2)

        def segment_max(x, ids, n_segments):
            n = static if static is not None else int(n_segments)
            n_rows = x.shape[0]
            top = jax.ops.segment_max(x, ids, num_segments=n)
            rows = jnp.broadcast_to(jnp.arange(n_rows, dtype=np.int64)[:, None], x.shape)
            hit = jnp.where(x == top[ids], rows, n_rows)
            first = jax.ops.segment_min(hit, ids, num_segments=n)
            empty = first >= n_rows
            return jnp.where(empty, 0, top).astype(x.dtype), jnp.where(empty, -1, first).astype(np.int64)

        return segment_max


def _register_max_grad_and_gather() -> None:
    """Register ``SegmentMaxGrad`` and ``GatherRows``."""
    import jax.numpy as jnp
    from pytensor.link.jax.dispatch import jax_funcify

    @jax_funcify.register(SegmentMaxGrad)
    def _segment_max_grad(op, node, **kwargs):
        static = static_size(node, 2)

        def segment_max_grad(g, argmax, n_rows):
            n = static if static is not None else int(n_rows)
            cols = jnp.broadcast_to(jnp.arange(g.shape[1])[None, :], g.shape)
            valid = argmax >= 0
            # invalid entries write 0 into row 0: harmless for an add
            return jnp.zeros((n, g.shape[1]), dtype=g.dtype).at[jnp.where(valid, argmax, 0), cols].add(
                jnp.where(valid, g, 0))

        return segment_max_grad

    @jax_funcify.register(GatherRows)
    def _gather_rows(op, node, **kwargs):
        def gather_rows(W, idx):
            return W[idx]

        return gather_rows


def _register_convolutions() -> None:
    """Register ``Conv1D`` and its two gradients as XLA convolutions in the NWC / WIO layouts.

    The input gradient is the convolution of ``dy`` padded by ``k - 1`` with the flipped filters
    (``W[::-1]`` with in and out swapped); the filter gradient contracts the batch: the samples are
    the channels of a convolution of ``x`` (as ``(c, width, n)``) with ``dy`` (as ``(width_out, n, o)``).
    """
    import jax
    import jax.numpy as jnp
    from pytensor.link.jax.dispatch import jax_funcify

    def convolve(x, W, padding):
        return jax.lax.conv_general_dilated(x, W, window_strides=(1,), padding=padding,
                                            dimension_numbers=("NWC", "WIO", "NWC"))

    @jax_funcify.register(Conv1D)
    def _conv1d(op, node, **kwargs):
        def conv1d(x, W):
            return convolve(x, W, "VALID")

        return conv1d

    @jax_funcify.register(Conv1DGradInput)
    def _conv1d_grad_input(op, node, **kwargs):
        def conv1d_grad_input(dy, W):
            k = W.shape[0]
            return convolve(dy, W[::-1].transpose(0, 2, 1), [(k - 1, k - 1)])

        return conv1d_grad_input

    @jax_funcify.register(Conv1DGradWeights)
    def _conv1d_grad_weights(op, node, **kwargs):
        def conv1d_grad_weights(x, dy):
            # (c, width, n) * (width_out, n, o) -> (c, k, o)
            dW = convolve(x.transpose(2, 1, 0), dy.transpose(1, 0, 2), "VALID")
            return dW.transpose(1, 0, 2)

        return conv1d_grad_weights

    @jax_funcify.register(TokenConv1D)
    def _token_conv1d(op, node, **kwargs):
        def token_conv1d(tokens, table):
            width_out = tokens.shape[1] - table.shape[0] + 1
            return sum(table[t][tokens[:, t:t + width_out]] for t in range(table.shape[0]))

        return token_conv1d

    @jax_funcify.register(TokenConv1DGradTable)
    def _token_conv1d_grad_table(op, node, **kwargs):
        static = static_size(node, 2)

        def token_conv1d_grad_table(tokens, dy, n_tokens):
            n = static if static is not None else int(n_tokens)
            width_out = dy.shape[1]
            k = tokens.shape[1] - width_out + 1
            return jnp.stack([jnp.zeros((n, dy.shape[2]), dy.dtype).at[tokens[:, t:t + width_out]].add(dy)
                              for t in range(k)])

        return token_conv1d_grad_table


def _register_recurrence() -> None:
    """Register ``GRUSequence`` as a ``jax.lax.scan`` over the steps and its gradient as ``jax.vjp`` of it."""
    import jax
    from pytensor.link.jax.dispatch import jax_funcify

    def recurrence(projected, W_h, b_h, h0, mask):
        """Return the states and the gates (``r, z, c, p_c``) of every step."""
        u = h0.shape[1]

        def step(h, inputs):
            a, m = inputs
            p = h @ W_h + b_h
            r = jax.nn.sigmoid(a[:, :u] + p[:, :u])
            z = jax.nn.sigmoid(a[:, u:2 * u] + p[:, u:2 * u])
            c = jax.numpy.tanh(a[:, 2 * u:] + r * p[:, 2 * u:])
            h = m[:, None] * ((1 - z) * c + z * h) + (1 - m[:, None]) * h
            return h, (h, jax.numpy.concatenate([r, z, c, p[:, 2 * u:]], axis=1))

        return jax.lax.scan(step, h0, (projected, mask))[1]

    @jax_funcify.register(GRUSequence)
    def _gru_sequence(op, node, **kwargs):
        return recurrence

    @jax_funcify.register(GRUSequenceGrad)
    def _gru_sequence_grad(op, node, **kwargs):
        def gru_sequence_grad(projected, W_h, b_h, h0, mask, states, gates, d_states):
            _, pullback = jax.vjp(lambda p, w, b, h: recurrence(p, w, b, h, mask)[0], projected, W_h, b_h, h0)
            return pullback(d_states)

        return gru_sequence_grad

