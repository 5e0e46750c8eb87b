"""A reader of RDKit's binary molecule pickle (``MolPickler``, ``Mol.ToBinary``) in pure Numba.

:func:`read_pickles` reads, from many concatenated pickles, exactly the inputs RDKit's default
Morgan generator works from: each bond (begin atom, end atom, ``int(Bond.GetBondType())``) and
each atom's connectivity invariant (``GetConnectivityInvariants(mol, includeRingMembership=True)``).
The invariant is recomputed from the pickled atom record (atomic number, formal charge, explicit
H count, implicit valence, ``noImplicit`` flag), the bond list (degree, hydrogen neighbours) and
the ring section (membership), hashed as RDKit does (``hash_range`` of atomic number, total degree,
total H count with H neighbours, formal charge, mass delta, ring flag). An atom with an isotope or
a mass, or a pickle without ring information, leaves the invariants to RDKit (the mass delta needs
RDKit's isotope table): status :data:`INVARIANTS_FROM_RDKIT`.

The reader is strict: it checks the header, walks every atom and bond record and the ring section
and requires the end-of-molecule tag as the last byte. Any record it does not fully understand
(query atoms or bonds, monomer info, stereo or substance groups, another pickle major version,
...) makes it give up on that molecule (a non-zero status, :data:`PICKLE_STATUS`), which the
caller then reads with RDKit (:func:`symmol.chem.mol_arrays.mol_graph_batch` does). Nothing here
imports RDKit: the input is bytes.
"""

from __future__ import annotations

import numba
import numpy as np

from .config import jit, parallel_jit
from .morgan import _hash_combine

__all__ = ["INVARIANTS_FROM_RDKIT", "PICKLE_STATUS", "read_pickles"]

# MolPickler constants (Code/GraphMol/MolPickler.{h,cpp}, pickle version 16.x)
_ENDIAN_ID = 0xDEADBEEF
_PICKLE_MAJOR = 16
_TAG_BEGINATOM = 1
_TAG_BEGINBOND = 11
_TAG_BEGINSSSR = 20
_TAG_ENDMOL = 22
_TAG_ATOM_MAPNUMBER = 24
_TAG_ATOM_DUMMYLABEL = 44
_TAG_BEGINSYMMSSSR = 66
_TAG_BEGINFASTFIND = 67
_TAG_BEGINFINDOTHERORUNKNOWN = 68
_BOND_SINGLE = 1

# parse status codes (0 = success); anything else falls back to RDKit
_OK = 0
_E_TRUNCATED = 1
_E_HEADER = 2
_E_ATOM = 3
_E_BOND = 4
_E_TRAILER = 5
# bonds read, but the atom invariants need RDKit (isotope/mass set, or no ring information)
_INV_FROM_RDKIT = 6

#: Status of a molecule read by :func:`read_pickles` where its bonds were read but its atom
#: invariants need RDKit (an isotope or mass, or no ring information in the pickle).
INVARIANTS_FROM_RDKIT = _INV_FROM_RDKIT

#: Status codes of :func:`read_pickles` and their meaning.
PICKLE_STATUS = {
    _OK: "read: bonds and atom invariants",
    _E_TRUNCATED: "truncated pickle",
    _E_HEADER: "header not understood (byte order, pickle version, atom count)",
    _E_ATOM: "atom record not understood (query atom, monomer info, ...)",
    _E_BOND: "bond record not understood (query bond, atom index, ...)",
    _E_TRAILER: "ring section or end-of-molecule tag not understood",
    _INV_FROM_RDKIT: "bonds read; the atom invariants need RDKit (isotope or mass, or no ring information)",
}


@jit
def _u32(buf: np.ndarray, p: int) -> int:
    """Little-endian uint32 at ``buf[p:p + 4]``."""
    return (np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8) | (np.int64(buf[p + 2]) << 16)
            | (np.int64(buf[p + 3]) << 24))


@jit
def _i32(buf: np.ndarray, p: int) -> int:
    """Little-endian int32 at ``buf[p:p + 4]``."""
    v = _u32(buf, p)
    if v >= 2**31:
        v -= 2**32
    return v


