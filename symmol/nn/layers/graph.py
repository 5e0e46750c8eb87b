"""Message-passing layers of graph networks, on the gather and segment Ops (no dense adjacency matrix).

symmol's own (Lasagne has none). The inputs are flat integer arrays of a batch of molecules
(:meth:`symmol.data.molgraph.MolGraphBatch.graph_inputs`): atom rows ``h`` (n_atoms, units), directed edges
``src``, ``dst``, ``bond_types`` (n_edges,) int64 (both directions of every bond), and
``atom_molecule`` (n_atoms,) int64 with ``n_molecules`` for the readout. Gathers and scatters
are :func:`symmol.ops.segment.gather_rows` and :func:`symmol.ops.segment.segment_sum`.

* :class:`MessagePassingLayer`: GIN-style atom messages with bond-type embeddings (Xu et al.,
  ICLR 2019, arXiv:1810.00826; Gilmer et al., ICML 2017, arXiv:1704.01212);
* :class:`DirectedMessagePassingLayer`: Chemprop's directed bond messages (D-MPNN);
* :class:`GraphReadoutLayer`: atoms → molecules (segment sum/mean/max).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from symmol.data.molgraph import N_BOND_TYPES
from symmol.nn.init import Constant, GlorotUniform
from symmol.nn.layers.base import Layer, MergeLayer
from symmol.nn.layers.helper import output_units
from symmol.nn.layers.input import InputLayer
from symmol.nn.nonlinearities import get_nonlinearity
from symmol.ops.segment import gather_rows, segment_max, segment_mean, segment_sum

__all__ = ["N_BOND_TYPES", "DirectedMessagePassingLayer", "GraphReadoutLayer", "MessagePassingLayer"]



def _bond_rows(bonds: Layer, n_bond_types: int) -> int:
    """Rows of a bond matrix ``B``: the width of dense bond features, else the bond-type vocabulary.

    Bond-type ids come from an int input layer of shape ``(n_edges,)``; anything else holds features.
    """
    if isinstance(bonds, InputLayer) and len(bonds.shape) == 1:
        return int(n_bond_types)
    return output_units(bonds)


def _bond_term(B, bonds):
    """Each edge's bond contribution ``B[type]`` for bond-type ids, or ``features @ B`` for dense bond features.

    A one-hot bond type times ``B`` is the row lookup, so both are Chemprop's ``W [x; b]`` split in two.
    """
    return pt.dot(bonds, B) if bonds.ndim == 2 else gather_rows(B, bonds)


class MessagePassingLayer(MergeLayer):
    """One round of message passing over directed edges.

    The update::

        m_e  = relu(h[src_e] + B[bond_type_e])                  (n_edges, units)
        a_v  = sum_{e: dst_e = v} m_e                           (segment_sum)
        h'_v = f(((1 + eps) h_v + a_v) W + b)

    GIN's update (Xu et al., ICLR 2019, arXiv:1810.00826) with bond-type embeddings added to
    the messages (a message-passing network in Gilmer et al.'s sense, ICML 2017,
    arXiv:1704.01212).

    Parameters
    ----------
    atoms : Layer
        Atom rows ``h``, float32 (n_atoms, units).
    src, dst, bond_types : Layer
        The int64 edge arrays (n_edges,) of :meth:`symmol.data.molgraph.MolGraphBatch.graph_inputs`.
    rng : numpy.random.Generator
        For the initialisers.
    n_bond_types : int
        Rows of the bond-type embedding ``B`` (n_bond_types, units).
    nonlinearity : str
        Name of ``f`` (:func:`symmol.nn.nonlinearities.get_nonlinearity`).
    eps : float
        GIN's self weight (fixed).
    W : callable
        Initialiser of ``B`` and ``W`` (units, units); ``b`` starts at 0.
    name : str, optional

    Output ``(n_atoms, units)``, float32.
    """

    def __init__(self, atoms: Layer, src: Layer, dst: Layer, bond_types: Layer, rng: np.random.Generator,
                 n_bond_types: int = N_BOND_TYPES, nonlinearity: str = "relu", eps: float = 0.0, W=GlorotUniform(),
                 name: str | None = None):
        super().__init__([atoms, src, dst, bond_types], name)
        self.units = output_units(atoms)
        self.eps = float(eps)
        self.nonlinearity = get_nonlinearity(nonlinearity)
        self.B = self.add_param(W, (_bond_rows(bond_types, n_bond_types), self.units), "B", rng, regularizable=True)
        self.W = self.add_param(W, (self.units, self.units), "W", rng, regularizable=True)
        self.b = self.add_param(Constant(0.0), (self.units,), "b", rng)

    def get_output_for(self, incoming: list, deterministic: bool = False, **kwargs: bool):
        """Return the updated atom rows ``h'`` of shape ``(n_atoms, units)``.

        ``incoming`` is ``[h, src, dst, bond_types]``, the outputs of the four input layers.
        """
        h, src, dst, bond_types = incoming
        messages = pt.maximum(gather_rows(h, src) + _bond_term(self.B, bond_types), np.float32(0.0))
        aggregated = segment_sum(messages, dst, h.shape[0])
        return self.nonlinearity(pt.dot(np.float32(1.0 + self.eps) * h + aggregated, self.W) + self.b)


class DirectedMessagePassingLayer(MergeLayer):
    """Chemprop's directed message passing (D-MPNN) over the bonds, then back onto the atoms.

    The update::

        z_e  = x[src_e] W_i + b_e B                                      (n_edges, units), e = a → b
        h_e  = relu(z_e)
        m_e  = sum_{k: dst_k = src_e} h_k  −  h_rev(e)                  messages into a, except from b
        h_e  = relu(z_e + m_e W_h)                                      ``depth − 1`` times
        h'_v = relu(x_v W_o + (sum_{e: dst_e = v} h_e) W_m + b)         (n_atoms, units)

    ``rev(e)`` is the opposite direction of the same bond:
    :meth:`symmol.data.molgraph.MolGraphBatch.graph_inputs` lists the bonds ``a → b`` first and
    ``b → a`` second, so ``rev(e) = e ± n_edges / 2``. The bond term ``b_e B`` is a row of ``B``
    for bond-type ids (a one-hot bond type times ``B``) or dense bond features times ``B``; with
    ``W_i`` it is Chemprop's ``W_i [x; b]``, and ``W_o``, ``W_m`` are its ``W_o [x; m]``. Each step
    adds the messages to the initial pre-activation ``z_e``, as Chemprop does
    (``initial="pre-activation"``); ``initial="activated"`` adds ``relu(z_e)`` instead, the form
    symmol's models saved before model format 3 were trained with.
    Yang et al., J. Chem. Inf. Model. 2019, 59, 3370, doi:10.1021/acs.jcim.9b00237 (Chemprop).

    Parameters
    ----------
    atoms : Layer
        Atom rows ``x``, float32 (n_atoms, atom_width): embeddings or Chemprop's atom features.
    src, dst : Layer
        The int64 edge arrays (n_edges,) of :meth:`symmol.data.molgraph.MolGraphBatch.graph_inputs`.
    bonds : Layer
        int64 bond-type ids (n_edges,), or float32 bond features (n_edges, bond_width).
    rng : numpy.random.Generator
        For the initialisers.
    depth : int
        Message-passing steps, ``>= 1`` (Chemprop's default is 3).
    n_bond_types : int
        Rows of ``B`` for bond-type ids (ignored for dense bond features).
    units : int, optional
        Width of the messages and of the output (Chemprop's ``d_h``); the atom width by default.
    initial : {"pre-activation", "activated"}
        What each step adds the messages to (see above).
    W : callable
        Initialiser of ``W_i`` (atom_width, units), ``B``, ``W_h``, ``W_o`` (atom_width, units),
        ``W_m``; ``b`` starts at 0.
    name : str, optional

    Output ``(n_atoms, units)``, float32.

    Raises
    ------
    ValueError
        If ``depth < 1``, ``units < 1`` or ``initial`` is unknown.
    """

    INITIAL = ("pre-activation", "activated")

    def __init__(self, atoms: Layer, src: Layer, dst: Layer, bonds: Layer, rng: np.random.Generator,
                 depth: int = 3, n_bond_types: int = N_BOND_TYPES, units: int | None = None,
                 initial: str = "pre-activation", W=GlorotUniform(), name: str | None = None):
        super().__init__([atoms, src, dst, bonds], name)
        if int(depth) < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if initial not in self.INITIAL:
            raise ValueError(f"initial must be one of {self.INITIAL}, got {initial!r}")
        self.depth = int(depth)
        self.initial = initial
        atom_width = output_units(atoms)
        self.units = atom_width if units is None else int(units)
        if self.units < 1:
            raise ValueError(f"units must be >= 1, got {units}")
        square = (self.units, self.units)
        self.W_i = self.add_param(W, (atom_width, self.units), "W_i", rng, regularizable=True)
        self.B = self.add_param(W, (_bond_rows(bonds, n_bond_types), self.units), "B", rng, regularizable=True)
        self.W_h = self.add_param(W, square, "W_h", rng, regularizable=True)
        self.W_o = self.add_param(W, (atom_width, self.units), "W_o", rng, regularizable=True)
        self.W_m = self.add_param(W, square, "W_m", rng, regularizable=True)
        self.b = self.add_param(Constant(0.0), (self.units,), "b", rng)

    def get_output_for(self, incoming: list, deterministic: bool = False, **kwargs: bool):
        """Return the atom rows ``h'`` of shape ``(n_atoms, units)`` after ``depth`` steps over the bonds.

        ``incoming`` is ``[x, src, dst, bonds]``, the outputs of the four input layers.
        """
        x, src, dst, bonds = incoming
        zero = np.float32(0.0)
        half = src.shape[0] // 2
        reverse = pt.concatenate([pt.arange(half, 2 * half), pt.arange(0, half)])
        z = pt.dot(gather_rows(x, src), self.W_i) + _bond_term(self.B, bonds)
        h = pt.maximum(z, zero)
        base = z if self.initial == "pre-activation" else h
        for _ in range(self.depth - 1):
            into_atoms = segment_sum(h, dst, x.shape[0])
            messages = gather_rows(into_atoms, src) - gather_rows(h, reverse)
            h = pt.maximum(base + pt.dot(messages, self.W_h), zero)
        atom_messages = segment_sum(h, dst, x.shape[0])
        return pt.maximum(pt.dot(x, self.W_o) + pt.dot(atom_messages, self.W_m) + self.b, zero)


class GraphReadoutLayer(MergeLayer):
    """Pool atom rows into molecule rows: ``segment_{sum,mean,max}(h, atom_molecule, n_molecules)``, or ``norm``.

    The readout of a graph network (Chemprop's aggregation step), on
    :func:`symmol.ops.segment.segment_sum` / ``segment_mean`` / ``segment_max``.

    Parameters
    ----------
    atoms : Layer
        Atom rows, float32 (n_atoms, units).
    atom_molecule : Layer
        int64 (n_atoms,): molecule of each atom.
    n_molecules : Layer
        int64 scalar: number of molecules (rows of the output).
    mode : {"sum", "mean", "max", "norm"}
        ``"norm"``: the sum divided by :attr:`NORM` (100), Chemprop 2's default aggregation
        (``NormAggregation``; Heid et al., J. Chem. Inf. Model. 2024, 64, 9, doi:10.1021/acs.jcim.3c01250).
    name : str, optional

    Output ``(n_molecules, units)``, float32; molecules without atoms give zero rows.

    Raises
    ------
    ValueError
        For an unknown ``mode``.
    """

    #: Divisor of the ``"norm"`` readout: Chemprop's ``NormAggregation`` default.
    NORM = 100.0
    _POOLS = {"sum": segment_sum, "mean": segment_mean, "max": segment_max,
              "norm": lambda h, m, n: segment_sum(h, m, n) / np.float32(GraphReadoutLayer.NORM)}

    def __init__(self, atoms: Layer, atom_molecule: Layer, n_molecules: Layer, mode: str = "sum",
                 name: str | None = None):
        super().__init__([atoms, atom_molecule, n_molecules], name)
        if mode not in self._POOLS:
            raise ValueError(f"mode must be one of {sorted(self._POOLS)}, got {mode!r}")
        self.mode = mode
        self.units = output_units(atoms)

    def get_output_for(self, incoming: list, deterministic: bool = False, **kwargs: bool):
        """Return the molecule rows ``(n_molecules, units)``: the atom rows pooled by :attr:`mode`.

        ``incoming`` is ``[h, atom_molecule, n_molecules]``; molecules without atoms give zero rows.
        """
        h, atom_molecule, n_molecules = incoming
        return self._POOLS[self.mode](h, atom_molecule, n_molecules)
