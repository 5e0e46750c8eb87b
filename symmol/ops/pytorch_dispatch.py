"""PyTorch implementations of symmol's Ops, for PyTensor's ``PYTORCH`` linker.

PyTensor converts each node of a compiled graph with the single-dispatch function
``pytorch_funcify``; :func:`register` registers symmol's Ops with it (and fixes two of
PyTensor's scalar mappings) so that :func:`symmol.compile.get_backend_mode` can compile whole
models with ``backend="pytorch"`` (on CPU or a CUDA device). ``torch`` is an optional
dependency: it is imported by :func:`register`, which runs only when that backend is
selected, so importing this module needs no ``torch``.

Every implementation is written with static output shapes (``torch.compile`` needs them): the
CSR row of each stored entry is ``searchsorted(indptr[1:], arange(nnz), side="right")``, of
length ``nnz``, instead of a ``repeat`` whose length depends on the data. Scalar sizes
(``n_bits``, ``n_segments``, ``n_rows``) are read from the node when they are constants,
otherwise they must be concrete at trace time (PyTensor passes ``W.shape[0]``, a Python int
under ``jit``).

Unlike ``perform``, Numba and C, these implementations do not validate indices (a check would
need a device-to-host sync per call): out-of-range CSR ``indices``, segment ids or
``GatherRows`` indices raise (CPU) or hit a device-side assert (CUDA) in PyTorch. symmol's own
batches (:func:`symmol.compile.pad_csr`) are valid by construction; validate hand-built inputs
with :func:`symmol.kernels.sparse.check_csr` first.

Ops covered (semantics in their own modules):

* :class:`~symmol.ops.fingerprint.FingerprintDot`, ``FingerprintDotGradW``, ``FingerprintRowDot``
* :class:`~symmol.ops.segment.SegmentSum`, ``SegmentMean``, ``SegmentMax``, ``SegmentMaxGrad``
* :class:`~symmol.ops.segment.GatherRows`
* :class:`~symmol.ops.conv.TokenConv1D` (a lookup per tap) and ``TokenConv1DGradTable`` (``index_add_``)
* :class:`~symmol.ops.conv.Conv1D`, ``Conv1DGradInput``, ``Conv1DGradWeights`` (``torch.nn.functional.conv1d`` and
  ``torch.nn.grad``)
* :class:`~symmol.ops.recurrent.GRUSequence` (a loop of torch operations) and ``GRUSequenceGrad`` (its
  ``torch.autograd`` vector-Jacobian product)
"""

from __future__ import annotations

import functools

from pytensor.scalar.basic import EQ, Pow

from symmol.ops._types import output_dtype, static_size
from symmol.ops.conv import Conv1D, Conv1DGradInput, Conv1DGradWeights, TokenConv1D, TokenConv1DGradTable
from symmol.ops.fingerprint import FingerprintDot, FingerprintDotGradW, FingerprintRowDot
from symmol.ops.recurrent import GRUSequence, GRUSequenceGrad
from symmol.ops.segment import GatherRows, SegmentMax, SegmentMaxGrad, SegmentMean, SegmentSum

__all__ = ["register"]


@functools.cache
def register() -> None:
    """Register symmol's Ops with ``pytensor.link.pytorch.dispatch.pytorch_funcify`` (idempotent).

    ``FingerprintDot`` becomes ``torch.nn.functional.embedding_bag(mode="sum",
    per_sample_weights=values)``: PyTorch's fused sparse-row kernel on CPU and CUDA.

    Raises
    ------
    ImportError
        ``torch`` is not installed (``pip install symmol[pytorch]``).
    """
    _register_scalar_fixes()
    _register_fingerprint_ops()
    _register_segment_reductions()
    _register_max_grad_and_gather()
    _register_convolutions()
    _register_recurrence()


def _register_scalar_fixes() -> None:
    """Map PyTensor's ``Pow`` and ``EQ`` scalar Ops to ``torch.pow`` and ``torch.eq``."""
    import torch
    from pytensor.link.pytorch.dispatch import pytorch_funcify

    @pytorch_funcify.register(Pow)
    def _pow(op, node, **kwargs):  # PyTensor names it after NumPy's ``power``; torch's is ``pow``
        return torch.pow

    @pytorch_funcify.register(EQ)
    def _eq(op, node, **kwargs):
        # PyTensor 3.0.7 maps EQ by NumPy's name ``equal`` to ``torch.equal``, which compares
        # whole tensors and returns one Python bool: the ReLU gradient ``eq(relu(x), x)`` then
        # broke every training graph on this backend. ``torch.eq`` is the elementwise one.
        return torch.eq


