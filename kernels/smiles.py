"""SMILES → Morgan graph arrays in pure Numba, for the molecules it can prove it reads like RDKit.

RDKit's ``Chem.MolFromSmiles`` spends ~140-190 us per drug-like molecule parsing and sanitizing
(``bench/results/featurize_steps.md``), twenty times the ~7 us of the ECFP4 kernel itself. What the
default Morgan generator reads from the sanitized molecule is small: per atom the connectivity
invariant (atomic number, total degree, total H count, formal charge, isotope mass delta, ring
membership) and per bond its type, aromatic included. :func:`smiles_graph_batch` computes exactly
these from the SMILES text for the common case, and *refuses* (a non-zero status) every molecule
outside the subset it handles, so that the caller parses that one with RDKit. Acceptance is the
contract: an accepted molecule has RDKit's atoms (same order), bonds and invariants.

The subset (anything else is refused):

* the organic subset ``B C N O P S F Cl Br I`` and aromatic ``c n o s``; bracket atoms of
  ``C N O S P B F Cl Br I Si Se Na K Li`` and aromatic ``c n o s`` without isotope or atom class, with
  an ``H`` count, a charge and ``@``/``@@`` (ignored: ECFP without chirality does not read stereo),
  whose (element, charge, valence) is in a small table of valences RDKit accepts (``_bracket_valence_ok``);
* bonds ``- = # : / \\`` and implicit ones, branches, ring closures ``0-9`` and ``%nn``, ``.``;
* implicit hydrogens by RDKit's default valences (``C`` 4, ``N`` 3, ``O`` 2, ``S`` 2/4/6,
  ``P`` 3/5, ``B`` 3, halogens 1), refusing a valence RDKit would reject or adjust (nitro written
  ``N(=O)=O``, hypervalent halogens, ...);
* aromaticity as RDKit's default model decides it (``MolOps::setAromaticity``, ``Aromaticity.cpp``):
  the atoms written aromatic get a Kekule structure (a perfect matching of those that need a
  double bond, else refused so that RDKit reports "Can't kekulize"); every ring atom gets RDKit's
  electron-donor type from its Kekule valence (``countAtomElec``, ``getAtomDonorTypeArom``,
  exocyclic bonds to more electronegative atoms stealing electrons, ``isAtomCandForArom``); the
  rings are a shortest cycle through every ring bond, checked to form a cycle basis (else
  refused); and every connected combination of up to 6 candidate rings sharing bonds that obeys
  Huckel's rule marks its atoms and the bonds it holds once aromatic (``applyHuckelToFused``).
  Where RDKit's later refinements of the fused-ring rule could matter (an atom in three rings of
  a combination, rings sharing two bonds, anything marked after every candidate atom already
  was), and where something written aromatic would end up non-aromatic (its bond type would then
  depend on RDKit's own Kekule choice), the molecule is refused.

Ring membership is read from the cycle space (an atom is in a ring iff it has a bond that is not a
bridge), which is what RDKit's ring perception marks. Bonds are numbered in the order the SMILES
text completes them, which can differ from RDKit's bond indices (it adds ring closures last); the
Morgan environments do not depend on bond numbering. Identity with RDKit is checked on every molecule of
the shared ZINC250k, MOSES test and ChEMBL files by ``bench/fastparse_identity.py`` and on the
bundled sample by ``tests/test_smiles_kernel.py``.
"""

from __future__ import annotations

import numba
import numpy as np

from .config import jit, parallel_jit
from .morgan import _hash_combine

__all__ = ["REFUSAL_REASONS", "smiles_graph_batch"]

# bond codes while parsing
_B_NONE = 0
_B_SINGLE = 1
_B_DOUBLE = 2
_B_TRIPLE = 3
_B_AROMATIC = 4  # written ':' or implicit between two aromatic atoms, in a ring
_B_IMPLICIT = 5  # no symbol: single, or aromatic between aromatic atoms
# RDKit Bond.GetBondType() codes
_RD_SINGLE = 1
_RD_DOUBLE = 2
_RD_TRIPLE = 3
_RD_AROMATIC = 12

#: Refusal status codes and their meaning (0 = accepted).
REFUSAL_REASONS = {
    1: "syntax outside the supported subset (or a syntax error)",
    2: "element or bracket atom outside the subset (isotope, class, H atom, ...)",
    3: "valence outside the table (RDKit would reject or adjust it)",
    4: "aromatic atom or bond outside a ring, or written aromaticity not certain",
    5: "no Kekule structure for the atoms written aromatic",
    6: "ring system whose aromaticity is not certain (fused, uncommon size or electron count)",
    7: "too many rings or branches",
}
_SYNTAX = 1
_ELEMENT = 2
_VALENCE_ERR = 3
_AROMATIC_ERR = 4
_KEKULE = 5
_RINGS = 6
_LIMIT = 7

_MAX_RING_NUMBER = 100
_MAX_CYCLES = 64
_MAX_MATCH_STEPS = 4096


