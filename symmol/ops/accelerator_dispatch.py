"""JAX and PyTorch implementations of symmol's Ops, for PyTensor's ``JAX`` and ``PYTORCH`` linkers.

PyTensor converts each node of a compiled graph with the single-dispatch functions
``jax_funcify`` / ``pytorch_funcify``; this module registers symmol's Ops with them so that
:func:`symmol.compile.get_backend_mode` can compile whole models with ``backend="jax"`` or
``backend="pytorch"`` (on CPU or a CUDA device). It imports ``jax`` / ``torch`` and is
therefore imported lazily, by :func:`register_jax` / :func:`register_pytorch`, only when
one of those backends is selected.

Every implementation is written with static output shapes (JAX's ``jit`` and
``torch.compile`` need them): the CSR row of each stored entry is
``searchsorted(indptr[1:], arange(nnz), side="right")``, of length ``nnz``, instead of a
``repeat`` whose length depends on the data. Scalar sizes (``n_bits``, ``n_segments``,
``n_rows``) are read from the node when they are constants, otherwise they must be concrete
at trace time (PyTensor passes ``W.shape[0]``, a Python int under ``jit``).

Unlike ``perform``, Numba and C, these implementations do not validate indices (a check
would need a device-to-host sync per call): out-of-range CSR ``indices``, segment ids or
``GatherRows`` indices are clamped or dropped by JAX and raise (CPU) or hit a device-side
assert (CUDA) in PyTorch. symmol's own batches (:func:`symmol.compile.pad_csr`) are valid by
construction; validate hand-built inputs with :func:`symmol.kernels.sparse.check_csr` first.

Ops covered (semantics in their own modules):

* :class:`~symmol.ops.fingerprint.FingerprintDot`, ``FingerprintDotGradW``, ``FingerprintRowDot``
* :class:`~symmol.ops.segment.SegmentSum`, ``SegmentMean``, ``SegmentMax``, ``SegmentMaxGrad``
* :class:`~symmol.ops.segment.GatherRows`
"""

from __future__ import annotations

import numpy as np
from pytensor.graph.basic import Apply, Constant

from symmol.ops.fingerprint import FingerprintDot, FingerprintDotGradW, FingerprintRowDot
from symmol.ops.segment import GatherRows, SegmentMax, SegmentMaxGrad, SegmentMean, SegmentSum

_registered: set[str] = set()


def _static_size(node: Apply, position: int) -> int | None:
    """The value of a scalar size input when it is a graph constant, else None."""
    var = node.inputs[position]
    return int(var.data) if isinstance(var, Constant) else None


def _out_dtype(node: Apply, i: int = 0) -> str:
    return node.outputs[i].type.dtype


# --------------------------------------------------------------------------- #
# JAX
# --------------------------------------------------------------------------- #


def register_jax() -> None:
    """Register symmol's Ops with ``pytensor.link.jax.dispatch.jax_funcify`` (idempotent).

    Raises
    ------
    ImportError
        ``jax`` is not installed (``pip install symmol[jax]``).
    """
    if "jax" in _registered:
        return
    import jax
    import jax.numpy as jnp
    from pytensor.link.jax.dispatch import jax_funcify

    def row_ids(indptr, nnz):
        return jnp.searchsorted(indptr[1:], jnp.arange(nnz, dtype=indptr.dtype), side="right")

    @jax_funcify.register(FingerprintDot)
    def _fingerprint_dot(op, node, **kwargs):
        dtype = _out_dtype(node)

        def fingerprint_dot(indptr, indices, values, W):
            n_rows = indptr.shape[0] - 1
            rows = row_ids(indptr, indices.shape[0])
            contrib = values.astype(dtype)[:, None] * W[indices].astype(dtype)
            return jax.ops.segment_sum(contrib, rows, num_segments=n_rows, indices_are_sorted=True)

        return fingerprint_dot

    @jax_funcify.register(FingerprintDotGradW)
    def _fingerprint_dot_grad_w(op, node, **kwargs):
        dtype, static_bits = _out_dtype(node), _static_size(node, 4)

        def fingerprint_dot_grad_w(indptr, indices, values, G, n_bits):
            n = static_bits if static_bits is not None else int(n_bits)
            rows = row_ids(indptr, indices.shape[0])
            contrib = values.astype(dtype)[:, None] * G[rows].astype(dtype)
            return jnp.zeros((n, G.shape[1]), dtype=dtype).at[indices].add(contrib)

        return fingerprint_dot_grad_w

    @jax_funcify.register(FingerprintRowDot)
    def _fingerprint_row_dot(op, node, **kwargs):
        dtype = _out_dtype(node)

        def fingerprint_row_dot(indptr, indices, G, W):
            rows = row_ids(indptr, indices.shape[0])
            return jnp.sum(G[rows].astype(dtype) * W[indices].astype(dtype), axis=1)

        return fingerprint_row_dot

    def segment_count(ids, n, dtype):
        return jax.ops.segment_sum(jnp.ones(ids.shape[0], dtype=dtype), ids, num_segments=n)

    @jax_funcify.register(SegmentSum)
    def _segment_sum(op, node, **kwargs):
        static = _static_size(node, 2)

        def segment_sum(x, ids, n_segments):
            n = static if static is not None else int(n_segments)
            return jax.ops.segment_sum(x, ids, num_segments=n)

        return segment_sum

    @jax_funcify.register(SegmentMean)
    def _segment_mean(op, node, **kwargs):
        static = _static_size(node, 2)

        def segment_mean(x, ids, n_segments):
            n = static if static is not None else int(n_segments)
            total = jax.ops.segment_sum(x, ids, num_segments=n)
            return total / jnp.maximum(segment_count(ids, n, x.dtype), 1)[:, None]

        return segment_mean

    @jax_funcify.register(SegmentMax)
    def _segment_max(op, node, **kwargs):
        static = _static_size(node, 2)

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

    @jax_funcify.register(SegmentMaxGrad)
    def _segment_max_grad(op, node, **kwargs):
        static = _static_size(node, 2)

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

    _registered.add("jax")


