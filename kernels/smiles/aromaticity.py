"""RDKit's default aromaticity model on the Kekule structure.

The model of ``MolOps::setAromaticity`` (``Aromaticity.cpp``): electron donors, candidate rings,
Huckel's rule on fused ring systems.
"""

from __future__ import annotations

import numpy as np

from ..config import jit
from .codes import _B_AROMATIC, _LIMIT, _MAX_CYCLES, _NO_DONOR, _ONE, _RINGS, _TWO, _VACANT
from .rings import _cycle_ranks, _ring_arrays, _ring_systems, _shared_bonds, _smallest_rings
from .valence import _default_valence, _more_electronegative, _outer_electrons


@jit(inline="always")
def _count_atom_electrons(z, charge, degree, total_h, valence) -> int:
    """Count the electrons an atom can put into a ring (RDKit ``countAtomElec``).

    Default valence minus its degree with Hs, plus lone pairs; at most 1 for an atom with more than
    one unsaturation; -1 for an atom that cannot take part (default valence 1 or less, more than 3
    neighbours with Hs).
    """
    dv = _default_valence(z)
    if dv <= 1:
        return -1
    deg3 = degree + total_h
    if deg3 > 3:
        return -1
    nlp = _outer_electrons(z) - dv - charge
    if nlp < 0:
        nlp = 0
    nelec = dv - deg3 + nlp
    if nelec > 1 and valence - degree > 1:
        nelec = 1
    return nelec


@jit(inline="always")
def _donor_type(z, charge, degree, total_h, valence, exo_partner, cyclic_multiple) -> int:
    """Classify an atom as an electron donor (RDKit ``getAtomDonorTypeArom``).

    An exocyclic multiple bond to a more electronegative atom steals the atom's electrons. Returns
    ``_VACANT``, ``_ONE``, ``_TWO`` or ``_NO_DONOR``.
    """
    nelec = _count_atom_electrons(z, charge, degree, total_h, valence)
    if nelec < 0:
        return _NO_DONOR
    if nelec == 0:
        if exo_partner > 0:
            return _VACANT
        if cyclic_multiple:
            return _ONE
        return _NO_DONOR
    if nelec == 1:
        if exo_partner > 0:
            return _VACANT if _more_electronegative(exo_partner, z) else _ONE
        if valence - degree > 0:
            return _ONE
        if charge == 1:
            return _VACANT
        return _NO_DONOR
    if exo_partner > 0 and _more_electronegative(exo_partner, z):
        nelec -= 1
    return _ONE if nelec % 2 == 1 else _TWO


@jit(inline="always")
def _aromatic_candidate(z, charge, total_h, valence, n_multiple) -> bool:
    """Tell whether an atom can be aromatic (RDKit ``isAtomCandForArom``).

    The default valence state of the isoelectronic element at most, and at most one multiple bond
    (elements up to Ar, and Se).
    """
    if z > 18 and z != 34:
        return False
    if valence + total_h > _default_valence(z - charge):
        return False
    return n_multiple <= 1


@jit
def _donor(z, charge, degree, total_h, valence, n_multiple, exo_partner, cyclic_multiple) -> int:
    """Count the pi electrons a ring atom gives; ``_NO_DONOR`` when it is no aromaticity candidate.

    RDKit ``getAtomDonorTypeArom`` with exocyclic bonds stealing electrons, and ``isAtomCandForArom``.

    ``valence`` is the explicit valence of the Kekule structure (bond orders), ``n_multiple`` the
    number of double/triple bonds, ``exo_partner`` the atomic number across a non-ring multiple bond
    (0 if none), ``cyclic_multiple`` whether a ring bond of this atom is double or triple.
    """
    donor = _donor_type(z, charge, degree, total_h, valence, exo_partner, cyclic_multiple)
    if donor == _NO_DONOR or not _aromatic_candidate(z, charge, total_h, valence, n_multiple):
        return _NO_DONOR
    return donor