@jit
def _element(c0: int, c1: int) -> tuple[int, int]:
    """Atomic number and symbol length of a bracket element starting with ``c0`` (``c1`` next).

    Returns (0, 0) for an element outside the subset.
    """
    if c1 >= 97 and c1 <= 122:  # two-letter symbol
        if c0 == 67 and c1 == 108:  # Cl
            return 17, 2
        if c0 == 66 and c1 == 114:  # Br
            return 35, 2
        if c0 == 78 and c1 == 97:  # Na
            return 11, 2
        if c0 == 76 and c1 == 105:  # Li
            return 3, 2
        if c0 == 83 and c1 == 105:  # Si
            return 14, 2
        if c0 == 83 and c1 == 101:  # Se
            return 34, 2
        return 0, 0
    if c0 == 67:
        return 6, 1
    if c0 == 78:
        return 7, 1
    if c0 == 79:
        return 8, 1
    if c0 == 83:
        return 16, 1
    if c0 == 80:
        return 15, 1
    if c0 == 66:
        return 5, 1
    if c0 == 70:
        return 9, 1
    if c0 == 73:
        return 53, 1
    if c0 == 75:
        return 19, 1
    return 0, 0


@jit
def _organic(c: int) -> int:
    """Atomic number of a one-letter organic-subset symbol (``N O S P F I``, aromatic ``c n o s``);
    0 for anything else (``C``/``B`` are parsed with ``Cl``/``Br``)."""
    if c == 78 or c == 110:
        return 7
    if c == 79 or c == 111:
        return 8
    if c == 83 or c == 115:
        return 16
    if c == 99:
        return 6
    if c == 80:
        return 15
    if c == 70:
        return 9
    if c == 73:
        return 53
    return 0


@jit
def _bracket_valence_ok(z: int, charge: int, valence: int) -> bool:
    """Whether RDKit accepts a bracket atom of element ``z`` and ``charge`` with this total valence
    (bond orders + H count); the table is deliberately small."""
    if charge == 0:
        if z == 6 or z == 14:
            return valence == 4
        if z == 7:
            return valence == 3
        if z == 8 or z == 34:
            return valence == 2
        if z == 16:
            return valence == 2 or valence == 4 or valence == 6
        if z == 15:
            return valence == 3 or valence == 5
        if z == 5:
            return valence == 3
        if z == 9 or z == 17 or z == 35 or z == 53:
            return valence == 1
        return False
    if charge == 1:
        if z == 7 or z == 15:
            return valence == 4
        if z == 8 or z == 16:
            return valence == 3
        if z == 11 or z == 19 or z == 3:
            return valence == 0
        return False
    if charge == -1:
        if z == 7:
            return valence == 2
        if z == 8 or z == 16:
            return valence == 1
        if z == 5:
            return valence == 4
        if z == 9 or z == 17 or z == 35 or z == 53:
            return valence == 0
        return False
    return False


@jit
def _implicit_hs(z: int, valence: int) -> int:
    """Implicit H count of an unbracketed, non-aromatic organic-subset atom; -1 to refuse."""
    if z == 6:
        default = 4
    elif z == 7:
        default = 3
    elif z == 8:
        default = 2
    elif z == 5:
        default = 3
    elif z == 9 or z == 17 or z == 35 or z == 53:
        default = 1
    elif z == 16:
        if valence == 4 or valence == 6:
            return 0
        default = 2
    elif z == 15:
        if valence == 5:
            return 0
        default = 3
    else:
        return -1
    if valence > default:
        return -1
    return default - valence


