"""A slow, plain-Python topological torsion reference, used only by the tests.

Written from RDKit's ``TopologicalTorsionEnvGenerator::getEnvironments`` and
``getTopologicalTorsionHash`` (``Code/GraphMol/Fingerprints/``) with the
generator's defaults (four atoms, all paths, no chirality) and Nilakantan et
al., *J. Chem. Inf. Comput. Sci.* 1987, 27, 82 (doi:10.1021/ci00054a008).
Paths come from RDKit's own ``Chem.FindAllPathsOfLengthN(mol, 4,
useBonds=False)``; it shares no code with ``symmol``.
"""

from __future__ import annotations

from naive_atompair import atom_codes
from naive_morgan import hash_combine
from rdkit import Chem

CODE_LIMIT = (1 << 9) - 1
MASK32 = 0xFFFFFFFF


def torsion_ids(mol: Chem.Mol) -> list[int]:
    """Hashed 32-bit id of every four-atom path, as RDKit's generator computes it."""
    # the generator's atom invariants: atom code - 2, in unsigned 32-bit arithmetic
    invariants = [(c - 2) & MASK32 for c in atom_codes(mol)]
    out = []
    for path in Chem.FindAllPathsOfLengthN(mol, 4, useBonds=False):
        path = list(path)
        seen: set[int] = set()
        codes = []
        for k, atom in enumerate(path):
            if k > 0 and atom != path[0] and atom in seen:  # a cycle not through the first atom
                codes = []
                break
            seen.add(atom)
            code = invariants[atom] % CODE_LIMIT + 1
            if 0 < k < len(path) - 1:
                code -= 1
            codes.append(code)
        if not codes:
            continue
        # read from the end whose codes are smaller, comparing from both ends inwards
        i, j = 0, len(codes) - 1
        while i < j and codes[i] == codes[j]:
            i, j = i + 1, j - 1
        if i < j and codes[i] > codes[j]:
            codes.reverse()
        h = 0
        for code in codes:
            h = hash_combine(h, code)
        out.append(h)
    return out
