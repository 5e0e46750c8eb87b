"""Packed-bit helpers: layout, popcount, dense conversion and validation."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from symmol.chem.mol_arrays import mol_graph_batch
from symmol.kernels.bits import (
    csr_to_dense_uint8,
    pack_csr,
    popcount64,
    popcount64_swar,
    popcount_rows,
    unpack_bits,
)
from symmol.kernels.morgan import morgan_csr

EDGE_WORDS = np.array(
    [0, 1, 2**63, 2**64 - 1, 0x5555555555555555, 0xAAAAAAAAAAAAAAAA, 0x8000000000000001,
     0x00000000FFFFFFFF, 0xFFFFFFFF00000000, 0x0123456789ABCDEF], dtype=np.uint64)


def _random_words(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2**64, size=shape, dtype=np.uint64, endpoint=False)


def _random_csr(n_rows: int, fp_size: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_rows):
        k = int(rng.integers(0, min(fp_size, 40) + 1))
        rows.append(np.sort(rng.choice(fp_size, size=k, replace=False)).astype(np.int32))
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    indices = np.concatenate(rows) if rows else np.zeros(0, np.int32)
    counts = rng.integers(1, 400, size=indices.shape[0]).astype(np.int32)
    return indptr, indices.astype(np.int32), counts


@numba.njit
def _popcount_both(words):
    a = np.empty(words.shape[0], dtype=np.uint64)
    b = np.empty(words.shape[0], dtype=np.uint64)
    for i in range(words.shape[0]):
        a[i] = popcount64(words[i])
        b[i] = popcount64_swar(words[i])
    return a, b


def test_popcount_intrinsic_and_swar_match_numpy() -> None:
    words = np.concatenate([EDGE_WORDS, _random_words((5000,))])
    ctpop, swar = _popcount_both(words)
    expected = np.bitwise_count(words).astype(np.uint64)
    assert np.array_equal(ctpop, expected)
    assert np.array_equal(swar, expected)
    assert ctpop[:4].tolist() == [0, 1, 1, 64]


def test_popcount_rows_matches_numpy() -> None:
    words = _random_words((257, 33), seed=3)
    got = popcount_rows(words)
    assert got.dtype == np.int32 and got.shape == (257,)
    assert np.array_equal(got, np.bitwise_count(words).sum(axis=1))
    assert popcount_rows(np.full((2, 32), 2**64 - 1, dtype=np.uint64)).tolist() == [2048, 2048]
    assert popcount_rows(np.zeros((0, 4), dtype=np.uint64)).shape == (0,)


def test_pack_layout_is_lsb_first() -> None:
    indptr = np.array([0, 1, 2, 3, 6], dtype=np.int64)
    indices = np.array([0, 64, 127, 1, 63, 129], dtype=np.int32)
    words = pack_csr(indptr, indices, 130)
    assert words.dtype == np.uint64 and words.shape == (4, 3)
    assert words.tolist() == [[1, 0, 0], [0, 1, 0], [0, 2**63, 0], [2 + 2**63, 0, 2]]


@pytest.mark.parametrize("fp_size", [1, 63, 64, 65, 100, 2048])
def test_pack_unpack_roundtrip(fp_size: int) -> None:
    indptr, indices, _ = _random_csr(50, fp_size)
    words = pack_csr(indptr, indices, fp_size)
    assert words.shape == (50, (fp_size + 63) // 64)
    dense = unpack_bits(words, fp_size)
    assert dense.dtype == np.uint8 and dense.shape == (50, fp_size)
    expected = np.zeros((50, fp_size), dtype=np.uint8)
    rows = np.repeat(np.arange(50), np.diff(indptr))
    expected[rows, indices] = 1
    assert np.array_equal(dense, expected)
    # numpy's little-endian bit order gives the same words
    padded = np.zeros((50, words.shape[1] * 64), dtype=np.uint8)
    padded[:, :fp_size] = expected
    ref_words = np.packbits(padded, axis=1, bitorder="little").view("<u8")
    assert np.array_equal(words, ref_words)
    assert np.array_equal(popcount_rows(words), np.diff(indptr))
    assert np.array_equal(csr_to_dense_uint8(indptr, indices, np.ones_like(indices), fp_size,
                                             use_counts=False), expected)


def test_csr_to_dense_counts_are_clipped() -> None:
    indptr = np.array([0, 3, 3, 4], dtype=np.int64)
    indices = np.array([0, 5, 9, 2], dtype=np.int32)
    counts = np.array([1, 255, 256, 1000], dtype=np.int32)
    dense = csr_to_dense_uint8(indptr, indices, counts, 10, use_counts=True)
    assert dense.dtype == np.uint8
    assert dense.tolist() == [
        [1, 0, 0, 0, 0, 255, 0, 0, 0, 255],
        [0] * 10,
        [0, 0, 255, 0, 0, 0, 0, 0, 0, 0],
    ]
    bits = csr_to_dense_uint8(indptr, indices, counts, 10, use_counts=False)
    assert bits.sum(axis=1).tolist() == [3, 0, 1]


def test_morgan_pipeline_matches_rdkit_numpy() -> None:
    smiles = ["CCO", "c1ccccc1C(=O)O", "[Na+].[Cl-]", "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1",
              "O=C1NC(=O)C(N1)(c1ccccc1)c1ccccc1"]
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    g = mol_graph_batch(mols)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    indptr, indices, counts = morgan_csr(g.atom_invariants, g.atom_offsets, g.bond_atoms,
                                         g.bond_types, g.bond_offsets, 2, 1024)
    ref_bits = np.stack([gen.GetFingerprintAsNumPy(m) for m in mols])
    ref_counts = np.stack([gen.GetCountFingerprintAsNumPy(m) for m in mols])
    words = pack_csr(indptr, indices, 1024)
    assert np.array_equal(unpack_bits(words, 1024), ref_bits)
    assert np.array_equal(popcount_rows(words), ref_bits.sum(axis=1))
    assert np.array_equal(csr_to_dense_uint8(indptr, indices, counts, 1024, use_counts=False),
                          ref_bits)
    assert np.array_equal(csr_to_dense_uint8(indptr, indices, counts, 1024, use_counts=True),
                          np.minimum(ref_counts, 255).astype(np.uint8))


def test_validation_errors() -> None:
    indptr = np.array([0, 2], dtype=np.int64)
    indices = np.array([1, 5], dtype=np.int32)
    with pytest.raises(ValueError, match="indices must lie in"):
        pack_csr(indptr, indices, 5)
    with pytest.raises(ValueError, match="indices must have dtype int32"):
        pack_csr(indptr, indices.astype(np.int64), 8)
    with pytest.raises(ValueError, match="indptr must have dtype int64"):
        pack_csr(indptr.astype(np.int32), indices, 8)
    with pytest.raises(ValueError, match=r"indptr\[-1\] \(2\) must equal len\(indices\) \(1\)"):
        pack_csr(indptr, indices[:1], 8)
    with pytest.raises(ValueError, match="fp_size must be >= 1"):
        pack_csr(indptr, indices, 0)
    with pytest.raises(ValueError, match="words has 1 columns"):
        unpack_bits(np.zeros((2, 1), dtype=np.uint64), 65)
    with pytest.raises(ValueError, match="words must have dtype uint64"):
        popcount_rows(np.zeros((2, 1), dtype=np.int64))
    with pytest.raises(ValueError, match="words must be 2-D"):
        popcount_rows(np.zeros(4, dtype=np.uint64))
    with pytest.raises(ValueError, match="counts has 1 entries"):
        csr_to_dense_uint8(indptr, indices, np.ones(1, np.int32), 8, use_counts=True)
