"""N×N (or queries × targets) similarity matrices, dense or thresholded sparse."""

from __future__ import annotations

from typing import overload

import numpy as np
import scipy.sparse

from symmol.similarity.search import Metric, SortedFingerprints, as_packed, bulk_similarity, threshold_search

__all__ = ["similarity_matrix"]


@overload
def similarity_matrix(fingerprints: np.ndarray, threshold: None = None, metric: str | Metric = "tanimoto",
                      alpha: float = 0.5, beta: float = 0.5) -> np.ndarray: ...


@overload
def similarity_matrix(fingerprints: np.ndarray, threshold: float, metric: str | Metric = "tanimoto",
                      alpha: float = 0.5, beta: float = 0.5) -> scipy.sparse.csr_matrix: ...


def similarity_matrix(fingerprints: np.ndarray, threshold: float | None = None, metric: str | Metric = "tanimoto",
                      alpha: float = 0.5, beta: float = 0.5) -> np.ndarray | scipy.sparse.csr_matrix:
    """Pairwise similarities of a set of packed fingerprints.

    Parameters
    ----------
    fingerprints : (n, n_words) uint64
    threshold : float, optional
        ``None``: the full dense matrix. Else a sparse matrix holding exactly the pairs with
        similarity ``>= threshold`` (diagonal included when it qualifies), found with
        popcount-bound pruning.
    metric, alpha, beta
        See :class:`~symmol.similarity.search.Metric`; ``S[i, j]`` has ``i`` as the query
        (Tversky ``alpha`` weighs row ``i``'s own bits).

    Returns
    -------
    (n, n) float64 ndarray, or scipy.sparse.csr_matrix of float64 with sorted column indices.

    Raises
    ------
    ValueError
        On a threshold outside ``[0, 1]`` or non-packed input.
    """
    if threshold is None:
        return bulk_similarity(fingerprints, fingerprints, metric, alpha, beta)
    fingerprints = as_packed("fingerprints", fingerprints)
    targets = SortedFingerprints.from_packed(fingerprints)
    hits = threshold_search(fingerprints, targets, threshold, metric, alpha, beta)
    n = len(targets)
    i, j, s = hits.query, hits.target, hits.similarity
    order = np.lexsort((j, i))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(i, minlength=n), out=indptr[1:])
    return scipy.sparse.csr_matrix((s[order], j[order], indptr), shape=(n, n))
