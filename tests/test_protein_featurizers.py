"""Protein featurizers: DeepDTA's token ids and the amino-acid/dipeptide composition, against plain Python."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from symmol.data.dense import DenseBatch
from symmol.featurizers import make_featurizer
from symmol.featurizers.protein import PROTEIN_ALPHABET, STANDARD_AMINO_ACIDS, ProteinComposition

#: Real sequences (UniProt): human ubiquitin (P0CG48, residues 1-76), insulin A and B chains (P01308).
UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
INSULIN_A = "GIVEQCCTSICSLYQLENYCN"
INSULIN_B = "FVNQHLCGSHLVEALYLVCGERGFFYTPKT"


def reference_composition(sequence: str) -> np.ndarray:
    """Fractions of the 20 standard residues, then of the 400 ordered pairs, counted with ``Counter``."""
    sequence = "".join(sequence.split()).upper()
    singles, pairs = Counter(sequence), Counter(zip(sequence, sequence[1:], strict=False))
    return np.array([singles[a] / len(sequence) for a in STANDARD_AMINO_ACIDS]
                    + [pairs[(a, b)] / (len(sequence) - 1) for a in STANDARD_AMINO_ACIDS for b in STANDARD_AMINO_ACIDS])


def test_composition_equals_counting_by_hand_on_real_proteins() -> None:
    featurizer = make_featurizer("protein_composition")
    sequences = [UBIQUITIN, INSULIN_A, INSULIN_B.lower(), " MQIF VKTL\nTGKX "]  # case, whitespace, an X
    result = featurizer.featurize(sequences)
    assert isinstance(result.batch, DenseBatch) and result.batch.values.shape == (4, 420)
    assert result.errors == ["", "", "", ""]
    for row, sequence in zip(result.batch.values, sequences, strict=True):
        np.testing.assert_allclose(row, reference_composition(sequence), rtol=1e-6)
    assert result.batch.values[0, :20].sum() == pytest.approx(1.0)  # ubiquitin: standard residues only
    assert result.batch.values[3, :20].sum() == pytest.approx(11 / 12)  # the X counts in no column
    assert featurizer.feature_names[:3] == ["A", "C", "D"] and featurizer.feature_names[20:22] == ["AA", "AC"]


def test_composition_without_dipeptides_and_invalid_rows() -> None:
    featurizer = ProteinComposition(dipeptides=False)
    result = featurizer.featurize([INSULIN_A, "", "MKJL", None, "M"])
    values = result.batch.values
    assert values.shape == (5, 20) and len(featurizer.feature_names) == 20
    np.testing.assert_allclose(values[0], reference_composition(INSULIN_A)[:20], rtol=1e-6)
    assert result.errors[1:4] == ["empty protein sequence", "not an amino-acid letter at position 2: 'J'",
                                  "empty protein sequence"]
    assert np.isnan(values[1:4]).all() and values[4, STANDARD_AMINO_ACIDS.index("M")] == 1.0
    single = make_featurizer("protein_composition").featurize(["M"]).batch.values
    assert single[0, 20:].sum() == 0.0  # one residue, no pair
    with pytest.raises(ValueError, match="dipeptides must be True or False"):
        make_featurizer("protein_composition", dipeptides="yes")


def test_sequence_tokens_follow_deepdta_alphabet_and_cut_at_max_length() -> None:
    featurizer = make_featurizer("protein_sequence", max_length=50)
    result = featurizer.featurize([UBIQUITIN, INSULIN_B, "AB*"])
    batch = result.batch
    expected = [PROTEIN_ALPHABET.index(letter) + 1 for letter in UBIQUITIN[:50]]
    np.testing.assert_array_equal(batch.tokens[batch.offsets[0]:batch.offsets[1]], expected)
    assert list(np.diff(batch.offsets)) == [50, 30, 0]
    assert result.errors == ["", "", "not an amino-acid letter at position 2: '*'"]
    assert featurizer.vocabulary_size == 26