@jit
def _donor_types(n_atoms, z, charge, degree, total_h, in_ring, need, other, n_arom, n_multiple, exo_partner,
                 cyclic_multiple, electrons) -> None:
    """Write the donor type (:func:`_donor`) of every ring atom on the Kekule structure to ``electrons``.

    ``electrons`` is all ``_NO_DONOR`` on entry; a matched atom (``need``) has one cyclic double bond.
    """
    for a in range(n_atoms):
        if not in_ring[a]:
            continue
        extra = 1 if need[a] else 0
        electrons[a] = _donor(z[a], charge[a], degree[a], total_h[a], other[a] + n_arom[a] + extra,
                              n_multiple[a] + extra, exo_partner[a], cyclic_multiple[a] or need[a])


@jit
def _huckel(total: int) -> bool:
    """RDKit's ``applyHuckel`` for donors of fixed electron counts: 4n + 2 from 6 on, or exactly 2."""
    if total >= 6:
        return (total - 2) % 4 == 0
    return total == 2


@jit
def _next_combination(comb, size, n) -> bool:
    """Advance ``comb[:size]`` to the next ``size``-subset of ``range(n)`` in lexicographic order."""
    i = size - 1
    while i >= 0 and comb[i] == n - size + i:
        i -= 1
    if i < 0:
        return False
    comb[i] += 1
    for j in range(i + 1, size):
        comb[j] = comb[j - 1] + 1
    return True


@jit
def _connected(comb, size, rings, n_rings, fused_with, in_comb, stack) -> bool:
    """Tell whether the rings ``rings[comb[:size]]`` are connected through shared bonds (``fused_with``).

    ``in_comb`` and ``stack`` are scratch of ``n_rings``.
    """
    for j in range(n_rings):
        in_comb[j] = False
    for j in range(size):
        in_comb[comb[j]] = True
    reached = 1
    stack[0] = comb[0]
    in_comb[comb[0]] = False
    top = 1
    while top > 0:
        top -= 1
        r = stack[top]
        for j in range(n_rings):
            if in_comb[j] and fused_with[rings[r], rings[j]]:
                in_comb[j] = False
                stack[top] = j
                top += 1
                reached += 1
    return reached == size


@jit
def _combination_electrons(comb, size, rings, ring_atoms, ring_len, electrons, atom_mark) -> tuple[int, bool]:
    """Count the pi electrons of the union of atoms of a ring combination (RDKit's ``applyHuckel``).

    Also returns whether an atom is in three or more of its rings. ``atom_mark`` is all 0 on entry
    and return.
    """
    total = 0
    crowded = False
    for j in range(size):
        r = rings[comb[j]]
        for i in range(ring_len[r]):
            a = ring_atoms[r, i]
            if atom_mark[a] == 0:
                total += electrons[a]
            atom_mark[a] += 1
            if atom_mark[a] >= 3:
                crowded = True
    for j in range(size):
        r = rings[comb[j]]
        for i in range(ring_len[r]):
            atom_mark[ring_atoms[r, i]] = 0
    return total, crowded


@jit
def _mark_combination(comb, size, rings, ring_atoms, ring_bonds, ring_len, past_exit, aromatic_atom, aromatic_bond,
                      done, done_atoms, bond_count) -> tuple[bool, int]:
    """Mark an aromatic ring combination: all its atoms, and the bonds it holds exactly once.

    A bond shared by two of its rings is not marked by it, as in RDKit's ``applyHuckelToFused``.

    ``past_exit``: every candidate atom was already aromatic when this combination size began, where
    RDKit would have stopped; marking anything new is then refused (False). Returns (ok, the number
    of candidate atoms done); ``bond_count`` is all 0 on entry and on a True return.
    """
    for j in range(size):
        r = rings[comb[j]]
        for i in range(ring_len[r]):
            a = ring_atoms[r, i]
            if not aromatic_atom[a]:
                if past_exit:
                    return False, done_atoms
                aromatic_atom[a] = True
            if not done[a]:
                done[a] = True
                done_atoms += 1
            bond_count[ring_bonds[r, i]] += 1
    for j in range(size):
        r = rings[comb[j]]
        for i in range(ring_len[r]):
            b = ring_bonds[r, i]
            if bond_count[b] == 1 and not aromatic_bond[b]:
                if past_exit:
                    return False, done_atoms
                aromatic_bond[b] = True
            bond_count[b] = 0
    return True, done_atoms