@jit
def _parse(s, z, charge, hs, aromatic, bracket, bu, bv, bo) -> tuple[int, int, int]:
    """Tokenise one SMILES into atoms and bonds. Returns (status, n_atoms, n_bonds).

    ``hs`` is the bracket H count (-1 for an unbracketed atom). Bond codes ``_B_*``.
    """
    n = s.shape[0]
    ring_atom = np.full(_MAX_RING_NUMBER, -1, dtype=np.int64)
    ring_order = np.zeros(_MAX_RING_NUMBER, dtype=np.int64)
    stack = np.empty(n + 1, dtype=np.int64)
    stack_atoms = np.empty(n + 1, dtype=np.int64)  # atoms before each open branch: '()' is an error
    depth = 0
    opened = False  # just after '(': only a bond symbol or an atom may follow
    n_atoms = 0
    n_bonds = 0
    prev = -1
    pending = _B_NONE
    p = 0
    while p < n:
        c = np.int64(s[p])
        atom_z = 0
        atom_arom = False
        atom_charge = 0
        atom_h = -1
        atom_bracket = False
        if c == 91:  # '['
            p += 1
            if p >= n:
                return _SYNTAX, 0, 0
            c = np.int64(s[p])
            if c >= 48 and c <= 57:  # isotope
                return _ELEMENT, 0, 0
            if c >= 65 and c <= 90:
                c1 = np.int64(s[p + 1]) if p + 1 < n else 0
                atom_z, length = _element(c, c1)
                if atom_z == 0:
                    return _ELEMENT, 0, 0
                p += length
            elif c >= 97 and _organic(c) > 0:  # c n o s
                if p + 1 < n and s[p + 1] >= 97 and s[p + 1] <= 122:  # se, as, ...
                    return _ELEMENT, 0, 0
                atom_z = _organic(c)
                atom_arom = True
                p += 1
            else:
                return _ELEMENT, 0, 0
            if p < n and s[p] == 64:  # '@' / '@@'
                p += 1
                if p < n and s[p] == 64:
                    p += 1
                if p < n and s[p] != 72 and s[p] != 43 and s[p] != 45 and s[p] != 93:  # @TH1, @SP, ...
                    return _SYNTAX, 0, 0
            atom_h = 0
            if p < n and s[p] == 72:  # H count
                p += 1
                atom_h = 1
                if p < n and s[p] >= 48 and s[p] <= 57:
                    atom_h = np.int64(s[p]) - 48
                    p += 1
            if p < n and (s[p] == 43 or s[p] == 45):  # charge
                sign = 1 if s[p] == 43 else -1
                sym = s[p]
                p += 1
                magnitude = 1
                if p < n and s[p] >= 48 and s[p] <= 57:
                    magnitude = np.int64(s[p]) - 48
                    p += 1
                else:
                    while p < n and s[p] == sym:
                        magnitude += 1
                        p += 1
                atom_charge = sign * magnitude
            if p >= n or s[p] != 93:  # ']' (atom classes, ... refused)
                return _SYNTAX, 0, 0
            p += 1
            atom_bracket = True
        elif c == 67:  # C, Cl
            if p + 1 < n and s[p + 1] == 108:
                atom_z = 17
                p += 2
            else:
                atom_z = 6
                p += 1
        elif c == 66:  # B, Br
            if p + 1 < n and s[p + 1] == 114:
                atom_z = 35
                p += 2
            else:
                atom_z = 5
                p += 1
        elif _organic(c) > 0:  # N O S P F I, aromatic c n o s
            atom_z = _organic(c)
            atom_arom = c >= 97
            p += 1
        elif c == 45 or c == 47 or c == 92:  # - / \
            if pending != _B_NONE or prev < 0:
                return _SYNTAX, 0, 0
            pending = _B_SINGLE
            p += 1
            continue
        elif c == 61 or c == 35 or c == 58:  # = # :
            if pending != _B_NONE or prev < 0:
                return _SYNTAX, 0, 0
            pending = _B_DOUBLE if c == 61 else (_B_TRIPLE if c == 35 else _B_AROMATIC)
            p += 1
            continue
        elif c == 46:  # '.'
            if pending != _B_NONE or prev < 0 or depth != 0 or opened:
                return _SYNTAX, 0, 0
            prev = -1
            p += 1
            continue
        elif c == 40:  # '('
            if prev < 0 or pending != _B_NONE or opened:
                return _SYNTAX, 0, 0
            opened = True
            stack[depth] = prev
            stack_atoms[depth] = n_atoms
            depth += 1
            p += 1
            continue
        elif c == 41:  # ')'
            if depth == 0 or pending != _B_NONE:
                return _SYNTAX, 0, 0
            depth -= 1
            if n_atoms == stack_atoms[depth]:
                return _SYNTAX, 0, 0
            prev = stack[depth]
            p += 1
            continue
        elif (c >= 48 and c <= 57) or c == 37:  # ring closure digit or %nn
            if prev < 0 or opened:
                return _SYNTAX, 0, 0
            if c == 37:
                if p + 2 >= n or s[p + 1] < 48 or s[p + 1] > 57 or s[p + 2] < 48 or s[p + 2] > 57:
                    return _SYNTAX, 0, 0
                number = (np.int64(s[p + 1]) - 48) * 10 + np.int64(s[p + 2]) - 48
                p += 3
            else:
                number = c - 48
                p += 1
            if ring_atom[number] < 0:
                ring_atom[number] = prev
                ring_order[number] = pending
            else:
                other = ring_atom[number]
                order = pending
                if order == _B_NONE:
                    order = ring_order[number]
                elif ring_order[number] != _B_NONE and ring_order[number] != order:
                    return _SYNTAX, 0, 0
                if other == prev:
                    return _SYNTAX, 0, 0
                bu[n_bonds] = other
                bv[n_bonds] = prev
                bo[n_bonds] = _B_IMPLICIT if order == _B_NONE else order
                n_bonds += 1
                ring_atom[number] = -1
                ring_order[number] = _B_NONE
            pending = _B_NONE
            continue
        else:
            return _SYNTAX, 0, 0
        # a new atom
        opened = False
        a = n_atoms
        z[a] = atom_z
        charge[a] = atom_charge
        hs[a] = atom_h
        aromatic[a] = atom_arom
        bracket[a] = atom_bracket
        n_atoms += 1
        if prev >= 0:
            bu[n_bonds] = prev
            bv[n_bonds] = a
            bo[n_bonds] = _B_IMPLICIT if pending == _B_NONE else pending
            n_bonds += 1
        elif pending != _B_NONE:
            return _SYNTAX, 0, 0
        pending = _B_NONE
        prev = a
    if depth != 0 or pending != _B_NONE or prev < 0:  # prev < 0: no atom, or a trailing '.'
        return _SYNTAX, 0, 0
    for k in range(_MAX_RING_NUMBER):
        if ring_atom[k] >= 0:
            return _SYNTAX, 0, 0
    return 0, n_atoms, n_bonds


@jit
def _ring_bonds(n_atoms, n_bonds, adj_start, adj_atom, adj_bond, in_ring_bond) -> None:
    """Mark the bonds that lie on a cycle (not bridges), by an iterative low-link DFS."""
    order = np.full(n_atoms, -1, dtype=np.int64)
    low = np.zeros(n_atoms, dtype=np.int64)
    parent_bond = np.full(n_atoms, -1, dtype=np.int64)
    cursor = np.zeros(n_atoms, dtype=np.int64)
    stack = np.empty(n_atoms, dtype=np.int64)
    for b in range(n_bonds):
        in_ring_bond[b] = True
    counter = 0
    for root in range(n_atoms):
        if order[root] >= 0:
            continue
        top = 0
        stack[0] = root
        order[root] = counter
        low[root] = counter
        counter += 1
        cursor[root] = adj_start[root]
        while top >= 0:
            u = stack[top]
            if cursor[u] < adj_start[u + 1]:
                k = cursor[u]
                cursor[u] += 1
                v = adj_atom[k]
                b = adj_bond[k]
                if b == parent_bond[u]:
                    continue
                if order[v] < 0:
                    order[v] = counter
                    low[v] = counter
                    counter += 1
                    parent_bond[v] = b
                    cursor[v] = adj_start[v]
                    top += 1
                    stack[top] = v
                elif order[v] < low[u]:
                    low[u] = order[v]
            else:
                top -= 1
                if top >= 0:
                    w = stack[top]
                    if low[u] < low[w]:
                        low[w] = low[u]
                    if low[u] > order[w]:
                        in_ring_bond[parent_bond[u]] = False


