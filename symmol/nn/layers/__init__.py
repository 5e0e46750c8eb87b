"""Layers that build PyTensor expressions (Lasagne style); every public name of the submodules.

As in ``lasagne.layers``, the layers are grouped in submodules and all re-exported here:
``from symmol.nn.layers import DenseLayer`` or ``from symmol.nn import layers as L``.

==========================  =========================================================================
:mod:`~.base`               :class:`Layer`, :class:`MergeLayer`, :data:`FLOATX`
:mod:`~.helper`             :func:`get_output`, :func:`get_all_layers`, :func:`get_all_params`,
                            :func:`get_all_param_values`, :func:`set_all_param_values`,
                            :func:`get_state_updates`, :func:`get_rng_updates`, :func:`output_units`
:mod:`~.input`              :class:`InputLayer`
:mod:`~.dense`              :class:`DenseLayer`, :class:`NonlinearityLayer`
:mod:`~.noise`              :class:`DropoutLayer`
:mod:`~.merge`              :class:`ConcatLayer`, :class:`ElemwiseSumLayer`, :class:`GatherLayer`,
                            :func:`residual_block`
:mod:`~.fingerprint`        :class:`SymbolicFingerprints`, :class:`FingerprintInputLayer`,
                            :class:`FingerprintDenseLayer`
:mod:`~.conv`               :class:`Conv1DLayer`, :class:`GlobalPoolLayer`
:mod:`~.embedding`          :class:`EmbeddingLayer`
:mod:`~.norm`               :class:`BatchNormLayer`, :class:`LayerNormLayer`, :class:`StandardizeLayer`
:mod:`~.recurrent`          :class:`GRULayer`
:mod:`~.attention`          :class:`MultiHeadAttentionLayer`
:mod:`~.graph`              :class:`MessagePassingLayer`, :class:`DirectedMessagePassingLayer`,
                            :class:`GraphReadoutLayer`, :data:`N_BOND_TYPES`
==========================  =========================================================================

A layer owns shared parameters registered with tags (``trainable``, ``regularizable``);
:func:`get_output` walks the layer graph and returns the symbolic output, and
:func:`get_all_params` collects parameters filtered by tags. Nothing here compiles: the
expressions go to :mod:`symmol.compile`.

Example
-------
>>> fp = FingerprintInputLayer(fp_size=2048)
>>> h = FingerprintDenseLayer(fp, 512, nonlinearity="relu", rng=rng)
>>> out = DenseLayer(DropoutLayer(h, 0.2, seed=0), 12, nonlinearity="identity", rng=rng)
>>> logits = get_output(out)                       # training graph (dropout on)
>>> params = get_all_params(out, trainable=True)
"""

from symmol.nn.layers.attention import MultiHeadAttentionLayer
from symmol.nn.layers.base import FLOATX, Layer, MergeLayer
from symmol.nn.layers.conv import Conv1DLayer, GlobalPoolLayer
from symmol.nn.layers.dense import DenseLayer, NonlinearityLayer
from symmol.nn.layers.embedding import EmbeddingLayer
from symmol.nn.layers.fingerprint import FingerprintDenseLayer, FingerprintInputLayer, SymbolicFingerprints
from symmol.nn.layers.graph import N_BOND_TYPES, DirectedMessagePassingLayer, GraphReadoutLayer, MessagePassingLayer
from symmol.nn.layers.helper import (
    get_all_layers,
    get_all_param_values,
    get_all_params,
    get_output,
    get_rng_updates,
    get_state_updates,
    output_units,
    set_all_param_values,
)
from symmol.nn.layers.input import InputLayer
from symmol.nn.layers.merge import ConcatLayer, ElemwiseSumLayer, GatherLayer, residual_block
from symmol.nn.layers.noise import DropoutLayer
from symmol.nn.layers.norm import BatchNormLayer, LayerNormLayer, StandardizeLayer
from symmol.nn.layers.recurrent import GRULayer

__all__ = [
    "FLOATX",
    "N_BOND_TYPES",
    "BatchNormLayer",
    "ConcatLayer",
    "Conv1DLayer",
    "DenseLayer",
    "DirectedMessagePassingLayer",
    "DropoutLayer",
    "ElemwiseSumLayer",
    "EmbeddingLayer",
    "FingerprintDenseLayer",
    "FingerprintInputLayer",
    "GatherLayer",
    "GRULayer",
    "GlobalPoolLayer",
    "GraphReadoutLayer",
    "InputLayer",
    "Layer",
    "MultiHeadAttentionLayer",
    "LayerNormLayer",
    "StandardizeLayer",
    "MergeLayer",
    "MessagePassingLayer",
    "NonlinearityLayer",
    "SymbolicFingerprints",
    "get_all_layers",
    "get_all_param_values",
    "get_all_params",
    "get_output",
    "get_rng_updates",
    "get_state_updates",
    "output_units",
    "residual_block",
    "set_all_param_values",
]
