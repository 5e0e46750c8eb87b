"""Similarity matrices, Butina clustering and MaxMin picking vs naive references and RDKit."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator
from rdkit.ML.Cluster import Butina
from rdkit.SimDivFilters import MaxMinPicker

from symmol.featurizers import MorganFingerprint
from symmol.similarity import bulk_similarity, butina_clusters, maxmin_pick, similarity_matrix


@pytest.fixture(scope="module")
def zinc(example_data):
    """500 ZINC molecules plus two duplicates and an empty fingerprint: packed and RDKit fingerprints."""
    with gzip.open(example_data / "zinc20k.smi.gz", "rt") as handle:
        smiles = [next(handle).split()[0] for _ in range(500)]
    smiles += [smiles[3], smiles[7]]
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    rd = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles] + [DataStructs.ExplicitBitVect(2048)]
    packed = MorganFingerprint(2, 2048).from_smiles(smiles).batch.to_packed()
    return np.concatenate([packed, np.zeros((1, 32), np.uint64)]), rd


def test_similarity_matrix_dense_and_sparse(zinc):
    packed, _ = zinc
    dense = similarity_matrix(packed)
    np.testing.assert_array_equal(dense, bulk_similarity(packed, packed))
    np.testing.assert_array_equal(dense, dense.T)
    for threshold in (0.0, 0.4, 0.8):
        sparse = similarity_matrix(packed, threshold)
        assert sparse.has_sorted_indices
        keep = dense >= threshold
        assert sparse.nnz == keep.sum()
        np.testing.assert_array_equal(sparse.toarray(), np.where(keep, dense, 0.0))


@pytest.mark.parametrize("cutoff", [0.3, 0.5, 0.65, 0.8])
def test_butina_equals_rdkit(zinc, cutoff):
    packed, rd = zinc
    dists = []
    for i in range(1, len(rd)):
        dists.extend(1.0 - np.asarray(DataStructs.BulkTanimotoSimilarity(rd[i], rd[:i])))
    expected = Butina.ClusterData(dists, len(rd), cutoff, isDistData=True)
    got = butina_clusters(packed, cutoff)
    assert got == [tuple(c) for c in expected]
    assert sorted(i for c in got for i in c) == list(range(len(rd)))
    if cutoff >= 0.65:
        assert max(len(c) for c in got) >= 3  # a real clustering, not only singletons


@pytest.mark.parametrize("first", [[0], [12, 400]])
def test_maxmin_equals_rdkit(zinc, first):
    packed, rd = zinc
    expected = list(MaxMinPicker().LazyBitVectorPick(rd, len(rd), 60, firstPicks=first))
    np.testing.assert_array_equal(maxmin_pick(packed, 60, first), expected)


def test_maxmin_matches_naive_definition(zinc):
    packed, _ = zinc
    dist = 1.0 - bulk_similarity(packed, packed)
    picks = [5]
    while len(picks) < 20:
        nearest = dist[:, picks].min(axis=1)
        nearest[picks] = -np.inf
        picks.append(int(np.argmax(nearest)))
    np.testing.assert_array_equal(maxmin_pick(packed, 20, [5]), picks)


def test_invalid_arguments(zinc):
    packed, _ = zinc
    with pytest.raises(ValueError, match="distance_threshold must be in"):
        butina_clusters(packed, 1.5)
    with pytest.raises(ValueError, match="n_picks must be an integer in"):
        maxmin_pick(packed, packed.shape[0] + 1)
    with pytest.raises(ValueError, match="first_picks must be indices"):
        maxmin_pick(packed, 3, [10_000])
    with pytest.raises(ValueError, match="first_picks repeat"):
        maxmin_pick(packed, 3, [1, 1])
