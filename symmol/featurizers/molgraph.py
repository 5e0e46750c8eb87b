"""SMILES → molecular graphs for graph networks, one graph per input row.

:class:`MolGraphFeaturizer` returns RDKit's Morgan atom invariants (atomic number, total degree,
total H count, formal charge, isotope mass delta, ring membership, hashed) and bond types: what the
Morgan algorithm starts from. So its fast parse path is the one proven for ECFP: the Numba SMILES
reader for the rows it can prove RDKit reads the same way, RDKit's reduced sanitization for the rest
(:mod:`symmol.chem.parse`). RDKit lists ring-closure bonds after the others and the reader does not,
so every molecule's bonds are put in one canonical order (lower atom index first, bonds sorted by
their atoms); ``tests/test_graph_model.py`` checks that both paths then give identical arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rdkit import Chem

from symmol.chem.mol_arrays import mol_graph_batch
from symmol.chem.native import native_graphs
from symmol.chem.parse import ParseMode, parse_smiles_list
from symmol.data.batch import Featurized
from symmol.data.molgraph import MolGraphBatch
from symmol.featurizers.base import MoleculeFeaturizer
from symmol.featurizers.registry import register_featurizer

__all__ = ["MolGraphFeaturizer", "canonical_bond_order"]


def canonical_bond_order(batch: MolGraphBatch) -> MolGraphBatch:
    """``batch`` with each bond written (lower atom, higher atom) and each molecule's bonds sorted.

    Atom order is RDKit's (the SMILES order) on every parse path; bond order is not (RDKit
    appends ring-closure bonds), and a graph network's floating-point sums follow it.
    """
    atoms = np.sort(batch.bond_atoms, axis=1)
    molecule = np.repeat(np.arange(batch.n_molecules), np.diff(batch.bond_offsets))
    order = np.lexsort((atoms[:, 1], atoms[:, 0], molecule))
    bond_properties = None if batch.bond_properties is None else batch.bond_properties[order]
    return MolGraphBatch(batch.atom_invariants, batch.atom_offsets, np.ascontiguousarray(atoms[order]),
                         batch.bond_types[order], batch.bond_offsets, batch.atom_properties, batch.atom_masses,
                         bond_properties)


@register_featurizer
@dataclass(frozen=True)
class MolGraphFeaturizer(MoleculeFeaturizer):
    """Molecules → :class:`~symmol.data.molgraph.MolGraphBatch` (kinds ``molgraph`` and ``chemprop_molgraph``).

    Graph networks fold the atom invariants into a learned embedding table
    (:meth:`~symmol.data.molgraph.MolGraphBatch.graph_inputs`). Kind ``chemprop_molgraph``
    (``chemprop_features=True``) also reads the atom and bond properties of Chemprop's featurizer
    (:mod:`symmol.featurizers.chemprop_features`): from the Numba reader for molecules without
    stereo markup, from RDKit for the rest. Rows RDKit rejects are graphs without atoms, each with
    RDKit's reason.
    """

    KINDS: ClassVar = {"molgraph": {"chemprop_features": False}, "chemprop_molgraph": {"chemprop_features": True}}
    BATCH_TYPE: ClassVar = MolGraphBatch
    chemprop_features: bool = False

    @property
    def name(self) -> str:
        """``MolGraph`` or ``MolGraph+Chemprop``."""
        return "MolGraph+Chemprop" if self.chemprop_features else "MolGraph"

    @property
    def parse_mode(self) -> ParseMode:
        """``"fast"``: the Numba reader's graphs and properties are proven identical to RDKit's.

        The rows it refuses are parsed with RDKit's reduced sanitization for Morgan graphs, and
        with the full one for Chemprop's properties.
        """
        return "fast"

    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> MolGraphBatch:
        """Graphs of RDKit molecules (canonical bond order); a ``None`` entry gives a graph without atoms."""
        present = [i for i, mol in enumerate(mols) if mol is not None]
        if not present:
            return MolGraphBatch.empty(len(mols), self.chemprop_features)
        batch = canonical_bond_order(mol_graph_batch([mol for mol in mols if mol is not None],
                                                     properties=self.chemprop_features))
        if len(present) == len(mols):
            return batch
        # the present graphs, then one empty graph that every missing row points at
        padded = MolGraphBatch.concatenate([batch, MolGraphBatch.empty(1, self.chemprop_features)])
        order = np.full(len(mols), len(present), dtype=np.int64)
        order[present] = np.arange(len(present))
        return padded.take(order)

    def from_smiles(self, smiles: Sequence[object], parse_mode: ParseMode = "fast") -> Featurized:
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
            return super().from_smiles(smiles, parse_mode)
        native = native_graphs(smiles, properties=self.chemprop_features)
        refused = native.refused
        errors = [""] * len(smiles)
        if not refused.size:
            return Featurized(canonical_bond_order(native.graph), errors)
        # Chemprop's properties include conjugation and hybridization, which the reduced sanitization skips
        parsed = parse_smiles_list([smiles[i] for i in refused.tolist()],
                                   mode="full" if self.chemprop_features else "fast")
        for i, error in zip(refused.tolist(), parsed.errors, strict=True):
            errors[i] = error
        order = np.arange(len(smiles), dtype=np.int64)
        order[refused] = len(smiles) + np.arange(refused.size)
        combined = MolGraphBatch.concatenate([canonical_bond_order(native.graph), self.from_mols(parsed.mols)])
        return Featurized(combined.take(order), errors)
