"""A minimal message-passing graph network on the segment Ops (atoms → molecules).

Inputs come from :func:`graph_inputs`, which turns a :class:`symmol.chem.graph.MolGraphBatch`
into flat integer arrays for a batch of molecules:

* ``atom_types`` (n_atoms,) int64: RDKit's Morgan atom invariant (a hash of atomic number,
  degree, H count, charge, isotope, ring membership) folded to ``n_atom_types`` buckets;
* ``src``, ``dst`` (n_edges,) int64: both directions of every bond, as batch-global atom rows;
* ``bond_types`` (n_edges,) int64: ``int(Bond.GetBondType())`` for the types up to aromatic (0–12:
  unspecified, single, double, triple, ..., aromatic); every later type (ionic, dative, zero-order,
  ...) shares the id ``n_bond_types - 1`` (13 by default);
* ``atom_molecule`` (n_atoms,) int64: molecule of each atom (sorted), and ``n_molecules``.

The network (:func:`build_graph_network`) embeds atoms (:class:`EmbeddingLayer`), applies
``depth`` :class:`MessagePassingLayer` (GIN-style updates with bond-type embeddings, Xu et al.,
ICLR 2019, arXiv:1810.00826; Gilmer et al., ICML 2017, arXiv:1704.01212) or Chemprop's directed
bond messages (:class:`DirectedMessagePassingLayer`, D-MPNN), pools atoms into
molecules with :class:`GraphReadoutLayer` (segment sum/mean/max), and ends with dense layers.
Gathers and scatters are :func:`symmol.ops.gather.gather_rows` and
:func:`symmol.ops.segment.segment_sum`, so no dense adjacency matrix is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pytensor.tensor as pt

from symmol.chem.graph import MolGraphBatch
from symmol.nn.embedding import EmbeddingLayer
from symmol.nn.init import Constant, GlorotUniform
from symmol.nn.layers import DenseLayer, DropoutLayer, InputLayer, Layer, MergeLayer, output_units
from symmol.nn.nonlinearities import get_nonlinearity
from symmol.ops.segment import gather_rows, segment_max, segment_mean, segment_sum

#: Bond-type ids: RDKit's ``BondType`` values 0–12 (up to ``AROMATIC``) and one for all later types.
N_BOND_TYPES = 14

__all__ = [
    "N_BOND_TYPES",
    "DirectedMessagePassingLayer",
    "GraphInputs",
    "GraphNetwork",
    "GraphReadoutLayer",
    "MessagePassingLayer",
    "build_graph_network",
    "graph_input_layers",
    "graph_inputs",
]


class GraphInputs(NamedTuple):
    """NumPy inputs of a graph network for one batch (see the module docstring)."""

    atom_types: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    bond_types: np.ndarray
    atom_molecule: np.ndarray
    n_molecules: np.ndarray


def graph_inputs(batch: MolGraphBatch, n_atom_types: int = 1024, n_bond_types: int = N_BOND_TYPES) -> GraphInputs:
    """Flat integer arrays of a molecule batch for :func:`build_graph_network`.

    Parameters
    ----------
    batch
        From :func:`symmol.chem.graph.mol_graph_batch`.
    n_atom_types
        Buckets the atom invariants are folded into (``invariant % n_atom_types``).
    n_bond_types
        Bond-type vocabulary: codes below ``n_bond_types - 1`` keep their id, every larger code
        (ionic 13, dative 17, zero-order 21, ...) shares the last one.

    Returns
    -------
    GraphInputs
        ``atom_types`` (n_atoms,), ``src``/``dst``/``bond_types`` (2 n_bonds,),
        ``atom_molecule`` (n_atoms,) all int64, ``n_molecules`` a 0-d int64 array.
    """
    n_mols = batch.n_molecules
    atom_molecule = np.repeat(np.arange(n_mols, dtype=np.int64), np.diff(batch.atom_offsets))
    bond_molecule = np.repeat(np.arange(n_mols, dtype=np.int64), np.diff(batch.bond_offsets))
    first_atom = batch.atom_offsets[:-1][bond_molecule]
    begin = batch.bond_atoms[:, 0].astype(np.int64) + first_atom
    end = batch.bond_atoms[:, 1].astype(np.int64) + first_atom
    types = np.minimum(batch.bond_types.astype(np.int64), n_bond_types - 1)
    return GraphInputs(
        atom_types=(batch.atom_invariants.astype(np.int64) % n_atom_types),
        src=np.concatenate([begin, end]),
        dst=np.concatenate([end, begin]),
        bond_types=np.concatenate([types, types]),
        atom_molecule=atom_molecule,
        n_molecules=np.asarray(n_mols, dtype=np.int64),
    )


class MessagePassingLayer(MergeLayer):
    """One round of message passing over directed edges::

        m_e  = relu(h[src_e] + B[bond_type_e])                  (n_edges, units)
        a_v  = sum_{e: dst_e = v} m_e                           (segment_sum)
        h'_v = f(((1 + eps) h_v + a_v) W + b)

    Parameters
    ----------
    atoms, src, dst, bond_types
        Layers giving ``h`` (n_atoms, units) and the int64 edge arrays (n_edges,).
    n_bond_types
        Rows of the bond-type embedding ``B`` (n_bond_types, units).
    eps
        GIN's self weight (fixed).
    """

    def __init__(self, atoms: Layer, src: Layer, dst: Layer, bond_types: Layer, rng: np.random.Generator,
                 n_bond_types: int = N_BOND_TYPES, nonlinearity: str = "relu", eps: float = 0.0, W=GlorotUniform(),
                 name: str | None = None):
        super().__init__([atoms, src, dst, bond_types], name)
        self.units = output_units(atoms)
        self.eps = float(eps)
        self.nonlinearity = get_nonlinearity(nonlinearity)
        self.B = self.add_param(W, (int(n_bond_types), self.units), "B", rng, regularizable=True)
        self.W = self.add_param(W, (self.units, self.units), "W", rng, regularizable=True)
        self.b = self.add_param(Constant(0.0), (self.units,), "b", rng)

    def get_output_for(self, incoming: list, deterministic: bool = False):
        h, src, dst, bond_types = incoming
        messages = pt.maximum(gather_rows(h, src) + gather_rows(self.B, bond_types), np.float32(0.0))
        aggregated = segment_sum(messages, dst, h.shape[0])
        return self.nonlinearity(pt.dot(np.float32(1.0 + self.eps) * h + aggregated, self.W) + self.b)


class DirectedMessagePassingLayer(MergeLayer):
    """Chemprop's directed message passing (D-MPNN) over the bonds, then back onto the atoms::

        h0_e = relu(x[src_e] W_i + B[bond_type_e])                     (n_edges, units), e = a → b
        m_e  = sum_{k: dst_k = src_e} h_k  −  h_rev(e)                  messages into a, except from b
        h_e  = relu(h0_e + m_e W_h)                                     ``depth − 1`` times
        h'_v = relu(x_v W_o + (sum_{e: dst_e = v} h_e) W_m + b)         (n_atoms, units)

    ``rev(e)`` is the opposite direction of the same bond: :func:`graph_inputs` lists the bonds
    ``a → b`` first and ``b → a`` second, so ``rev(e) = e ± n_edges / 2``. Bond features are a
    learned embedding of the bond type (one-hot bond types times a matrix, as in ``W_i [x; b]``).
    Yang et al., J. Chem. Inf. Model. 2019, 59, 3370, doi:10.1021/acs.jcim.9b00237 (Chemprop).

    Parameters
    ----------
    atoms, src, dst, bond_types
        Layers giving ``x`` (n_atoms, units) and the int64 edge arrays (n_edges,) of
        :func:`graph_inputs`.
    depth
        Message-passing steps, ``>= 1`` (Chemprop's default is 3).
    n_bond_types
        Rows of the bond-type embedding ``B`` (n_bond_types, units).

    Output ``(n_atoms, units)``.
    """

    def __init__(self, atoms: Layer, src: Layer, dst: Layer, bond_types: Layer, rng: np.random.Generator,
                 depth: int = 3, n_bond_types: int = N_BOND_TYPES, W=GlorotUniform(), name: str | None = None):
        super().__init__([atoms, src, dst, bond_types], name)
        if int(depth) < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.depth = int(depth)
        self.units = output_units(atoms)
        shape = (self.units, self.units)
        self.W_i = self.add_param(W, shape, "W_i", rng, regularizable=True)
        self.B = self.add_param(W, (int(n_bond_types), self.units), "B", rng, regularizable=True)
        self.W_h = self.add_param(W, shape, "W_h", rng, regularizable=True)
        self.W_o = self.add_param(W, shape, "W_o", rng, regularizable=True)
        self.W_m = self.add_param(W, shape, "W_m", rng, regularizable=True)
        self.b = self.add_param(Constant(0.0), (self.units,), "b", rng)

    def get_output_for(self, incoming: list, deterministic: bool = False):
        x, src, dst, bond_types = incoming
        zero = np.float32(0.0)
        half = src.shape[0] // 2
        reverse = pt.concatenate([pt.arange(half, 2 * half), pt.arange(0, half)])
        h0 = pt.maximum(pt.dot(gather_rows(x, src), self.W_i) + gather_rows(self.B, bond_types), zero)
        h = h0
        for _ in range(self.depth - 1):
            into_atoms = segment_sum(h, dst, x.shape[0])
            messages = gather_rows(into_atoms, src) - gather_rows(h, reverse)
            h = pt.maximum(h0 + pt.dot(messages, self.W_h), zero)
        atom_messages = segment_sum(h, dst, x.shape[0])
        return pt.maximum(pt.dot(x, self.W_o) + pt.dot(atom_messages, self.W_m) + self.b, zero)


class GraphReadoutLayer(MergeLayer):
    """Pool atom rows into molecule rows: ``segment_{sum,mean,max}(h, atom_molecule, n_molecules)``.

    Output ``(n_molecules, units)``; molecules without atoms give zero rows.
    """

    _POOLS = {"sum": segment_sum, "mean": segment_mean, "max": segment_max}

    def __init__(self, atoms: Layer, atom_molecule: Layer, n_molecules: Layer, mode: str = "sum",
                 name: str | None = None):
        super().__init__([atoms, atom_molecule, n_molecules], name)
        if mode not in self._POOLS:
            raise ValueError(f"mode must be one of {sorted(self._POOLS)}, got {mode!r}")
        self.mode = mode
        self.units = output_units(atoms)

    def get_output_for(self, incoming: list, deterministic: bool = False):
        h, atom_molecule, n_molecules = incoming
        return self._POOLS[self.mode](h, atom_molecule, n_molecules)


class GraphNetwork(NamedTuple):
    """Input layers (in :class:`GraphInputs` order) and the output layer of a graph network."""

    inputs: tuple[InputLayer, ...]
    output: Layer


def graph_input_layers() -> tuple[InputLayer, ...]:
    """The six input layers of a graph network, in the order of :class:`GraphInputs`."""
    return (InputLayer((None,), dtype="int64", name="atom_types"), InputLayer((None,), dtype="int64", name="src"),
            InputLayer((None,), dtype="int64", name="dst"), InputLayer((None,), dtype="int64", name="bond_types"),
            InputLayer((None,), dtype="int64", name="atom_molecule"), InputLayer((), dtype="int64", name="n_molecules"))


def build_graph_network(n_outputs: int, rng: np.random.Generator, units: int = 128, depth: int = 3,
                        n_atom_types: int = 1024, n_bond_types: int = N_BOND_TYPES, readout: str = "sum",
                        hidden: int | Sequence[int] = 256, message_passing: str = "gin", dropout: float = 0.0,
                        activation: str = "relu", inputs: tuple[InputLayer, ...] | None = None,
                        prefix: str = "", seed: int = 0) -> GraphNetwork:
    """Embedding → message passing → readout → [Dropout → Dense]* → Dropout → Dense(identity).

    ``message_passing="gin"``: ``depth`` × :class:`MessagePassingLayer` (atom messages);
    ``"dmpnn"``: one :class:`DirectedMessagePassingLayer` of ``depth`` steps (bond messages,
    Chemprop's D-MPNN). ``hidden`` gives the widths of the dense layers after the readout
    (``activation``), each preceded by dropout with probability ``dropout`` (training only),
    as in Chemprop's feed-forward head. ``inputs`` lets several networks (ensemble members)
    share one set of input layers; ``prefix`` then keeps their parameter names apart.

    Returns the six input layers, in the order of :class:`GraphInputs`, and the output layer
    of shape ``(n_molecules, n_outputs)``.

    Raises
    ------
    ValueError
        For an unknown ``message_passing``, a hidden width below 1 or ``dropout`` outside [0, 1).
    """
    if message_passing not in ("gin", "dmpnn"):
        raise ValueError(f"message_passing must be 'gin' or 'dmpnn', got {message_passing!r}")
    widths = (int(hidden),) if isinstance(hidden, int | np.integer) else tuple(int(h) for h in hidden)
    if any(w < 1 for w in widths):
        raise ValueError(f"hidden widths must be >= 1, got {widths}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    inputs = graph_input_layers() if inputs is None else tuple(inputs)
    atom_types, src, dst, bond_types, atom_molecule, n_molecules = inputs
    h = EmbeddingLayer(atom_types, n_atom_types, units, rng, name=f"{prefix}atom_embedding")
    if message_passing == "dmpnn":
        h = DirectedMessagePassingLayer(h, src, dst, bond_types, rng, depth=depth, n_bond_types=n_bond_types,
                                        name=f"{prefix}dmpnn")
    for i in range(depth if message_passing == "gin" else 0):
        h = MessagePassingLayer(h, src, dst, bond_types, rng, n_bond_types=n_bond_types, name=f"{prefix}mp{i}")
    out: Layer = GraphReadoutLayer(h, atom_molecule, n_molecules, mode=readout, name=f"{prefix}readout")
    for i, width in enumerate(widths):
        if dropout:
            out = DropoutLayer(out, dropout, seed=seed * 1000 + i, name=f"{prefix}dropout{i}")
        out = DenseLayer(out, width, rng, activation, name=f"{prefix}readout_dense{i or ''}")
    if dropout:
        out = DropoutLayer(out, dropout, seed=seed * 1000 + len(widths), name=f"{prefix}dropout{len(widths)}")
    out = DenseLayer(out, n_outputs, rng, nonlinearity="identity", name=f"{prefix}output")
    return GraphNetwork(inputs, out)