@jit
def _perfect_matching(n_atoms, need, adj_start, adj_atom, adj_bond, kekule_bond) -> bool:
    """Whether the atoms with ``need`` can each get exactly one double bond along ``kekule_bond``
    bonds to other such atoms (a perfect matching), by forced moves plus bounded backtracking."""
    mate = np.full(n_atoms, -1, dtype=np.int64)
    # trail of assignments for backtracking: (atom, partner, was_choice, next neighbour slot)
    trail_a = np.empty(n_atoms, dtype=np.int64)
    trail_b = np.empty(n_atoms, dtype=np.int64)
    trail_choice = np.zeros(n_atoms, dtype=np.bool_)
    trail_slot = np.zeros(n_atoms, dtype=np.int64)
    n_trail = 0
    steps = 0
    resume_atom = -1
    resume_slot = 0
    while True:
        steps += 1
        if steps > _MAX_MATCH_STEPS:
            return False
        # forced moves: an unmatched atom with exactly one free partner
        dead_end = False
        progress = True
        while progress and not dead_end and resume_atom < 0:
            progress = False
            for a in range(n_atoms):
                if not need[a] or mate[a] >= 0:
                    continue
                free = 0
                partner = -1
                for k in range(adj_start[a], adj_start[a + 1]):
                    v = adj_atom[k]
                    if kekule_bond[adj_bond[k]] and need[v] and mate[v] < 0:
                        free += 1
                        partner = v
                if free == 0:
                    dead_end = True
                    break
                if free == 1:
                    mate[a] = partner
                    mate[partner] = a
                    trail_a[n_trail] = a
                    trail_b[n_trail] = partner
                    trail_choice[n_trail] = False
                    n_trail += 1
                    progress = True
        if not dead_end:
            # choose: first unmatched atom, next candidate partner from resume_slot
            a = resume_atom
            start = resume_slot
            if a < 0:
                for x in range(n_atoms):
                    if need[x] and mate[x] < 0:
                        a = x
                        break
                if a < 0:
                    return True
                start = adj_start[a]
            resume_atom = -1
            chosen = -1
            for k in range(start, adj_start[a + 1]):
                v = adj_atom[k]
                if kekule_bond[adj_bond[k]] and need[v] and mate[v] < 0:
                    chosen = k
                    break
            if chosen >= 0:
                v = adj_atom[chosen]
                mate[a] = v
                mate[v] = a
                trail_a[n_trail] = a
                trail_b[n_trail] = v
                trail_choice[n_trail] = True
                trail_slot[n_trail] = chosen + 1
                n_trail += 1
                continue
            dead_end = True
        # backtrack to the last choice and try its next partner
        while n_trail > 0:
            n_trail -= 1
            x = trail_a[n_trail]
            mate[x] = -1
            mate[trail_b[n_trail]] = -1
            if trail_choice[n_trail]:
                resume_atom = x
                resume_slot = trail_slot[n_trail]
                break
        if resume_atom < 0:
            return False


@jit
def _shortest_cycle(bond, u, v, adj_start, adj_atom, adj_bond, usable, prev, queue, cycle_atoms, cycle_bonds) -> int:
    """A shortest cycle through ``bond`` (``u``-``v``) over ``usable`` bonds: its atoms and bonds go
    to ``cycle_atoms``/``cycle_bonds`` (bond ``k`` joins atoms ``k`` and ``k + 1``); returns its length
    (0 when there is none). ``prev`` (all -1 on entry and on return) and ``queue`` are scratch."""
    prev[u] = u
    head = 0
    tail = 1
    queue[0] = u
    found = False
    while head < tail and not found:
        x = queue[head]
        head += 1
        for k in range(adj_start[x], adj_start[x + 1]):
            b = adj_bond[k]
            if b == bond or not usable[b]:
                continue
            y = adj_atom[k]
            if prev[y] >= 0:
                continue
            prev[y] = k  # the adjacency slot that reached y (x is adj_atom of the reverse)
            queue[tail] = y
            tail += 1
            if y == v:
                found = True
                break
    length = 0
    if found:
        x = v
        while x != u:
            k = prev[x]
            cycle_atoms[length] = x
            cycle_bonds[length] = adj_bond[k]
            length += 1
            # the atom before x on the path: the other end of bond adj_bond[k]
            for j in range(adj_start[x], adj_start[x + 1]):
                if adj_bond[j] == adj_bond[k]:
                    x = adj_atom[j]
                    break
        cycle_atoms[length] = u
        cycle_bonds[length] = bond
        length += 1
    for i in range(tail):
        prev[queue[i]] = -1
    return length


