"""Decision-forest prediction on sparse fingerprint rows.

A forest is stored as flat node arrays, every tree's nodes one after the other (the layout of
scikit-learn's ``tree_`` attributes, concatenated): node ``k`` tests ``x[feature[k]] <= threshold[k]``
and goes to ``left[k]`` if so, else to ``right[k]``; a leaf has ``left[k] == -1`` and predicts
``leaf_value[k]``. The forest's prediction is the mean of its trees' leaf values, which is
scikit-learn's ``RandomForestRegressor.predict`` and, with ``leaf_value`` the leaf's fraction of the
positive class, ``RandomForestClassifier.predict_proba(X)[:, 1]``.

Rows arrive as CSR arrays (the fingerprint batches' own layout); each row is expanded into a dense
``float32`` buffer once (scikit-learn compares ``float32`` features with ``float64`` thresholds, and
so does this kernel), then walks every tree.
"""

from __future__ import annotations

import numba
import numpy as np

from .config import parallel_jit


@parallel_jit
def forest_mean_csr(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, n_features: int,
                    feature: np.ndarray, threshold: np.ndarray, left: np.ndarray, right: np.ndarray,
                    leaf_value: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """Return each row's mean leaf value over the trees whose root nodes are ``roots``.

    Parameters
    ----------
    indptr : (n_rows + 1,) int64
    indices : (nnz,) int32
        Feature (bit) indices of each row, in ``[0, n_features)``.
    values : (nnz,) float32
        The features' values (1 for bits, counts for count fingerprints).
    n_features
        Width of a dense row.
    feature : (n_nodes,) int32
        Tested feature of each split node (anything at leaves).
    threshold : (n_nodes,) float64
    left, right : (n_nodes,) int32
        Children as absolute node indices; ``left == -1`` marks a leaf.
    leaf_value : (n_nodes,) float64
    roots : (n_trees,) int64
        Root node of each tree; at least one.

    Returns
    -------
    (n_rows,) float64
    """
    n_rows = indptr.shape[0] - 1
    n_trees = roots.shape[0]
    out = np.empty(n_rows, np.float64)
    for i in numba.prange(n_rows):
        dense = np.zeros(n_features, np.float32)
        for k in range(indptr[i], indptr[i + 1]):
            dense[indices[k]] = values[k]
        total = 0.0
        for t in range(n_trees):
            node = roots[t]
            while left[node] >= 0:
                if dense[feature[node]] <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
            total += leaf_value[node]
        out[i] = total / n_trees
    return out