@jit
def _fused_aromaticity(rings, n_rings, ring_atoms, ring_bonds, ring_len, electrons, fused_with, n_candidate_atoms,
                       aromatic_atom, aromatic_bond, atom_mark, bond_count) -> bool:
    """RDKit ``applyHuckelToFused`` on one fused system (candidate ring ids ``rings[:n_rings]``).

    Every combination of up to 6 rings connected through shared bonds whose union of atoms obeys
    Huckel's rule marks its atoms aromatic and the bonds it contains once. RDKit has refined this
    over the years (rings sharing more than one bond are not fused; atoms in three rings of a
    combination do not count; when to stop early), so the molecule is refused (False) wherever
    those refinements could change the outcome: a combination holding an atom in three of its
    rings, or a combination that marks something new after every candidate atom was already
    aromatic. Systems of more than 12 rings are refused too.
    """
    if n_rings > 12:
        return False
    comb = np.empty(6, dtype=np.int64)
    done = np.zeros(aromatic_atom.shape[0], dtype=np.bool_)
    in_comb = np.zeros(n_rings, dtype=np.bool_)
    stack = np.empty(n_rings, dtype=np.int64)
    done_atoms = 0
    past_exit = False
    for size in range(1, min(n_rings, 6) + 1):
        if done_atoms == n_candidate_atoms:
            past_exit = True
        for j in range(size):
            comb[j] = j
        more = True
        while more:
            if _connected(comb, size, rings, n_rings, fused_with, in_comb, stack):
                total, crowded = _combination_electrons(comb, size, rings, ring_atoms, ring_len, electrons,
                                                        atom_mark)
                if crowded:
                    return False
                if _huckel(total):
                    ok, done_atoms = _mark_combination(comb, size, rings, ring_atoms, ring_bonds, ring_len,
                                                       past_exit, aromatic_atom, aromatic_bond, done, done_atoms,
                                                       bond_count)
                    if not ok:
                        return False
            more = _next_combination(comb, size, n_rings)
    return True


@jit
def _candidate_rings(ring_atoms, ring_len, n_rings, electrons, z, candidate) -> tuple[int, int]:
    """Find RDKit's candidate rings (``cRings``): the rings whose atoms are all aromaticity candidates.

    A candidate is an atom with a donor type; the ring ids go to ``candidate``. Returns (status,
    number of candidates); ``_RINGS`` for a candidate ring of more than 6 atoms holding O, S or Se
    (RDKit declines O and S lone pairs in larger rings, ``C1=CC=CC=CSC=C1`` stays Kekule, but not
    Se's, by a rule not reproduced here), and for an O, S or Se atom of a candidate ring that also
    lies on a ring of more than 8 atoms (:func:`_chalcogen_on_large_ring`).
    """
    n_cand = 0
    for r in range(n_rings):
        ok = True
        chalcogen = False
        for i in range(ring_len[r]):
            a = ring_atoms[r, i]
            if electrons[a] == _NO_DONOR:
                ok = False
                break
            chalcogen = chalcogen or _is_chalcogen(z[a])
        if ok:
            if chalcogen and ring_len[r] > 6:
                return _RINGS, n_cand
            candidate[n_cand] = r
            n_cand += 1
    if _chalcogen_on_large_ring(ring_atoms, ring_len, n_rings, z, candidate, n_cand):
        return _RINGS, n_cand
    return 0, n_cand


@jit(inline="always")
def _is_chalcogen(atomic_number) -> bool:
    """O, S or Se: the ring atoms whose lone pair RDKit's rules treat by ring size."""
    return atomic_number == 8 or atomic_number == 16 or atomic_number == 34


