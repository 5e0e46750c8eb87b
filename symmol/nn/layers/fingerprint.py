"""Layers of sparse CSR fingerprint batches: the input and the first affine map.

symmol's own (Lasagne has no sparse input): :class:`FingerprintDenseLayer` calls
:func:`symmol.ops.fingerprint.fingerprint_dot`, which sums the rows of ``W`` of each
molecule's on bits instead of a dense product.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

from symmol.nn.init import Constant, GlorotUniform
from symmol.nn.layers.base import FLOATX, Layer
from symmol.nn.nonlinearities import get_nonlinearity
from symmol.ops.fingerprint import fingerprint_dot

__all__ = ["FingerprintDenseLayer", "FingerprintInputLayer", "SymbolicFingerprints"]


class SymbolicFingerprints(NamedTuple):
    """Symbolic CSR fingerprint batch (see :class:`symmol.fingerprints.FingerprintBatch`).

    Attributes
    ----------
    indptr : TensorVariable
        int64 vector, shape (n_rows + 1,): CSR row pointers.
    indices : TensorVariable
        int32 vector, shape (nnz,): on-bits, in ``[0, fp_size)``.
    values : TensorVariable
        float32 vector, shape (nnz,): 1.0 for bits, counts for count fingerprints.
    """

    indptr: TensorVariable
    indices: TensorVariable
    values: TensorVariable


class FingerprintInputLayer(Layer):
    """Input of sparse fingerprints: creates the symbolic CSR variables.

    Parameters
    ----------
    fp_size : int
        Number of fingerprint features; the first weight matrix has this many rows.
    name : str, optional

    Attributes
    ----------
    input_var : SymbolicFingerprints
        ``(indptr, indices, values)``, int64/int32/float32 vectors; pass them in this order
        to ``pytensor.function``.
    """

    def __init__(self, fp_size: int, name: str | None = None):
        super().__init__(None, name)
        self.fp_size = int(fp_size)
        self.input_var = SymbolicFingerprints(
            pt.vector("indptr", dtype="int64"),
            pt.vector("indices", dtype="int32"),
            pt.vector("values", dtype=FLOATX),
        )


class FingerprintDenseLayer(Layer):
    """Affine map of sparse fingerprints, ``f(x @ W + b)`` without densifying ``x``.

    A :class:`~symmol.nn.layers.DenseLayer` on the CSR batch: uses
    :func:`symmol.ops.fingerprint.fingerprint_dot`, which sums the rows of ``W`` of each
    molecule's on bits (about 50 of 2048), instead of a dense product.

    Parameters
    ----------
    incoming : FingerprintInputLayer
    units : int
        Output width.
    rng : numpy.random.Generator
        For the initialisers.
    nonlinearity : str
        Name of the activation ``f`` (:func:`symmol.nn.nonlinearities.get_nonlinearity`).
    W, b : callable
        Initialisers of ``W`` ``(fp_size, units)`` (regularizable) and ``b`` ``(units,)``.
    name : str, optional

    Output ``(n_rows, units)`` float32.
    """

    def __init__(self, incoming: FingerprintInputLayer, units: int, rng: np.random.Generator,
                 nonlinearity: str = "relu", W=GlorotUniform(), b=Constant(0.0), name: str | None = None):
        super().__init__(incoming, name)
        self.units = int(units)
        self.nonlinearity = get_nonlinearity(nonlinearity)
        self.W = self.add_param(W, (incoming.fp_size, self.units), "W", rng, regularizable=True)
        self.b = self.add_param(b, (self.units,), "b", rng)

    def get_output_for(self, incoming: SymbolicFingerprints, deterministic: bool = False, **kwargs: bool):
        #: ``X @ W`` of the last graph built: take ``pytensor.grad(cost, layer.pre_activation)``
        #: for the row-sparse update of ``W`` (:func:`symmol.ops.fingerprint.fingerprint_dot_grad_w_rows`).
        """Return ``f(x @ W + b)`` of shape ``(n_rows, units)`` for the symbolic CSR batch ``incoming``.

        Also keeps ``x @ W`` as :attr:`pre_activation` (see the comment below).
        """
        self.pre_activation = fingerprint_dot(*incoming, self.W)
        return self.nonlinearity(self.pre_activation + self.b)
