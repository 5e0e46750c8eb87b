"""Embedding lookup of integer tokens (SMILES characters, amino acids, atom types).

Mirrors ``lasagne.layers.embedding``.
"""

from __future__ import annotations

import numpy as np

from symmol.nn.init import GlorotUniform
from symmol.nn.layers.base import Layer
from symmol.ops.segment import gather_rows

__all__ = ["EmbeddingLayer"]


class EmbeddingLayer(Layer):
    """``W[ids]`` for integer ids, with a scatter-add gradient (:func:`symmol.ops.segment.gather_rows`).

    Mirrors ``lasagne.layers.EmbeddingLayer`` (and ``torch.nn.Embedding``).

    Parameters
    ----------
    incoming : Layer
        Layer of integer ids in ``[0, vocab_size)``, shape ``(n,)`` or ``(n, L)``.
    vocab_size, units : int
        Shape of the table ``W`` ``(vocab_size, units)``; ``torch.nn.Embedding``'s ``weight``.
    rng : numpy.random.Generator
        For the initialiser.
    W : callable
        Initialiser of the table (regularizable).
    channels_first : bool
        For ``(n, L)`` ids: output ``(n, units, L)`` (NCW, for :class:`symmol.nn.layers.Conv1DLayer`)
        instead of ``(n, L, units)``.
    name : str, optional

    Output ``(n, units)``, ``(n, L, units)`` or ``(n, units, L)``, float32. An id out of
    range raises ``ValueError`` at run time.
    """

    def __init__(self, incoming: Layer, vocab_size: int, units: int, rng: np.random.Generator,
                 W=GlorotUniform(), channels_first: bool = False, name: str | None = None):
        super().__init__(incoming, name)
        self.vocab_size = int(vocab_size)
        self.units = int(units)
        self.channels_first = bool(channels_first)
        self.W = self.add_param(W, (self.vocab_size, self.units), "W", rng, regularizable=True)

    def get_output_for(self, incoming, deterministic: bool = False, **kwargs: bool):
        """Return the rows ``W[ids]`` for the integer ids ``incoming``.

        ``(n, units)`` for ids of shape ``(n,)``; ``(n, L, units)`` for ids of shape ``(n, L)``, or
        ``(n, units, L)`` with ``channels_first``.
        """
        if incoming.ndim == 1:
            return gather_rows(self.W, incoming)
        rows = gather_rows(self.W, incoming.flatten())
        out = rows.reshape((incoming.shape[0], incoming.shape[1], self.units))
        return out.dimshuffle(0, 2, 1) if self.channels_first else out
