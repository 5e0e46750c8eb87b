"""Similarity search on packed fingerprints: bulk, threshold and top-k, with popcount bounds.

Targets are held as :class:`SortedFingerprints` (rows sorted by popcount, with popcount bin
offsets, the original row of each sorted fingerprint and, normally, the same fingerprints
bit-major), in memory or memory-mapped from a :class:`~symmol.similarity.index.FingerprintIndex`.
With bit columns every search reads only the columns of the query's set bits
(:mod:`symmol.kernels.similarity_columns`); without them (``columns=False``, format-1 indexes)
the row kernels of :mod:`symmol.kernels.similarity` scan the rows. Both give identical results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd

from symmol.data.fingerprints import FingerprintBatch
from symmol.kernels.bits import PACK_KERNELS, popcount_rows
from symmol.kernels.similarity import (
    METRICS,
    PREFIX_WORDS,
    TILE_QUERIES,
    bulk_kernel,
    threshold_kernel,
    topk_kernel,
)
from symmol.kernels.similarity_columns import (
    TOPK_KERNELS,
    column_bulk_kernel,
    column_threshold_kernel,
    column_topk_kernel,
    column_words,
    query_bits,
    transpose_rows,
)
from symmol.kernels.tiering import CompileTier

__all__ = [
    "NEAREST_SIMILARITY_TIER",
    "Hits",
    "Metric",
    "NearestSimilarity",
    "SortedFingerprints",
    "bulk_similarity",
    "max_similarity",
    "threshold_search",
    "topk_search",
]

#: Kernels or a NumPy product for :class:`NearestSimilarity`, counted in query-target pairs. On this
#: 2-core machine a cold compile of the sort, packing and top-k kernels takes ~15 s, in which the
#: product compares ~5e8 pairs of 2048-bit fingerprints.
NEAREST_SIMILARITY_TIER = CompileTier("the popcount-sorted top-k search kernels", (*PACK_KERNELS, *TOPK_KERNELS),
                                      break_even=5e8)
#: Queries per kernel call of threshold search (bounds the per-call result buffers).
QUERY_BATCH = 256
#: Hits stored per work item before an item is re-run with an exact buffer (at least).
HIT_CAPACITY = 4096
#: Hit slots allocated per kernel call when there are few work items (``np.empty``: pages
#: are only committed when hits are written), so that a few queries are never re-run.
BUFFER_SLOTS = 1 << 22


@dataclass(frozen=True)
class Hits:
    """Search results as parallel arrays, by query, then similarity descending, then target.

    Attributes
    ----------
    query : (n_hits,) int64
        0-based position of the query in the queries given.
    target : (n_hits,) int64
        Original (0-based) row of the target.
    similarity : (n_hits,) float64
    """

    query: np.ndarray
    target: np.ndarray
    similarity: np.ndarray

    def __len__(self) -> int:
        return int(self.query.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """Return the hits as a DataFrame with columns ``query``, ``target``, ``similarity``."""
        return pd.DataFrame({"query": self.query, "target": self.target, "similarity": self.similarity})

    def equals(self, other: Hits) -> bool:
        """Whether both hold exactly the same hits in the same order."""
        return all(np.array_equal(getattr(self, f), getattr(other, f)) for f in ("query", "target", "similarity"))


@dataclass(frozen=True)
class Metric:
    """A similarity metric on bit fingerprints, as in RDKit's ``DataStructs``.

    Parameters
    ----------
    name
        ``"tanimoto"``, ``"dice"``, ``"tversky"`` or ``"cosine"``.
    alpha, beta
        Tversky weights of the query's and the target's own bits, both ``>= 0``
        (``alpha = beta = 1`` is Tanimoto, ``0.5`` Dice); ignored by the other metrics.

    Raises
    ------
    ValueError
        On an unknown name or a negative or non-finite weight.
    """

    name: str = "tanimoto"
    alpha: float = 0.5
    beta: float = 0.5

    def __post_init__(self) -> None:
        if self.name not in METRICS:
            raise ValueError(f"unknown metric {self.name!r}; expected one of {', '.join(METRICS)}")
        for label, value in (("alpha", self.alpha), ("beta", self.beta)):
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"Tversky {label} must be a finite number >= 0, got {value!r}")

    @property
    def code(self) -> int:
        """Integer code understood by the kernels."""
        return METRICS[self.name]

    def kernel_args(self) -> tuple[int, float, float]:
        """``(code, alpha, beta)`` as passed to the kernels."""
        return self.code, float(self.alpha), float(self.beta)


def as_metric(metric: str | Metric, alpha: float, beta: float) -> Metric:
    """``metric`` itself if it is a :class:`Metric`, else ``Metric(metric, alpha, beta)``."""
    return metric if isinstance(metric, Metric) else Metric(metric, alpha, beta)


def as_packed(name: str, x: np.ndarray, n_words: int | None = None) -> np.ndarray:
    """Return ``x`` as C-contiguous ``(n, n_words) uint64`` rows (a 1-D row becomes one row).

    ``ValueError`` naming ``name`` on another dtype, shape or width.
    """
    arr = np.asarray(x)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.dtype != np.uint64 or arr.ndim != 2:
        raise ValueError(f"{name} must be packed fingerprints, a (n, n_words) uint64 array; got "
                         f"{arr.dtype.name} with shape {arr.shape}")
    if n_words is not None and arr.shape[1] != n_words:
        raise ValueError(f"{name} has {arr.shape[1]} words per fingerprint, the targets have {n_words} "
                         "(different fp_size)")
    return np.ascontiguousarray(arr)


@dataclass(frozen=True)
class SortedFingerprints:
    """Packed fingerprints sorted by popcount, the target side of every search.

    Attributes
    ----------
    fingerprints : (n, n_words) uint64
        Packed rows, by increasing popcount; rows of equal popcount keep their original order.
    bin_offsets : (n_words * 64 + 2,) int64
        Rows of popcount ``b`` are ``fingerprints[bin_offsets[b]:bin_offsets[b + 1]]``.
    rows : (n,) int64
        Original (0-based, pre-sort) row of each sorted fingerprint.
    prefix_counts : (n,) uint16
        Popcount of the first ``PREFIX_WORDS`` words of each sorted fingerprint (the cache line
        on which threshold search rejects most rows).
    columns : (n_bits, column_words(n)) uint64 or None
        The same fingerprints bit-major (:mod:`symmol.kernels.similarity_columns`): bit ``j % 64``
        of ``columns[f, j // 64]`` is bit ``f`` of sorted fingerprint ``j``. When present, every
        search reads only the query's bit columns; without it, the row kernels scan the rows.
    """

    fingerprints: np.ndarray
    bin_offsets: np.ndarray
    rows: np.ndarray
    prefix_counts: np.ndarray
    columns: np.ndarray | None = None

    @classmethod
    def from_packed(cls, packed: np.ndarray, rows: np.ndarray | None = None, columns: bool = True
                    ) -> SortedFingerprints:
        """Sort packed fingerprints by popcount (stable), in memory.

        Parameters
        ----------
        packed : (n, n_words) uint64
        rows : (n,) int64, optional
            Original row of each fingerprint; ``arange(n)`` if omitted.
        columns
            Also store the bit columns (as much memory again as ``packed``; much faster searches).
        """
        packed = as_packed("packed", packed)
        n, n_words = packed.shape
        rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
        if rows.shape != (n,):
            raise ValueError(f"rows must have shape ({n},), got {rows.shape}")
        counts = popcount_rows(packed)
        order = np.argsort(counts, kind="stable")
        packed = packed[order]
        cols = transpose_rows(packed, n_words * 64, column_words(n)) if columns else None
        return cls(packed, bin_offsets_from_counts(counts, n_words * 64), rows[order], prefix_popcounts(packed), cols)

    @property
    def n_words(self) -> int:
        """Words per fingerprint (``ceil(fp_size / 64)``)."""
        return int(self.fingerprints.shape[1])

    def __len__(self) -> int:
        return int(self.fingerprints.shape[0])

    def popcounts(self) -> np.ndarray:
        """``(n,) int32`` popcount of each sorted fingerprint, from the bins."""
        return np.repeat(np.arange(self.bin_offsets.size - 1, dtype=np.int32), np.diff(self.bin_offsets))


def prefix_popcounts(packed: np.ndarray) -> np.ndarray:
    """``(n,) uint16`` popcount of the first ``PREFIX_WORDS`` words of each packed row."""
    return popcount_rows(np.ascontiguousarray(packed[:, :PREFIX_WORDS])).astype(np.uint16)


def bin_offsets_from_counts(counts: np.ndarray, n_bits: int) -> np.ndarray:
    """``(n_bits + 2,) int64`` start of each popcount bin (0..n_bits) and the end, from popcounts."""
    offsets = np.zeros(n_bits + 2, dtype=np.int64)
    np.cumsum(np.bincount(counts, minlength=n_bits + 1), out=offsets[1:])
    return offsets


def _split(n_queries: int, tile: int = TILE_QUERIES) -> int:
    """Return the splits per query tile (``tile`` queries: 1 for the column kernels).

    So that a few queries still use every thread.
    """
    n_tiles = max(1, -(-n_queries // tile))
    return max(1, numba.get_num_threads() // n_tiles)


def bulk_similarity(queries: np.ndarray, targets: np.ndarray | SortedFingerprints, metric: str | Metric = "tanimoto",
                    alpha: float = 0.5, beta: float = 0.5, target_popcounts: np.ndarray | None = None,
                    order: str = "rows") -> np.ndarray:
    """Similarity of every query to every target (brute force).

    Parameters
    ----------
    queries : (n_queries, n_words) or (n_words,) uint64
    targets : (n_targets, n_words) uint64 or SortedFingerprints
        Packed rows (scanned row by row, cache-blocked over targets), or sorted fingerprints
        (with bit columns: only the query's columns are read).
    metric, alpha, beta
        See :class:`Metric`.
    target_popcounts : (n_targets,) int32, optional
        Popcounts of packed targets, when known (saves one pass over them).
    order
        For :class:`SortedFingerprints` targets: ``"rows"`` (output column ``m`` is the target of
        the ``m``-th smallest original row, i.e. row ``m`` when no input row was skipped) or
        ``"sorted"`` (the targets' popcount-sorted order, ``targets.rows`` gives their rows).

    Returns
    -------
    (n_queries, n_targets) float64
        Equal to RDKit's ``BulkTanimotoSimilarity`` (``BulkDiceSimilarity``,
        ``BulkTverskySimilarity(a, b)``, ``BulkCosineSimilarity``) for each query.

    Raises
    ------
    ValueError
        If the arrays are not packed uint64 rows of the same width, or the metric or order is invalid.
    """
    m = as_metric(metric, alpha, beta)
    if isinstance(targets, SortedFingerprints):
        if order not in ("rows", "sorted"):
            raise ValueError(f"order must be 'rows' or 'sorted', got {order!r}")
        queries = _check_targets(queries, targets)
        dest = _row_ranks(targets) if order == "rows" else np.zeros(0, np.int64)
        if targets.columns is not None:
            q_bits, q_ptr = _query_bits(queries, targets)
            return column_bulk_kernel(q_bits, q_ptr, targets.columns, targets.bin_offsets, dest, *m.kernel_args(),
                                      _split(queries.shape[0], 1), numba.get_num_threads())
        sims = bulk_kernel(queries, popcount_rows(queries), targets.fingerprints, targets.popcounts(),
                           *m.kernel_args())
        if order == "sorted":
            return sims
        out = np.empty_like(sims)
        out[:, dest] = sims
        return out
    targets = as_packed("targets", targets)
    queries = as_packed("queries", queries, targets.shape[1])
    if target_popcounts is None:
        target_popcounts = popcount_rows(targets)
    target_popcounts = np.asarray(target_popcounts)
    if target_popcounts.dtype != np.int32 or target_popcounts.shape != (targets.shape[0],):
        raise ValueError(f"target_popcounts must be ({targets.shape[0]},) int32, got {target_popcounts.dtype.name} "
                         f"{target_popcounts.shape}")
    return bulk_kernel(queries, popcount_rows(queries), targets, target_popcounts, *m.kernel_args())


_ROW_RANKS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _row_ranks(targets: SortedFingerprints) -> np.ndarray:
    """``(n,) int64`` rank of each sorted target's original row among all rows (cached per rows array)."""
    key = id(targets.rows)
    cached = _ROW_RANKS.get(key)
    if cached is not None and cached[0] is targets.rows:
        return cached[1]
    ranks = np.empty(len(targets), dtype=np.int64)
    ranks[np.argsort(targets.rows, kind="stable")] = np.arange(len(targets), dtype=np.int64)
    _ROW_RANKS.clear()  # one library at a time: bounded memory
    _ROW_RANKS[key] = (targets.rows, ranks)
    return ranks


def _query_bits(queries: np.ndarray, targets: SortedFingerprints) -> tuple[np.ndarray, np.ndarray]:
    """Set bits of packed queries as CSR: ``q_bits`` (nnz,) int64, ``q_ptr`` (n_queries + 1,) int64."""
    columns = targets.columns
    assert columns is not None, "the column kernels need the targets' bit columns"
    q_bits, q_ptr = query_bits(queries)
    if q_bits.size and q_bits.max() >= columns.shape[0]:
        raise ValueError(f"queries have bits set beyond the targets' {columns.shape[0]} bits")
    return q_bits, q_ptr


def _check_targets(queries: np.ndarray, targets: SortedFingerprints) -> np.ndarray:
    return as_packed("queries", queries, targets.n_words)


def threshold_search(queries: np.ndarray, targets: SortedFingerprints, threshold: float,
                     metric: str | Metric = "tanimoto", alpha: float = 0.5, beta: float = 0.5) -> Hits:
    """Find all targets with similarity ``>= threshold`` to each query.

    Popcount bins whose Swamidass–Baldi bound is below the threshold are skipped.

    Parameters
    ----------
    queries : (n_queries, n_words) uint64
    targets : SortedFingerprints
    threshold : float
        In ``[0, 1]``; ``0`` returns every target.
    metric, alpha, beta
        See :class:`Metric`.

    Returns
    -------
    Hits
        By query, then similarity descending, then target row.

    Raises
    ------
    ValueError
        On a threshold outside ``[0, 1]``, mismatched widths or an invalid metric.
    """
    m = as_metric(metric, alpha, beta)
    queries = _check_targets(queries, targets)
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    parts = [_threshold_batch(queries[s:s + QUERY_BATCH], s, targets, float(threshold), m)
             for s in range(0, queries.shape[0], QUERY_BATCH)]
    return _ranked(*map(np.concatenate, zip(*parts, strict=True))) if parts else _ranked(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))


def _by_popcount(queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort the queries by popcount (so that a kernel tile needs the same bins).

    Returns them, their popcounts and the permutation (sorted position -> input position).
    """
    counts = popcount_rows(queries)
    perm = np.argsort(counts, kind="stable")
    return np.ascontiguousarray(queries[perm]), counts[perm], perm


def _threshold_batch(queries, first, targets, threshold, m):
    queries, counts, perm = _by_popcount(queries)
    by_column = targets.columns is not None
    n_split = _split(queries.shape[0], 1 if by_column else TILE_QUERIES)
    capacity = int(min(max(len(targets), 1), max(HIT_CAPACITY, BUFFER_SLOTS // (queries.shape[0] * n_split))))
    if by_column:
        q_bits, q_ptr = _query_bits(queries, targets)

        def kernel(sel, n_split, capacity):
            sel_bits, sel_ptr = q_bits, q_ptr
            if sel is not None:
                sel_bits, sel_ptr = q_bits[q_ptr[sel]:q_ptr[sel + 1]], np.array([0, q_ptr[sel + 1] - q_ptr[sel]])
            return column_threshold_kernel(sel_bits, sel_ptr, targets.columns, targets.bin_offsets, threshold,
                                           *m.kernel_args(), n_split, capacity, numba.get_num_threads())
    else:
        q_prefix = prefix_popcounts(queries)

        def kernel(sel, n_split, capacity):
            part = slice(None) if sel is None else slice(sel, sel + 1)
            return threshold_kernel(queries[part], counts[part], q_prefix[part], targets.fingerprints,
                                    targets.bin_offsets, targets.prefix_counts, threshold, *m.kernel_args(), n_split,
                                    capacity)
    hits, pos, sims = kernel(None, n_split, capacity)
    per_query = hits.reshape(-1, n_split).sum(axis=1)
    overflow = np.flatnonzero(hits.reshape(-1, n_split).max(axis=1) > capacity)
    stored = hits.copy()
    stored.reshape(-1, n_split)[overflow] = 0
    item = np.repeat(np.arange(stored.size), stored)
    slot = np.arange(item.size) - np.repeat(np.cumsum(stored) - stored, stored)
    q_idx, t_pos, t_sim = [item // n_split], [pos[item, slot]], [sims[item, slot]]
    for i in overflow:  # one query at a time, with a buffer that holds all its hits
        h, p, s = kernel(i, 1, int(per_query[i]))
        q_idx.append(np.full(h[0], i, dtype=np.int64))
        t_pos.append(p[0, :h[0]])
        t_sim.append(s[0, :h[0]])
    q = perm[np.concatenate(q_idx)] + first
    return q, targets.rows[np.concatenate(t_pos)], np.concatenate(t_sim)


def _ranked(query: np.ndarray, target: np.ndarray, similarity: np.ndarray) -> Hits:
    order = np.lexsort((target, -similarity, query))
    return Hits(query[order], target[order], similarity[order])


def topk_search(queries: np.ndarray, targets: SortedFingerprints, k: int, metric: str | Metric = "tanimoto",
                alpha: float = 0.5, beta: float = 0.5) -> Hits:
    """Find the ``k`` most similar targets of each query (ties: smaller target row first).

    Popcount bins with the highest Swamidass–Baldi bounds are searched first, and bins whose
    bound falls below the current k-th best similarity are skipped. A few queries are split
    over the threads (per-thread heaps merged at the end).

    Parameters
    ----------
    queries : (n_queries, n_words) uint64
    targets : SortedFingerprints
    k : int
        ``>= 1``; fewer hits are returned when there are fewer targets.
    metric, alpha, beta
        See :class:`Metric`.

    Returns
    -------
    Hits
        As :func:`threshold_search`; ``min(k, n)`` hits per query.

    Raises
    ------
    ValueError
        On ``k < 1``, mismatched widths or an invalid metric.
    """
    m = as_metric(metric, alpha, beta)
    queries = _check_targets(queries, targets)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    k = int(min(k, max(len(targets), 1)))
    queries, counts, perm = _by_popcount(queries)
    if targets.columns is not None:
        n_split = _split(queries.shape[0], 1)
        q_bits, q_ptr = _query_bits(queries, targets)
        sims, rows = column_topk_kernel(q_bits, q_ptr, targets.columns, targets.bin_offsets, targets.rows, k,
                                        *m.kernel_args(), n_split, numba.get_num_threads())
        if n_split == 1:  # one ranked list per query: put them back in input order
            ranked_sims, ranked_rows = np.empty_like(sims), np.empty_like(rows)
            ranked_sims[perm], ranked_rows[perm] = sims, rows
            query = np.repeat(np.arange(queries.shape[0], dtype=np.int64), k)
            filled = ranked_rows.ravel() >= 0
            return Hits(query[filled], ranked_rows.ravel()[filled], ranked_sims.ravel()[filled])
    else:
        n_split = _split(queries.shape[0])
        sims, rows = topk_kernel(queries, counts, targets.fingerprints, targets.bin_offsets,
                                 targets.rows, k, *m.kernel_args(), n_split)
    query = np.repeat(perm.astype(np.int64), n_split * k)
    sims, rows = sims.ravel(), rows.ravel()
    filled = rows >= 0
    hits = _ranked(query[filled], rows[filled], sims[filled])
    if n_split > 1:  # merge the per-thread heaps: keep each query's best k
        rank = np.arange(len(hits)) - np.searchsorted(hits.query, hits.query, side="left")
        keep = rank < k
        hits = Hits(hits.query[keep], hits.target[keep], hits.similarity[keep])
    return hits


def max_similarity(queries: np.ndarray, targets, metric: str | Metric = "tanimoto", alpha: float = 0.5,
                   beta: float = 0.5) -> np.ndarray:
    """Similarity of each query to its nearest neighbour among the targets.

    Used as an applicability-domain score: a query far from every training molecule
    (low value) is outside the model's domain.

    Parameters
    ----------
    queries : (n_queries, n_words) uint64
    targets : SortedFingerprints or (n_targets, n_words) uint64
        E.g. a training set; packed arrays are sorted by popcount first (an index:
        :meth:`~symmol.similarity.index.FingerprintIndex.max_similarity`).
    metric, alpha, beta
        See :class:`Metric`.

    Returns
    -------
    (n_queries,) float64
        ``max_j similarity(query, target_j)``; ``nan`` when there are no targets.
    """
    if not isinstance(targets, SortedFingerprints):
        targets = SortedFingerprints.from_packed(targets)
    queries = _check_targets(queries, targets)
    out = np.full(queries.shape[0], np.nan)
    if len(targets) == 0:
        return out
    hits = topk_search(queries, targets, 1, metric, alpha, beta)
    out[hits.query] = hits.similarity
    return out


class NearestSimilarity:
    """Similarity of query fingerprints to their nearest neighbour in a fixed set (e.g. a training set).

    The applicability-domain score of :mod:`symmol.screen`. Each call runs :func:`max_similarity` on
    the popcount-sorted targets, or, while compiling its kernels would not yet have paid
    (:data:`NEAREST_SIMILARITY_TIER`), counts the common bits by a float32 matrix product (exact below
    2**24 bits) and applies the same expressions; the two give identical values
    (``tests/test_tiering.py``).

    Parameters
    ----------
    targets : (n_targets, n_words) uint64
        Packed bit fingerprints.
    metric, alpha, beta
        See :class:`Metric`.

    Raises
    ------
    ValueError
        On targets that are not packed rows, or an invalid metric.
    """

    #: Queries and targets per block of the matrix product (a block's product is 16 MiB of float32).
    BLOCK_ROWS = 2048

    def __init__(self, targets: np.ndarray, metric: str | Metric = "tanimoto", alpha: float = 0.5,
                 beta: float = 0.5) -> None:
        self.targets = as_packed("targets", targets)
        self.metric = as_metric(metric, alpha, beta)
        self._sorted: SortedFingerprints | None = None

    def __call__(self, queries: FingerprintBatch) -> np.ndarray:
        """``(n_queries,) float64``: each query's highest similarity to a target; ``nan`` without targets.

        Raises
        ------
        ValueError
            If the queries are wider than the targets.
        """
        if queries.fp_size > self.targets.shape[1] * 64:
            raise ValueError(f"queries have {queries.fp_size} bits, the targets {self.targets.shape[1] * 64}")
        if NEAREST_SIMILARITY_TIER.use_kernels(len(queries) * len(self.targets)):
            if self._sorted is None:  # sorted once, on the first call that uses the kernels
                self._sorted = SortedFingerprints.from_packed(self.targets)
            packed = queries.to_packed()
            if packed.shape[1] < self.targets.shape[1]:  # a narrower fingerprint: its missing words are 0
                packed = np.pad(packed, ((0, 0), (0, self.targets.shape[1] - packed.shape[1])))
            return max_similarity(packed, self._sorted, self.metric)
        return self._by_matrix_product(queries)

    def _by_matrix_product(self, queries: FingerprintBatch) -> np.ndarray:
        n_bits = self.targets.shape[1] * 64
        best = np.full(len(queries), np.nan)
        if len(self.targets) == 0:
            return best
        best[:] = -np.inf
        code, alpha, beta = self.metric.kernel_args()
        for q0 in range(0, len(queries), self.BLOCK_ROWS):
            q1 = min(q0 + self.BLOCK_ROWS, len(queries))
            indptr = queries.indptr[q0:q1 + 1]
            dense = np.zeros((q1 - q0, n_bits), dtype=np.float32)
            dense[np.repeat(np.arange(q1 - q0), np.diff(indptr)), queries.indices[indptr[0]:indptr[-1]]] = 1.0
            a = dense.sum(axis=1, dtype=np.float64)[:, None]
            for t0 in range(0, len(self.targets), self.BLOCK_ROWS):
                words = self.targets[t0:t0 + self.BLOCK_ROWS].astype("<u8", copy=False)  # bit f: byte f // 8
                bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little").astype(np.float32)
                c = (dense @ bits.T).astype(np.float64)
                b = bits.sum(axis=1, dtype=np.float64)[None, :]
                similarity = _score(c, a, b, code, alpha, beta)
                np.maximum(best[q0:q1], similarity.max(axis=1), out=best[q0:q1])
        return best


def _score(c: np.ndarray, a: np.ndarray, b: np.ndarray, metric: int, alpha: float, beta: float) -> np.ndarray:
    """:func:`symmol.kernels.similarity.score` on arrays (float64, the same expressions in the same order)."""
    if metric == 0:
        den = a + b - c
        numerator = c
    elif metric == 1:
        den = a + b
        numerator = 2.0 * c
    elif metric == 2:
        den = alpha * a + beta * b + (1.0 - alpha - beta) * c
        numerator = c
    else:
        den = np.sqrt(a * b)
        numerator = c
    den, numerator = np.broadcast_arrays(den, numerator)
    return np.divide(numerator, den, out=np.zeros(den.shape), where=den != 0.0)
