"""Fingerprint similarity search, similarity matrices, clustering and diverse picking.

An on-disk index, Tanimoto/Dice/Tversky/cosine k-NN and threshold search with popcount bounds,
similarity matrices, Butina clustering, MaxMin picking and nearest-neighbour similarity
(applicability domain).

Modules: :mod:`~symmol.similarity.search` (metrics and searches on packed arrays),
:mod:`~symmol.similarity.index` (the on-disk index), :mod:`~symmol.similarity.matrix`,
:mod:`~symmol.similarity.cluster`, :mod:`~symmol.similarity.diversity`.
"""

from symmol.similarity.cluster import butina_clusters
from symmol.similarity.diversity import maxmin_pick
from symmol.similarity.index import FingerprintIndex, IndexFileError, build_index
from symmol.similarity.matrix import similarity_matrix
from symmol.similarity.search import (
    Hits,
    Metric,
    SortedFingerprints,
    bulk_similarity,
    max_similarity,
    threshold_search,
    topk_search,
)

__all__ = [
    "FingerprintIndex",
    "Hits",
    "IndexFileError",
    "Metric",
    "SortedFingerprints",
    "build_index",
    "bulk_similarity",
    "butina_clusters",
    "max_similarity",
    "maxmin_pick",
    "similarity_matrix",
    "threshold_search",
    "topk_search",
]
