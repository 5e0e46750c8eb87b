"""One SMILES → RDKit's Morgan atom invariants and bond types, one molecule and the parallel batch.

:func:`_process` reads one molecule; the parallel batch driver is behind :func:`smiles_graph_batch`
(RDKit's ``SmilesToMol`` followed by sanitization) and :func:`smiles_feature_graph_batch` (the same,
with the atom and bond properties of Chemprop's featurizer).
"""

from __future__ import annotations

import numba
import numpy as np

from ..config import jit, parallel_jit
from ..morgan import _hash_combine
from .aromaticity import _aromatic_rings, _donor_types, _usable_bonds, _written_aromatic_kept
from .codes import (
    _AROMATIC_ERR,
    _B_DOUBLE,
    _B_TRIPLE,
    _KEKULE,
    _NO_DONOR,
    _RD_AROMATIC,
    _RD_DOUBLE,
    _RD_SINGLE,
    _RD_TRIPLE,
    _STEREO,
    _SYNTAX,
)
from .hybridization import _conjugation, _hybridization
from .kekulize import _kekulize, _written_bond_orders
from .lexer import _parse
from .rings import _ring_atoms, _ring_bonds
from .valence import _bond_tallies, _hydrogens

#: Columns of :func:`smiles_feature_graph_batch`'s ``atom_properties``, named for RDKit's ``Atom`` getters.
ATOM_PROPERTIES = ("total_degree", "formal_charge", "total_hs", "hybridization", "aromatic")
N_ATOM_PROPERTIES = len(ATOM_PROPERTIES)
#: Columns of :func:`smiles_feature_graph_batch`'s ``bond_properties``, named for RDKit's ``Bond`` getters.
BOND_PROPERTIES = ("conjugated", "in_ring")
N_BOND_PROPERTIES = len(BOND_PROPERTIES)


@jit
def _adjacency(n_atoms, n_bonds, bu, bv, degree, adj_start, adj_atom, adj_bond) -> bool:
    """Build the graph's CSR adjacency lists (``degree`` and ``adj_start`` zero on entry).

    The neighbours of atom ``a`` are ``adj_atom[adj_start[a]:adj_start[a + 1]]``, across bonds
    ``adj_bond``, in bond order. False for a duplicate bond (two bonds between the same atoms: refused).
    """
    for b in range(n_bonds):
        degree[bu[b]] += 1
        degree[bv[b]] += 1
    for a in range(n_atoms):
        adj_start[a + 1] = adj_start[a] + degree[a]
        degree[a] = 0  # counts the slots filled below, and ends as the degree again
    for b in range(n_bonds):
        u = bu[b]
        v = bv[b]
        for k in range(adj_start[u], adj_start[u] + degree[u]):
            if adj_atom[k] == v:
                return False
        adj_atom[adj_start[u] + degree[u]] = v
        adj_bond[adj_start[u] + degree[u]] = b
        degree[u] += 1
        adj_atom[adj_start[v] + degree[v]] = u
        adj_bond[adj_start[v] + degree[v]] = b
        degree[v] += 1
    return True


@jit
def _write_atoms(n_atoms, z, charge, degree, total_h, in_ring, z_out, inv_out) -> None:
    """Write the atomic numbers and RDKit's connectivity invariants.

    RDKit's ``getConnectivityInvariants``: ``hash_range`` of atomic number, total degree, total H
    count, formal charge, mass delta 0 and, for a ring atom, 1.
    """
    for a in range(n_atoms):
        z_out[a] = z[a]
        seed = _hash_combine(np.uint64(0), np.uint64(z[a]))
        seed = _hash_combine(seed, np.uint64(degree[a] + total_h[a]))
        seed = _hash_combine(seed, np.uint64(total_h[a]))
        seed = _hash_combine(seed, np.uint64(charge[a] & 0xFFFFFFFF))
        seed = _hash_combine(seed, np.uint64(0))
        if in_ring[a]:
            seed = _hash_combine(seed, np.uint64(1))
        inv_out[a] = np.uint32(seed)


@jit
def _write_bonds(n_bonds, bu, bv, bo, aromatic_bond, bu_out, bv_out, bt_out) -> None:
    """Write the bond atoms and ``int(Bond.GetBondType())``.

    The type is aromatic for an aromatic single or double bond (RDKit marks only those AROMATIC),
    else the written order.
    """
    for b in range(n_bonds):
        bu_out[b] = bu[b]
        bv_out[b] = bv[b]
        if aromatic_bond[b] and bo[b] != _B_TRIPLE:
            bt_out[b] = _RD_AROMATIC
        elif bo[b] == _B_DOUBLE:
            bt_out[b] = _RD_DOUBLE
        elif bo[b] == _B_TRIPLE:
            bt_out[b] = _RD_TRIPLE
        else:
            bt_out[b] = _RD_SINGLE


