"""Butina clustering of packed fingerprints (sphere exclusion around the densest points)."""

from __future__ import annotations

import numpy as np

from symmol.kernels.cluster import butina_kernel
from symmol.similarity.matrix import similarity_matrix
from symmol.similarity.search import Metric

__all__ = ["butina_clusters"]

#: The neighbour search runs this far below ``1 - distance_threshold`` and then keeps exactly the
#: pairs with ``1 - similarity <= distance_threshold``, the test RDKit's users apply to distances.
_SEARCH_SLACK = 1e-9


def butina_clusters(fingerprints: np.ndarray, distance_threshold: float, metric: str | Metric = "tanimoto",
                    alpha: float = 0.5, beta: float = 0.5) -> list[tuple[int, ...]]:
    """Butina clusters with distance ``1 - similarity``.

    Each point's neighbours are the points within ``distance_threshold`` (itself included);
    points are taken by decreasing neighbour count (ties: larger index first) and each
    unassigned one becomes a centroid claiming its unassigned neighbours.

    Parameters
    ----------
    fingerprints : (n, n_words) uint64
    distance_threshold : float
        In ``[0, 1]``; e.g. 0.35 for ECFP4 Tanimoto similarity 0.65.
    metric, alpha, beta
        See :class:`~symmol.similarity.search.Metric` (use a symmetric metric).

    Returns
    -------
    list of tuple of int
        Clusters, centroid first then members by increasing index; the same as
        ``rdkit.ML.Cluster.Butina.ClusterData(dists, n, distance_threshold, isDistData=True)``
        with ``dists`` the lower triangle of ``1 - BulkTanimotoSimilarity``.

    References
    ----------
    Butina, J. Chem. Inf. Comput. Sci. 1999, 39, 747, doi:10.1021/ci9803381.
    """
    if not 0.0 <= float(distance_threshold) <= 1.0:
        raise ValueError(f"distance_threshold must be in [0, 1], got {distance_threshold!r}")
    threshold = max(0.0, 1.0 - float(distance_threshold) - _SEARCH_SLACK)
    sims = similarity_matrix(fingerprints, threshold, metric, alpha, beta).tocoo()
    n = sims.shape[0]
    keep = (1.0 - sims.data <= distance_threshold) & (sims.row != sims.col)
    # Every point neighbours itself (distance 0), even an empty fingerprint.
    rows = np.concatenate([sims.row[keep], np.arange(n)]).astype(np.int64)
    cols = np.concatenate([sims.col[keep], np.arange(n)]).astype(np.int64)
    order = np.lexsort((cols, rows))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    counts = np.diff(indptr)
    visit = np.lexsort((-np.arange(n), -counts)).astype(np.int64)
    members, offsets = butina_kernel(indptr, cols[order], visit)
    return [tuple(members[a:b].tolist()) for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
