r"""Bond conjugation and atom hybridization as RDKit's sanitization sets them.

RDKit's ``MolOps::setConjugation`` and ``MolOps::setHybridization`` (``ConjugHybrid.cpp``), on the
molecules the reader accepts: no radicals, no dative or zero-order bonds, no stereo markup (a
tetrahedral chiral tag can set SP3 directly; the feature batch refuses ``@``, ``/`` and ``\``).
"""

from __future__ import annotations

import numpy as np

from ..config import jit
from .aromaticity import _count_atom_electrons
from .codes import _RD_AROMATIC, _RD_SINGLE
from .valence import _default_valence, _outer_electrons

# RDKit's HybridizationType values
_HYB_UNSPECIFIED = 0
_HYB_S = 1
_HYB_SP = 2
_HYB_SP2 = 3
_HYB_SP3 = 4
_HYB_SP3D = 6
_HYB_SP3D2 = 7


@jit(inline="always")
def _conjugation_candidate(z, charge, degree, total_h, total_valence) -> bool:
    """RDKit ``isAtomConjugCand``: whether an atom can take part in a conjugated system.

    Not a neutral atom above its element's first allowed valence (hypervalent S, P); then a
    first-row atom, or a heavier one outside groups 15/16 (a group 16 atom of total degree < 2
    too), that can put electrons into a pi system (``countAtomElec > 0``). ``countAtomElec``'s cap
    for atoms with two unsaturations only lowers a count above 1 to 1, so the sign read here
    needs no valence.
    """
    first_valence = _default_valence(z)
    if charge == 0 and first_valence >= 0 and total_valence > first_valence:
        return False
    nouter = _outer_electrons(z)
    if not (z <= 10 or (nouter != 5 and nouter != 6) or (nouter == 6 and degree + total_h < 2)):
        return False
    return _count_atom_electrons(z, charge, degree, total_h, 0) > 0


@jit
def _conjugation(n_atoms, z, charge, degree, total_h, kekule_valence, adj_start, adj_atom, adj_bond, bond_type,
                 conjugated) -> None:
    """Mark the conjugated bonds (RDKit ``setConjugation``; ``conjugated`` is written in full).

    Aromatic bonds are conjugated. Then, at every candidate atom (:func:`_conjugation_candidate`)
    with 2 or 3 neighbours counting Hs, each bond of order 1.5 or more to another candidate is
    conjugated together with every other bond of that atom whose far atom is a candidate with at
    most 3 neighbours counting Hs. ``bond_type`` holds RDKit's ``BondType`` codes of the sanitized
    molecule, ``kekule_valence`` each atom's sum of Kekule bond orders (Hs excluded).
    """
    candidate = np.empty(n_atoms, dtype=np.bool_)
    for a in range(n_atoms):
        candidate[a] = _conjugation_candidate(z[a], charge[a], degree[a], total_h[a], kekule_valence[a] + total_h[a])
    for b in range(conjugated.shape[0]):
        conjugated[b] = bond_type[b] == _RD_AROMATIC
    for a in range(n_atoms):
        if not candidate[a] or degree[a] + total_h[a] < 2 or degree[a] + total_h[a] > 3:
            continue
        for k1 in range(adj_start[a], adj_start[a + 1]):
            b1 = adj_bond[k1]
            if bond_type[b1] == _RD_SINGLE or not candidate[adj_atom[k1]]:
                continue
            for k2 in range(adj_start[a], adj_start[a + 1]):
                other = adj_atom[k2]
                if k2 != k1 and degree[other] + total_h[other] <= 3 and candidate[other]:
                    conjugated[b1] = True
                    conjugated[adj_bond[k2]] = True


@jit(inline="always")
def _orbitals(z, charge, total_degree, total_valence) -> int:
    """RDKit ``numBondsPlusLonePairs`` for an atom without radicals: neighbours with Hs plus lone pairs.

    ``total_valence`` is the explicit plus implicit valence (Kekule bond orders plus Hs). The
    lone pairs are half the free electrons, truncated toward zero as C++ divides.
    """
    if z <= 1:
        return total_degree
    free = _outer_electrons(z) - (total_valence + charge)
    lone_pairs = free // 2 if free >= 0 else -((-free) // 2)
    return total_degree + lone_pairs


@jit
def _hybridization(n_atoms, z, charge, degree, total_h, kekule_valence, adj_start, adj_bond, conjugated,
                   hybridization) -> None:
    """Write RDKit's ``HybridizationType`` of every atom (``setHybridization``, no chiral tags).

    By the count of :func:`_orbitals`: 0 or 1 S, 2 SP, 3 SP2, 4 SP3 (SP2 for an atom of total degree
    at most 3 with a conjugated bond), 5 SP3D, 6 SP3D2, else UNSPECIFIED. ``kekule_valence`` is
    the sum of the Kekule bond orders of each atom (Hs excluded).
    """
    for a in range(n_atoms):
        total_degree = degree[a] + total_h[a]
        norbs = _orbitals(z[a], charge[a], total_degree, kekule_valence[a] + total_h[a])
        if norbs == 0 or norbs == 1:
            hybridization[a] = _HYB_S
        elif norbs == 2:
            hybridization[a] = _HYB_SP
        elif norbs == 3:
            hybridization[a] = _HYB_SP2
        elif norbs == 4:
            has_conjugated = False
            for k in range(adj_start[a], adj_start[a + 1]):
                if conjugated[adj_bond[k]]:
                    has_conjugated = True
            hybridization[a] = _HYB_SP2 if (total_degree <= 3 and has_conjugated) else _HYB_SP3
        elif norbs == 5:
            hybridization[a] = _HYB_SP3D
        elif norbs == 6:
            hybridization[a] = _HYB_SP3D2
        else:
            hybridization[a] = _HYB_UNSPECIFIED