@jit
def _write_properties(n_atoms, n_bonds, z, charge, degree, total_h, kekule_valence, aromatic_atom, ring_bond,
                      adj_start, adj_atom, adj_bond, bt, atom_out, bond_out) -> None:
    """Write the atom and bond properties Chemprop's featurizer reads (``ATOM_PROPERTIES``, ``BOND_PROPERTIES``).

    Conjugation and hybridization as RDKit's sanitization sets them (:mod:`.hybridization`);
    ``bt`` holds the bonds' RDKit types.
    """
    conjugated = np.empty(n_bonds, dtype=np.bool_)
    _conjugation(n_atoms, z, charge, degree, total_h, kekule_valence, adj_start, adj_atom, adj_bond, bt, conjugated)
    hybridization = np.empty(n_atoms, dtype=np.int64)
    _hybridization(n_atoms, z, charge, degree, total_h, kekule_valence, adj_start, adj_bond, conjugated,
                   hybridization)
    for a in range(n_atoms):
        atom_out[a, 0] = degree[a] + total_h[a]
        atom_out[a, 1] = charge[a]
        atom_out[a, 2] = total_h[a]
        atom_out[a, 3] = hybridization[a]
        atom_out[a, 4] = aromatic_atom[a]
    for b in range(n_bonds):
        bond_out[b, 0] = conjugated[b]
        bond_out[b, 1] = ring_bond[b]


@jit
def _has_stereo(s) -> bool:
    r"""Tell whether a SMILES text has stereo markup (``@``, ``/`` or ``\``)."""
    for c in s:
        if c == 64 or c == 47 or c == 92:
            return True
    return False


@jit
def _process(s, z_out, inv_out, bu_out, bv_out, bt_out, properties, atom_out, bond_out) -> tuple[int, int, int]:
    """Parse one SMILES and, if accepted, write atom invariants and bonds. (status, atoms, bonds).

    The steps of RDKit's ``MolFromSmiles`` (parse, ring perception, valences, Kekulize, aromaticity)
    as kernels that fill arrays allocated here (see the package docstring on why). With
    ``properties``, stereo markup is refused and the atom and bond properties of Chemprop's
    featurizer are written to ``atom_out`` and ``bond_out`` too (:func:`_write_properties`).
    """
    if properties and _has_stereo(s):
        return _STEREO, 0, 0
    n = s.shape[0]
    z = np.empty(n, dtype=np.int64)
    charge = np.empty(n, dtype=np.int64)
    hs = np.empty(n, dtype=np.int64)
    aromatic = np.empty(n, dtype=np.bool_)
    bracket = np.empty(n, dtype=np.bool_)
    bu = np.empty(n + 1, dtype=np.int64)
    bv = np.empty(n + 1, dtype=np.int64)
    bo = np.empty(n + 1, dtype=np.int64)
    status, n_atoms, n_bonds = _parse(s, z, charge, hs, aromatic, bracket, bu, bv, bo)
    if status != 0:
        return status, 0, 0
    degree = np.zeros(n_atoms, dtype=np.int64)
    adj_start = np.zeros(n_atoms + 1, dtype=np.int64)
    adj_atom = np.empty(2 * n_bonds, dtype=np.int64)
    adj_bond = np.empty(2 * n_bonds, dtype=np.int64)
    if not _adjacency(n_atoms, n_bonds, bu, bv, degree, adj_start, adj_atom, adj_bond):
        return _SYNTAX, 0, 0
    ring_bond = np.empty(n_bonds, dtype=np.bool_)
    _ring_bonds(n_atoms, n_bonds, adj_start, adj_atom, adj_bond, ring_bond)
    in_ring = np.zeros(n_atoms, dtype=np.bool_)
    _ring_atoms(n_bonds, bu, bv, ring_bond, in_ring)
    status, any_aromatic = _written_bond_orders(n_bonds, bu, bv, bo, aromatic, ring_bond)
    if status != 0:
        return status, 0, 0
    # valences and H counts from the written bonds; which atoms written aromatic need a double bond
    n_arom = np.zeros(n_atoms, dtype=np.int64)
    other = np.zeros(n_atoms, dtype=np.int64)
    n_multiple = np.zeros(n_atoms, dtype=np.int64)
    exo_partner = np.zeros(n_atoms, dtype=np.int64)
    cyclic_multiple = np.zeros(n_atoms, dtype=np.bool_)
    _bond_tallies(n_bonds, bu, bv, bo, ring_bond, z, n_arom, other, n_multiple, exo_partner, cyclic_multiple)
    need = np.zeros(n_atoms, dtype=np.bool_)
    total_h = np.zeros(n_atoms, dtype=np.int64)
    status = _hydrogens(n_atoms, z, charge, hs, aromatic, bracket, in_ring, degree, n_arom, other, n_multiple, need,
                        total_h)
    if status != 0:
        return status, 0, 0
    if not _kekulize(n_atoms, bo, need, any_aromatic, adj_start, adj_atom, adj_bond):
        return _KEKULE, 0, 0
    # aromaticity perceived on the Kekule structure
    electrons = np.full(n_atoms, _NO_DONOR, dtype=np.int64)
    _donor_types(n_atoms, z, charge, degree, total_h, in_ring, need, other, n_arom, n_multiple, exo_partner,
                 cyclic_multiple, electrons)
    aromatic_atom = np.zeros(n_atoms, dtype=np.bool_)
    aromatic_bond = np.zeros(n_bonds, dtype=np.bool_)
    usable = np.zeros(n_bonds, dtype=np.bool_)
    if _usable_bonds(n_bonds, bu, bv, ring_bond, electrons, usable):
        status = _aromatic_rings(n_atoms, n_bonds, z, bu, bv, adj_start, adj_atom, adj_bond, ring_bond, in_ring,
                                 usable, electrons, aromatic_atom, aromatic_bond)
        if status != 0:
            return status, 0, 0
    if not _written_aromatic_kept(n_atoms, n_bonds, aromatic, bo, aromatic_atom, aromatic_bond):
        return _AROMATIC_ERR, 0, 0
    _write_atoms(n_atoms, z, charge, degree, total_h, in_ring, z_out, inv_out)
    _write_bonds(n_bonds, bu, bv, bo, aromatic_bond, bu_out, bv_out, bt_out)
    if properties:
        for a in range(n_atoms):
            other[a] += n_arom[a] + (1 if need[a] else 0)  # the Kekule valence
        _write_properties(n_atoms, n_bonds, z, charge, degree, total_h, other, aromatic_atom, ring_bond, adj_start,
                          adj_atom, adj_bond, bt_out, atom_out, bond_out)
    return 0, n_atoms, n_bonds


