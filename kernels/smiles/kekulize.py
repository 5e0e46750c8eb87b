"""Written bond orders and the Kekule structure of the atoms written aromatic.

RDKit's ``Kekulize.cpp``: a perfect matching of the atoms that need a double bond.
"""

from __future__ import annotations

import numpy as np

from ..config import jit
from .codes import _AROMATIC_ERR, _B_AROMATIC, _B_IMPLICIT, _B_SINGLE, _MAX_MATCH_STEPS


@jit
def _written_bond_orders(n_bonds, bu, bv, bo, aromatic, ring_bond) -> tuple[int, bool]:
    """Resolve implicit bonds and check aromatic ones, in place in ``bo``.

    An implicit bond is aromatic between two aromatic atoms in a ring, else single (RDKit's SMILES
    parser makes it aromatic between aromatic atoms; outside a ring ``Kekulize`` would reject or
    adjust it, so that is refused). A written ``:`` must join two aromatic atoms in a ring, and ``=``
    or ``#`` between aromatic atoms is refused. Returns (status, whether any bond is aromatic).
    """
    any_aromatic = False
    for b in range(n_bonds):
        both = aromatic[bu[b]] and aromatic[bv[b]]
        if bo[b] == _B_IMPLICIT:
            bo[b] = _B_AROMATIC if (both and ring_bond[b]) else _B_SINGLE
        elif bo[b] == _B_AROMATIC:
            if not (both and ring_bond[b]):
                return _AROMATIC_ERR, any_aromatic
        elif both and bo[b] != _B_SINGLE:  # '=' or '#' written between aromatic atoms
            return _AROMATIC_ERR, any_aromatic
        if bo[b] == _B_AROMATIC:
            any_aromatic = True
    return 0, any_aromatic


@jit
def _next_free_slot(a, start, need, mate, bo, adj_start, adj_atom, adj_bond) -> int:
    """Find the first adjacency slot of ``a`` from ``start`` on that leads to a free partner; -1 if none.

    A free partner is an unmatched atom that needs a double bond, across a bond written aromatic.
    """
    for k in range(start, adj_start[a + 1]):
        v = adj_atom[k]
        if bo[adj_bond[k]] == _B_AROMATIC and need[v] and mate[v] < 0:
            return k
    return -1


@jit
def _match(mate, trail_a, trail_b, trail_choice, trail_slot, n_trail, a, v, choice, slot) -> int:
    """Match ``a`` with ``v`` and push it on the trail; return the new trail length.

    ``choice``: a guess to revisit from adjacency ``slot``; else forced.
    """
    mate[a] = v
    mate[v] = a
    trail_a[n_trail] = a
    trail_b[n_trail] = v
    trail_choice[n_trail] = choice
    trail_slot[n_trail] = slot
    return n_trail + 1


@jit
def _forced_moves(n_atoms, need, mate, bo, adj_start, adj_atom, adj_bond, trail_a, trail_b, trail_choice, trail_slot,
                  n_trail) -> tuple[bool, int]:
    """Match every unmatched atom that has exactly one free partner, until none is left.

    A free partner is an unmatched atom needing a double bond, across a bond written aromatic.

    Returns (dead end: an unmatched atom without any free partner, trail length).
    """
    progress = True
    while progress:
        progress = False
        for a in range(n_atoms):
            if not need[a] or mate[a] >= 0:
                continue
            free = 0
            partner = -1
            for k in range(adj_start[a], adj_start[a + 1]):
                v = adj_atom[k]
                if bo[adj_bond[k]] == _B_AROMATIC and need[v] and mate[v] < 0:
                    free += 1
                    partner = v
            if free == 0:
                return True, n_trail
            if free == 1:
                n_trail = _match(mate, trail_a, trail_b, trail_choice, trail_slot, n_trail, a, partner, False, 0)
                progress = True
    return False, n_trail


@jit
def _first_unmatched(n_atoms, need, mate) -> int:
    """Find the first atom that needs a double bond and has none yet; -1 if all are matched."""
    for x in range(n_atoms):
        if need[x] and mate[x] < 0:
            return x
    return -1


@jit
def _backtrack(mate, trail_a, trail_b, trail_choice, trail_slot, n_trail) -> tuple[int, int, int]:
    """Undo the trail up to and including the last choice.

    Returns (trail length, the atom of that choice or -1 if there was none, its next adjacency slot).
    """
    while n_trail > 0:
        n_trail -= 1
        x = trail_a[n_trail]
        mate[x] = -1
        mate[trail_b[n_trail]] = -1
        if trail_choice[n_trail]:
            return n_trail, x, trail_slot[n_trail]
    return n_trail, -1, 0


@jit
def _perfect_matching(n_atoms, need, bo, adj_start, adj_atom, adj_bond) -> bool:
    """Tell whether the atoms with ``need`` can each get exactly one double bond (a perfect matching).

    The double bonds go along bonds written aromatic to other such atoms; found by forced moves plus
    bounded backtracking.
    """
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
        dead_end = False
        if resume_atom < 0:
            dead_end, n_trail = _forced_moves(n_atoms, need, mate, bo, adj_start, adj_atom, adj_bond, trail_a,
                                              trail_b, trail_choice, trail_slot, n_trail)
        if not dead_end:
            # choose: first unmatched atom, next candidate partner from resume_slot
            a = resume_atom
            start = resume_slot
            if a < 0:
                a = _first_unmatched(n_atoms, need, mate)
                if a < 0:
                    return True
                start = adj_start[a]
            resume_atom = -1
            k = _next_free_slot(a, start, need, mate, bo, adj_start, adj_atom, adj_bond)
            if k >= 0:
                n_trail = _match(mate, trail_a, trail_b, trail_choice, trail_slot, n_trail, a, adj_atom[k], True,
                                 k + 1)
                continue
        # backtrack to the last choice and try its next partner
        n_trail, resume_atom, resume_slot = _backtrack(mate, trail_a, trail_b, trail_choice, trail_slot, n_trail)
        if resume_atom < 0:
            return False


@jit
def _kekulize(n_atoms, bo, need, any_aromatic, adj_start, adj_atom, adj_bond) -> bool:
    """Tell whether the atoms written aromatic have a Kekule structure.

    Each atom with ``need`` gets one double bond along a bond written aromatic (RDKit's ``Kekulize``;
    without one it reports "Can't kekulize"). True when nothing is written aromatic.
    """
    any_need = False
    for a in range(n_atoms):
        any_need = any_need or need[a]
    if not (any_aromatic or any_need):  # (an atom written aromatic without aromatic bonds cannot be matched)
        return True
    return _perfect_matching(n_atoms, need, bo, adj_start, adj_atom, adj_bond)