# RDKit's periodic-table data for the elements of the subset: default valence and outer electrons
@jit
def _default_valence(z: int) -> int:
    if z == 6 or z == 14:
        return 4
    if z == 7 or z == 5 or z == 15:
        return 3
    if z == 8 or z == 16 or z == 34:
        return 2
    if z == 9 or z == 17 or z == 35 or z == 53 or z == 3 or z == 11 or z == 19:
        return 1
    return -1


@jit
def _outer_electrons(z: int) -> int:
    if z == 5:
        return 3
    if z == 6 or z == 14:
        return 4
    if z == 7 or z == 15:
        return 5
    if z == 8 or z == 16 or z == 34:
        return 6
    if z == 9 or z == 17 or z == 35 or z == 53:
        return 7
    return 1


@jit
def _more_electronegative(z1: int, z2: int) -> bool:
    """RDKit ``PeriodicTable::moreElectroNegative``: more outer electrons, then the lighter element."""
    n1 = _outer_electrons(z1)
    n2 = _outer_electrons(z2)
    return n1 > n2 or (n1 == n2 and z1 < z2)


_NO_DONOR = -1
_VACANT = 0
_ONE = 1
_TWO = 2


@jit
def _donor(z, charge, degree, total_h, valence, n_multiple, exo_partner, cyclic_multiple) -> int:
    """Pi electrons a ring atom gives (RDKit ``getAtomDonorTypeArom`` with exocyclic bonds stealing
    electrons, and ``isAtomCandForArom``); ``_NO_DONOR`` when it is no aromaticity candidate.

    ``valence`` is the explicit valence of the Kekule structure (bond orders), ``n_multiple`` the
    number of double/triple bonds, ``exo_partner`` the atomic number across a non-ring multiple bond
    (0 if none), ``cyclic_multiple`` whether a ring bond of this atom is double or triple.
    """
    dv = _default_valence(z)
    if dv <= 1:
        return _NO_DONOR
    deg3 = degree + total_h
    if deg3 > 3:
        return _NO_DONOR
    nlp = _outer_electrons(z) - dv - charge
    if nlp < 0:
        nlp = 0
    nelec = dv - deg3 + nlp
    unsaturation = valence - degree
    if nelec > 1 and unsaturation > 1:
        nelec = 1
    if nelec < 0:
        return _NO_DONOR
    if nelec == 0:
        if exo_partner > 0:
            donor = _VACANT
        elif cyclic_multiple:
            donor = _ONE
        else:
            return _NO_DONOR
    elif nelec == 1:
        if exo_partner > 0:
            donor = _VACANT if _more_electronegative(exo_partner, z) else _ONE
        elif unsaturation > 0:
            donor = _ONE
        elif charge == 1:
            donor = _VACANT
        else:
            return _NO_DONOR
    else:
        if exo_partner > 0 and _more_electronegative(exo_partner, z):
            nelec -= 1
        donor = _ONE if nelec % 2 == 1 else _TWO
    # isAtomCandForArom: default valence state of the isoelectronic element, one multiple bond at most
    if z > 18 and z != 34:
        return _NO_DONOR
    if valence + total_h > _default_valence(z - charge):
        return _NO_DONOR
    if n_multiple > 1:
        return _NO_DONOR
    return donor


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
            # connected through shared bonds?
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
            if reached == size:
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
                if crowded:
                    return False
                if _huckel(total):
                    for j in range(size):
                        r = rings[comb[j]]
                        for i in range(ring_len[r]):
                            a = ring_atoms[r, i]
                            if not aromatic_atom[a]:
                                if past_exit:
                                    return False
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
                                    return False
                                aromatic_bond[b] = True
                            bond_count[b] = 0
            more = _next_combination(comb, size, n_rings)
    return True


