"""Molecular graphs in flat arrays, and their collation into the inputs of a graph network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from symmol.data.batch import check_rows

__all__ = ["ATOM_PROPERTIES", "BOND_PROPERTIES", "N_BOND_TYPES", "GraphInputs", "MolGraphBatch"]

#: Columns of :attr:`MolGraphBatch.atom_properties`, RDKit's ``Atom`` getters of the sanitized molecule:
#: ``GetAtomicNum``, ``GetTotalDegree``, ``GetFormalCharge``, ``int(GetChiralTag())``, ``GetTotalNumHs``,
#: ``int(GetHybridization())``, ``GetIsAromatic`` (Chemprop's atom features, ``GetMass`` aside).
ATOM_PROPERTIES = ("atomic_number", "total_degree", "formal_charge", "chiral_tag", "total_hs", "hybridization",
                   "aromatic")
#: Columns of :attr:`MolGraphBatch.bond_properties`: ``GetIsConjugated``, ``IsInRing``, ``int(GetStereo())``.
BOND_PROPERTIES = ("conjugated", "in_ring", "stereo")

#: Bond-type ids of a graph network: RDKit's ``BondType`` values 0–12 (up to ``AROMATIC``) and one
#: id shared by every later type (ionic, dative, zero-order, ...).
N_BOND_TYPES = 14


class GraphInputs(NamedTuple):
    """The integer arrays a graph network takes for one batch (:meth:`MolGraphBatch.graph_inputs`).

    Attributes
    ----------
    atom_types : (n_atoms,) int64
        Each atom's invariant folded to ``n_atom_types`` buckets.
    src, dst : (2 n_bonds,) int64
        Both directions of every bond as batch-global atom rows: the ``a → b`` edges of all bonds
        first, then the ``b → a`` edges in the same order (so edge ``e``'s reverse is ``e ± n_bonds``).
    bond_types : (2 n_bonds,) int64
        Bond-type id of each edge (:data:`N_BOND_TYPES`).
    atom_molecule : (n_atoms,) int64
        Molecule (batch row) of each atom, non-decreasing.
    n_molecules : () int64
        Number of molecules (rows) in the batch, molecules without atoms included.
    """

    atom_types: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    bond_types: np.ndarray
    atom_molecule: np.ndarray
    n_molecules: np.ndarray


def _gather_ranges(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Element positions of the segments ``rows`` of a CSR ``offsets``, and their new offsets."""
    starts = offsets[rows]
    lengths = offsets[rows + 1] - starts
    new_offsets = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    positions = np.arange(new_offsets[-1], dtype=np.int64) + np.repeat(starts - new_offsets[:-1], lengths)
    return positions, new_offsets


@dataclass(frozen=True)
class MolGraphBatch:
    """Flat graph arrays for a batch of molecules (CSR-style offsets).

    Attributes
    ----------
    atom_invariants : (n_atoms_total,) uint32
        RDKit's default Morgan atom invariants (connectivity invariants with ring membership,
        ``rdMolDescriptors.GetConnectivityInvariants(mol, includeRingMembership=True)``).
    atom_offsets : (n_mols + 1,) int64
        Atoms of molecule ``i`` are ``atom_offsets[i]:atom_offsets[i + 1]``.
    bond_atoms : (n_bonds_total, 2) int32
        Begin/end atom index of each bond, local to its molecule (0-based): RDKit's bond order from
        :func:`symmol.chem.mol_arrays.mol_graph_batch`; the graph featurizer writes each bond lower
        atom first and sorts them (:func:`symmol.featurizers.molgraph.canonical_bond_order`).
    bond_types : (n_bonds_total,) uint32
        ``int(Bond.GetBondType())``, RDKit's bond invariant with ``useBondTypes=True``.
    bond_offsets : (n_mols + 1,) int64
        Bonds of molecule ``i`` are ``bond_offsets[i]:bond_offsets[i + 1]``.
    atom_properties : (n_atoms_total, 7) int16 or None
        The atom properties of Chemprop's featurizer (:data:`ATOM_PROPERTIES`), when featurized with them.
    atom_masses : (n_atoms_total,) float64 or None
        ``Atom.GetMass()`` in daltons (the element's standard atomic weight, or the isotope's mass).
    bond_properties : (n_bonds_total, 3) int8 or None
        The bond properties of Chemprop's featurizer (:data:`BOND_PROPERTIES`).

    The three property arrays are all present or all ``None``.
    """

    atom_invariants: np.ndarray
    atom_offsets: np.ndarray
    bond_atoms: np.ndarray
    bond_types: np.ndarray
    bond_offsets: np.ndarray
    atom_properties: np.ndarray | None = None
    atom_masses: np.ndarray | None = None
    bond_properties: np.ndarray | None = None

    def __post_init__(self) -> None:
        present = [a is not None for a in (self.atom_properties, self.atom_masses, self.bond_properties)]
        if any(present) and not all(present):
            raise ValueError("atom_properties, atom_masses and bond_properties must all be given, or none")

    @property
    def has_properties(self) -> bool:
        """Whether the batch carries the atom and bond properties of Chemprop's featurizer."""
        return self.atom_properties is not None

    @property
    def n_molecules(self) -> int:
        """Number of molecules in the batch."""
        return int(self.atom_offsets.shape[0] - 1)

    def __len__(self) -> int:
        return self.n_molecules

    @classmethod
    def empty(cls, n_rows: int, properties: bool = False) -> MolGraphBatch:
        """``n_rows`` molecules without atoms (rows that could not be read), with empty property arrays if asked."""
        zeros = np.zeros(n_rows + 1, dtype=np.int64)
        extra = ((np.zeros((0, len(ATOM_PROPERTIES)), np.int16), np.zeros(0, np.float64),
                  np.zeros((0, len(BOND_PROPERTIES)), np.int8)) if properties else (None, None, None))
        return cls(np.zeros(0, np.uint32), zeros, np.zeros((0, 2), np.int32), np.zeros(0, np.uint32), zeros.copy(),
                   *extra)

    def take(self, rows: np.ndarray) -> MolGraphBatch:
        """Take the molecules ``rows`` (any order, repeats allowed) as a new batch.

        Raises
        ------
        IndexError
            If a row is outside ``[0, n_molecules)``.
        """
        rows = check_rows(np.asarray(rows, dtype=np.int64).reshape(-1), self.n_molecules)
        atoms, atom_offsets = _gather_ranges(self.atom_offsets, rows)
        bonds, bond_offsets = _gather_ranges(self.bond_offsets, rows)
        extra = ((self.atom_properties[atoms], self.atom_masses[atoms], self.bond_properties[bonds])
                 if self.atom_properties is not None and self.atom_masses is not None
                 and self.bond_properties is not None else (None, None, None))
        return MolGraphBatch(self.atom_invariants[atoms], atom_offsets, self.bond_atoms[bonds],
                             self.bond_types[bonds], bond_offsets, *extra)

    def slice(self, start: int, stop: int) -> MolGraphBatch:
        """Molecules ``start:stop`` (a copy)."""
        return self.take(np.arange(start, stop))

    @classmethod
    def concatenate(cls, batches: Sequence[MolGraphBatch]) -> MolGraphBatch:
        """Stack the molecules of ``batches``, one after the other.

        Raises
        ------
        ValueError
            If ``batches`` is empty, or some carry properties and others not.
        """
        if not batches:
            raise ValueError("nothing to concatenate")
        with_properties = {b.has_properties for b in batches}
        if len(with_properties) > 1:
            raise ValueError("cannot concatenate graphs with Chemprop's atom and bond properties and graphs without")

        def offsets(name: str) -> np.ndarray:
            parts = [getattr(b, name) for b in batches]
            shifts = np.cumsum([0] + [int(p[-1]) for p in parts[:-1]])
            return np.concatenate([parts[0][:1]] + [p[1:] + s for p, s in zip(parts, shifts, strict=True)])

        extra = (tuple(np.concatenate([getattr(b, name) for b in batches])
                       for name in ("atom_properties", "atom_masses", "bond_properties"))
                 if with_properties == {True} else (None, None, None))
        return cls(np.concatenate([b.atom_invariants for b in batches]), offsets("atom_offsets"),
                   np.concatenate([b.bond_atoms for b in batches]),
                   np.concatenate([b.bond_types for b in batches]), offsets("bond_offsets"), *extra)

    def graph_inputs(self, n_atom_types: int = 1024, n_bond_types: int = N_BOND_TYPES) -> GraphInputs:
        """Collate the batch into the flat integer arrays of a graph network (:class:`GraphInputs`).

        Parameters
        ----------
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
        n_mols = self.n_molecules
        atom_molecule = np.repeat(np.arange(n_mols, dtype=np.int64), np.diff(self.atom_offsets))
        bond_molecule = np.repeat(np.arange(n_mols, dtype=np.int64), np.diff(self.bond_offsets))
        first_atom = self.atom_offsets[:-1][bond_molecule]
        begin = self.bond_atoms[:, 0].astype(np.int64) + first_atom
        end = self.bond_atoms[:, 1].astype(np.int64) + first_atom
        types = np.minimum(self.bond_types.astype(np.int64), n_bond_types - 1)
        return GraphInputs(
            atom_types=(self.atom_invariants.astype(np.int64) % n_atom_types),
            src=np.concatenate([begin, end]),
            dst=np.concatenate([end, begin]),
            bond_types=np.concatenate([types, types]),
            atom_molecule=atom_molecule,
            n_molecules=np.asarray(n_mols, dtype=np.int64),
        )