@parallel_jit
def _batch(data, offsets, properties):
    """Run :func:`smiles_graph_batch` (or, with ``properties``, :func:`smiles_feature_graph_batch`) without the checks.

    Every molecule in parallel into slices of per-character scratch, then the accepted ones packed.
    Without ``properties`` the property arrays have no rows.
    """
    n_mols = offsets.shape[0] - 1
    total = offsets[-1]
    # np.empty, not np.zeros, in parallel functions: each array expression becomes a parallel loop of its
    # own that compiles separately (about a second each); these arrays are written in full below.
    status = np.empty(n_mols, dtype=np.int8)
    n_atoms = np.empty(n_mols, dtype=np.int64)
    n_bonds = np.empty(n_mols, dtype=np.int64)
    z = np.empty(total, dtype=np.uint8)
    inv = np.empty(total, dtype=np.uint32)
    bu = np.empty(total + n_mols, dtype=np.int32)
    bv = np.empty(total + n_mols, dtype=np.int32)
    bt = np.empty(total + n_mols, dtype=np.uint32)
    n_scratch = total if properties else 0
    atom_scratch = np.empty((n_scratch, N_ATOM_PROPERTIES), dtype=np.int8)
    bond_scratch = np.empty((n_scratch + n_mols if properties else 0, N_BOND_PROPERTIES), dtype=np.int8)
    for i in numba.prange(n_mols):
        lo = offsets[i]
        hi = offsets[i + 1]
        st, na, nb = _process(data[lo:hi], z[lo:hi], inv[lo:hi], bu[lo + i:hi + i + 1], bv[lo + i:hi + i + 1],
                              bt[lo + i:hi + i + 1], properties, atom_scratch[lo:hi],
                              bond_scratch[lo + i:hi + i + 1])
        status[i] = st
        n_atoms[i] = na
        n_bonds[i] = nb
    atom_offsets = np.empty(n_mols + 1, dtype=np.int64)
    bond_offsets = np.empty(n_mols + 1, dtype=np.int64)
    atom_offsets[0] = bond_offsets[0] = 0
    for i in range(n_mols):
        atom_offsets[i + 1] = atom_offsets[i] + n_atoms[i]
        bond_offsets[i + 1] = bond_offsets[i] + n_bonds[i]
    atom_inv = np.empty(atom_offsets[-1], dtype=np.uint32)
    atomic_num = np.empty(atom_offsets[-1], dtype=np.uint8)
    bond_atoms = np.empty((bond_offsets[-1], 2), dtype=np.int32)
    bond_types = np.empty(bond_offsets[-1], dtype=np.uint32)
    atom_properties = np.empty((atom_offsets[-1] if properties else 0, N_ATOM_PROPERTIES), dtype=np.int8)
    bond_properties = np.empty((bond_offsets[-1] if properties else 0, N_BOND_PROPERTIES), dtype=np.int8)
    for i in numba.prange(n_mols):
        lo = offsets[i]
        a0 = atom_offsets[i]
        for k in range(n_atoms[i]):
            atom_inv[a0 + k] = inv[lo + k]
            atomic_num[a0 + k] = z[lo + k]
        b0 = bond_offsets[i]
        for k in range(n_bonds[i]):
            bond_atoms[b0 + k, 0] = bu[lo + i + k]
            bond_atoms[b0 + k, 1] = bv[lo + i + k]
            bond_types[b0 + k] = bt[lo + i + k]
        if properties:
            for k in range(n_atoms[i]):
                for c in range(N_ATOM_PROPERTIES):
                    atom_properties[a0 + k, c] = atom_scratch[lo + k, c]
            for k in range(n_bonds[i]):
                for c in range(N_BOND_PROPERTIES):
                    bond_properties[b0 + k, c] = bond_scratch[lo + i + k, c]
    return (status, atom_offsets, atom_inv, atomic_num, bond_offsets, bond_atoms, bond_types, atom_properties,
            bond_properties)


