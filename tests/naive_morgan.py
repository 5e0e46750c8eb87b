"""A slow, plain-Python Morgan/ECFP reference, used only by the tests.

Written straight from RDKit's ``MorganEnvGenerator::getEnvironments``
(``Code/GraphMol/Fingerprints/MorganGenerator.cpp``) with the generator's
defaults (connectivity invariants with ring membership, bond types, no
redundant environments), and from Rogers & Hahn, *J. Chem. Inf. Model.* 2010,
50, 742 (doi:10.1021/ci100050t). Optionally with FCFP feature invariants
(``GetMorganFeatureAtomInvGen``) and ``includeChirality=True`` (legacy stereo
perception: CIP codes from the ``_CIPCode`` atom property, bond stereo from
``Bond.GetStereo()``). It reads the molecule through the ordinary RDKit API
and shares no code with ``symmol``.

Bond sets are Python ints used as bit masks (bit ``k`` = bond index ``k``), so
comparing two of them compares big unsigned integers, which is how
``boost::dynamic_bitset`` orders equal-length bitsets.
"""

from __future__ import annotations

from collections import Counter

from rdkit import Chem
from rdkit.Chem import rdMolDescriptors

MASK32 = 0xFFFFFFFF


def hash_combine(seed: int, value: int) -> int:
    """RDKit's ``gboost::hash_combine`` with 32-bit unsigned arithmetic."""
    return (seed ^ ((value + 0x9E3779B9 + (seed << 6) + (seed >> 2)) & MASK32)) & MASK32


def hash_pair(first: int, second: int) -> int:
    """``gboost::hash_value(std::pair)``: combine both members into seed 0."""
    return hash_combine(hash_combine(0, first & MASK32), second)


def as_int32(value: int) -> int:
    """Reinterpret a 32-bit unsigned value as signed (RDKit sorts bond invariants as int32)."""
    value &= MASK32
    return value - (1 << 32) if value >= (1 << 31) else value


def bond_invariant(bond: Chem.Bond, chirality: bool) -> int:
    """``MorganBondInvGenerator(useBondTypes=True, useChirality=chirality)`` for one bond."""
    if chirality and bond.GetBondType() == Chem.BondType.DOUBLE and bond.GetStereo() != Chem.BondStereo.STEREONONE:
        return 100 + 10 * int(bond.GetBondType()) + int(bond.GetStereo())
    return int(bond.GetBondType())


def chirality_code(atom: Chem.Atom) -> int:
    """0 without a chiral tag, else what RDKit hashes in: 3 for CIP R, 2 for S, 1 otherwise."""
    if atom.GetChiralTag() == Chem.ChiralType.CHI_UNSPECIFIED:
        return 0
    cip = atom.GetProp("_CIPCode") if atom.HasProp("_CIPCode") else ""
    return {"R": 3, "S": 2}.get(cip, 1)


def environments(mol: Chem.Mol, radius: int, features: bool = False,
                 chirality: bool = False) -> list[tuple[int, int, int]]:
    """All Morgan environments of ``mol`` as ``(code, centre atom, radius)``.

    The list is in RDKit's emission order: every atom at radius 0 in index
    order, then, per layer, the surviving environments sorted by (bond set,
    code, atom). ``features`` selects FCFP invariants, ``chirality`` RDKit's
    ``includeChirality``.
    """
    n_atoms = mol.GetNumAtoms()
    if features:
        atom_inv = list(rdMolDescriptors.GetFeatureInvariants(mol))
    else:
        atom_inv = list(rdMolDescriptors.GetConnectivityInvariants(mol, includeRingMembership=True))
    chiral = [chirality_code(atom) if chirality else 0 for atom in mol.GetAtoms()]
    chiral_done = [False] * n_atoms
    # neighbours[a] = list of (bond index, bond invariant, other atom)
    neighbours: list[list[tuple[int, int, int]]] = [[] for _ in range(n_atoms)]
    for bond in mol.GetBonds():
        idx = bond.GetIdx()
        begin, end = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        bond_inv = bond_invariant(bond, chirality)
        neighbours[begin].append((idx, bond_inv, end))
        neighbours[end].append((idx, bond_inv, begin))

    result = [(atom_inv[a], a, 0) for a in range(n_atoms)]

    current = list(atom_inv)  # invariants used by this layer
    last_sets = [0] * n_atoms  # bond sets as of the end of the previous layer
    sets = [0] * n_atoms  # bond sets being grown this layer
    seen: set[int] = set()  # bond sets already emitted
    dead = [False] * n_atoms

    for layer in range(radius):
        following = [0] * n_atoms  # atoms skipped this layer pass on 0
        candidates = []
        for a in range(n_atoms):
            if dead[a]:
                continue
            if not neighbours[a]:
                dead[a] = True
                continue
            pairs = []
            for bond_idx, bond_inv, other in neighbours[a]:
                sets[a] |= (1 << bond_idx) | last_sets[other]
                pairs.append((as_int32(bond_inv), current[other]))
            pairs.sort()
            code = hash_combine(layer, current[a])
            for bond_inv, other_inv in pairs:
                code = hash_combine(code, hash_pair(bond_inv, other_inv))
            looks_chiral = chiral[a] != 0
            if looks_chiral and not chiral_done[a]:
                # chiral only if all neighbours are singly bonded and have distinct invariants
                singles = all(bond_inv == 1 for bond_inv, _ in pairs)
                distinct = all(pairs[k][1] != pairs[k - 1][1] for k in range(1, len(pairs)))
                looks_chiral = singles and distinct
            if looks_chiral:
                chiral_done[a] = True
                code = hash_combine(code, chiral[a])
            following[a] = code
            candidates.append((sets[a], code, a))
        candidates.sort()
        for bond_set, code, a in candidates:
            if bond_set in seen:
                dead[a] = True
            else:
                seen.add(bond_set)
                result.append((code, a, layer + 1))
        current = following
        last_sets = list(sets)
    return result


def count_fingerprint(mol: Chem.Mol, radius: int, fp_size: int, features: bool = False,
                      chirality: bool = False) -> dict[int, int]:
    """Folded count fingerprint ``{bit: count}`` with ``bit = code % fp_size``."""
    return dict(Counter(code % fp_size for code, _, _ in environments(mol, radius, features, chirality)))


def unfolded_counts(mol: Chem.Mol, radius: int) -> dict[int, int]:
    """Unfolded ``{code: count}``, comparable to RDKit's sparse count fingerprint."""
    return dict(Counter(code for code, _, _ in environments(mol, radius)))
