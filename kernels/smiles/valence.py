"""Valences and hydrogen counts for the elements of the subset.

RDKit's ``Atom.cpp`` valence model and ``PeriodicTable``.
"""

from __future__ import annotations

from ..config import jit
from .codes import _AROMATIC_ERR, _B_AROMATIC, _B_DOUBLE, _ELEMENT, _VALENCE_ERR


@jit
def _bracket_valence_ok(z: int, charge: int, valence: int) -> bool:  # noqa: C901, PLR0912  # flat lookup table
    """Tell whether RDKit accepts a bracket atom of element ``z`` and ``charge`` with this total valence.

    The total valence is bond orders + H count; the table is deliberately small.
    """
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


@jit
def _bond_tallies(n_bonds, bu, bv, bo, ring_bond, z, n_arom, other, n_multiple, exo_partner, cyclic_multiple) -> None:
    """Tally, per atom, the written bond orders (all outputs zero on entry).

    The number of aromatic bonds (``n_arom``), the sum of the other bond orders (``other``), the
    number of double/triple bonds (``n_multiple``), the atomic number across the first non-ring
    double/triple bond (``exo_partner``, 0 if none) and whether a ring bond is double or triple
    (``cyclic_multiple``).
    """
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


@jit(inline="always")
def _aromatic_carbon_hs(charge: int, bracket: bool, h_fixed: int, n_arom: int, other: int, n_multiple: int
                        ) -> tuple[int, bool, int]:
    """Count the Hs of a carbon written aromatic (``c``): valence 4, uncharged.

    Unless it carries an exocyclic double bond it takes one double bond in the Kekule structure
    (RDKit's ``markDbondCands``) and its remaining valence is implicit H (exactly the written H count
    when bracketed).

    Returns (status, takes a Kekule double bond, total H count).
    """
    if charge != 0:
        return _ELEMENT, False, 0
    rem = 4 - n_arom - other - h_fixed
    if n_multiple == 1:  # a double bond written to a non-aromatic atom: no other
        if rem != 0:
            return _VALENCE_ERR, False, 0
        return 0, False, h_fixed
    if rem < 1 or (bracket and rem != 1):
        return _VALENCE_ERR, False, 0
    return 0, True, h_fixed + rem - 1


@jit(inline="always")
def _aromatic_valence(z: int, charge: int) -> int:
    """Return the valence of an aromatic ``n``, ``o`` or ``s`` with this charge; -1 for anything else.

    N 3, N+ 4, N- 2, O/S 2, O+/S+ 3.
    """
    if z == 7:
        return 3 if charge == 0 else (4 if charge == 1 else (2 if charge == -1 else -1))
    if z == 8 or z == 16:
        return 2 if charge == 0 else (3 if charge == 1 else -1)
    return -1


@jit(inline="always")
def _aromatic_hetero_hs(z: int, charge: int, h_fixed: int, n_arom: int, other: int) -> tuple[int, bool, int]:
    """Count the Hs of an ``n``, ``o`` or ``s`` written aromatic: no implicit H.

    It takes one Kekule double bond when one unit of its valence is left (RDKit's
    ``markDbondCands``), none when none is.

    Returns (status, takes a Kekule double bond, total H count).
    """
    valence = _aromatic_valence(z, charge)
    if valence < 0:
        return _ELEMENT, False, 0
    rem = valence - n_arom - other - h_fixed
    if rem == 1:
        return 0, True, h_fixed
    if rem != 0:
        return _VALENCE_ERR, False, 0
    return 0, False, h_fixed


@jit(inline="always")
def _aromatic_atom_hs(z: int, charge: int, bracket: bool, hs: int, in_ring: bool, degree: int, n_arom: int,
                      other: int, n_multiple: int) -> tuple[int, bool, int]:
    """Count the Hs of an atom written aromatic.

    It must be in a ring, with at most one multiple bond (a carbon's exocyclic one, and then no other
    unsaturation). Returns (status, takes a Kekule double bond, total H count).
    """
    if not in_ring:
        return _AROMATIC_ERR, False, 0
    if n_multiple > 1 or (n_multiple == 1 and (z != 6 or other - degree + n_arom > 1)):
        return _AROMATIC_ERR, False, 0
    h_fixed = hs if bracket else 0
    if z == 6:
        return _aromatic_carbon_hs(charge, bracket, h_fixed, n_arom, other, n_multiple)
    return _aromatic_hetero_hs(z, charge, h_fixed, n_arom, other)


@jit(inline="always")
def _phosphorus_clean_up(z: int, charge: int, degree: int, n_multiple: int, valence: int) -> bool:
    """Tell whether RDKit's ``cleanUp`` may rewrite this atom, a superset of its ``phosphorusCleanup``.

    RDKit turns a neutral 5-valent P of degree 3 with a double bond to O and one to a C or N of
    degree >= 2 into the zwitterion (``C=P(=O)X`` -> ``C=[P+]([O-])X``); any neutral 5-valent P of
    degree 3 with two multiple bonds is refused here.
    """
    return z == 15 and charge == 0 and degree == 3 and n_multiple >= 2 and valence == 5


@jit(inline="always")
def _plain_atom_hs(z: int, charge: int, bracket: bool, hs: int, degree: int, n_multiple: int, valence: int
                   ) -> tuple[int, int]:
    """Count the Hs of an atom not written aromatic.

    A bracket atom keeps its written H count if its total valence is in the table
    (:func:`_bracket_valence_ok`); an organic-subset atom gets implicit Hs up to its default valence
    (:func:`_implicit_hs`). A phosphorus RDKit's clean-up could rewrite is refused
    (:func:`_phosphorus_clean_up`). Returns (status, total H count).
    """
    if _phosphorus_clean_up(z, charge, degree, n_multiple, valence + (hs if bracket else 0)):
        return _VALENCE_ERR, 0
    if bracket:
        if not _bracket_valence_ok(z, charge, valence + hs):
            return _VALENCE_ERR, 0
        return 0, hs
    h = _implicit_hs(z, valence)
    if h < 0:
        return _VALENCE_ERR, 0
    return 0, h


@jit
def _hydrogens(n_atoms, z, charge, hs, aromatic, bracket, in_ring, degree, n_arom, other, n_multiple, need,
               total_h) -> int:
    """Write the total H count of every atom to ``total_h``, and the Kekule double-bond takers to ``need``.

    ``need`` marks which atoms written aromatic take a double bond in the Kekule structure (RDKit's
    ``calcImplicitValence`` and ``markDbondCands``).

    Returns 0, or the refusal code of the first atom refused.
    """
    for a in range(n_atoms):
        if aromatic[a]:
            status, takes_double, h = _aromatic_atom_hs(z[a], charge[a], bracket[a], hs[a], in_ring[a], degree[a],
                                                        n_arom[a], other[a], n_multiple[a])
            need[a] = takes_double
        else:
            status, h = _plain_atom_hs(z[a], charge[a], bracket[a], hs[a], degree[a], n_multiple[a], other[a])
        if status != 0:
            return status
        total_h[a] = h
    return 0