def _checked(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``data`` and ``offsets`` contiguous; raise ValueError naming what is wrong with them."""
    data = np.ascontiguousarray(data)
    offsets = np.ascontiguousarray(offsets)
    if data.dtype != np.uint8 or data.ndim != 1:
        raise ValueError(f"data must be a 1-d uint8 array, got {data.dtype} with shape {data.shape}")
    if offsets.dtype != np.int64 or offsets.ndim != 1 or offsets.shape[0] < 1:
        raise ValueError(f"offsets must be a non-empty 1-d int64 array, got {offsets.dtype} {offsets.shape}")
    if offsets[0] != 0 or offsets[-1] != data.shape[0] or np.any(offsets[1:] < offsets[:-1]):
        raise ValueError("offsets must start at 0, be non-decreasing and end at len(data)")
    return data, offsets


#: The compiled functions :func:`smiles_graph_batch` calls (for :class:`~symmol.kernels.tiering.CompileTier`).
GRAPH_BATCH_KERNELS = (_batch,)


def smiles_graph_batch(data: np.ndarray, offsets: np.ndarray):
    """Morgan graph arrays of many SMILES, for those the kernel can read exactly like RDKit.

    Parameters
    ----------
    data : (n_bytes,) uint8
        The SMILES texts concatenated (ASCII), without separators or surrounding whitespace.
    offsets : (n_molecules + 1,) int64
        SMILES ``i`` is ``data[offsets[i]:offsets[i + 1]]``; non-decreasing, ``offsets[0] == 0``.

    Returns
    -------
    status : (n_molecules,) int8
        0 where accepted; otherwise a refusal code (:data:`REFUSAL_REASONS`): that molecule has
        no atoms or bonds here and must be parsed by RDKit (which decides whether it is valid).
    atom_offsets : (n_molecules + 1,) int64
    atom_invariants : (n_atoms_total,) uint32
        RDKit's ``GetConnectivityInvariants(mol, includeRingMembership=True)``, atoms in SMILES
        order (RDKit's atom order).
    atomic_numbers : (n_atoms_total,) uint8
    bond_offsets : (n_molecules + 1,) int64
    bond_atoms : (n_bonds_total, 2) int32
        Local atom indices of each bond.
    bond_types : (n_bonds_total,) uint32
        ``int(Bond.GetBondType())`` after sanitization (1, 2, 3 or 12 for aromatic).

    Raises
    ------
    ValueError
        If the arrays have the wrong dtype, shape or inconsistent offsets.
    """
    return _batch(*_checked(data, offsets), False)[:7]


def smiles_feature_graph_batch(data: np.ndarray, offsets: np.ndarray):
    r""":func:`smiles_graph_batch`'s arrays with the atom and bond properties of Chemprop's featurizer.

    Molecules with stereo markup (``@``, ``/``, ``\``) are refused too (status 8): their chiral
    tags and bond stereo are RDKit's to decide.

    Parameters
    ----------
    data, offsets
        As in :func:`smiles_graph_batch`.

    Returns
    -------
    status, atom_offsets, atom_invariants, atomic_numbers, bond_offsets, bond_atoms, bond_types
        As in :func:`smiles_graph_batch`.
    atom_properties : (n_atoms_total, 5) int8
        Per atom, RDKit's ``GetTotalDegree()``, ``GetFormalCharge()``, ``GetTotalNumHs()``,
        ``int(GetHybridization())`` and ``GetIsAromatic()`` (:data:`ATOM_PROPERTIES`).
    bond_properties : (n_bonds_total, 2) int8
        Per bond, ``GetIsConjugated()`` and ``IsInRing()`` (:data:`BOND_PROPERTIES`).

    Raises
    ------
    ValueError
        If the arrays have the wrong dtype, shape or inconsistent offsets.
    """
    return _batch(*_checked(data, offsets), True)
