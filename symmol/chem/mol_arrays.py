"""RDKit boundary: turn RDKit molecules into flat graph arrays for the kernels.

:func:`mol_graph_batch` returns a :class:`MolGraphBatch` holding, for a list
of molecules, exactly the inputs RDKit's default Morgan generator
(``rdFingerprintGenerator.GetMorganGenerator``) works from:

* atom invariants equal to ``rdMolDescriptors.GetConnectivityInvariants(mol,
  includeRingMembership=True)``, which is the function RDKit's
  ``MorganAtomInvGenerator`` calls (``getConnectivityInvariants`` in
  ``Code/GraphMol/Fingerprints/FingerprintUtil.cpp``): a hash of atomic number,
  total degree, total H count, formal charge, integer mass delta and ring
  membership;
* bonds (begin atom, end atom, ``int(Bond.GetBondType())``), which is what
  ``MorganBondInvGenerator`` uses when ``useBondTypes=True`` and chirality is
  off.

Both are read from each molecule's binary pickle (``Mol.ToBinary``) by
:func:`symmol.kernels.molpickle.read_pickles`, a small Numba reader of RDKit's
``MolPickler`` format (no RDKit inside; it recomputes each connectivity invariant from
the pickled atom, bond and ring records), because that is several times faster than
calling RDKit's per-atom/per-bond API from Python
(``bench/results/design_measurements.md``, ``bench/results/featurize_steps.md``).
``Chem.GetAdjacencyMatrix(mol, useBO=True)`` is cheaper than the pickle but lossy
(dative bonds read as 1.0 like single bonds, zero-order bonds vanish, bond indices are
lost), so it is not used.

The reader is strict and gives up on any molecule whose pickle it does not fully
understand (query atoms or bonds, monomer info, stereo or substance groups, another
pickle major version, ...); that molecule is then read here with the plain Python
bond loop and ``GetConnectivityInvariants``, as are the invariants of molecules with
an isotope or a mass, or without ring information (the mass delta needs RDKit's
isotope table), so the result is always exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdMolDescriptors

from symmol.data.molgraph import ATOM_PROPERTIES, BOND_PROPERTIES, MolGraphBatch
from symmol.kernels.molpickle import INVARIANTS_FROM_RDKIT, read_pickles

__all__ = ["mol_graph_batch", "mol_properties"]

# Pickle without properties or conformers: only atoms, bonds and ring info.
_PICKLE_FLAGS = int(Chem.PropertyPickleOptions.NoConformers)


# --------------------------------------------------------------------------
# Python side
# --------------------------------------------------------------------------
def _bonds_python(mol: Chem.Mol) -> tuple[np.ndarray, np.ndarray]:
    """Bonds of one molecule by the plain RDKit API (reference path)."""
    n = mol.GetNumBonds()
    atoms = np.empty((n, 2), dtype=np.int32)
    types = np.empty(n, dtype=np.uint32)
    for k, bond in enumerate(mol.GetBonds()):
        atoms[k, 0] = bond.GetBeginAtomIdx()
        atoms[k, 1] = bond.GetEndAtomIdx()
        types[k] = int(bond.GetBondType())
    return atoms, types


def mol_graph_batch(mols: Sequence[Chem.Mol], properties: bool = False) -> MolGraphBatch:
    """Extract the Morgan-relevant graph of every molecule into flat arrays.

    Parameters
    ----------
    mols : sequence of rdkit.Chem.Mol
        Sanitised molecules (as returned by ``Chem.MolFromSmiles``); explicit
        hydrogens, if present, are kept as atoms.
    properties : bool
        Also read the atom and bond properties of Chemprop's featurizer (:func:`mol_properties`).

    Returns
    -------
    MolGraphBatch
        ``atom_invariants`` (n_atoms_total,) uint32, ``atom_offsets``
        (n_mols + 1,) int64, ``bond_atoms`` (n_bonds_total, 2) int32 (local
        indices), ``bond_types`` (n_bonds_total,) uint32 and ``bond_offsets``
        (n_mols + 1,) int64.

    Raises
    ------
    ValueError
        If an entry is ``None`` (typically a SMILES RDKit could not parse).
    TypeError
        If an entry is not an ``rdkit.Chem.Mol``.

    Notes
    -----
    Mirrors what ``rdFingerprintGenerator.GetMorganGenerator`` feeds its
    environment generator: ``MorganAtomInvGenerator`` (connectivity
    invariants, ring membership on) and ``MorganBondInvGenerator``
    (``useBondTypes=True``, no chirality). RDKit errors for molecules it cannot
    fingerprint (e.g. unsanitised ones) propagate unchanged.
    """
    batch = _extract(mols)[0]
    if not properties:
        return batch
    return MolGraphBatch(batch.atom_invariants, batch.atom_offsets, batch.bond_atoms, batch.bond_types,
                         batch.bond_offsets, *mol_properties(mols))


def mol_properties(mols: Sequence[Chem.Mol]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read the atom and bond properties Chemprop's featurizer uses, atoms and bonds in RDKit's order.

    Parameters
    ----------
    mols : sequence of rdkit.Chem.Mol
        Sanitised molecules.

    Returns
    -------
    atom_properties : (n_atoms_total, 7) int16
        :data:`~symmol.data.molgraph.ATOM_PROPERTIES` of every atom, from RDKit's getters.
    atom_masses : (n_atoms_total,) float64
        ``Atom.GetMass()`` (daltons).
    bond_properties : (n_bonds_total, 3) int8
        :data:`~symmol.data.molgraph.BOND_PROPERTIES` of every bond.

    Notes
    -----
    The getters Chemprop's ``MultiHotAtomFeaturizer`` and ``MultiHotBondFeaturizer`` call (Heid et
    al., J. Chem. Inf. Model. 2024, doi:10.1021/acs.jcim.3c01250), one molecule at a time in Python:
    the path of the molecules the Numba reader refuses.
    """
    atoms = [atom for mol in mols for atom in mol.GetAtoms()]
    bonds = [bond for mol in mols for bond in mol.GetBonds()]
    atom_properties = np.array(
        [(a.GetAtomicNum(), a.GetTotalDegree(), a.GetFormalCharge(), int(a.GetChiralTag()), a.GetTotalNumHs(),
          int(a.GetHybridization()), a.GetIsAromatic()) for a in atoms],
        dtype=np.int16).reshape(-1, len(ATOM_PROPERTIES))
    masses = np.fromiter((a.GetMass() for a in atoms), dtype=np.float64, count=len(atoms))
    bond_properties = np.array([(b.GetIsConjugated(), b.IsInRing(), int(b.GetStereo())) for b in bonds],
                               dtype=np.int8).reshape(-1, len(BOND_PROPERTIES))
    return atom_properties, masses, bond_properties


