"""Clustering and diversity-picking kernels on packed fingerprints: Butina and MaxMin.

Both mirror RDKit's algorithms step by step (same order of visits and ties) so that their
results are identical; similarities come from :mod:`symmol.kernels.similarity`.
"""

from __future__ import annotations

import numba
import numpy as np

from .config import jit, parallel_jit
from .similarity import common_bits, score

__all__ = ["butina_kernel", "maxmin_kernel"]


@jit
def butina_kernel(indptr, indices, order):
    """Cluster points from neighbour lists by Butina (1999).

    As ``rdkit.ML.Cluster.Butina.ClusterData`` with ``reordering=False``.

    Parameters
    ----------
    indptr : (n + 1,) int64
    indices : (nnz,) int64
        Neighbours of point ``i`` (itself included), ascending: ``indices[indptr[i]:indptr[i + 1]]``.
    order : (n,) int64
        Points by decreasing neighbour count, ties by decreasing index.

    Returns
    -------
    members : (n,) int64
        Points cluster by cluster; each cluster starts with its centroid.
    offsets : (n_clusters + 1,) int64
        Cluster ``c`` is ``members[offsets[c]:offsets[c + 1]]``.
    """
    n = order.shape[0]
    seen = np.zeros(n, dtype=np.bool_)
    members = np.empty(n, dtype=np.int64)
    offsets = np.empty(n + 1, dtype=np.int64)
    pos = 0
    n_clusters = 0
    for oi in range(n):
        idx = order[oi]
        if seen[idx]:
            continue
        offsets[n_clusters] = pos
        n_clusters += 1
        members[pos] = idx
        pos += 1
        seen[idx] = True
        for k in range(indptr[idx], indptr[idx + 1]):
            nbr = indices[k]
            if not seen[nbr]:
                members[pos] = nbr
                pos += 1
                seen[nbr] = True
    offsets[n_clusters] = pos
    return members, offsets[:n_clusters + 1].copy()


@parallel_jit
def maxmin_kernel(fps, counts, first_picks, n_picks, metric, alpha, beta):
    """Pick diverse points by MaxMin, as RDKit's ``MaxMinPicker``.

    Each next pick maximises the distance ``1 - similarity`` to its nearest earlier pick (ties: the
    lowest index).

    Returns ``(n_picks,) int64`` indices; ``first_picks`` (int64) are taken first, in order.
    """
    n = fps.shape[0]
    min_dist = np.full(n, np.inf, dtype=np.float64)
    picked = np.zeros(n, dtype=np.bool_)
    picks = np.empty(n_picks, dtype=np.int64)
    for p in range(n_picks):
        if p < first_picks.shape[0]:
            new = first_picks[p]
        else:
            new = -1
            best = -np.inf
            for j in range(n):
                if not picked[j] and min_dist[j] > best:
                    best = min_dist[j]
                    new = j
        picks[p] = new
        picked[new] = True
        a = float(counts[new])
        for j in numba.prange(n):
            d = 1.0 - score(float(common_bits(fps, new, fps, j)), a, float(counts[j]), metric, alpha, beta)
            if d < min_dist[j]:
                min_dist[j] = d
    return picks