# --------------------------------------------------------------------------- #
# PyTorch
# --------------------------------------------------------------------------- #


def register_pytorch() -> None:
    """Register symmol's Ops with ``pytensor.link.pytorch.dispatch.pytorch_funcify`` (idempotent).

    ``FingerprintDot`` becomes ``torch.nn.functional.embedding_bag(mode="sum",
    per_sample_weights=values)``: PyTorch's fused sparse-row kernel on CPU and CUDA.

    Raises
    ------
    ImportError
        ``torch`` is not installed (``pip install symmol[pytorch]``).
    """
    if "pytorch" in _registered:
        return
    import torch
    from pytensor.link.pytorch.dispatch import pytorch_funcify
    from pytensor.scalar.basic import EQ, Pow

    def torch_dtype(dtype: str):
        return getattr(torch, dtype)

    def row_ids(indptr, nnz):
        positions = torch.arange(nnz, dtype=indptr.dtype, device=indptr.device)
        return torch.searchsorted(indptr[1:].contiguous(), positions, right=True)

    @pytorch_funcify.register(Pow)
    def _pow(op, node, **kwargs):  # PyTensor names it after NumPy's ``power``; torch's is ``pow``
        return torch.pow

    @pytorch_funcify.register(EQ)
    def _eq(op, node, **kwargs):
        # PyTensor 3.0.7 maps EQ by NumPy's name ``equal`` to ``torch.equal``, which compares
        # whole tensors and returns one Python bool: the ReLU gradient ``eq(relu(x), x)`` then
        # broke every training graph on this backend. ``torch.eq`` is the elementwise one.
        return torch.eq

    @pytorch_funcify.register(FingerprintDot)
    def _fingerprint_dot(op, node, **kwargs):
        dtype = torch_dtype(_out_dtype(node))

        def fingerprint_dot(indptr, indices, values, W):
            indptr = indptr.long()
            return torch.nn.functional.embedding_bag(
                indices.long(), W.to(dtype), indptr, mode="sum", per_sample_weights=values.to(dtype),
                include_last_offset=True)

        return fingerprint_dot

    @pytorch_funcify.register(FingerprintDotGradW)
    def _fingerprint_dot_grad_w(op, node, **kwargs):
        dtype, static_bits = torch_dtype(_out_dtype(node)), _static_size(node, 4)

        def fingerprint_dot_grad_w(indptr, indices, values, G, n_bits):
            n = static_bits if static_bits is not None else int(n_bits)
            rows = row_ids(indptr.long(), indices.shape[0])
            contrib = values.to(dtype)[:, None] * G.to(dtype)[rows]
            out = torch.zeros((n, G.shape[1]), dtype=dtype, device=G.device)
            return out.index_add(0, indices.long(), contrib)

        return fingerprint_dot_grad_w

    @pytorch_funcify.register(FingerprintRowDot)
    def _fingerprint_row_dot(op, node, **kwargs):
        dtype = torch_dtype(_out_dtype(node))

        def fingerprint_row_dot(indptr, indices, G, W):
            rows = row_ids(indptr.long(), indices.shape[0])
            return (G.to(dtype)[rows] * W.to(dtype)[indices.long()]).sum(dim=1)

        return fingerprint_row_dot

    def segment_sum_(x, ids, n):
        out = torch.zeros((n, x.shape[1]), dtype=x.dtype, device=x.device)
        return out.index_add(0, ids.long(), x)

    @pytorch_funcify.register(SegmentSum)
    def _segment_sum(op, node, **kwargs):
        static = _static_size(node, 2)

        def segment_sum(x, ids, n_segments):
            return segment_sum_(x, ids, static if static is not None else int(n_segments))

        return segment_sum

    @pytorch_funcify.register(SegmentMean)
    def _segment_mean(op, node, **kwargs):
        static = _static_size(node, 2)

        def segment_mean(x, ids, n_segments):
            n = static if static is not None else int(n_segments)
            counts = torch.zeros(n, dtype=x.dtype, device=x.device).index_add(
                0, ids.long(), torch.ones(ids.shape[0], dtype=x.dtype, device=x.device))
            return segment_sum_(x, ids, n) / counts.clamp(min=1)[:, None]

        return segment_mean

    @pytorch_funcify.register(SegmentMax)
    def _segment_max(op, node, **kwargs):
        static = _static_size(node, 2)

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

    @pytorch_funcify.register(SegmentMaxGrad)
    def _segment_max_grad(op, node, **kwargs):
        static = _static_size(node, 2)

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

    _registered.add("pytorch")
