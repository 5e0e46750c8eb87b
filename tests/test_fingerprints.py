"""FingerprintBatch: CSR slicing/gathering and its dense and packed forms, against RDKit."""

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from symmol.data.fingerprints import FingerprintBatch
from symmol.featurizers import MorganFingerprint
from symmol.kernels.bits import popcount_rows

SMILES = ["CCOc1ccc2nc(S(N)(=O)=O)sc2c1", "CCN1C(=O)NC(c2ccccc2)C1=O", "CC(C)(C)OC(=O)N1CCC(CC1)C(=O)O",
          "c1ccc2c(c1)ccc1ccccc12", "O=C(O)CCCCCCCCC(=O)O", "[Na+].[Cl-]"]


def test_packed_words_match_rdkit_bitvector_and_tanimoto():
    batch = MorganFingerprint(2, 1024).from_smiles(SMILES).batch
    words = batch.to_packed()
    assert words.shape == (len(SMILES), 16) and words.dtype == np.uint64
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    bitvects = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in SMILES]
    expected = np.array([np.array(list(bv), dtype=np.uint8) for bv in bitvects])
    unpacked = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")
    np.testing.assert_array_equal(unpacked, expected)
    np.testing.assert_array_equal(popcount_rows(words), [bv.GetNumOnBits() for bv in bitvects])
    common = np.bitwise_count(words[0] & words[1]).sum()
    union = np.bitwise_count(words[0] | words[1]).sum()
    assert np.isclose(common / union, DataStructs.TanimotoSimilarity(bitvects[0], bitvects[1]), atol=1e-12)


def test_take_slice_concatenate_and_dense_forms():
    batch = MorganFingerprint(2, 2048, counts=True).from_smiles(SMILES).batch
    dense = batch.to_dense()
    np.testing.assert_array_equal(batch.take(np.array([4, 0, 4])).to_dense(), dense[[4, 0, 4]])
    np.testing.assert_array_equal(batch.slice(2, 5).to_dense(), dense[2:5])
    joined = FingerprintBatch.concatenate([batch.slice(0, 2), batch.slice(2, 6)])
    np.testing.assert_array_equal(joined.to_dense(), dense)
    np.testing.assert_array_equal(batch.to_dense_uint8(), np.minimum(dense, 255).astype(np.uint8))
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    np.testing.assert_array_equal(dense[5], generator.GetCountFingerprintAsNumPy(Chem.MolFromSmiles(SMILES[5])))


def naive_take(batch: FingerprintBatch, rows) -> tuple[list, list, list]:
    """Plain Python reference of a CSR row gather."""
    indptr, indices, values = [0], [], []
    for r in rows:
        lo, hi = batch.indptr[r], batch.indptr[r + 1]
        indices += list(batch.indices[lo:hi])
        values += list(batch.values[lo:hi])
        indptr.append(len(indices))
    return indptr, indices, values


def test_take_matches_reference_with_repeats_and_empty_rows():
    """csr_take_rows (the kernel behind take) against a loop, with an empty row (an invalid SMILES)."""
    batch = MorganFingerprint(2, 2048, counts=True).from_smiles(SMILES + ["not a smiles", "C"]).batch
    assert np.diff(batch.indptr)[len(SMILES)] == 0
    rng = np.random.default_rng(0)
    for rows in (rng.integers(0, len(batch), size=40), np.arange(len(batch))[::-1], np.array([], dtype=np.int64)):
        taken = batch.take(rows)
        indptr, indices, values = naive_take(batch, rows)
        np.testing.assert_array_equal(taken.indptr, indptr)
        np.testing.assert_array_equal(taken.indices, indices)
        np.testing.assert_array_equal(taken.values, values)
        assert taken.indices.dtype == batch.indices.dtype and taken.values.dtype == batch.values.dtype
    for bad in (np.array([0, len(batch)]), np.array([-1])):
        with np.testing.assert_raises_regex(IndexError, "out of range"):
            batch.take(bad)


def test_decreasing_indptr_is_rejected_before_any_kernel_reads_it():
    """A hand-built batch with a decreasing indptr would make the gather read past ``indices``."""
    import pytest

    from symmol.kernels.sparse import csr_take_rows

    indptr, indices, values = np.array([0, 5, 2, 3]), np.array([1, 2, 3], np.int32), np.ones(3, np.float32)
    with pytest.raises(ValueError, match="row 1 ends at 2 before it starts at 5"):
        FingerprintBatch(indptr, indices, values, 2048)
    with pytest.raises(ValueError, match="not within"):
        csr_take_rows(indptr, indices, values, np.array([0, 1]))
    with pytest.raises(ValueError, match="differ in length"):
        csr_take_rows(np.array([0, 3]), indices, values[:2], np.array([0]))


def test_replace_rows_fills_empty_rows_and_refuses_occupied_ones():
    batch = FingerprintBatch(np.array([0, 2, 2, 3]), np.array([1, 5, 7], np.int32), np.ones(3, np.float32), 8)
    filling = FingerprintBatch(np.array([0, 2]), np.array([0, 6], np.int32), np.full(2, 2.0, np.float32), 8)
    filled = batch.replace_rows(np.array([1]), filling)
    np.testing.assert_array_equal(filled.to_dense(), [[0, 1, 0, 0, 0, 1, 0, 0], [2, 0, 0, 0, 0, 0, 2, 0],
                                                      [0, 0, 0, 0, 0, 0, 0, 1]])
    with pytest.raises(ValueError, match="replace_rows: row 2 has 1 entries; only empty rows are replaced"):
        batch.replace_rows(np.array([2]), filling)
