"""SMILES text → atoms and bonds (RDKit's SMILES grammar, ``SmilesParse/smiles.yy`` and ``lex.yysmiles.cpp``).

:func:`_parse` tokenises one SMILES of the supported subset into per-atom arrays (atomic number,
charge, bracket H count, written aromaticity, bracket flag) and a bond list with the written bond
codes (``_B_*``); anything outside the subset is refused with a status code.
"""

from __future__ import annotations

import numpy as np

from ..config import jit
from .codes import (
    _B_AROMATIC,
    _B_DOUBLE,
    _B_IMPLICIT,
    _B_NONE,
    _B_SINGLE,
    _B_TRIPLE,
    _ELEMENT,
    _MAX_RING_NUMBER,
    _SYNTAX,
)


@jit(inline="always")
def _element(c0: int, c1: int) -> tuple[int, int]:  # noqa: C901, PLR0912  # flat lookup table, inlined per character
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


@jit(inline="always")
def _organic(c: int) -> int:
    """Return the atomic number of a one-letter organic-subset symbol (``N O S P F I``, aromatic ``c n o s``).

    0 for anything else (``C``/``B`` are parsed with ``Cl``/``Br``).
    """
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


@jit(inline="always")
def _organic_atom(c: int, c1: int) -> tuple[int, bool, int]:
    """Read an unbracketed organic-subset atom whose symbol starts with ``c`` (``c1`` next, 0 at the end).

    Returns (atomic number, aromatic, symbol length). The atomic number is 0 when ``c`` starts no
    atom (a bond, branch, ring closure or ``.`` token).
    """
    if c == 67:  # C, Cl
        if c1 == 108:
            return 17, False, 2
        return 6, False, 1
    if c == 66:  # B, Br
        if c1 == 114:
            return 35, False, 2
        return 5, False, 1
    return _organic(c), c >= 97, 1  # N O S P F I, aromatic c n o s


@jit(inline="always")
def _bracket_element(c: int, c1: int) -> tuple[int, bool, int]:
    """Read the element of a bracket atom whose symbol starts with ``c`` (``c1`` next, 0 at the end).

    Returns (atomic number, aromatic, symbol length). The atomic number is 0 for anything outside the
    subset: an isotope (a digit first), an element not in :func:`_element`, or a two-letter aromatic
    symbol (``se``, ``as``, ...).
    """
    if c >= 65 and c <= 90:
        z, length = _element(c, c1)
        return z, False, length
    if c >= 97 and _organic(c) > 0:  # c n o s
        if c1 >= 97 and c1 <= 122:  # se, as, ...
            return 0, False, 0
        return _organic(c), True, 1
    return 0, False, 0


@jit
def _skip_chirality(s, p: int) -> int:
    """Skip ``@``/``@@`` (ignored: ECFP without chirality does not read stereo).

    -1 for the other chirality classes (``@TH1``, ``@SP``, ...).
    """
    n = s.shape[0]
    if p < n and s[p] == 64:
        p += 1
        if p < n and s[p] == 64:
            p += 1
        if p < n and s[p] != 72 and s[p] != 43 and s[p] != 45 and s[p] != 93:
            return -1
    return p


@jit
def _bracket_hydrogens(s, p: int) -> tuple[int, int]:
    """Read the H count of a bracket atom (``H``, ``H<digit>`` or none): (count, position after it)."""
    n = s.shape[0]
    if p < n and s[p] == 72:
        p += 1
        if p < n and s[p] >= 48 and s[p] <= 57:
            return np.int64(s[p]) - 48, p + 1
        return 1, p
    return 0, p


@jit
def _bracket_charge(s, p: int) -> tuple[int, int]:
    """Read the charge of a bracket atom (``+``, ``-``, ``+<digit>``, ``++``, ...): (charge, position after it)."""
    n = s.shape[0]
    if p >= n or (s[p] != 43 and s[p] != 45):
        return 0, p
    sign = 1 if s[p] == 43 else -1
    sym = s[p]
    p += 1
    if p < n and s[p] >= 48 and s[p] <= 57:
        return sign * (np.int64(s[p]) - 48), p + 1
    magnitude = 1
    while p < n and s[p] == sym:
        magnitude += 1
        p += 1
    return sign * magnitude, p


@jit
def _bracket_atom(s, p: int) -> tuple[int, int, int, bool, int, int]:
    """Read a bracket atom whose ``[`` is at ``s[p - 1]``: element, ``@``/``@@``, H count, charge, ``]``.

    Returns (status, position after ``]``, atomic number, aromatic, charge, H count). Isotopes,
    atom classes, other chirality classes and elements outside the subset are refused.
    """
    n = s.shape[0]
    if p >= n:
        return _SYNTAX, p, 0, False, 0, 0
    z, aromatic, length = _bracket_element(np.int64(s[p]), np.int64(s[p + 1]) if p + 1 < n else 0)
    p += length
    if z == 0:
        return _ELEMENT, p, 0, False, 0, 0
    p = _skip_chirality(s, p)
    if p < 0:
        return _SYNTAX, p, 0, False, 0, 0
    h, p = _bracket_hydrogens(s, p)
    charge, p = _bracket_charge(s, p)
    if p >= n or s[p] != 93:  # ']' (atom classes, ... refused)
        return _SYNTAX, p, 0, False, 0, 0
    return 0, p + 1, z, aromatic, charge, h


@jit(inline="always")
def _bond_symbol(c: int) -> int:
    r"""Return the bond code of a bond symbol (``- / \`` single, ``=``, ``#``, ``:``); ``_B_NONE`` otherwise."""
    if c == 45 or c == 47 or c == 92:  # - / \
        return _B_SINGLE
    if c == 61:  # =
        return _B_DOUBLE
    if c == 35:  # #
        return _B_TRIPLE
    if c == 58:  # :
        return _B_AROMATIC
    return _B_NONE


