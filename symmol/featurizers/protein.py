"""Protein sequences: amino-acid token ids (DeepDTA's alphabet) and amino-acid/dipeptide composition."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from symmol.data.batch import Featurized
from symmol.data.dense import DenseBatch
from symmol.data.sequences import TokenBatch
from symmol.featurizers.base import Boolean, Featurizer, Integer
from symmol.featurizers.registry import register_featurizer

__all__ = ["PROTEIN_ALPHABET", "STANDARD_AMINO_ACIDS", "ProteinComposition", "ProteinSequence", "read_sequence"]

#: One-letter amino-acid codes of DeepDTA's ``CHARPROTSET`` (the 20 standard letters, B/Z/X for
#: ambiguous residues, O pyrrolysine, U selenocysteine): ids 1–25 in this order.
PROTEIN_ALPHABET = "ABCDEFGHIKLMNOPQRSTUVWXYZ"
_CODES = np.zeros(256, dtype=np.int32)
_CODES[np.frombuffer(PROTEIN_ALPHABET.encode(), dtype=np.uint8)] = np.arange(1, len(PROTEIN_ALPHABET) + 1)
#: The 20 standard amino acids, in the column order of :class:`ProteinComposition`.
STANDARD_AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
#: Token id (``_CODES``) → column of :data:`STANDARD_AMINO_ACIDS`, or -1 for B, Z, X, O, U and padding.
_STANDARD = np.full(len(PROTEIN_ALPHABET) + 1, -1, dtype=np.int64)
_STANDARD[[PROTEIN_ALPHABET.index(a) + 1 for a in STANDARD_AMINO_ACIDS]] = np.arange(len(STANDARD_AMINO_ACIDS))


def read_sequence(value: str | Path) -> str:
    """Return one protein sequence from a FASTA file, a plain sequence file, or the sequence itself.

    ``value`` naming an existing file: its first FASTA record (the lines after the first ``>``
    header up to the next), or, without a header, all its lines joined; whitespace is dropped.
    Anything else is the sequence. The letters are checked when a featurizer reads them.

    Raises
    ------
    ValueError
        If the file holds no sequence, or ``value`` is empty.
    """
    path = Path(value)
    text = str(value)
    try:
        is_file = path.is_file()
    except OSError:  # a long sequence is no valid path
        is_file = False
    if is_file:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        headers = [i for i, line in enumerate(lines) if line.startswith(">")]
        if headers:
            end = headers[1] if len(headers) > 1 else len(lines)
            lines = lines[headers[0] + 1:end]
        sequence = "".join("".join(line.split()) for line in lines if not line.startswith(";"))
        if not sequence:
            raise ValueError(f"{path}: no protein sequence in the file")
        return sequence
    sequence = "".join(text.split())
    if not sequence:
        raise ValueError("empty protein sequence")
    return sequence


def _residue_ids(text: object) -> tuple[np.ndarray, str]:
    """Token ids of a sequence (whitespace dropped, case ignored) and ``""``, or empty ids and the reason."""
    if not isinstance(text, str) or not text.strip():
        return np.zeros(0, np.int32), "empty protein sequence"
    raw = np.frombuffer("".join(text.split()).upper().encode("utf-8", "replace"), dtype=np.uint8)
    codes = _CODES[raw]
    bad = np.flatnonzero(codes == 0)
    if bad.size:
        where = int(bad[0])
        return np.zeros(0, np.int32), f"not an amino-acid letter at position {where}: {chr(raw[where])!r}"
    return codes, ""


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
    ANNOTATES: ClassVar = True
    PARAMETERS: ClassVar = {"max_length": Integer(1, None)}
    BATCH_TYPE: ClassVar = TokenBatch

    max_length: int = 1000

    @property
    def vocabulary_size(self) -> int:
        """Number of ids, padding included (26)."""
        return len(PROTEIN_ALPHABET) + 1

    def featurize(self, values: Sequence[object]) -> Featurized:
        """Residue ids of each sequence; invalid rows are empty sequences with the reason, truncations noted."""
        rows, errors, notes = [], [], []
        for text in values:
            codes, error = _residue_ids(text)
            rows.append(codes[:self.max_length])
            errors.append(error)
            notes.append(f"protein truncated to {self.max_length} of {codes.size} residues"
                         if codes.size > self.max_length else "")
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([row.size for row in rows], out=offsets[1:])
        tokens = np.concatenate(rows) if rows else np.zeros(0, np.int32)
        return Featurized(TokenBatch(tokens, offsets, self.vocabulary_size), errors, notes)


@register_featurizer
@dataclass(frozen=True)
class ProteinComposition(Featurizer):
    """Amino-acid (and dipeptide) composition of protein sequences (kind ``protein_composition``).

    Column ``a`` is the fraction of residues that are the standard amino acid ``a``
    (:data:`STANDARD_AMINO_ACIDS`); with ``dipeptides``, column ``ab`` is the fraction of the
    ``length - 1`` consecutive residue pairs that are ``a`` then ``b`` (400 columns). Ambiguous and
    rare letters (B, Z, X, O, U) count in the denominators and in no column. The whole sequence is
    used (no length cap). Invalid sequences (empty, or a letter outside DeepDTA's alphabet) are NaN
    rows with the reason.

    Parameters
    ----------
    dipeptides
        Add the 400 dipeptide columns (default) to the 20 amino-acid ones.

    References
    ----------
    Bhasin & Raghava, "Classification of nuclear receptors based on amino acid composition and
    dipeptide composition", J. Biol. Chem. 2004, 279, 23262, doi:10.1074/jbc.M401932200; the
    composition baseline of MGraphDTA (Yang et al., Chem. Sci. 2022, doi:10.1039/D1SC05180F).
    """

    KINDS: ClassVar = {"protein_composition": {}}
    PARAMETERS: ClassVar = {"dipeptides": Boolean()}
    BATCH_TYPE: ClassVar = DenseBatch

    dipeptides: bool = True

    @property
    def feature_names(self) -> list[str]:
        """``A`` … ``Y``, then ``AA`` … ``YY`` with ``dipeptides``."""
        singles = list(STANDARD_AMINO_ACIDS)
        return singles + ([a + b for a in singles for b in singles] if self.dipeptides else [])

    def featurize(self, values: Sequence[object]) -> Featurized:
        """``(n_rows, 20 or 420)`` float32 fractions; invalid rows are NaN, with the reason."""
        n_standard = len(STANDARD_AMINO_ACIDS)
        width = n_standard + (n_standard * n_standard if self.dipeptides else 0)
        out = np.full((len(values), width), np.nan, dtype=np.float32)
        errors = []
        for i, text in enumerate(values):
            codes, error = _residue_ids(text)
            errors.append(error)
            if error:
                continue
            columns = _STANDARD[codes]
            known = columns[columns >= 0]
            out[i, :n_standard] = np.bincount(known, minlength=n_standard) / codes.size
            if self.dipeptides:
                first, second = columns[:-1], columns[1:]
                both = (first >= 0) & (second >= 0)
                pairs = np.bincount(first[both] * n_standard + second[both], minlength=n_standard * n_standard)
                out[i, n_standard:] = pairs / max(codes.size - 1, 1)
        return Featurized(DenseBatch(out), errors)
