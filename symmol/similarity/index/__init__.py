"""The on-disk fingerprint index.

Layout and metadata (:mod:`~symmol.similarity.index.format`), building
(:mod:`~symmol.similarity.index.build`), opening and searching (:mod:`~symmol.similarity.index.read`).
"""

from symmol.similarity.index.build import build_index
from symmol.similarity.index.format import FORMAT, FORMAT_VERSION, IndexFileError, index_featurizer, index_kinds
from symmol.similarity.index.read import FingerprintIndex

__all__ = ["FORMAT", "FORMAT_VERSION", "FingerprintIndex", "IndexFileError", "build_index", "index_featurizer",
           "index_kinds"]
