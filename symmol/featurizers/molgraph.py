"""SMILES → molecular graphs for graph networks, aligned with the input rows like the fingerprints.

:class:`GraphFeaturizer` is the graph counterpart of :class:`symmol.featurize.MorganFingerprint`:
``from_smiles`` returns one graph per input row (:class:`symmol.chem.graph.MolGraphBatch`), rows
RDKit rejects as graphs without atoms, each with RDKit's reason. A graph is what the Morgan
algorithm starts from: per atom RDKit's connectivity invariant (atomic number, total degree, total
H count, formal charge, isotope mass delta, ring membership), per bond its RDKit bond type
(aromatic included). So the fast parse path is the one proven for ECFP: the Numba SMILES reader
for the rows it can prove RDKit reads the same way, RDKit's reduced sanitization for the rest
(:mod:`symmol.chem.parse`). RDKit lists ring-closure bonds after the others and the reader does
not, so the featurizer puts every molecule's bonds in one canonical order (lower atom index
first, bonds sorted by their atoms); ``tests/test_graph_model.py`` checks that both paths then
give identical arrays on real molecules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem

from symmol.chem.graph import MolGraphBatch, mol_graph_batch
from symmol.chem.native import native_graphs
from symmol.chem.parse import ParseMode, parse_smiles_list

__all__ = ["FeaturizedGraphs", "GraphFeaturizer"]

#: ``to_dict()["kind"]`` of :class:`GraphFeaturizer`.
GRAPH_KIND = "graph"


@dataclass(frozen=True)
class FeaturizedGraphs:
    """Graphs aligned with the input rows; invalid rows are graphs without atoms.

    Attributes
    ----------
    graphs
        One molecule per input row.
    errors
        ``""`` for valid rows, else why the molecule was rejected.
    """

    graphs: MolGraphBatch
    errors: list[str]

    @property
    def features(self) -> MolGraphBatch:
        """The model input (the graphs)."""
        return self.graphs

    @property
    def valid(self) -> np.ndarray:
        """(n_rows,) bool: which rows hold a real molecule."""
        return np.array([not e for e in self.errors], dtype=bool)


def canonical_bond_order(batch: MolGraphBatch) -> MolGraphBatch:
    """``batch`` with each bond written (lower atom, higher atom) and each molecule's bonds sorted.

    Atom order is RDKit's (the SMILES order) on every parse path; bond order is not (RDKit
    appends ring-closure bonds), and a graph network's floating-point sums follow it.
    """
    atoms = np.sort(batch.bond_atoms, axis=1)
    molecule = np.repeat(np.arange(batch.n_molecules), np.diff(batch.bond_offsets))
    order = np.lexsort((atoms[:, 1], atoms[:, 0], molecule))
    return MolGraphBatch(batch.atom_invariants, batch.atom_offsets, np.ascontiguousarray(atoms[order]),
                         batch.bond_types[order], batch.bond_offsets)


def _empty_batch(n_rows: int) -> MolGraphBatch:
    zeros = np.zeros(n_rows + 1, dtype=np.int64)
    return MolGraphBatch(np.zeros(0, np.uint32), zeros, np.zeros((0, 2), np.int32), np.zeros(0, np.uint32),
                         zeros.copy())


@dataclass(frozen=True)
class GraphFeaturizer:
    """Molecules → :class:`~symmol.chem.graph.MolGraphBatch` (RDKit's Morgan atom invariants and bond types).

    Graph networks (:func:`symmol.nn.graph.graph_inputs`) fold the atom invariants into a
    learned embedding table; this featurizer has no parameters of its own.
    """

    def to_dict(self) -> dict:
        return {"kind": GRAPH_KIND}

    @classmethod
    def from_dict(cls, spec: dict) -> GraphFeaturizer:
        """Rebuild from :meth:`to_dict`; ``ValueError`` for another kind."""
        if spec.get("kind") != GRAPH_KIND or set(spec) != {"kind"}:
            raise ValueError(f"not a graph featurizer spec: {spec!r}")
        return cls()

    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> MolGraphBatch:
        """Graphs of RDKit molecules (canonical bond order); a ``None`` entry gives a graph without atoms."""
        present = [i for i, mol in enumerate(mols) if mol is not None]
        if not present:
            return _empty_batch(len(mols))
        batch = canonical_bond_order(mol_graph_batch([mols[i] for i in present]))
        if len(present) == len(mols):
            return batch
        # the present graphs, then one empty graph that every missing row points at
        padded = MolGraphBatch.concatenate([batch, _empty_batch(1)])
        order = np.full(len(mols), len(present), dtype=np.int64)
        order[present] = np.arange(len(present))
        return padded.take(order)

    def from_smiles(self, smiles: Sequence[str], parse_mode: ParseMode = "fast") -> FeaturizedGraphs:
        """Graphs of SMILES; invalid rows have no atoms and carry RDKit's reason, nothing is dropped.

        Parameters
        ----------
        smiles
            SMILES texts, one per row.
        parse_mode
            ``"fast"`` (default): the Numba SMILES reader where it proves RDKit's reading, RDKit's
            reduced sanitization elsewhere; ``"full"``: every row through ``Chem.MolFromSmiles``.
            Both give identical graphs and error texts.
        """
        smiles = list(smiles)
        if parse_mode != "fast":
            parsed = parse_smiles_list(smiles, mode=parse_mode)
            return FeaturizedGraphs(self.from_mols(parsed.mols), parsed.errors)
        native = native_graphs(smiles)
        refused = native.refused
        errors = [""] * len(smiles)
        if not refused.size:
            return FeaturizedGraphs(canonical_bond_order(native.graph), errors)
        parsed = parse_smiles_list([smiles[i] for i in refused.tolist()], mode="fast")
        for i, error in zip(refused.tolist(), parsed.errors, strict=True):
            errors[i] = error
        order = np.arange(len(smiles), dtype=np.int64)
        order[refused] = len(smiles) + np.arange(refused.size)
        combined = MolGraphBatch.concatenate([canonical_bond_order(native.graph), self.from_mols(parsed.mols)])
        return FeaturizedGraphs(combined.take(order), errors)