@jit
def _aromatic_rings(n_atoms, n_bonds, z, bu, bv, adj_start, adj_atom, adj_bond, ring_bond, in_ring, usable, electrons,
                    aromatic_atom, aromatic_bond) -> int:
    """RDKit's aromaticity perception on the Kekule structure: fill ``aromatic_atom``/``aromatic_bond``.

    ``electrons`` holds each ring atom's donor type (:func:`_donor`), ``usable`` the ring bonds between two
    candidates. Returns 0, or a refusal code where RDKit's outcome is not certain.
    """
    # the ring set RDKit works from (SSSR): a shortest cycle through each ring bond, checked to be a
    # cycle basis of every ring system that holds a bond between two candidates
    component = np.full(n_atoms, -1, dtype=np.int64)
    queue = np.empty(n_atoms, dtype=np.int64)
    n_components = 0
    for a in range(n_atoms):
        if component[a] >= 0 or not in_ring[a]:
            continue
        component[a] = n_components
        head = 0
        tail = 1
        queue[0] = a
        while head < tail:
            x = queue[head]
            head += 1
            for k in range(adj_start[x], adj_start[x + 1]):
                if ring_bond[adj_bond[k]] and component[adj_atom[k]] < 0:
                    component[adj_atom[k]] = n_components
                    queue[tail] = adj_atom[k]
                    tail += 1
        n_components += 1
    rank = np.zeros(n_components, dtype=np.int64)
    relevant = np.zeros(n_components, dtype=np.bool_)
    n_ring_bonds = 0
    for b in range(n_bonds):
        if ring_bond[b]:
            rank[component[bu[b]]] += 1
            n_ring_bonds += 1
            if usable[b]:
                relevant[component[bu[b]]] = True
    for a in range(n_atoms):
        if in_ring[a]:
            rank[component[a]] -= 1
    total_rank = 0
    for c in range(n_components):
        rank[c] += 1
        if relevant[c]:
            total_rank += rank[c]
    if total_rank > _MAX_CYCLES:
        return _LIMIT
    ring_atoms = np.empty((total_rank, n_atoms), dtype=np.int64)
    ring_bonds = np.empty((total_rank, n_atoms), dtype=np.int64)
    ring_len = np.zeros(total_rank, dtype=np.int64)
    ring_component = np.zeros(total_rank, dtype=np.int64)
    found = np.zeros(n_components, dtype=np.int64)
    prev = np.full(n_atoms, -1, dtype=np.int64)
    cyc_atoms = np.empty(n_atoms, dtype=np.int64)
    cyc_bonds = np.empty(n_atoms, dtype=np.int64)
    sorted_bonds = np.empty(n_atoms, dtype=np.int64)
    ring_sorted = np.empty((total_rank, n_atoms), dtype=np.int64)
    n_found = 0
    for b in range(n_bonds):
        if not ring_bond[b] or not relevant[component[bu[b]]]:
            continue  # ring systems without a bond between two candidates cannot hold aromatic rings
        c = component[bu[b]]
        length = _shortest_cycle(b, bu[b], bv[b], adj_start, adj_atom, adj_bond, ring_bond, prev, queue,
                                 cyc_atoms, cyc_bonds)
        for i in range(length):  # insertion sort: rings are short, and this allocates nothing
            x = cyc_bonds[i]
            j = i
            while j > 0 and sorted_bonds[j - 1] > x:
                sorted_bonds[j] = sorted_bonds[j - 1]
                j -= 1
            sorted_bonds[j] = x
        seen = False
        for r in range(n_found):
            if ring_len[r] != length or ring_component[r] != c:
                continue
            same = True
            for i in range(length):
                if ring_sorted[r, i] != sorted_bonds[i]:
                    same = False
                    break
            if same:
                seen = True
                break
        if seen:
            continue
        found[c] += 1
        if found[c] > rank[c]:
            return _RINGS
        ring_atoms[n_found, :length] = cyc_atoms[:length]
        ring_bonds[n_found, :length] = cyc_bonds[:length]
        ring_sorted[n_found, :length] = sorted_bonds[:length]
        ring_len[n_found] = length
        ring_component[n_found] = c
        n_found += 1
    for c in range(n_components):
        if relevant[c] and found[c] != rank[c]:
            return _RINGS
    # candidate rings: every atom a candidate (RDKit's cRings), fused when sharing a bond
    candidate = np.zeros(n_found, dtype=np.int64)
    n_cand = 0
    for r in range(n_found):
        ok = True
        chalcogen = False
        for i in range(ring_len[r]):
            a = ring_atoms[r, i]
            if electrons[a] == _NO_DONOR:
                ok = False
                break
            chalcogen = chalcogen or z[a] == 8 or z[a] == 16 or z[a] == 34
        if ok:
            if chalcogen and ring_len[r] > 6:
                # RDKit declines O and S lone pairs in larger rings (C1=CC=CC=CSC=C1 stays Kekule)
                # but not Se's, by a rule not reproduced here
                return _RINGS
            candidate[n_cand] = r
            n_cand += 1
    if n_cand > 0:
        fused_with = np.zeros((n_found, n_found), dtype=np.bool_)
        for j in range(n_cand):
            r = candidate[j]
            for jj in range(j):
                r2 = candidate[jj]
                if ring_len[r] > 24 or ring_len[r2] > 24:
                    continue
                i = 0
                i2 = 0
                shared = 0
                while i < ring_len[r] and i2 < ring_len[r2]:  # bonds shared by the sorted bond lists
                    if ring_sorted[r, i] == ring_sorted[r2, i2]:
                        shared += 1
                        i += 1
                        i2 += 1
                    elif ring_sorted[r, i] < ring_sorted[r2, i2]:
                        i += 1
                    else:
                        i2 += 1
                if shared > 1:  # RDKit does not fuse such rings (github #1928): refused, to be safe
                    return _RINGS
                if shared == 1:
                    fused_with[r, r2] = True
                    fused_with[r2, r] = True
        n_cand_atoms = 0
        mark = np.zeros(n_atoms, dtype=np.int64)
        for j in range(n_cand):
            r = candidate[j]
            for i in range(ring_len[r]):
                if mark[ring_atoms[r, i]] == 0:
                    mark[ring_atoms[r, i]] = 1
                    n_cand_atoms += 1
        for a in range(n_atoms):
            mark[a] = 0
        bond_count = np.zeros(n_bonds, dtype=np.int64)
        system = np.empty(n_cand, dtype=np.int64)
        assigned = np.zeros(n_cand, dtype=np.bool_)
        for start in range(n_cand):
            if assigned[start]:
                continue
            # the fused system of candidate ring `start`, in RDKit's depth-first pick order
            size = 0
            dstack = np.empty(n_cand, dtype=np.int64)
            dtop = 1
            dstack[0] = start
            assigned[start] = True
            while dtop > 0:
                dtop -= 1
                j = dstack[dtop]
                system[size] = candidate[j]
                size += 1
                for jj in range(n_cand - 1, -1, -1):
                    if not assigned[jj] and fused_with[candidate[j], candidate[jj]]:
                        assigned[jj] = True
                        dstack[dtop] = jj
                        dtop += 1
            if not _fused_aromaticity(system, size, ring_atoms, ring_bonds, ring_len, electrons, fused_with,
                                      n_cand_atoms, aromatic_atom, aromatic_bond, mark, bond_count):
                return _RINGS
    return 0