@jit
def _header(buf: np.ndarray) -> tuple[int, int, int]:
    """(status, n_atoms, n_bonds) from the fixed 30-byte head (up to the BEGINATOM tag)."""
    if buf.shape[0] < 30:
        return _E_TRUNCATED, 0, 0
    if _u32(buf, 0) != _ENDIAN_ID or _i32(buf, 4) != 0 or _i32(buf, 8) != _PICKLE_MAJOR:
        return _E_HEADER, 0, 0
    n_atoms = _i32(buf, 20)
    n_bonds = _i32(buf, 24)
    if n_atoms < 0 or n_bonds < 0 or buf[29] != _TAG_BEGINATOM:
        return _E_HEADER, 0, 0
    return _OK, n_atoms, n_bonds


@jit
def _read_index(buf: np.ndarray, p: int, wide: bool) -> int:
    """Read an atom index ``T`` (uint8, or int32 when the molecule has > 255 atoms)."""
    if wide:
        return _i32(buf, p)
    return np.int64(buf[p])


# One pass over the blob's tagged sections, per molecule on the hot path: kept in one function.
@jit
def _parse_pickle(buf: np.ndarray, n_atoms: int, bond_atoms: np.ndarray,  # noqa: C901, PLR0912, PLR0915
                  bond_types: np.ndarray, atom_inv: np.ndarray) -> int:
    """Parse one ``MolPickler`` blob; fill ``bond_atoms``/``bond_types`` and ``atom_inv``.

    Returns a status code, ``_OK`` only if the whole blob was understood. With status
    ``_OK`` but an atom carrying an isotope or mass (whose mass delta needs RDKit's isotope
    table) or no ring information in the blob, ``atom_inv`` is left for the caller:
    the status is then ``_INV_FROM_RDKIT``.
    """
    end = buf.shape[0]
    n_bonds = bond_atoms.shape[0]
    wide = n_atoms > 255
    t = 4 if wide else 1
    p = 30
    atomic_num = np.empty(n_atoms, dtype=np.int64)
    charge = np.zeros(n_atoms, dtype=np.int64)
    n_hs = np.zeros(n_atoms, dtype=np.int64)
    degree = np.zeros(n_atoms, dtype=np.int64)
    h_nbrs = np.zeros(n_atoms, dtype=np.int64)
    in_ring = np.zeros(n_atoms, dtype=np.bool_)
    inv_ok = True
    # ---- atoms
    for a in range(n_atoms):
        if p + 6 > end:
            return _E_TRUNCATED
        atomic_num[a] = buf[p]
        flags = buf[p + 1]
        p += 2
        if flags & 0x13:  # query (0x10), monomer info (0x02) or unknown (0x01)
            return _E_ATOM
        if flags & 0x80:  # legacy coordinates
            p += 12
        if p + 4 > end:
            return _E_TRUNCATED
        prop_flags = _i32(buf, p)
        p += 4
        if prop_flags < 0 or prop_flags >= (1 << 9):
            return _E_ATOM
        if prop_flags & 1:  # mass offset as float
            p += 4
            inv_ok = False
        n_implicit = 0
        for bit in range(1, 8):  # charge, chirality, hybridisation, Hs, valences, radicals
            if prop_flags & (1 << bit):
                if p >= end:
                    return _E_TRUNCATED
                value = np.int64(buf[p])
                if bit == 1:  # formal charge, signed char
                    charge[a] = value - 256 if value > 127 else value
                elif bit == 4:  # explicit H count
                    n_hs[a] += value
                elif bit == 6:  # implicit valence = implicit H count
                    if value > 127:
                        inv_ok = False
                    n_implicit = value
                p += 1
        if not flags & 0x20:  # noImplicit flag clear: implicit Hs count
            n_hs[a] += n_implicit
        if prop_flags & (1 << 8):  # isotope
            p += 4
            inv_ok = False
        if flags & 0x08:  # atom map number
            if p + 2 > end or buf[p] != _TAG_ATOM_MAPNUMBER:
                return _E_ATOM
            c = buf[p + 1]
            p += 2
            if c > 127:  # negative as signed char: an int32 follows
                p += 4
        if flags & 0x04:  # dummy label string
            if p + 5 > end or buf[p] != _TAG_ATOM_DUMMYLABEL:
                return _E_ATOM
            p += 5 + _u32(buf, p + 1)
        if p > end:
            return _E_TRUNCATED
    # ---- bonds
    if p >= end or buf[p] != _TAG_BEGINBOND:
        return _E_BOND
    p += 1
    for b in range(n_bonds):
        if p + 2 * t + 1 > end:
            return _E_TRUNCATED
        u = _read_index(buf, p, wide)
        v = _read_index(buf, p + t, wide)
        p += 2 * t
        flags = buf[p]
        p += 1
        if flags & 0x90:  # query bond (0x10) or unknown (0x80)
            return _E_BOND
        if u < 0 or v < 0 or u >= n_atoms or v >= n_atoms or u == v:
            return _E_BOND
        bt = _BOND_SINGLE
        if flags & 0x08:  # bond type
            if p + 1 > end or buf[p] > 127:
                return _E_BOND
            bt = np.int64(buf[p])
            p += 1
        if flags & 0x04:  # bond direction
            p += 1
        if flags & 0x02:  # stereo, number of stereo atoms, stereo atoms
            if p + 2 > end or buf[p + 1] > 127:
                return _E_BOND
            p += 2 + t * np.int64(buf[p + 1])
        if flags & 0x01:  # two strings (end points, attachment)
            for _s in range(2):
                if p + 4 > end:
                    return _E_TRUNCATED
                p += 4 + _u32(buf, p)
        if p > end:
            return _E_TRUNCATED
        bond_atoms[b, 0] = u
        bond_atoms[b, 1] = v
        bond_types[b] = bt
        degree[u] += 1
        degree[v] += 1
        if atomic_num[v] == 1:  # hydrogen neighbours count in getTotalNumHs(includeNeighbors=true)
            h_nbrs[u] += 1
        if atomic_num[u] == 1:
            h_nbrs[v] += 1
    # ---- ring info (optional), then the end-of-molecule tag as the last byte
    if p >= end:
        return _E_TRAILER
    tag = buf[p]
    p += 1
    if (tag == _TAG_BEGINSSSR or tag == _TAG_BEGINSYMMSSSR or tag == _TAG_BEGINFASTFIND
            or tag == _TAG_BEGINFINDOTHERORUNKNOWN):
        if p + 4 > end:
            return _E_TRUNCATED
        n_rings = _u32(buf, p)
        p += 4
        for _ in range(n_rings):
            if p + t > end:
                return _E_TRUNCATED
            size = _read_index(buf, p, wide)
            if size < 0:
                return _E_TRAILER
            p += t
            if p + t * size > end:
                return _E_TRUNCATED
            for k in range(size):  # the ring's atoms
                ring_atom = _read_index(buf, p + t * k, wide)
                if ring_atom < 0 or ring_atom >= n_atoms:
                    return _E_TRAILER
                in_ring[ring_atom] = True
            p += t * size
        if p >= end:
            return _E_TRAILER
        tag = buf[p]
        p += 1
    else:
        inv_ok = False  # ring perception not stored: membership unknown
    if tag != _TAG_ENDMOL or p != end:
        return _E_TRAILER
    if not inv_ok:
        return _INV_FROM_RDKIT
    # RDKit getConnectivityInvariants: hash_range(atomic number, total degree, total Hs
    # (hydrogen neighbours included), formal charge, mass delta (0 without isotope), [1 if in a ring])
    for a in range(n_atoms):
        seed = _hash_combine(np.uint64(0), np.uint64(atomic_num[a]))
        seed = _hash_combine(seed, np.uint64(degree[a] + n_hs[a]))
        seed = _hash_combine(seed, np.uint64(n_hs[a] + h_nbrs[a]))
        seed = _hash_combine(seed, np.uint64(charge[a] & 0xFFFFFFFF))
        seed = _hash_combine(seed, np.uint64(0))
        if in_ring[a]:
            seed = _hash_combine(seed, np.uint64(1))
        atom_inv[a] = np.uint32(seed)
    return _OK