def _register_fingerprint_ops() -> None:
    """Register ``FingerprintDot``, ``FingerprintDotGradW`` and ``FingerprintRowDot``."""
    import torch
    from pytensor.link.pytorch.dispatch import pytorch_funcify

    def torch_dtype(dtype: str):
        return getattr(torch, dtype)

    def row_ids(indptr, nnz):
        positions = torch.arange(nnz, dtype=indptr.dtype, device=indptr.device)
        return torch.searchsorted(indptr[1:].contiguous(), positions, right=True)

    @pytorch_funcify.register(FingerprintDot)
    def _fingerprint_dot(op, node, **kwargs):
        dtype = torch_dtype(output_dtype(node))

        def fingerprint_dot(indptr, indices, values, W):
            indptr = indptr.long()
            return torch.nn.functional.embedding_bag(
                indices.long(), W.to(dtype), indptr, mode="sum", per_sample_weights=values.to(dtype),
                include_last_offset=True)

        return fingerprint_dot

    @pytorch_funcify.register(FingerprintDotGradW)
    def _fingerprint_dot_grad_w(op, node, **kwargs):
        dtype, static_bits = torch_dtype(output_dtype(node)), static_size(node, 4)

        def fingerprint_dot_grad_w(indptr, indices, values, G, n_bits):
            n = static_bits if static_bits is not None else int(n_bits)
            rows = row_ids(indptr.long(), indices.shape[0])
            contrib = values.to(dtype)[:, None] * G.to(dtype)[rows]
            out = torch.zeros((n, G.shape[1]), dtype=dtype, device=G.device)
            return out.index_add(0, indices.long(), contrib)

        return fingerprint_dot_grad_w

    @pytorch_funcify.register(FingerprintRowDot)
    def _fingerprint_row_dot(op, node, **kwargs):
        dtype = torch_dtype(output_dtype(node))

        def fingerprint_row_dot(indptr, indices, G, W):
            rows = row_ids(indptr.long(), indices.shape[0])
            return (G.to(dtype)[rows] * W.to(dtype)[indices.long()]).sum(dim=1)

        return fingerprint_row_dot


def _register_segment_reductions() -> None:
    """Register ``SegmentSum``, ``SegmentMean`` and ``SegmentMax``."""
    import torch
    from pytensor.link.pytorch.dispatch import pytorch_funcify

    def segment_sum_(x, ids, n):
        out = torch.zeros((n, x.shape[1]), dtype=x.dtype, device=x.device)
        return out.index_add(0, ids.long(), x)

    @pytorch_funcify.register(SegmentSum)
    def _segment_sum(op, node, **kwargs):
        static = static_size(node, 2)

        def segment_sum(x, ids, n_segments):
            return segment_sum_(x, ids, static if static is not None else int(n_segments))

        return segment_sum

    @pytorch_funcify.register(SegmentMean)
    def _segment_mean(op, node, **kwargs):
        static = static_size(node, 2)

        def segment_mean(x, ids, n_segments):
            n = static if static is not None else int(n_segments)
            counts = torch.zeros(n, dtype=x.dtype, device=x.device).index_add(
                0, ids.long(), torch.ones(ids.shape[0], dtype=x.dtype, device=x.device))
            return segment_sum_(x, ids, n) / counts.clamp(min=1)[:, None]

        return segment_mean

    @pytorch_funcify.register(SegmentMax)
    def _segment_max(op, node, **kwargs):
        static = static_size(node, 2)

        def segment_max(x, ids, n_segments):
            n = static if static is not None else int(n_segments)
            n_rows, d = x.shape
            index = ids.long()[:, None].expand(n_rows, d)
            top = torch.full((n, d), -torch.inf, dtype=x.dtype, device=x.device).scatter_reduce(
                0, index, x, reduce="amax", include_self=True)
            rows = torch.arange(n_rows, device=x.device)[:, None].expand(n_rows, d)
            hit = torch.where(x == top[ids.long()], rows, n_rows)
            first = torch.full((n, d), n_rows, dtype=torch.int64, device=x.device).scatter_reduce(
                0, index, hit, reduce="amin", include_self=True)
            empty = first >= n_rows
            return torch.where(empty, 0, top).to(x.dtype), torch.where(empty, -1, first)

        return segment_max


def _register_max_grad_and_gather() -> None:
    """Register ``SegmentMaxGrad`` and ``GatherRows``."""
    import torch
    from pytensor.link.pytorch.dispatch import pytorch_funcify

    @pytorch_funcify.register(SegmentMaxGrad)
    def _segment_max_grad(op, node, **kwargs):
        static = static_size(node, 2)

        def segment_max_grad(g, argmax, n_rows):
            n = static if static is not None else int(n_rows)
            valid = argmax >= 0
            out = torch.zeros((n, g.shape[1]), dtype=g.dtype, device=g.device)
            return out.scatter_add(0, torch.where(valid, argmax, 0).long(), torch.where(valid, g, 0))

        return segment_max_grad

    @pytorch_funcify.register(GatherRows)
    def _gather_rows(op, node, **kwargs):
        def gather_rows(W, idx):
            return W[idx.long()]

        return gather_rows


