"""Constants shared by the SMILES reader: bond codes, refusal status codes and limits."""

from __future__ import annotations

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
    8: "stereo markup (@, /, \\): RDKit reads Chemprop's chirality and bond-stereo features",
}
_SYNTAX = 1
_ELEMENT = 2
_VALENCE_ERR = 3
_AROMATIC_ERR = 4
_KEKULE = 5
_RINGS = 6
_LIMIT = 7
_STEREO = 8

_MAX_RING_NUMBER = 100
_MAX_CYCLES = 64
_MAX_MATCH_STEPS = 4096

# pi electrons a ring atom donates (RDKit's ElectronDonorType, the fixed-count cases)
_NO_DONOR = -1
_VACANT = 0
_ONE = 1
_TWO = 2
