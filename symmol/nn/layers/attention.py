"""Multi-head scaled dot-product attention (Vaswani et al., NeurIPS 2017, arXiv:1706.03762).

Mirrors ``torch.nn.MultiheadAttention`` with ``batch_first=True`` and separate query, key and value
projections (its ``kdim``/``vdim`` form): self-attention passes one layer as queries and keys, and a
ligand–protein cross-attention passes the ligand's token states as queries and the protein's as
keys and values.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.special import softmax
from pytensor.tensor.variable import TensorVariable

from symmol.nn.init import Constant, GlorotUniform
from symmol.nn.layers.base import Layer, MergeLayer
from symmol.nn.layers.helper import output_units

__all__ = ["MultiHeadAttentionLayer"]


class MultiHeadAttentionLayer(MergeLayer):
    """``softmax(Q Kᵀ / sqrt(d)) V`` per head, the heads concatenated and projected.

    With ``Q = x_q W_q + b_q``, ``K = x_k W_k + b_k``, ``V = x_k W_v + b_v`` split into ``heads``
    heads of width ``d = units / heads``; the output is ``concat(heads) W_o + b_o``. Keys that are
    padding (``mask`` 0) get no weight; a query whose keys are all padding attends to all of them
    uniformly (as ``torch.nn.MultiheadAttention`` would give NaN, mask such rows out downstream).

    Parameters
    ----------
    queries : Layer
        Output ``(n, Lq, d_q)``: the sequences that ask (e.g. a ligand's token states).
    keys : Layer
        Output ``(n, Lk, d_k)``: the sequences attended to (the same layer for self-attention).
    units : int
        Width of the projections and of the output; a multiple of ``heads``.
    heads : int
        Number of attention heads.
    rng : numpy.random.Generator
        For the initialisers.
    mask : Layer, optional
        Output ``(n, Lk)``: 1 for a real key position, 0 for padding.
    W, b : callable
        Initialisers of the four projection matrices (regularizable) and their biases.
    name : str, optional
        Prefix of the parameter names (``W_q``, ``b_q``, ``W_k``, ..., ``W_o``, ``b_o``).

    Output ``(n, Lq, units)``, the dtype of ``queries``.

    Raises
    ------
    ValueError
        If ``units`` is not a positive multiple of ``heads``.
    """

    def __init__(self, queries: Layer, keys: Layer, units: int, heads: int, rng: np.random.Generator,
                 mask: Layer | None = None, W=GlorotUniform(), b=Constant(0.0), name: str | None = None):
        super().__init__([queries, keys] + ([mask] if mask is not None else []), name)
        self.units, self.heads = int(units), int(heads)
        if self.heads < 1 or self.units < 1 or self.units % self.heads:
            raise ValueError(f"units ({units}) must be a positive multiple of heads ({heads})")
        d_q, d_k, u = output_units(queries), output_units(keys), self.units
        self.W_q = self.add_param(W, (d_q, u), "W_q", rng, regularizable=True)
        self.b_q = self.add_param(b, (u,), "b_q", rng)
        self.W_k = self.add_param(W, (d_k, u), "W_k", rng, regularizable=True)
        self.b_k = self.add_param(b, (u,), "b_k", rng)
        self.W_v = self.add_param(W, (d_k, u), "W_v", rng, regularizable=True)
        self.b_v = self.add_param(b, (u,), "b_v", rng)
        self.W_o = self.add_param(W, (u, u), "W_o", rng, regularizable=True)
        self.b_o = self.add_param(b, (u,), "b_o", rng)

    def _split(self, x: TensorVariable) -> TensorVariable:
        """``(n, L, units)`` → ``(n, heads, L, units / heads)``."""
        return x.reshape((x.shape[0], x.shape[1], self.heads, self.units // self.heads)).dimshuffle(0, 2, 1, 3)

    def get_output_for(self, incoming: list, deterministic: bool = False, **kwargs: bool):
        """Return the attended queries, ``(n, Lq, units)``."""
        x_q, x_k = incoming[0], incoming[1]
        q = self._split(pt.dot(x_q, self.W_q) + self.b_q)
        k = self._split(pt.dot(x_k, self.W_k) + self.b_k)
        v = self._split(pt.dot(x_k, self.W_v) + self.b_v)
        scale = np.asarray(1.0 / np.sqrt(self.units // self.heads), dtype=x_q.dtype)
        scores = (q @ k.dimshuffle(0, 1, 3, 2)) * scale  # (n, heads, Lq, Lk)
        if len(incoming) > 2:
            padding = 1 - pt.cast(incoming[2], scores.dtype).dimshuffle(0, "x", "x", 1)
            scores = scores - padding * np.asarray(1e9, dtype=scores.dtype)
        attended = softmax(scores, axis=-1) @ v  # (n, heads, Lq, units / heads)
        joined = attended.dimshuffle(0, 2, 1, 3).reshape((x_q.shape[0], x_q.shape[1], self.units))
        return pt.dot(joined, self.W_o) + self.b_o