def _register_convolutions() -> None:
    """Register ``Conv1D`` and its two gradients: PyTorch's NCW convolution on transposed views."""
    import torch
    import torch.nn.grad as torch_grad
    from pytensor.link.pytorch.dispatch import pytorch_funcify

    def torch_weight(W):  # (k, c, o) -> (o, c, k)
        return W.permute(2, 1, 0)

    @pytorch_funcify.register(Conv1D)
    def _conv1d(op, node, **kwargs):
        def conv1d(x, W):
            return torch.nn.functional.conv1d(x.transpose(1, 2), torch_weight(W)).transpose(1, 2).contiguous()

        return conv1d

    @pytorch_funcify.register(Conv1DGradInput)
    def _conv1d_grad_input(op, node, **kwargs):
        def conv1d_grad_input(dy, W):
            n, width_out, _ = dy.shape
            k, c, _ = W.shape
            dx = torch_grad.conv1d_input((n, c, width_out + k - 1), torch_weight(W), dy.transpose(1, 2))
            return dx.transpose(1, 2).contiguous()

        return conv1d_grad_input

    @pytorch_funcify.register(Conv1DGradWeights)
    def _conv1d_grad_weights(op, node, **kwargs):
        def conv1d_grad_weights(x, dy):
            k = x.shape[1] - dy.shape[1] + 1
            dW = torch_grad.conv1d_weight(x.transpose(1, 2), (dy.shape[2], x.shape[2], k), dy.transpose(1, 2))
            return dW.permute(2, 1, 0).contiguous()

        return conv1d_grad_weights

    @pytorch_funcify.register(TokenConv1D)
    def _token_conv1d(op, node, **kwargs):
        def token_conv1d(tokens, table):
            width_out = tokens.shape[1] - table.shape[0] + 1
            ids = tokens.long()
            return sum(table[t][ids[:, t:t + width_out]] for t in range(table.shape[0]))

        return token_conv1d

    @pytorch_funcify.register(TokenConv1DGradTable)
    def _token_conv1d_grad_table(op, node, **kwargs):
        static = static_size(node, 2)

        def token_conv1d_grad_table(tokens, dy, n_tokens):
            n = static if static is not None else int(n_tokens)
            width_out, o = dy.shape[1], dy.shape[2]
            k = tokens.shape[1] - width_out + 1
            ids = tokens.long()
            out = torch.zeros((k, n, o), dtype=dy.dtype, device=dy.device)
            for t in range(k):
                out[t].index_add_(0, ids[:, t:t + width_out].reshape(-1), dy.reshape(-1, o))
            return out

        return token_conv1d_grad_table


def _register_recurrence() -> None:
    """Register ``GRUSequence`` (the steps as torch operations) and its gradient (autograd's VJP of them)."""
    import torch
    from pytensor.link.pytorch.dispatch import pytorch_funcify

    def recurrence(projected, W_h, b_h, h0, mask, keep_gates=False):
        u = h0.shape[1]
        h, states, gates = h0, [], []
        for t in range(projected.shape[0]):
            a, p, m = projected[t], h @ W_h + b_h, mask[t][:, None]
            r = torch.sigmoid(a[:, :u] + p[:, :u])
            z = torch.sigmoid(a[:, u:2 * u] + p[:, u:2 * u])
            c = torch.tanh(a[:, 2 * u:] + r * p[:, 2 * u:])
            h = m * ((1 - z) * c + z * h) + (1 - m) * h
            states.append(h)
            if keep_gates:
                gates.append(torch.cat([r, z, c, p[:, 2 * u:]], dim=1))
        stacked = torch.stack(states) if states else projected.new_zeros((0, *h0.shape))
        if not keep_gates:
            return stacked
        return stacked, torch.stack(gates) if gates else projected.new_zeros((0, h0.shape[0], 4 * u))

    @pytorch_funcify.register(GRUSequence)
    def _gru_sequence(op, node, **kwargs):
        def gru_sequence(projected, W_h, b_h, h0, mask):
            return recurrence(projected, W_h, b_h, h0, mask, keep_gates=True)

        return gru_sequence

    @pytorch_funcify.register(GRUSequenceGrad)
    def _gru_sequence_grad(op, node, **kwargs):
        def gru_sequence_grad(projected, W_h, b_h, h0, mask, states, gates, d_states):
            with torch.enable_grad():
                inputs = [x.detach().requires_grad_(True) for x in (projected, W_h, b_h, h0)]
                grads = torch.autograd.grad(recurrence(inputs[0], inputs[1], inputs[2], inputs[3], mask), inputs,
                                            d_states, allow_unused=True)
            return tuple(torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads, strict=True))

        return gru_sequence_grad