@jit
def _process(s, z_out, inv_out, bu_out, bv_out, bt_out) -> tuple[int, int, int]:
    """Parse one SMILES and, if accepted, write atom invariants and bonds. (status, atoms, bonds)."""
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
    # adjacency (CSR); duplicate bonds are refused
    degree = np.zeros(n_atoms, dtype=np.int64)
    for b in range(n_bonds):
        degree[bu[b]] += 1
        degree[bv[b]] += 1
    adj_start = np.zeros(n_atoms + 1, dtype=np.int64)
    for a in range(n_atoms):
        adj_start[a + 1] = adj_start[a] + degree[a]
    fill = adj_start[:n_atoms].copy()
    adj_atom = np.empty(2 * n_bonds, dtype=np.int64)
    adj_bond = np.empty(2 * n_bonds, dtype=np.int64)
    for b in range(n_bonds):
        u = bu[b]
        v = bv[b]
        for k in range(adj_start[u], fill[u]):
            if adj_atom[k] == v:
                return _SYNTAX, 0, 0
        adj_atom[fill[u]] = v
        adj_bond[fill[u]] = b
        fill[u] += 1
        adj_atom[fill[v]] = u
        adj_bond[fill[v]] = b
        fill[v] += 1
    ring_bond = np.empty(n_bonds, dtype=np.bool_)
    _ring_bonds(n_atoms, n_bonds, adj_start, adj_atom, adj_bond, ring_bond)
    in_ring = np.zeros(n_atoms, dtype=np.bool_)
    for b in range(n_bonds):
        if ring_bond[b]:
            in_ring[bu[b]] = True
            in_ring[bv[b]] = True
    # written bonds: aromatic-written bonds (':' or implicit between aromatic atoms) must be in rings
    any_aromatic = False
    for b in range(n_bonds):
        both = aromatic[bu[b]] and aromatic[bv[b]]
        if bo[b] == _B_IMPLICIT:
            bo[b] = _B_AROMATIC if (both and ring_bond[b]) else _B_SINGLE
        elif bo[b] == _B_AROMATIC:
            if not (both and ring_bond[b]):
                return _AROMATIC_ERR, 0, 0
        elif both and bo[b] != _B_SINGLE:  # '=' or '#' written between aromatic atoms
            return _AROMATIC_ERR, 0, 0
        if bo[b] == _B_AROMATIC:
            any_aromatic = True
    # per atom: aromatic-written bonds, other bond orders, multiple bonds
    n_arom = np.zeros(n_atoms, dtype=np.int64)
    other = np.zeros(n_atoms, dtype=np.int64)
    n_multiple = np.zeros(n_atoms, dtype=np.int64)
    exo_partner = np.zeros(n_atoms, dtype=np.int64)
    cyclic_multiple = np.zeros(n_atoms, dtype=np.bool_)
    for b in range(n_bonds):
        u = bu[b]
        v = bv[b]
        if bo[b] == _B_AROMATIC:
            n_arom[u] += 1
            n_arom[v] += 1
            continue
        other[u] += bo[b]
        other[v] += bo[b]
        if bo[b] >= _B_DOUBLE:
            n_multiple[u] += 1
            n_multiple[v] += 1
            if ring_bond[b]:
                cyclic_multiple[u] = True
                cyclic_multiple[v] = True
            else:
                if exo_partner[u] == 0:
                    exo_partner[u] = z[v]
                if exo_partner[v] == 0:
                    exo_partner[v] = z[u]
    # atoms written aromatic: whether each takes a double bond in the Kekule structure, and its Hs
    need = np.zeros(n_atoms, dtype=np.bool_)
    total_h = np.zeros(n_atoms, dtype=np.int64)
    for a in range(n_atoms):
        za = z[a]
        q = charge[a]
        if aromatic[a]:
            if not in_ring[a]:
                return _AROMATIC_ERR, 0, 0
            if n_multiple[a] > 1 or (n_multiple[a] == 1 and (za != 6 or other[a] - degree[a] + n_arom[a] > 1)):
                return _AROMATIC_ERR, 0, 0
            h_fixed = hs[a] if bracket[a] else 0
            if za == 6:
                if q != 0:
                    return _ELEMENT, 0, 0
                rem = 4 - n_arom[a] - other[a] - h_fixed
                if n_multiple[a] == 1:  # a double bond written to a non-aromatic atom: no other
                    if rem != 0:
                        return _VALENCE_ERR, 0, 0
                    total_h[a] = h_fixed
                else:
                    if rem < 1 or (bracket[a] and rem != 1):
                        return _VALENCE_ERR, 0, 0
                    need[a] = True
                    total_h[a] = h_fixed + rem - 1
            else:
                if za == 7:
                    valence = 3 if q == 0 else (4 if q == 1 else (2 if q == -1 else -1))
                elif za == 8 or za == 16:
                    valence = 2 if q == 0 else (3 if q == 1 else -1)
                else:
                    valence = -1
                if valence < 0:
                    return _ELEMENT, 0, 0
                rem = valence - n_arom[a] - other[a] - h_fixed
                if rem == 1:
                    need[a] = True
                elif rem != 0:
                    return _VALENCE_ERR, 0, 0
                total_h[a] = h_fixed
            continue
        valence = other[a]
        if bracket[a]:
            if not _bracket_valence_ok(za, q, valence + hs[a]):
                return _VALENCE_ERR, 0, 0
            total_h[a] = hs[a]
        else:
            h = _implicit_hs(za, valence)
            if h < 0:
                return _VALENCE_ERR, 0, 0
            total_h[a] = h
    any_need = False
    for a in range(n_atoms):
        any_need = any_need or need[a]
    if any_aromatic or any_need:  # (an atom written aromatic without aromatic bonds cannot be matched)
        kekule_bond = np.zeros(n_bonds, dtype=np.bool_)
        for b in range(n_bonds):
            kekule_bond[b] = bo[b] == _B_AROMATIC
        if not _perfect_matching(n_atoms, need, adj_start, adj_atom, adj_bond, kekule_bond):
            return _KEKULE, 0, 0
    # pi electrons of every ring atom on the Kekule structure (a matched atom has one cyclic double bond)
    electrons = np.full(n_atoms, _NO_DONOR, dtype=np.int64)
    for a in range(n_atoms):
        if not in_ring[a]:
            continue
        extra = 1 if need[a] else 0
        electrons[a] = _donor(z[a], charge[a], degree[a], total_h[a], other[a] + n_arom[a] + extra,
                              n_multiple[a] + extra, exo_partner[a], cyclic_multiple[a] or need[a])
    aromatic_atom = np.zeros(n_atoms, dtype=np.bool_)
    aromatic_bond = np.zeros(n_bonds, dtype=np.bool_)
    usable = np.zeros(n_bonds, dtype=np.bool_)
    any_usable = False
    for b in range(n_bonds):
        if ring_bond[b] and electrons[bu[b]] != _NO_DONOR and electrons[bv[b]] != _NO_DONOR:
            usable[b] = True
            any_usable = True
    if any_usable:
        status = _aromatic_rings(n_atoms, n_bonds, z, bu, bv, adj_start, adj_atom, adj_bond, ring_bond, in_ring,
                                 usable, electrons, aromatic_atom, aromatic_bond)
        if status != 0:
            return status, 0, 0
    # everything written aromatic must have become aromatic (else RDKit's own Kekule form would show)
    for a in range(n_atoms):
        if aromatic[a] and not aromatic_atom[a]:
            return _AROMATIC_ERR, 0, 0
    for b in range(n_bonds):
        if bo[b] == _B_AROMATIC and not aromatic_bond[b]:
            return _AROMATIC_ERR, 0, 0
    # outputs: RDKit connectivity invariants and bond types
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
    for b in range(n_bonds):
        bu_out[b] = bu[b]
        bv_out[b] = bv[b]
        if aromatic_bond[b] and bo[b] != _B_TRIPLE:  # RDKit marks only single/double bonds AROMATIC
            bt_out[b] = _RD_AROMATIC
        elif bo[b] == _B_DOUBLE:
            bt_out[b] = _RD_DOUBLE
        elif bo[b] == _B_TRIPLE:
            bt_out[b] = _RD_TRIPLE
        else:
            bt_out[b] = _RD_SINGLE
    return 0, n_atoms, n_bonds