@parallel_jit
def _read_batch(data: np.ndarray, blob_offsets: np.ndarray, n_atoms: np.ndarray):
    """Parse many concatenated pickles; bonds and atom invariants go to disjoint slices.

    Returns ``(status, bond_offsets, bond_atoms, bond_types, atom_offsets, atom_inv)``.
    ``status`` is ``_OK`` (all read), ``_INV_FROM_RDKIT`` (bonds read, invariants to be
    filled from RDKit) or an error code (bond slice of length 0, everything to be refilled).
    """
    n_mols = blob_offsets.shape[0] - 1
    status = np.zeros(n_mols, dtype=np.int64)
    n_bonds = np.zeros(n_mols, dtype=np.int64)
    for i in range(n_mols):  # header only: serial keeps compile time down
        s, na, nb = _header(data[blob_offsets[i]:blob_offsets[i + 1]])
        if s == _OK and na != n_atoms[i]:
            s = _E_HEADER
        status[i] = s
        n_bonds[i] = nb if s == _OK else 0
    bond_offsets = np.zeros(n_mols + 1, dtype=np.int64)
    atom_offsets = np.zeros(n_mols + 1, dtype=np.int64)
    for i in range(n_mols):
        bond_offsets[i + 1] = bond_offsets[i] + n_bonds[i]
        atom_offsets[i + 1] = atom_offsets[i] + n_atoms[i]
    bond_atoms = np.empty((bond_offsets[-1], 2), dtype=np.int32)
    bond_types = np.empty(bond_offsets[-1], dtype=np.uint32)
    atom_inv = np.zeros(atom_offsets[-1], dtype=np.uint32)
    for i in numba.prange(n_mols):
        if status[i] == _OK:
            b0 = bond_offsets[i]
            b1 = bond_offsets[i + 1]
            status[i] = _parse_pickle(data[blob_offsets[i]:blob_offsets[i + 1]], n_atoms[i],
                                      bond_atoms[b0:b1], bond_types[b0:b1],
                                      atom_inv[atom_offsets[i]:atom_offsets[i + 1]])
    return status, bond_offsets, bond_atoms, bond_types, atom_offsets, atom_inv


