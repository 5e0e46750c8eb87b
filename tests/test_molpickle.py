"""The Numba reader of RDKit's binary pickle (symmol.kernels.molpickle) against RDKit's own API."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, RDLogger
from rdkit.Chem import rdMolDescriptors

import symmol.kernels
from symmol.chem.mol_arrays import _PICKLE_FLAGS
from symmol.kernels.molpickle import INVARIANTS_FROM_RDKIT, PICKLE_STATUS, read_pickles

RDLogger.DisableLog("rdApp.*")

SMILES = [
    "CCO",
    "c1ccccc1O",
    "C[N+](C)(C)CC(=O)[O-]",
    "[CH3:7]C(=O)[O-].[Na+]",  # atom map number
    "*c1ccccc1",  # dummy atom
    "N->[Pt](<-N)(Cl)Cl",  # dative bonds
    "F/C=C/F",  # bond stereo
    "[2H]C([2H])([2H])O",  # isotopes: invariants from RDKit
    "C" * 300,  # more than 255 atoms: 32-bit atom indices
    "",  # no atoms
]


def _pack(mols: list[Chem.Mol]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    blobs = [m.ToBinary(_PICKLE_FLAGS) for m in mols]
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    n_atoms = np.array([m.GetNumAtoms() for m in mols], dtype=np.int64)
    return np.frombuffer(b"".join(blobs), dtype=np.uint8), offsets, n_atoms


def test_read_pickles_equals_rdkit() -> None:
    mols = [Chem.MolFromSmiles(s) for s in SMILES]
    status, bond_offsets, bond_atoms, bond_types, atom_offsets, atom_inv = read_pickles(*_pack(mols))
    assert status.dtype == np.int64 and bond_offsets.dtype == np.int64 and atom_offsets.dtype == np.int64
    assert bond_atoms.dtype == np.int32 and bond_types.dtype == np.uint32 and atom_inv.dtype == np.uint32
    assert status.tolist() == [0] * 7 + [INVARIANTS_FROM_RDKIT] + [0, 0]
    assert atom_offsets.tolist() == np.concatenate([[0], np.cumsum([m.GetNumAtoms() for m in mols])]).tolist()
    for i, mol in enumerate(mols):
        b = slice(bond_offsets[i], bond_offsets[i + 1])
        expected = [(x.GetBeginAtomIdx(), x.GetEndAtomIdx(), int(x.GetBondType())) for x in mol.GetBonds()]
        got = [(int(u), int(v), int(t)) for (u, v), t in zip(bond_atoms[b], bond_types[b], strict=True)]
        assert got == expected, SMILES[i]
        a = slice(atom_offsets[i], atom_offsets[i + 1])
        if status[i] == 0:
            ref = rdMolDescriptors.GetConnectivityInvariants(mol, includeRingMembership=True)
            assert atom_inv[a].tolist() == list(ref), SMILES[i]
        else:
            assert not atom_inv[a].any()


def test_read_pickles_refuses_what_it_does_not_understand() -> None:
    """A wrong atom count, a truncated pickle and a stereo group give an error status."""
    mols = [Chem.MolFromSmiles(s) for s in ["CCO", "CCN", "C[C@H](F)Cl |&1:1|", "CCC"]]
    data, offsets, n_atoms = _pack(mols)
    n_atoms[0] += 1
    cut = offsets.copy()
    cut[2:] -= 1  # drop the last byte of the second pickle
    data = np.delete(data, offsets[2] - 1)
    status, bond_offsets, bond_atoms, _, atom_offsets, atom_inv = read_pickles(data, cut, n_atoms)
    assert all(s in PICKLE_STATUS and s not in (0, INVARIANTS_FROM_RDKIT) for s in status[:3].tolist())
    assert np.diff(bond_offsets).tolist() == [0, 2, 3, 2]  # no bonds where the header was refused
    assert not atom_inv[:atom_offsets[3]].any()
    assert status[3] == 0 and bond_atoms[bond_offsets[3]:].tolist() == [[0, 1], [1, 2]]


def test_read_pickles_empty_and_argument_checks() -> None:
    status, bond_offsets, bond_atoms, bond_types, atom_offsets, atom_inv = read_pickles(
        np.zeros(0, dtype=np.uint8), np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64))
    assert status.shape == (0,) and bond_atoms.shape == (0, 2) and atom_inv.shape == (0,)
    assert bond_offsets.tolist() == [0] and atom_offsets.tolist() == [0] and bond_types.shape == (0,)
    data, offsets, n_atoms = _pack([Chem.MolFromSmiles("CCO")])
    with pytest.raises(ValueError, match="uint8"):
        read_pickles(data.astype(np.int64), offsets, n_atoms)
    with pytest.raises(ValueError, match="end at len"):
        read_pickles(data, offsets + 1, n_atoms)
    with pytest.raises(ValueError, match="n_atoms"):
        read_pickles(data, offsets, np.array([3, 3], dtype=np.int64))
    with pytest.raises(ValueError, match="negative"):
        read_pickles(data, offsets, np.array([-1], dtype=np.int64))


def test_kernels_import_neither_rdkit_nor_pytensor() -> None:
    """symmol.kernels is pure Numba over NumPy arrays."""
    root = Path(symmol.kernels.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert root / "molpickle.py" in files and root / "smiles" / "reader.py" in files
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in {"rdkit", "pytensor", "symmol"}, (path, name)
