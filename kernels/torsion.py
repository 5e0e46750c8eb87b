"""Topological torsion fingerprints in pure Numba, identical to RDKit's ``GetTopologicalTorsionGenerator``.

A topological torsion (Nilakantan, Bauman, Dixon & Venkataraghavan,
"Topological torsion: a new molecular descriptor for SAR applications",
*J. Chem. Inf. Comput. Sci.* 1987, 27, 82-85, doi:10.1021/ci00054a008) is a
path of four bonded atoms. This module mirrors RDKit's
``TopologicalTorsionEnvGenerator`` (``Code/GraphMol/Fingerprints/
TopologicalTorsionGenerator.cpp``) with the generator's defaults
(``torsionAtomCount=4``, ``onlyShortestPaths=False``, no chirality):

* the paths are those of ``findAllPathsOfLengthN(mol, 4, useBonds=False)``:
  hydrogen atoms (atomic number 1) and their bonds are left out; every path of
  four distinct atoms counts once (a path and its reverse are one), and every
  three-membered ring gives one closed path ``a, b, c, a`` that starts at the
  ring's lowest atom index;
* atom ``k`` of a path gets the code ``(atom_code - 2) % (2**9 - 1) + 1``
  (``atom_code`` as in :mod:`symmol.kernels.atompair`, the ``- 2`` in unsigned
  32-bit arithmetic as RDKit's ``topologicalTorsionCorrection``), minus one
  more for the two inner atoms;
* the path is read in the direction that makes the code sequence the smaller
  of the two when compared from both ends inwards, and hashed with RDKit's
  32-bit ``hash_combine`` starting from 0 (``getTopologicalTorsionHash``).

Folding and count simulation are as for atom pairs (see
:mod:`symmol.kernels.atompair`).
"""

from __future__ import annotations

import numba
import numpy as np

from .atompair import _adjacency
from .checks import as_array
from .config import jit, parallel_jit
from .morgan import _hash_combine, _validate_graph

__all__ = ["torsion_environments"]

_CODE_LIMIT = np.uint64((1 << 9) - 1)
_MASK32 = np.uint64(0xFFFFFFFF)
_TORSION_CORRECTION = np.uint64(2)


@jit
def _torsion_hash(c0: np.uint64, c1: np.uint64, c2: np.uint64, c3: np.uint64) -> np.uint32:
    """``getTopologicalTorsionHash`` of the path codes ``c0..c3``."""
    reverse = c0 > c3 or (c0 == c3 and c1 > c2)
    if reverse:
        c0, c1, c2, c3 = c3, c2, c1, c0
    h = _hash_combine(np.uint64(0), c0)
    h = _hash_combine(h, c1)
    h = _hash_combine(h, c2)
    return np.uint32(_hash_combine(h, c3))


@jit
def _molecule_torsions(codes: np.ndarray, is_h: np.ndarray, bond_atoms: np.ndarray, out_ids: np.ndarray,
                       write: bool) -> int:
    """Hashed torsion ids of one molecule (written only if ``write``); returns how many."""
    n = codes.shape[0]
    start, nbr = _adjacency(n, bond_atoms, is_h)
    end_code = np.empty(n, dtype=np.uint64)
    for a in range(n):
        corrected = (np.uint64(codes[a]) - _TORSION_CORRECTION) & _MASK32
        end_code[a] = corrected % _CODE_LIMIT + np.uint64(1)
    count = 0
    for a in range(n):
        for p in range(start[a], start[a + 1]):
            b = nbr[p]
            for q in range(start[b], start[b + 1]):
                c = nbr[q]
                if c == a:
                    continue
                for r in range(start[c], start[c + 1]):
                    d = nbr[r]
                    if d == b:
                        continue
                    if d == a:
                        # closed path through a three-membered ring: once, from its lowest atom
                        if not (a < b and b < c):
                            continue
                    elif d < a:  # the reverse path is counted from d
                        continue
                    if write:
                        out_ids[count] = _torsion_hash(end_code[a], end_code[b] - np.uint64(1),
                                                       end_code[c] - np.uint64(1), end_code[d])
                    count += 1
    return count


@parallel_jit
def _torsion_kernel(codes, is_h, atom_offsets, bond_atoms, bond_offsets):
    """Two passes over the molecules in parallel: count, then write into exact slices."""
    n_mols = atom_offsets.shape[0] - 1
    sizes = np.zeros(n_mols, dtype=np.int64)
    dummy = np.empty(0, dtype=np.uint32)
    for i in numba.prange(n_mols):
        a0 = atom_offsets[i]
        a1 = atom_offsets[i + 1]
        sizes[i] = _molecule_torsions(codes[a0:a1], is_h[a0:a1],
                                      bond_atoms[bond_offsets[i]:bond_offsets[i + 1]], dummy, False)
    env_offsets = np.zeros(n_mols + 1, dtype=np.int64)
    for i in range(n_mols):
        env_offsets[i + 1] = env_offsets[i] + sizes[i]
    env_ids = np.empty(env_offsets[-1], dtype=np.uint32)
    for i in numba.prange(n_mols):
        a0 = atom_offsets[i]
        a1 = atom_offsets[i + 1]
        _molecule_torsions(codes[a0:a1], is_h[a0:a1], bond_atoms[bond_offsets[i]:bond_offsets[i + 1]],
                           env_ids[env_offsets[i]:env_offsets[i + 1]], True)
    return env_ids, env_offsets


def torsion_environments(
    atom_codes: np.ndarray,
    is_hydrogen: np.ndarray,
    atom_offsets: np.ndarray,
    bond_atoms: np.ndarray,
    bond_offsets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Unfolded 32-bit topological torsion ids of a batch of molecules (parallel over molecules).

    Parameters
    ----------
    atom_codes : (n_atoms_total,) uint32
        RDKit atom-pair atom codes (``rdMolDescriptors.GetAtomPairAtomCode``).
    is_hydrogen : (n_atoms_total,) bool
        Atoms with atomic number 1 (left out of every path).
    atom_offsets : (n_mols + 1,) int64
    bond_atoms : (n_bonds_total, 2) int32
        Local begin/end atoms of each bond.
    bond_offsets : (n_mols + 1,) int64

    Returns
    -------
    env_ids : (n_env,) uint32
        RDKit's hashed torsion id of every four-atom path; fold with
        :func:`symmol.kernels.morgan.fold_csr` (``fp_size`` for counts,
        ``fp_size // 4`` then :func:`symmol.kernels.atompair.count_simulation_csr`
        for RDKit's default bits).
    env_offsets : (n_mols + 1,) int64

    Raises
    ------
    ValueError
        On wrong dtypes or shapes, inconsistent offsets, or a bond outside its
        molecule.
    """
    codes = as_array("atom_codes", atom_codes, np.uint32, 1)
    is_h = as_array("is_hydrogen", is_hydrogen, np.bool_, 1)
    if is_h.shape != codes.shape:
        raise ValueError(f"is_hydrogen has {is_h.shape[0]} entries but atom_codes has {codes.shape[0]}")
    bond_atoms = as_array("bond_atoms", bond_atoms, np.int32, 2)
    dummy_types = np.zeros(bond_atoms.shape[0], dtype=np.uint32)
    codes, atom_offsets, bond_atoms, _, bond_offsets = _validate_graph(
        codes, atom_offsets, bond_atoms, dummy_types, bond_offsets)
    return _torsion_kernel(codes, is_h, atom_offsets, bond_atoms, bond_offsets)
