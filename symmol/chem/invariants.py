"""RDKit boundary, part 2: the per-atom arrays the non-default fingerprints need.

:mod:`symmol.chem.mol_arrays` extracts what RDKit's default Morgan generator reads
(connectivity invariants and bonds). The other fingerprint kinds need more,
all taken from RDKit itself so the kernels see exactly what RDKit's
generators see:

* :func:`feature_invariants`: FCFP atom invariants, the bit masks of
  ``rdMolDescriptors.GetFeatureInvariants`` (donor 1, acceptor 2, aromatic 4,
  halogen 8, basic 16, acidic 32; Gobbi & Poppinger 1998 patterns), which is
  what ``rdFingerprintGenerator.GetMorganFeatureAtomInvGen`` computes.
* :func:`chirality_arrays`: with ``includeChirality=True`` RDKit's
  ``MorganEnvGenerator`` combines a code for every atom with a chiral tag (R 3,
  S 2, otherwise 1, from the ``_CIPCode`` atom property) into its invariant,
  and ``MorganBondInvGenerator`` gives a double bond with stereo the invariant
  ``100 + 10 * 2 + stereo``.
* :func:`atom_pair_codes`: the atom codes of the atom-pair and topological
  torsion fingerprints (``rdMolDescriptors.GetAtomPairAtomCode(atom, 0)``:
  branch count, pi electrons and element class), and which atoms are
  hydrogens (topological torsion paths skip them).

Every function takes the molecules in the same order as
:func:`symmol.chem.mol_arrays.mol_graph_batch` and returns arrays aligned with its
``atom_offsets``/``bond_offsets``. Per-molecule costs are in
``bench/results/fingerprint_identity.md``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdCIPLabeler, rdMolDescriptors, rdqueries

from symmol.data.molgraph import MolGraphBatch

__all__ = ["atom_pair_codes", "chirality_arrays", "feature_invariants"]

_BOND_DOUBLE = int(Chem.BondType.DOUBLE)
_STEREO_OFFSET = 100
_BOND_TYPE_OFFSET = 10
_CIP_CODES = {"R": 3, "S": 2}
_CHIRAL_TAG_QUERY = rdqueries.HasChiralTagQueryAtom()
_HYDROGEN_QUERY = rdqueries.AtomNumEqualsQueryAtom(1)


def _check(mols: Sequence[Chem.Mol]) -> list[Chem.Mol]:
    mols = list(mols)
    for i, mol in enumerate(mols):
        if mol is None:
            raise ValueError(f"mols[{i}] is None (a SMILES RDKit could not parse?)")
        if not isinstance(mol, Chem.Mol):
            raise TypeError(f"mols[{i}] is {type(mol).__name__}, not rdkit.Chem.Mol")
    return mols


def _flatten(per_mol: list, dtype: type) -> np.ndarray:
    total = sum(map(len, per_mol))
    return np.fromiter(itertools.chain.from_iterable(per_mol), dtype=dtype, count=total)


def feature_invariants(mols: Sequence[Chem.Mol]) -> np.ndarray:
    """FCFP atom invariants of every atom, concatenated in molecule order.

    Parameters
    ----------
    mols : sequence of rdkit.Chem.Mol
        Sanitised molecules.

    Returns
    -------
    (n_atoms_total,) uint32
        ``rdMolDescriptors.GetFeatureInvariants(mol)`` per molecule: bit ``k``
        set when the atom matches RDKit's ``k``-th feature pattern (donor,
        acceptor, aromatic, halogen, basic, acidic). The invariants of
        ``GetMorganGenerator(atomInvariantsGenerator=GetMorganFeatureAtomInvGen())``.

    Raises
    ------
    ValueError, TypeError
        For a ``None`` entry or one that is not an ``rdkit.Chem.Mol``.
    """
    get = rdMolDescriptors.GetFeatureInvariants
    return _flatten([get(mol) for mol in _check(mols)], np.uint32)


def _stereo_perceived(mol: Chem.Mol) -> Chem.Mol:
    """``mol``, or a copy with stereo assigned, as RDKit's ``getFingerprintHelper`` does."""
    if mol.HasProp("_StereochemDone"):
        return mol
    copy = Chem.Mol(mol)
    Chem.AssignStereochemistry(copy)
    return copy


def _ensure_cip(mol: Chem.Mol) -> None:
    """With the new stereo perception RDKit's generators label CIP codes themselves."""
    if not Chem.GetUseLegacyStereoPerception() and not mol.HasProp("_CIPComputed"):
        rdCIPLabeler.AssignCIPLabels(mol)


def _atom_chirality(mol: Chem.Mol) -> list[tuple[int, int]]:
    """(atom index, code) for the atoms with a chiral tag: R 3, S 2, otherwise 1."""
    out = []
    for atom in mol.GetAtomsMatchingQuery(_CHIRAL_TAG_QUERY):
        code = _CIP_CODES.get(atom.GetProp("_CIPCode"), 1) if atom.HasProp("_CIPCode") else 1
        out.append((atom.GetIdx(), code))
    return out


