"""A slow, plain-Python atom-pair reference, used only by the tests.

Written from RDKit's ``AtomPairEnvGenerator::getEnvironments`` and
``AtomPairAtomEnv::getBitId`` (``Code/GraphMol/Fingerprints/AtomPairGenerator.cpp``)
with the generator's defaults (distances 1-30, 2D, no chirality) and
Carhart et al., *J. Chem. Inf. Comput. Sci.* 1985, 25, 64
(doi:10.1021/ci00046a002). It reads the molecule through the ordinary RDKit
API (atom codes from ``rdMolDescriptors.GetAtomPairAtomCode``, distances from
``Chem.GetDistanceMatrix``) and shares no code with ``symmol``.
"""

from __future__ import annotations

from collections import Counter

from naive_morgan import hash_combine
from rdkit import Chem
from rdkit.Chem import rdMolDescriptors

CODE_LIMIT = (1 << 9) - 1
COUNT_BOUNDS = (1, 2, 4, 8)


def atom_codes(mol: Chem.Mol) -> list[int]:
    """RDKit's atom-pair atom code of every atom (``branchSubtract=0``)."""
    return [rdMolDescriptors.GetAtomPairAtomCode(atom) for atom in mol.GetAtoms()]


def pair_ids(mol: Chem.Mol) -> list[int]:
    """Hashed 32-bit id of every atom pair ``i < j`` at topological distance 1-30."""
    codes = [c % CODE_LIMIT for c in atom_codes(mol)]
    dist = Chem.GetDistanceMatrix(mol) if mol.GetNumAtoms() else []
    out = []
    n = mol.GetNumAtoms()
    for i in range(n):
        for j in range(i + 1, n):
            d = int(dist[i][j])
            if 1 <= d <= 30:
                lo, hi = min(codes[i], codes[j]), max(codes[i], codes[j])
                out.append(hash_combine(hash_combine(hash_combine(0, lo), d), hi))
    return out


def fold_counts(ids: list[int], fp_size: int) -> dict[int, int]:
    """``{bit: count}`` with ``bit = id % fp_size`` (RDKit's count fingerprint)."""
    return dict(Counter(i % fp_size for i in ids))


def simulated_bits(ids: list[int], fp_size: int) -> set[int]:
    """RDKit's default bit fingerprint: fold to ``fp_size // 4``, then count simulation."""
    bits = set()
    for bit, count in fold_counts(ids, fp_size // len(COUNT_BOUNDS)).items():
        for k, bound in enumerate(COUNT_BOUNDS):
            if count >= bound:
                bits.add(bit * len(COUNT_BOUNDS) + k)
    return bits
