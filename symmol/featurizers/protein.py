"""Protein sequences as amino-acid token ids (DeepDTA's alphabet)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symmol.data.batch import Featurized
from symmol.data.sequences import TokenBatch
from symmol.featurizers.base import Featurizer, Integer
from symmol.featurizers.registry import register_featurizer

__all__ = ["PROTEIN_ALPHABET", "ProteinSequence"]

#: One-letter amino-acid codes of DeepDTA's ``CHARPROTSET`` (the 20 standard letters, B/Z/X for
#: ambiguous residues, O pyrrolysine, U selenocysteine): ids 1–25 in this order.
PROTEIN_ALPHABET = "ABCDEFGHIKLMNOPQRSTUVWXYZ"
_CODES = np.zeros(256, dtype=np.int32)
_CODES[np.frombuffer(PROTEIN_ALPHABET.encode(), dtype=np.uint8)] = np.arange(1, len(PROTEIN_ALPHABET) + 1)


@register_featurizer
@dataclass(frozen=True)
class ProteinSequence(Featurizer):
    """Amino-acid sequences → :class:`~symmol.data.sequences.TokenBatch` (kind ``protein_sequence``).

    Letters are case-insensitive; whitespace is ignored. A sequence with another character is an
    invalid row naming the character and its position.

    Parameters
    ----------
    max_length
        Residues kept from the N-terminus; longer sequences are cut (DeepDTA: 1,000 for DAVIS and KIBA).

    References
    ----------
    Öztürk, Özgür & Ozkirimli, "DeepDTA: deep drug–target binding affinity prediction",
    Bioinformatics 2018, 34, i821, doi:10.1093/bioinformatics/bty593.
    """

    KINDS: ClassVar = {"protein_sequence": {}}
    PARAMETERS: ClassVar = {"max_length": Integer(1, None)}
    BATCH_TYPE: ClassVar = TokenBatch

    max_length: int = 1000

    @property
    def vocabulary_size(self) -> int:
        """Number of ids, padding included (26)."""
        return len(PROTEIN_ALPHABET) + 1

    def featurize(self, values: Sequence[object]) -> Featurized:
        """Residue ids of each sequence; invalid rows are empty sequences with the reason."""
        rows, errors = [], []
        for text in values:
            if not isinstance(text, str) or not text.strip():
                rows.append(np.zeros(0, np.int32))
                errors.append("empty protein sequence")
                continue
            raw = np.frombuffer("".join(text.split()).upper().encode("utf-8", "replace"), dtype=np.uint8)
            codes = _CODES[raw]
            bad = np.flatnonzero(codes == 0)
            if bad.size:
                where = int(bad[0])
                rows.append(np.zeros(0, np.int32))
                errors.append(f"not an amino-acid letter at position {where}: {chr(raw[where])!r}")
                continue
            rows.append(codes[:self.max_length])
            errors.append("")
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([row.size for row in rows], out=offsets[1:])
        tokens = np.concatenate(rows) if rows else np.zeros(0, np.int32)
        return Featurized(TokenBatch(tokens, offsets, self.vocabulary_size), errors)
