"""Similarity kernels and searches vs a naive NumPy reference and RDKit, on real molecules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

import symmol.similarity.search as search_mod
from symmol.featurizers import MorganFingerprint
from symmol.similarity import (
    Metric,
    SortedFingerprints,
    bulk_similarity,
    max_similarity,
    threshold_search,
    topk_search,
)

METRICS = [("tanimoto", 0.5, 0.5), ("dice", 0.5, 0.5), ("tversky", 0.3, 0.7), ("tversky", 1.0, 0.0),
           ("tversky", 0.0, 0.0), ("cosine", 0.5, 0.5)]


def naive_similarity(queries: np.ndarray, targets: np.ndarray, metric: str, alpha: float, beta: float) -> np.ndarray:
    """Plain NumPy: the RDKit BitOps expressions, 0.0 when the denominator is 0."""
    c = np.bitwise_count(queries[:, None, :] & targets[None, :, :]).sum(-1).astype(np.float64)
    a = np.bitwise_count(queries).sum(-1).astype(np.float64)[:, None]
    b = np.bitwise_count(targets).sum(-1).astype(np.float64)[None, :]
    if metric == "tanimoto":
        num, den = c, a + b - c
    elif metric == "dice":
        num, den = 2.0 * c, a + b
    elif metric == "tversky":
        num, den = c, alpha * a + beta * b + (1.0 - alpha - beta) * c
    else:
        num, den = c, np.sqrt(a * b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0.0, num / np.where(den != 0.0, den, 1.0), 0.0)


def naive_ranked(sims: np.ndarray, k: int | None = None, threshold: float | None = None) -> list[list[tuple]]:
    """Per query: (target, similarity) by similarity descending, ties by target."""
    out = []
    for row in sims:
        order = np.lexsort((np.arange(row.size), -row))
        if threshold is not None:
            order = order[row[order] >= threshold]
        if k is not None:
            order = order[:k]
        out.append([(int(j), float(row[j])) for j in order])
    return out


def as_lists(hits, n_queries: int) -> list[list[tuple]]:
    out = [[] for _ in range(n_queries)]
    for q, t, s in zip(hits.query, hits.target, hits.similarity, strict=True):
        out[q].append((int(t), float(s)))
    return out


@pytest.fixture(scope="module")
def molecules(example_data):
    """400 real molecules (ChEMBL/ZINC/MOSES sample and tricky cases), with duplicates and empty rows."""
    lines = [ln.split("\t")[0] for ln in (example_data.parent.parent / "tests" / "data" / "ecfp_sample.smi")
             .read_text().splitlines() if ln and not ln.startswith("#")]
    smiles = [s for s in lines if Chem.MolFromSmiles(s) is not None][::4][:400]
    smiles += smiles[:5]  # exact duplicates: ties
    packed = MorganFingerprint(2, 2048).from_smiles(smiles).batch.to_packed()
    packed = np.concatenate([packed, np.zeros((2, packed.shape[1]), np.uint64)])  # two empty fingerprints
    return smiles, packed


@pytest.fixture(scope="module")
def rdkit_fps(molecules):
    smiles, packed = molecules
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]
    return fps + [DataStructs.ExplicitBitVect(2048) for _ in range(packed.shape[0] - len(smiles))]


@pytest.mark.parametrize(("metric", "alpha", "beta"), METRICS)
def test_bulk_similarity_equals_naive(molecules, metric, alpha, beta):
    _, packed = molecules
    queries = packed[::37]
    got = bulk_similarity(queries, packed, metric, alpha, beta)
    np.testing.assert_array_equal(got, naive_similarity(queries, packed, metric, alpha, beta))


@pytest.mark.parametrize("columns", [True, False])
@pytest.mark.parametrize(("metric", "alpha", "beta"), METRICS)
def test_bulk_similarity_of_sorted_targets_equals_naive(molecules, metric, alpha, beta, columns):
    """Sorted targets (bit columns or rows): output by original row, or in the sorted order."""
    _, packed = molecules
    queries = packed[::37]
    expected = naive_similarity(queries, packed, metric, alpha, beta)
    targets = SortedFingerprints.from_packed(packed, columns=columns)
    np.testing.assert_array_equal(bulk_similarity(queries, targets, metric, alpha, beta), expected)
    np.testing.assert_array_equal(bulk_similarity(queries, targets, metric, alpha, beta, order="sorted"),
                                  expected[:, targets.rows])
    # rows with gaps (skipped input rows): output column m is the m-th smallest row
    gapped = SortedFingerprints.from_packed(packed, rows=np.arange(packed.shape[0]) * 3 + 1, columns=columns)
    np.testing.assert_array_equal(bulk_similarity(queries, gapped, metric, alpha, beta), expected)


def test_transpose_rows_equals_numpy(molecules):
    from symmol.kernels.similarity_columns import BLOCK_WORDS, column_words, transpose_rows

    _, packed = molecules
    for n_words, n in ((32, packed.shape[0]), (3, 70), (1, 1)):
        rows = np.ascontiguousarray(packed[:n, :n_words])
        n_cw = column_words(n)
        assert n_cw % BLOCK_WORDS == 0 and 64 * n_cw >= n
        bits = np.unpackbits(rows.view(np.uint8), axis=1, bitorder="little")  # (n, n_bits), bit f of row j
        padded = np.zeros((bits.shape[1], 64 * n_cw), np.uint8)
        padded[:, :n] = bits.T
        expected = np.packbits(padded, axis=1, bitorder="little").view(np.uint64)
        np.testing.assert_array_equal(transpose_rows(rows, n_words * 64, n_cw), expected)
    assert column_words(0) == 0 and column_words(1) == BLOCK_WORDS
    assert column_words(64 * BLOCK_WORDS + 1) == 2 * BLOCK_WORDS


def _random_fingerprints(n: int, n_on: int, seed: int) -> np.ndarray:
    """``n`` packed 2048-bit rows with about ``n_on`` random bits each."""
    rng = np.random.default_rng(seed)
    bits = np.zeros((n, 2048), np.uint8)
    for row, k in zip(bits, rng.integers(n_on // 2, 2 * n_on, n), strict=True):
        row[rng.choice(2048, k, replace=False)] = 1
    return np.packbits(bits, axis=1, bitorder="little").view(np.uint64)


def test_count_block_equals_numpy_and_stops_only_when_no_target_can_reach(molecules):
    """Bit-sliced block counts equal NumPy's; the early stop happens only when every count stays below the floor."""
    from symmol.kernels.similarity_columns import BLOCK_WORDS, _count_block, column_words, transpose_rows

    _, packed = molecules
    targets = np.concatenate([packed, _random_fingerprints(3000, 45, 1)])
    n = targets.shape[0]
    columns = transpose_rows(targets, 2048, column_words(n))
    n_stopped = 0
    for query in (packed[3], packed[200], _random_fingerprints(1, 45, 2)[0], _random_fingerprints(1, 300, 3)[0]):
        q_bits = np.flatnonzero(np.unpackbits(query.view(np.uint8), bitorder="little")).astype(np.int64)
        a = q_bits.size
        n_planes = max(6, int(a).bit_length())
        counts = np.bitwise_count(targets & query).sum(1)
        for blk in range(column_words(n) // BLOCK_WORDS):
            block_counts = np.zeros(64 * BLOCK_WORDS, np.int64)
            part = counts[blk * 64 * BLOCK_WORDS:(blk + 1) * 64 * BLOCK_WORDS]
            block_counts[:part.size] = part
            for c_floor in (0, 5, 12, 20, a):
                planes = np.empty((n_planes, BLOCK_WORDS), np.uint64)
                kept = _count_block(columns, q_bits, 0, a, blk, planes, n_planes, c_floor)
                if not kept:
                    n_stopped += 1
                    assert block_counts.max() < c_floor
                    continue
                bits = np.unpackbits(planes.view(np.uint8), axis=1, bitorder="little").astype(np.int64)
                np.testing.assert_array_equal((bits << np.arange(n_planes)[:, None]).sum(0), block_counts)
    assert n_stopped > 0


@pytest.mark.parametrize(("metric", "alpha", "beta"), METRICS)
def test_threshold_search_with_early_stops_equals_naive(molecules, metric, alpha, beta):
    """Queries outside a library of several column blocks: most blocks stop counting early."""
    _, packed = molecules
    library = np.concatenate([_random_fingerprints(2500, 45, 4), packed, _random_fingerprints(2500, 45, 5)])
    queries = np.concatenate([packed[::60] ^ _random_fingerprints(7, 4, 6), _random_fingerprints(3, 45, 7)])
    targets = SortedFingerprints.from_packed(library)
    sims = naive_similarity(queries, library, metric, alpha, beta)
    for threshold in (0.2, 0.5, 0.7):
        assert as_lists(threshold_search(queries, targets, threshold, metric, alpha, beta), len(queries)) == \
            naive_ranked(sims, threshold=threshold)


def test_query_bits_equals_numpy(molecules):
    from symmol.kernels.similarity_columns import query_bits

    _, packed = molecules
    queries = np.concatenate([packed[::31], packed[-1:], _random_fingerprints(2, 300, 8)])  # an empty query, dense ones
    q_bits, q_ptr = query_bits(queries)
    bits = np.unpackbits(queries.view(np.uint8), axis=1, bitorder="little")
    assert q_ptr[0] == 0 and q_ptr[-1] == q_bits.size
    for i in range(queries.shape[0]):
        np.testing.assert_array_equal(q_bits[q_ptr[i]:q_ptr[i + 1]], np.flatnonzero(bits[i]))
    np.testing.assert_array_equal(np.diff(q_ptr), np.bitwise_count(queries).sum(1))
    assert q_ptr[-3] == q_ptr[-4] and np.diff(q_ptr)[-2:].min() > 255  # the empty query; 9 count planes


@pytest.mark.parametrize("n_split", [1, 3])
def test_column_kernels_do_every_work_item_once_whatever_the_workers(molecules, n_split):
    """Items claimed by any number of workers (fewer, as many or more than the items): identical outputs, and
    one split of a top-k query is its best hits among its blocks, ranked."""
    from symmol.kernels.similarity import METRICS as CODES
    from symmol.kernels.similarity_columns import (
        column_bulk_kernel,
        column_threshold_kernel,
        column_topk_kernel,
        query_bits,
    )

    _, packed = molecules
    library = np.concatenate([_random_fingerprints(2500, 45, 9), packed, _random_fingerprints(2500, 45, 10)])
    targets = SortedFingerprints.from_packed(library)
    queries = packed[::19]
    q_bits, q_ptr = query_bits(queries)
    args = (q_bits, q_ptr, targets.columns, targets.bin_offsets)
    code = CODES["tanimoto"]
    sims = naive_similarity(queries, library, "tanimoto", 0.5, 0.5)
    k = 30
    outs = []
    for n_threads in (1, 2, 5, 1000):
        bulk = column_bulk_kernel(*args, targets.rows, code, 0.5, 0.5, n_split, n_threads)
        np.testing.assert_array_equal(bulk, sims)
        counts, positions, hit_sims = column_threshold_kernel(*args, 0.4, code, 0.5, 0.5, n_split, 100000, n_threads)
        top_sims, top_rows = column_topk_kernel(*args, targets.rows, k, code, 0.5, 0.5, n_split, n_threads)
        for i in range(queries.shape[0]):
            items = range(i * n_split, (i + 1) * n_split)
            found = sorted((int(targets.rows[p]), float(s)) for it in items
                           for p, s in zip(positions[it, :counts[it]], hit_sims[it, :counts[it]], strict=True))
            assert found == sorted(naive_ranked(sims[i:i + 1], threshold=0.4)[0])
            merged = sorted(((-s, int(r)) for it in items for s, r in zip(top_sims[it], top_rows[it], strict=True)
                             if r >= 0))
            assert [(r, -s) for s, r in merged[:k]] == naive_ranked(sims[i:i + 1], k=k)[0]
            for it in items:  # each split's list is ranked: similarity descending, then row
                filled = top_rows[it] >= 0
                assert filled[:filled.sum()].all()
                ranked = sorted(zip(-top_sims[it][filled], top_rows[it][filled], strict=True))
                assert ranked == list(zip(-top_sims[it][filled], top_rows[it][filled], strict=True))
        outs.append((counts, top_sims, top_rows))
    for counts, top_sims, top_rows in outs[1:]:
        np.testing.assert_array_equal(counts, outs[0][0])
        np.testing.assert_array_equal(top_sims, outs[0][1])
        np.testing.assert_array_equal(top_rows, outs[0][2])


@pytest.mark.parametrize(("metric", "alpha", "beta"), METRICS)
def test_min_common_bisect_equals_linear_search(metric, alpha, beta):
    from symmol.kernels.similarity import METRICS as CODES
    from symmol.kernels.similarity import min_common, score
    from symmol.kernels.similarity_columns import min_common_bisect

    code = CODES[metric]
    for a in (0, 1, 7, 45, 64):
        for b in (0, 3, 45, 100):
            for target in (0.0, 0.2, 0.5, 0.7, 1.0, score(float(min(a, b)), a, b, code, alpha, beta)):
                assert min_common_bisect(a, b, target, code, alpha, beta) == min_common(0, a, b, target, code, alpha,
                                                                                        beta)


def test_bulk_similarity_other_widths(molecules):
    _, packed = molecules
    for n_words in (1, 16, 33):  # generic word loop, odd number of targets
        rows = np.ascontiguousarray(np.resize(packed[:51], (51, n_words)))
        np.testing.assert_array_equal(bulk_similarity(rows[:7], rows),
                                      naive_similarity(rows[:7], rows, "tanimoto", 0.5, 0.5))


@pytest.mark.parametrize("columns", [True, False])
@pytest.mark.parametrize("n_words", [1, 8, 9, 16])
def test_threshold_and_topk_other_widths(molecules, n_words, columns):
    """Rows at or below the 8-word prefix take the plain path, longer ones the prefix filter."""
    _, packed = molecules
    rows = np.ascontiguousarray(packed[:, :n_words])
    queries = rows[::40]
    targets = SortedFingerprints.from_packed(rows, columns=columns)
    sims = naive_similarity(queries, rows, "tanimoto", 0.5, 0.5)
    for threshold in (0.3, 0.6):
        assert as_lists(threshold_search(queries, targets, threshold), len(queries)) == naive_ranked(
            sims, threshold=threshold)
    assert as_lists(topk_search(queries, targets, 7), len(queries)) == naive_ranked(sims, k=7)


def test_bulk_similarity_equals_rdkit(molecules, rdkit_fps):
    _, packed = molecules
    for i in (0, 17, 399, packed.shape[0] - 1):
        q = rdkit_fps[i]
        np.testing.assert_array_equal(bulk_similarity(packed[i], packed, "tanimoto")[0],
                                      DataStructs.BulkTanimotoSimilarity(q, rdkit_fps))
        np.testing.assert_array_equal(bulk_similarity(packed[i], packed, "dice")[0],
                                      DataStructs.BulkDiceSimilarity(q, rdkit_fps))
        np.testing.assert_allclose(bulk_similarity(packed[i], packed, "tversky", 0.3, 0.7)[0],
                                   DataStructs.BulkTverskySimilarity(q, rdkit_fps, 0.3, 0.7), rtol=0, atol=1e-12)
        np.testing.assert_allclose(bulk_similarity(packed[i], packed, "cosine")[0],
                                   DataStructs.BulkCosineSimilarity(q, rdkit_fps), rtol=0, atol=1e-12)


def test_empty_fingerprints_have_similarity_zero_like_rdkit():
    empty = np.zeros((2, 32), np.uint64)
    rd = DataStructs.ExplicitBitVect(2048)
    for metric, rd_value in (("tanimoto", DataStructs.TanimotoSimilarity(rd, rd)),
                             ("dice", DataStructs.DiceSimilarity(rd, rd)),
                             ("cosine", DataStructs.CosineSimilarity(rd, rd))):
        assert rd_value == 0.0
        np.testing.assert_array_equal(bulk_similarity(empty, empty, metric), np.zeros((2, 2)))


@pytest.mark.parametrize("columns", [True, False])
def test_empty_query_against_sorted_targets(molecules, columns):
    """A query without bits: similarity 0 to everything (a hit at threshold 0, none above)."""
    _, packed = molecules
    targets = SortedFingerprints.from_packed(packed, columns=columns)
    empty = np.zeros((1, 32), np.uint64)
    np.testing.assert_array_equal(bulk_similarity(empty, targets), np.zeros((1, packed.shape[0])))
    assert len(threshold_search(empty, targets, 0.0)) == packed.shape[0]
    assert len(threshold_search(empty, targets, 0.01)) == 0
    top = topk_search(empty, targets, 3)
    assert top.target.tolist() == [0, 1, 2] and top.similarity.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("columns", [True, False])
@pytest.mark.parametrize(("metric", "alpha", "beta"), METRICS)
@pytest.mark.parametrize("threshold", [0.0, 0.35, 0.7, 1.0])
def test_threshold_search_equals_naive(molecules, metric, alpha, beta, threshold, columns):
    _, packed = molecules
    queries = packed[::23]
    targets = SortedFingerprints.from_packed(packed, columns=columns)
    hits = threshold_search(queries, targets, threshold, metric, alpha, beta)
    expected = naive_ranked(naive_similarity(queries, packed, metric, alpha, beta), threshold=threshold)
    assert as_lists(hits, queries.shape[0]) == expected


@pytest.mark.parametrize("columns", [True, False])
@pytest.mark.parametrize(("metric", "alpha", "beta"), METRICS)
@pytest.mark.parametrize("k", [1, 10, 1000])
def test_topk_search_equals_naive(molecules, metric, alpha, beta, k, columns):
    _, packed = molecules
    queries = packed[::23]
    hits = topk_search(queries, SortedFingerprints.from_packed(packed, columns=columns), k, metric, alpha, beta)
    expected = naive_ranked(naive_similarity(queries, packed, metric, alpha, beta), k=k)
    assert as_lists(hits, queries.shape[0]) == expected


@pytest.mark.parametrize("columns", [True, False])
def test_split_queries_and_overflowing_buffers_give_the_same_hits(molecules, monkeypatch, columns):
    """Per-thread heaps merged at the end, and re-run of overflowing threshold buffers, change nothing."""
    _, packed = molecules
    targets = SortedFingerprints.from_packed(packed, columns=columns)
    queries = packed[::50]
    top = topk_search(queries, targets, 25)
    within = threshold_search(queries, targets, 0.2)
    sims = bulk_similarity(queries, targets)
    monkeypatch.setattr(search_mod, "_split", lambda n_queries, tile=8: 3)
    monkeypatch.setattr(search_mod, "HIT_CAPACITY", 4)
    monkeypatch.setattr(search_mod, "BUFFER_SLOTS", 4)
    assert topk_search(queries, targets, 25).equals(top)
    assert threshold_search(queries, targets, 0.2).equals(within)
    np.testing.assert_array_equal(bulk_similarity(queries, targets), sims)
    assert len(threshold_search(queries, targets, 0.0)) == queries.shape[0] * packed.shape[0]


def test_search_keeps_original_rows_and_ties_by_row(molecules):
    smiles, packed = molecules
    duplicate = len(smiles) - 5  # first duplicated molecule (of row 0)
    targets = SortedFingerprints.from_packed(packed)
    assert sorted(targets.rows.tolist()) == list(range(packed.shape[0]))
    np.testing.assert_array_equal(np.bitwise_count(targets.fingerprints).sum(1), targets.popcounts())
    hits = topk_search(packed[:1], targets, 2)
    assert hits.target.tolist() == [0, duplicate] and hits.similarity.tolist() == [1.0, 1.0]
    hits = topk_search(packed[duplicate:duplicate + 1], targets, 1)
    assert hits.target.tolist() == [0]


def test_max_similarity(molecules):
    _, packed = molecules
    queries, train = packed[:60], packed[60:]
    expected = naive_similarity(queries, train, "tanimoto", 0.5, 0.5).max(axis=1)
    np.testing.assert_array_equal(max_similarity(queries, train), expected)
    np.testing.assert_array_equal(max_similarity(queries, SortedFingerprints.from_packed(train)), expected)
    assert np.isnan(max_similarity(queries[:2], train[:0])).all()


def test_invalid_arguments(molecules):
    _, packed = molecules
    targets = SortedFingerprints.from_packed(packed)
    with pytest.raises(ValueError, match="unknown metric 'jaccard'"):
        Metric("jaccard")
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        Metric("tversky", -0.1, 0.5)
    with pytest.raises(ValueError, match="16 words per fingerprint, the targets have 32"):
        topk_search(packed[:2, :16], targets, 3)
    with pytest.raises(ValueError, match="uint64"):
        bulk_similarity(packed.astype(np.int64), packed)
    with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\]"):
        threshold_search(packed[:1], targets, 1.5)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        topk_search(packed[:1], targets, 0)
    with pytest.raises(ValueError, match="order must be 'rows' or 'sorted'"):
        bulk_similarity(packed[:1], targets, order="input")
    narrow = SortedFingerprints.from_packed(packed[:, :32])
    wide = packed[:1].copy()
    wide[0, 31] = np.uint64(1) << np.uint64(63)
    narrow = SortedFingerprints(narrow.fingerprints, narrow.bin_offsets, narrow.rows, narrow.prefix_counts,
                                narrow.columns[:2000])
    with pytest.raises(ValueError, match="bits set beyond the targets' 2000 bits"):
        topk_search(wide, narrow, 1)


@pytest.mark.skipif("popcnt" not in Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else True,
                    reason="needs an x86 CPU with popcnt")
def test_inner_loop_is_unrolled_hardware_popcount():
    """2048-bit rows: the word loop is unrolled into 32 popcnt (one row) or vectorised (pairs of rows)."""
    import numba

    from symmol.kernels.similarity import common_bits, common_bits2

    one = numba.njit(cache=False)(lambda q, t: common_bits(q, 0, t, 0))
    two = numba.njit(cache=False)(lambda q, t: common_bits2(q, 0, t, 0))
    rows = np.zeros((2, 32), np.uint64)
    one(rows, rows)
    two(rows, rows)
    assert one.inspect_asm(one.signatures[0]).count("popcnt") >= 32
    asm = two.inspect_asm(two.signatures[0])
    # scalar popcnt, the AVX2 nibble-lookup popcount, or AVX-512 VPOPCNTDQ (8 words per instruction)
    assert asm.count("popcnt") >= 64 or asm.count("vpshufb") >= 16 or asm.count("vpopcntq") >= 8