def _extract(mols: Sequence[Chem.Mol]) -> tuple[MolGraphBatch, np.ndarray]:
    """:func:`mol_graph_batch` plus the (n_mols,) int64 pickle-reader status.

    Status 0 means the bonds came from the fast pickle reader; anything else
    means that molecule was read by the Python fallback.
    """
    mols = list(mols)
    for i, mol in enumerate(mols):
        if mol is None:
            raise ValueError(f"mols[{i}] is None (a SMILES RDKit could not parse?)")
        if not isinstance(mol, Chem.Mol):
            raise TypeError(f"mols[{i}] is {type(mol).__name__}, not rdkit.Chem.Mol")
    n_mols = len(mols)
    blobs = [mol.ToBinary(_PICKLE_FLAGS) for mol in mols]
    n_atoms = np.fromiter((mol.GetNumAtoms() for mol in mols), dtype=np.int64, count=n_mols)
    blob_offsets = np.zeros(n_mols + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, blobs), dtype=np.int64, count=n_mols), out=blob_offsets[1:])
    data = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    status, bond_offsets, bond_atoms, bond_types, atom_offsets, atom_invariants = read_pickles(
        data, blob_offsets, n_atoms)

    # invariants RDKit must compute: isotopes/masses, no ring info, or an unreadable pickle
    get_invariants = rdMolDescriptors.GetConnectivityInvariants
    for row in np.flatnonzero(status):
        atom_invariants[atom_offsets[row]:atom_offsets[row + 1]] = get_invariants(mols[row], includeRingMembership=True)
    status[status == INVARIANTS_FROM_RDKIT] = 0
    failed = np.flatnonzero(status)
    if failed.size:
        bond_atoms, bond_types, bond_offsets = _refill(mols, failed, bond_atoms, bond_types,
                                                       bond_offsets)
    batch = MolGraphBatch(atom_invariants, atom_offsets, bond_atoms, bond_types, bond_offsets)
    return batch, status


def _refill(mols: list[Chem.Mol], failed: np.ndarray, bond_atoms: np.ndarray,
            bond_types: np.ndarray, bond_offsets: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rebuild the bond arrays, reading the ``failed`` molecules from Python."""
    n_mols = bond_offsets.shape[0] - 1
    counts = np.diff(bond_offsets)
    extra = {int(i): _bonds_python(mols[i]) for i in failed}
    for i, (atoms, _types) in extra.items():
        counts[i] = atoms.shape[0]
    new_offsets = np.zeros(n_mols + 1, dtype=np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    new_atoms = np.empty((int(new_offsets[-1]), 2), dtype=np.int32)
    new_types = np.empty(int(new_offsets[-1]), dtype=np.uint32)
    # copy the parsed stretches between failed molecules in blocks
    prev = 0
    for i in [*sorted(extra), n_mols]:
        if i > prev:
            src = slice(int(bond_offsets[prev]), int(bond_offsets[i]))
            dst = slice(int(new_offsets[prev]), int(new_offsets[i]))
            new_atoms[dst] = bond_atoms[src]
            new_types[dst] = bond_types[src]
        if i < n_mols:
            atoms, types = extra[i]
            new_atoms[new_offsets[i]:new_offsets[i + 1]] = atoms
            new_types[new_offsets[i]:new_offsets[i + 1]] = types
        prev = i + 1
    return new_atoms, new_types, new_offsets