def _stereo_bond_invariant(mol: Chem.Mol, bond: Chem.Bond) -> int:
    stereo = int(bond.GetStereo())
    if not Chem.GetUseLegacyStereoPerception() and bond.HasProp("_CIPCode"):
        cip = bond.GetProp("_CIPCode")
        stereo = {"E": int(Chem.BondStereo.STEREOE), "Z": int(Chem.BondStereo.STEREOZ)}.get(cip, stereo)
    return _STEREO_OFFSET + _BOND_TYPE_OFFSET * _BOND_DOUBLE + stereo


def chirality_arrays(mols: Sequence[Chem.Mol], graph: MolGraphBatch) -> tuple[np.ndarray, np.ndarray]:
    """Atom chirality codes and stereo-aware bond invariants (``includeChirality=True``).

    Parameters
    ----------
    mols : sequence of rdkit.Chem.Mol
        The molecules ``graph`` was extracted from, same order.
    graph : MolGraphBatch
        From :func:`symmol.chem.mol_arrays.mol_graph_batch` (its ``bond_types`` are
        the starting bond invariants).

    Returns
    -------
    atom_chirality : (n_atoms_total,) uint8
        0 for atoms without a chiral tag, else 3 (CIP ``R``), 2 (``S``) or 1.
    bond_invariants : (n_bonds_total,) uint32
        ``graph.bond_types`` with every double bond whose stereo is not
        ``STEREONONE`` replaced by ``120 + int(bond.GetStereo())`` (``E``/``Z``
        from the CIP labeller when legacy stereo perception is off), as in
        RDKit's ``MorganBondInvGenerator(useBondTypes=True, useChirality=True)``.

    Raises
    ------
    ValueError
        If ``mols`` and ``graph`` do not hold the same number of molecules,
        or an entry is ``None``.

    Notes
    -----
    Like RDKit, molecules without the ``_StereochemDone`` flag are read from a
    copy on which ``AssignStereochemistry`` has run, and with the new stereo
    perception the CIP labels are assigned on the molecule itself.
    """
    mols = _check(mols)
    if len(mols) != graph.n_molecules:
        raise ValueError(f"{len(mols)} molecules but the graph batch has {graph.n_molecules}")
    atom_chirality = np.zeros(graph.atom_invariants.shape[0], dtype=np.uint8)
    bond_invariants = graph.bond_types.copy()
    double = graph.bond_types == _BOND_DOUBLE
    for i, mol in enumerate(mols):
        perceived = _stereo_perceived(mol)
        _ensure_cip(perceived)
        base = int(graph.atom_offsets[i])
        for atom, code in _atom_chirality(perceived):
            atom_chirality[base + atom] = code
        b0, b1 = int(graph.bond_offsets[i]), int(graph.bond_offsets[i + 1])
        for k in np.flatnonzero(double[b0:b1]).tolist():
            bond = mol.GetBondWithIdx(k)
            if bond.GetStereo() != Chem.BondStereo.STEREONONE:
                _ensure_cip(mol)
                bond_invariants[b0 + k] = _stereo_bond_invariant(mol, bond)
    return atom_chirality, bond_invariants


def atom_pair_codes(mols: Sequence[Chem.Mol], hydrogens: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Atom-pair atom codes and hydrogen flags of every atom, in molecule order.

    Parameters
    ----------
    mols : sequence of rdkit.Chem.Mol
        Sanitised molecules.
    hydrogens
        Also return ``is_hydrogen`` (the torsion fingerprint needs it, atom pairs do not).

    Returns
    -------
    atom_codes : (n_atoms_total,) uint32
        ``rdMolDescriptors.GetAtomPairAtomCode(atom, branchSubtract=0,
        includeChirality=False)``, values ``< 512``: what RDKit's
        ``AtomPairAtomInvGenerator`` returns (the topological torsion
        generator subtracts 2 from it, see :mod:`symmol.kernels.torsion`).
    is_hydrogen : (n_atoms_total,) bool, or None without ``hydrogens``
        Atomic number 1 (any isotope); RDKit's path finder leaves these out of
        torsion paths.

    Raises
    ------
    ValueError, TypeError
        For a ``None`` entry or one that is not an ``rdkit.Chem.Mol``.
    """
    mols = _check(mols)
    get = rdMolDescriptors.GetAtomPairAtomCode
    # GetAtomWithIdx, not GetAtoms(): RDKit's Python atom iterator costs as much as the codes
    codes = _flatten([[get(mol.GetAtomWithIdx(i)) for i in range(mol.GetNumAtoms())] for mol in mols], np.uint32)
    if not hydrogens:
        return codes, None
    is_hydrogen = np.zeros(codes.shape[0], dtype=bool)
    base = 0
    for mol in mols:
        for atom in mol.GetAtomsMatchingQuery(_HYDROGEN_QUERY):
            is_hydrogen[base + atom.GetIdx()] = True
        base += mol.GetNumAtoms()
    return codes, is_hydrogen
