"""Ring perception on the parsed graph (RDKit's ``FindRings.cpp``).

Ring bonds, ring atoms and the set of smallest rings the aromaticity model works from.
"""

from __future__ import annotations

import numpy as np

from ..config import jit
from .codes import _RINGS


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
def _ring_atoms(n_bonds, bu, bv, ring_bond, in_ring) -> None:
    """Mark in ``in_ring`` (all False on entry) the atoms with a ring bond.

    That is, the atoms in a ring (RDKit's ring membership).
    """
    for b in range(n_bonds):
        if ring_bond[b]:
            in_ring[bu[b]] = True
            in_ring[bv[b]] = True


@jit
def _shortest_cycle(bond, u, v, adj_start, adj_atom, adj_bond, usable, prev, queue, cycle_atoms, cycle_bonds) -> int:
    """Find a shortest cycle through ``bond`` (``u``-``v``) over ``usable`` bonds; return its length.

    Its atoms and bonds go to ``cycle_atoms``/``cycle_bonds`` (bond ``k`` joins atoms ``k`` and
    ``k + 1``); the length is 0 when there is none. ``prev`` (all -1 on entry and on return) and
    ``queue`` are scratch.
    """
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


@jit
def _ring_systems(n_atoms, in_ring, adj_start, adj_atom, adj_bond, ring_bond, component, queue) -> int:
    """Find the connected ring systems (atoms joined by ring bonds) by breadth-first search.

    The ring system of each ring atom goes to ``component`` (all -1 on entry; stays -1 for the other
    atoms). Returns the number of ring systems. ``queue`` is scratch of ``n_atoms``.
    """
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
    return n_components


@jit
def _cycle_ranks(n_atoms, n_bonds, bu, in_ring, ring_bond, usable, component, n_components, rank, relevant) -> int:
    """Count the independent cycles of each ring system to ``rank``; return the relevant systems' sum.

    The rank is ring bonds - ring atoms + 1, the size of its smallest set of smallest rings. Whether
    a system holds a ``usable`` bond goes to ``relevant`` (both zero on entry). Returns the ranks
    summed over the relevant systems.
    """
    for b in range(n_bonds):
        if ring_bond[b]:
            rank[component[bu[b]]] += 1
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
    return total_rank


@jit
def _sort_bonds(cycle_bonds, length, sorted_bonds) -> None:
    """Set ``sorted_bonds[:length]`` to sorted ``cycle_bonds[:length]``.

    Insertion sort: rings are short, and this allocates nothing.
    """
    for i in range(length):
        x = cycle_bonds[i]
        j = i
        while j > 0 and sorted_bonds[j - 1] > x:
            sorted_bonds[j] = sorted_bonds[j - 1]
            j -= 1
        sorted_bonds[j] = x


@jit
def _known_ring(ring_sorted, ring_len, ring_component, n_found, sorted_bonds, length, c) -> bool:
    """Whether ring system ``c`` already has a ring with these sorted bonds among the first ``n_found``."""
    for r in range(n_found):
        if ring_len[r] != length or ring_component[r] != c:
            continue
        same = True
        for i in range(length):
            if ring_sorted[r, i] != sorted_bonds[i]:
                same = False
                break
        if same:
            return True
    return False


@jit
def _ring_arrays(n_rings: int, n_atoms: int):
    """Allocate storage for ``n_rings`` rings of up to ``n_atoms`` atoms.

    Returns ``(ring_atoms, ring_bonds, ring_sorted, ring_len, ring_component)`` (see
    :func:`_smallest_rings`), lengths and ring systems zeroed.
    """
    return (np.empty((n_rings, n_atoms), dtype=np.int64), np.empty((n_rings, n_atoms), dtype=np.int64),
            np.empty((n_rings, n_atoms), dtype=np.int64), np.zeros(n_rings, dtype=np.int64),
            np.zeros(n_rings, dtype=np.int64))


@jit
def _smallest_rings(n_bonds, bu, bv, adj_start, adj_atom, adj_bond, ring_bond, component, rank, relevant, found,
                    ring_atoms, ring_bonds, ring_sorted, ring_len, ring_component, prev, queue, cyc_atoms, cyc_bonds,
                    sorted_bonds) -> tuple[int, int]:
    """Find the ring set RDKit works from (SSSR, ``findSSSR``): a shortest cycle through each ring bond.

    The rings are checked to be a cycle basis (as many distinct rings as independent cycles,
    ``rank``) of every ``relevant`` ring system (one holding a bond between two aromaticity
    candidates); the other ring systems cannot hold aromatic rings and are skipped.

    Ring ``r`` gets atoms ``ring_atoms[r, :ring_len[r]]``, bonds ``ring_bonds[r, :ring_len[r]]`` (bond
    ``i`` joins atoms ``i`` and ``i + 1``), the same bonds sorted in ``ring_sorted`` and its ring system
    in ``ring_component``; ``found`` (zero on entry) counts them per ring system. ``prev`` (all -1),
    ``queue``, ``cyc_atoms``, ``cyc_bonds`` and ``sorted_bonds`` are scratch of ``n_atoms``. Returns
    (status, number of rings); ``_RINGS`` where the shortest cycles are not a cycle basis.
    """
    n_found = 0
    for b in range(n_bonds):
        if not ring_bond[b] or not relevant[component[bu[b]]]:
            continue
        c = component[bu[b]]
        length = _shortest_cycle(b, bu[b], bv[b], adj_start, adj_atom, adj_bond, ring_bond, prev, queue,
                                 cyc_atoms, cyc_bonds)
        _sort_bonds(cyc_bonds, length, sorted_bonds)
        if _known_ring(ring_sorted, ring_len, ring_component, n_found, sorted_bonds, length, c):
            continue
        found[c] += 1
        if found[c] > rank[c]:
            return _RINGS, n_found
        for i in range(length):  # (element by element: a slice assignment would cost reference counting)
            ring_atoms[n_found, i] = cyc_atoms[i]
            ring_bonds[n_found, i] = cyc_bonds[i]
            ring_sorted[n_found, i] = sorted_bonds[i]
        ring_len[n_found] = length
        ring_component[n_found] = c
        n_found += 1
    for c in range(rank.shape[0]):
        if relevant[c] and found[c] != rank[c]:
            return _RINGS, n_found
    return 0, n_found


@jit
def _shared_bonds(ring_sorted, ring_len, r, r2) -> int:
    """Count the bonds rings ``r`` and ``r2`` share (a merge of their sorted bond lists)."""
    i = 0
    i2 = 0
    shared = 0
    while i < ring_len[r] and i2 < ring_len[r2]:
        if ring_sorted[r, i] == ring_sorted[r2, i2]:
            shared += 1
            i += 1
            i2 += 1
        elif ring_sorted[r, i] < ring_sorted[r2, i2]:
            i += 1
        else:
            i2 += 1
    return shared