def read_pickles(data: np.ndarray, blob_offsets: np.ndarray, n_atoms: np.ndarray):
    """Bonds and Morgan atom invariants of many molecules from their concatenated RDKit pickles.

    Parameters
    ----------
    data : (n_bytes,) uint8
        The pickles (``Mol.ToBinary()``, without conformers or properties) one after the other.
    blob_offsets : (n_molecules + 1,) int64
        Pickle ``i`` is ``data[blob_offsets[i]:blob_offsets[i + 1]]``; non-decreasing, starting at 0
        and ending at ``len(data)``.
    n_atoms : (n_molecules,) int64
        ``Mol.GetNumAtoms()`` of each molecule; a pickle holding another count is refused.

    Returns
    -------
    status : (n_molecules,) int64
        0 where everything was read; :data:`INVARIANTS_FROM_RDKIT` where the bonds were read but the
        atom invariants were not (they are left 0); else an error code (:data:`PICKLE_STATUS`): the
        molecule's bond slice holds nothing meaningful (it is empty when the header was not
        understood) and its invariants are 0.
    bond_offsets : (n_molecules + 1,) int64
        Bonds of molecule ``i`` are ``bond_offsets[i]:bond_offsets[i + 1]``.
    bond_atoms : (n_bonds_total, 2) int32
        Begin and end atom of each bond, local to its molecule, in RDKit's bond order.
    bond_types : (n_bonds_total,) uint32
        ``int(Bond.GetBondType())``.
    atom_offsets : (n_molecules + 1,) int64
        Cumulative ``n_atoms``.
    atom_invariants : (n_atoms_total,) uint32
        RDKit's ``GetConnectivityInvariants(mol, includeRingMembership=True)`` where status is 0.

    Raises
    ------
    ValueError
        If the arrays have the wrong dtype, shape or inconsistent offsets.
    """
    data = np.ascontiguousarray(data)
    blob_offsets = np.ascontiguousarray(blob_offsets)
    n_atoms = np.ascontiguousarray(n_atoms)
    if data.dtype != np.uint8 or data.ndim != 1:
        raise ValueError(f"data must be a 1-d uint8 array, got {data.dtype} with shape {data.shape}")
    if blob_offsets.dtype != np.int64 or blob_offsets.ndim != 1 or blob_offsets.shape[0] < 1:
        raise ValueError(f"blob_offsets must be a non-empty 1-d int64 array, got {blob_offsets.dtype} "
                         f"{blob_offsets.shape}")
    if n_atoms.dtype != np.int64 or n_atoms.shape != (blob_offsets.shape[0] - 1,):
        raise ValueError(f"n_atoms must be a ({blob_offsets.shape[0] - 1},) int64 array, got {n_atoms.dtype} "
                         f"{n_atoms.shape}")
    if (blob_offsets[0] != 0 or blob_offsets[-1] != data.shape[0]
            or np.any(blob_offsets[1:] < blob_offsets[:-1])):
        raise ValueError("blob_offsets must start at 0, be non-decreasing and end at len(data)")
    if np.any(n_atoms < 0):
        raise ValueError("n_atoms must not be negative")
    return _read_batch(data, blob_offsets, n_atoms)