@parallel_jit
def _batch(data, offsets):
    n_mols = offsets.shape[0] - 1
    total = offsets[-1]
    status = np.zeros(n_mols, dtype=np.int8)
    n_atoms = np.zeros(n_mols, dtype=np.int64)
    n_bonds = np.zeros(n_mols, dtype=np.int64)
    z = np.empty(total, dtype=np.uint8)
    inv = np.empty(total, dtype=np.uint32)
    bu = np.empty(total + n_mols, dtype=np.int32)
    bv = np.empty(total + n_mols, dtype=np.int32)
    bt = np.empty(total + n_mols, dtype=np.uint32)
    for i in numba.prange(n_mols):
        lo = offsets[i]
        hi = offsets[i + 1]
        st, na, nb = _process(data[lo:hi], z[lo:hi], inv[lo:hi], bu[lo + i:hi + i + 1], bv[lo + i:hi + i + 1],
                              bt[lo + i:hi + i + 1])
        status[i] = st
        n_atoms[i] = na
        n_bonds[i] = nb
    atom_offsets = np.zeros(n_mols + 1, dtype=np.int64)
    bond_offsets = np.zeros(n_mols + 1, dtype=np.int64)
    for i in range(n_mols):
        atom_offsets[i + 1] = atom_offsets[i] + n_atoms[i]
        bond_offsets[i + 1] = bond_offsets[i] + n_bonds[i]
    atom_inv = np.empty(atom_offsets[-1], dtype=np.uint32)
    atomic_num = np.empty(atom_offsets[-1], dtype=np.uint8)
    bond_atoms = np.empty((bond_offsets[-1], 2), dtype=np.int32)
    bond_types = np.empty(bond_offsets[-1], dtype=np.uint32)
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
    return status, atom_offsets, atom_inv, atomic_num, bond_offsets, bond_atoms, bond_types


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
    data = np.ascontiguousarray(data)
    offsets = np.ascontiguousarray(offsets)
    if data.dtype != np.uint8 or data.ndim != 1:
        raise ValueError(f"data must be a 1-d uint8 array, got {data.dtype} with shape {data.shape}")
    if offsets.dtype != np.int64 or offsets.ndim != 1 or offsets.shape[0] < 1:
        raise ValueError(f"offsets must be a non-empty 1-d int64 array, got {offsets.dtype} {offsets.shape}")
    if offsets[0] != 0 or offsets[-1] != data.shape[0] or np.any(offsets[1:] < offsets[:-1]):
        raise ValueError("offsets must start at 0, be non-decreasing and end at len(data)")
    return _batch(data, offsets)