@jit
def _chalcogen_on_large_ring(ring_atoms, ring_len, n_rings, z, candidate, n_cand) -> bool:
    """Whether an O, S or Se atom of a candidate ring also lies on a ring of more than 8 atoms.

    RDKit's versions disagree there: 2026.03 declines the lone pair of a chalcogen that lies on any
    ring of 9 atoms or more, so a 2,5-bridged furan or thiophene in a macrocycle (a furanophane,
    ``C1CCCCCc2oc(cc2)C1``) is Kekule, while 2026.09 keeps it aromatic. Such molecules are refused,
    so RDKit itself decides under either version (``tests/test_smiles_kernel.py``).
    """
    for r in range(n_rings):
        if ring_len[r] <= 8:
            continue
        for i in range(ring_len[r]):
            a = ring_atoms[r, i]
            if not _is_chalcogen(z[a]):
                continue
            for j in range(n_cand):
                c = candidate[j]
                for k in range(ring_len[c]):
                    if ring_atoms[c, k] == a:
                        return True
    return False


@jit
def _fused_pairs(candidate, n_cand, ring_sorted, ring_len, fused_with) -> bool:
    """Find which candidate rings are fused, to ``fused_with`` (all False on entry).

    Two rings are fused when they share exactly one bond (RDKit's ``makeRingNeighborMap``, rings over
    24 atoms left out). False (refused) for two rings sharing more bonds (RDKit does not fuse such
    rings, github #1928: refused, to be safe).
    """
    for j in range(n_cand):
        r = candidate[j]
        for jj in range(j):
            r2 = candidate[jj]
            if ring_len[r] > 24 or ring_len[r2] > 24:
                continue
            shared = _shared_bonds(ring_sorted, ring_len, r, r2)
            if shared > 1:
                return False
            if shared == 1:
                fused_with[r, r2] = True
                fused_with[r2, r] = True
    return True


@jit
def _count_candidate_atoms(candidate, n_cand, ring_atoms, ring_len, mark) -> int:
    """Count the distinct atoms in the candidate rings. ``mark`` is all 0 on entry and return."""
    n_cand_atoms = 0
    for j in range(n_cand):
        r = candidate[j]
        for i in range(ring_len[r]):
            if mark[ring_atoms[r, i]] == 0:
                mark[ring_atoms[r, i]] = 1
                n_cand_atoms += 1
    for j in range(n_cand):
        r = candidate[j]
        for i in range(ring_len[r]):
            mark[ring_atoms[r, i]] = 0
    return n_cand_atoms


@jit
def _fused_system(start, candidate, n_cand, fused_with, assigned, system, stack) -> int:
    """Collect the fused system of candidate ``start`` (not yet ``assigned``); return its ring count.

    In RDKit's depth-first pick order (``pickFusedRings``): its ring ids go to ``system``. ``stack``
    is scratch of ``n_cand``.
    """
    size = 0
    top = 1
    stack[0] = start
    assigned[start] = True
    while top > 0:
        top -= 1
        j = stack[top]
        system[size] = candidate[j]
        size += 1
        for jj in range(n_cand - 1, -1, -1):
            if not assigned[jj] and fused_with[candidate[j], candidate[jj]]:
                assigned[jj] = True
                stack[top] = jj
                top += 1
    return size