@jit(inline="always")
def _ring_number(c: int, c1: int, c2: int) -> tuple[int, int]:
    """Read the ring-closure number written ``c`` (a digit) or ``%`` ``c1`` ``c2`` (two digits).

    Returns (number, length); 0 past the end, number -1 for a malformed ``%``.
    """
    if c != 37:
        return c - 48, 1
    if c1 < 48 or c1 > 57 or c2 < 48 or c2 > 57:
        return -1, 0
    return (c1 - 48) * 10 + c2 - 48, 3


@jit
def _ring_closure(number: int, prev: int, pending: int, ring_atom, ring_order, bu, bv, bo, n_bonds: int
                  ) -> tuple[int, int]:
    """Open or close ring-closure ``number`` after atom ``prev``.

    Opens the ring number, or closes it with a bond whose order is the one written at either end
    (two different ones are refused).

    Returns (status, bond count).
    """
    if ring_atom[number] < 0:
        ring_atom[number] = prev
        ring_order[number] = pending
        return 0, n_bonds
    other = ring_atom[number]
    order = pending
    if order == _B_NONE:
        order = ring_order[number]
    elif ring_order[number] != _B_NONE and ring_order[number] != order:
        return _SYNTAX, n_bonds
    if other == prev:
        return _SYNTAX, n_bonds
    bu[n_bonds] = other
    bv[n_bonds] = prev
    bo[n_bonds] = _B_IMPLICIT if order == _B_NONE else order
    ring_atom[number] = -1
    ring_order[number] = _B_NONE
    return 0, n_bonds + 1


@jit
def _branch_or_dot(c: int, prev: int, pending: int, opened: bool, depth: int, n_atoms: int, stack,
                   stack_atoms) -> tuple[int, int, bool, int]:
    """``.``, ``(`` or ``)``: (status, previous atom, just-opened flag, branch depth).

    A branch remembers the atom it starts from (``stack``) and the atom count (``stack_atoms``):
    an empty branch ``()`` is an error, as are a bond symbol or ``(`` right before ``.``/``(``/``)``.
    Any other character is a syntax error.
    """
    if c == 46:  # '.'
        if pending != _B_NONE or prev < 0 or depth != 0 or opened:
            return _SYNTAX, prev, opened, depth
        return 0, -1, opened, depth
    if c == 40:  # '('
        if prev < 0 or pending != _B_NONE or opened:
            return _SYNTAX, prev, opened, depth
        stack[depth] = prev
        stack_atoms[depth] = n_atoms
        return 0, prev, True, depth + 1
    if c == 41:  # ')'
        if depth == 0 or pending != _B_NONE:
            return _SYNTAX, prev, opened, depth
        depth -= 1
        if n_atoms == stack_atoms[depth]:
            return _SYNTAX, prev, opened, depth
        return 0, stack[depth], opened, depth
    return _SYNTAX, prev, opened, depth


@jit
def _any_open_ring(ring_atom) -> bool:
    """Whether a ring-closure number was opened and never closed."""
    for k in range(_MAX_RING_NUMBER):
        if ring_atom[k] >= 0:
            return True
    return False


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
        if c == 91:  # '['
            status, p, atom_z, atom_arom, atom_charge, atom_h = _bracket_atom(s, p + 1)
            if status != 0:
                return status, 0, 0
        else:
            atom_z, atom_arom, length = _organic_atom(c, np.int64(s[p + 1]) if p + 1 < n else 0)
            if atom_z == 0:  # a token between atoms
                status = 0
                bond = _bond_symbol(c)
                if bond != _B_NONE:
                    if pending != _B_NONE or prev < 0:
                        return _SYNTAX, 0, 0
                    pending = bond
                    p += 1
                elif (c >= 48 and c <= 57) or c == 37:  # ring closure digit or %nn
                    number, length = _ring_number(c, np.int64(s[p + 1]) if p + 1 < n else 0,
                                                 np.int64(s[p + 2]) if p + 2 < n else 0)
                    if prev < 0 or opened or number < 0:
                        return _SYNTAX, 0, 0
                    status, n_bonds = _ring_closure(number, prev, pending, ring_atom, ring_order, bu, bv, bo, n_bonds)
                    pending = _B_NONE
                    p += length
                else:
                    status, prev, opened, depth = _branch_or_dot(c, prev, pending, opened, depth, n_atoms, stack,
                                                                 stack_atoms)
                    p += 1
                if status != 0:
                    return status, 0, 0
                continue
            atom_charge = 0
            atom_h = -1
            p += length
        # a new atom, bonded to the previous one
        opened = False
        z[n_atoms] = atom_z
        charge[n_atoms] = atom_charge
        hs[n_atoms] = atom_h
        aromatic[n_atoms] = atom_arom
        bracket[n_atoms] = c == 91
        if prev >= 0:
            bu[n_bonds] = prev
            bv[n_bonds] = n_atoms
            bo[n_bonds] = _B_IMPLICIT if pending == _B_NONE else pending
            n_bonds += 1
        elif pending != _B_NONE:
            return _SYNTAX, 0, 0
        pending = _B_NONE
        prev = n_atoms
        n_atoms += 1
    if depth != 0 or pending != _B_NONE or prev < 0:  # prev < 0: no atom, or a trailing '.'
        return _SYNTAX, 0, 0
    if _any_open_ring(ring_atom):
        return _SYNTAX, 0, 0
    return 0, n_atoms, n_bonds
