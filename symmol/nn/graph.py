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

The network (:func:`build_graph_network`) embeds atoms (:class:`~symmol.nn.layers.EmbeddingLayer`),
applies ``depth`` :class:`~symmol.nn.layers.MessagePassingLayer` (GIN-style updates with bond-type
embeddings, Xu et al., ICLR 2019, arXiv:1810.00826; Gilmer et al., ICML 2017, arXiv:1704.01212)
or Chemprop's directed bond messages (:class:`~symmol.nn.layers.DirectedMessagePassingLayer`,
D-MPNN), pools atoms into molecules with :class:`~symmol.nn.layers.GraphReadoutLayer` (segment
sum/mean/max), and ends with dense layers. The layers live in :mod:`symmol.nn.layers.graph`;
gathers and scatters are :func:`symmol.ops.segment.gather_rows` and
:func:`symmol.ops.segment.segment_sum`, so no dense adjacency matrix is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from symmol.chem.graph import MolGraphBatch
from symmol.nn.layers.base import Layer
from symmol.nn.layers.dense import DenseLayer
from symmol.nn.layers.embedding import EmbeddingLayer
from symmol.nn.layers.graph import (
    N_BOND_TYPES,
    DirectedMessagePassingLayer,
    GraphReadoutLayer,
    MessagePassingLayer,
)
from symmol.nn.layers.input import InputLayer
from symmol.nn.layers.noise import DropoutLayer

__all__ = [
    "N_BOND_TYPES",
    "GraphInputs",
    "GraphNetwork",
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

    ``message_passing="gin"``: ``depth`` × :class:`~symmol.nn.layers.MessagePassingLayer` (atom
    messages); ``"dmpnn"``: one :class:`~symmol.nn.layers.DirectedMessagePassingLayer` of ``depth``
    steps (bond messages, Chemprop's D-MPNN). ``hidden`` gives the widths of the dense layers
    after the readout (``activation``), each preceded by dropout with probability ``dropout``
    (training only), as in Chemprop's feed-forward head. ``inputs`` lets several networks
    (ensemble members) share one set of input layers; ``prefix`` then keeps their parameter
    names apart.

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