@jit
def _aromatic_rings(n_atoms, n_bonds, z, bu, bv, adj_start, adj_atom, adj_bond, ring_bond, in_ring, usable, electrons,
                    aromatic_atom, aromatic_bond) -> int:
    """RDKit's aromaticity perception on the Kekule structure: fill ``aromatic_atom``/``aromatic_bond``.

    ``electrons`` holds each ring atom's donor type (:func:`_donor`), ``usable`` the ring bonds between two
    candidates. The smallest rings (:func:`_smallest_rings`) of the ring systems holding a usable
    bond, their candidate rings, fused through shared bonds, and Huckel's rule on each fused system.
    Returns 0, or a refusal code where RDKit's outcome is not certain. The working arrays are
    allocated here, the kernels this calls fill them (see the package docstring on why).
    """
    queue = np.empty(n_atoms, dtype=np.int64)
    component = np.full(n_atoms, -1, dtype=np.int64)
    n_components = _ring_systems(n_atoms, in_ring, adj_start, adj_atom, adj_bond, ring_bond, component, queue)
    rank = np.zeros(n_components, dtype=np.int64)
    relevant = np.zeros(n_components, dtype=np.bool_)
    total_rank = _cycle_ranks(n_atoms, n_bonds, bu, in_ring, ring_bond, usable, component, n_components, rank,
                              relevant)
    if total_rank > _MAX_CYCLES:
        return _LIMIT
    ring_atoms, ring_bonds, ring_sorted, ring_len, ring_component = _ring_arrays(total_rank, n_atoms)
    found = np.zeros(n_components, dtype=np.int64)
    prev = np.full(n_atoms, -1, dtype=np.int64)
    cyc_atoms = np.empty(n_atoms, dtype=np.int64)
    cyc_bonds = np.empty(n_atoms, dtype=np.int64)
    sorted_bonds = np.empty(n_atoms, dtype=np.int64)
    status, n_found = _smallest_rings(n_bonds, bu, bv, adj_start, adj_atom, adj_bond, ring_bond, component, rank,
                                      relevant, found, ring_atoms, ring_bonds, ring_sorted, ring_len, ring_component,
                                      prev, queue, cyc_atoms, cyc_bonds, sorted_bonds)
    if status != 0:
        return status
    candidate = np.zeros(n_found, dtype=np.int64)
    status, n_cand = _candidate_rings(ring_atoms, ring_len, n_found, electrons, z, candidate)
    if status != 0 or n_cand == 0:
        return status
    fused_with = np.zeros((n_found, n_found), dtype=np.bool_)
    if not _fused_pairs(candidate, n_cand, ring_sorted, ring_len, fused_with):
        return _RINGS
    # Huckel's rule on every fused system of candidate rings, in RDKit's order
    mark = np.zeros(n_atoms, dtype=np.int64)
    n_cand_atoms = _count_candidate_atoms(candidate, n_cand, ring_atoms, ring_len, mark)
    bond_count = np.zeros(n_bonds, dtype=np.int64)
    system = np.empty(n_cand, dtype=np.int64)
    assigned = np.zeros(n_cand, dtype=np.bool_)
    stack = np.empty(n_cand, dtype=np.int64)
    for start in range(n_cand):
        if assigned[start]:
            continue
        size = _fused_system(start, candidate, n_cand, fused_with, assigned, system, stack)
        if not _fused_aromaticity(system, size, ring_atoms, ring_bonds, ring_len, electrons, fused_with,
                                  n_cand_atoms, aromatic_atom, aromatic_bond, mark, bond_count):
            return _RINGS
    return 0


@jit
def _usable_bonds(n_bonds, bu, bv, ring_bond, electrons, usable) -> bool:
    """Mark in ``usable`` (all False on entry) the ring bonds between two aromaticity candidates.

    Returns whether there is any.
    """
    any_usable = False
    for b in range(n_bonds):
        if ring_bond[b] and electrons[bu[b]] != _NO_DONOR and electrons[bv[b]] != _NO_DONOR:
            usable[b] = True
            any_usable = True
    return any_usable


@jit
def _written_aromatic_kept(n_atoms, n_bonds, aromatic, bo, aromatic_atom, aromatic_bond) -> bool:
    """Whether everything written aromatic became aromatic (else RDKit's own Kekule form would show)."""
    for a in range(n_atoms):
        if aromatic[a] and not aromatic_atom[a]:
            return False
    for b in range(n_bonds):
        if bo[b] == _B_AROMATIC and not aromatic_bond[b]:
            return False
    return True
