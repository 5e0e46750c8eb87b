"""The on-disk layout of a fingerprint index, its metadata, and which featurizers an index can hold.

An index is a directory::

    INDEX/
      meta.json           format, fingerprint kind and parameters, counts, versions, sha256 of every file
      fingerprints.npy    (n_molecules, n_words) uint64  packed fingerprints sorted by popcount (stable)
      bin_offsets.npy     (fp_size + 2,) int64           popcount-b rows are [bin_offsets[b], bin_offsets[b + 1])
      rows.npy            (n_molecules,) int64           input row (0-based) of each sorted fingerprint
      prefix_counts.npy   (n_molecules,) uint16          popcount of the first 8 words (one cache line) of each
      bit_columns.npy     (n_bits, n_column_words) uint64  the sorted fingerprints bit-major: bit j % 64 of
                                                         [f, j // 64] is bit f of sorted fingerprint j; n_column_words
                                                         = ceil(n_molecules / 2048) * 32 (zero padded)
      id_offsets.npy      (n_rows + 1,) int64            id of input row r is ids.bin[id_offsets[r]:id_offsets[r + 1]]
      ids.bin             UTF-8 ids of every input row, concatenated
      smiles_offsets.npy  (n_rows + 1,) int64
      smiles.bin          UTF-8 SMILES of every input row, concatenated
      invalid.csv         row, smiles, error of the input rows that gave no fingerprint

Format version 2 added ``bit_columns.npy``; version 1 indexes (without it) still open and are
searched row by row (slower). ``meta.json``'s ``fingerprint`` is the featurizer's ``to_dict()``
(kinds of :mod:`symmol.featurizers.registry`; files of earlier versions hold only the parameters
they changed, the rest take the featurizer's defaults).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from symmol.featurizers.base import FingerprintFeaturizer
from symmol.featurizers.registry import featurizer_class, featurizer_from_dict, featurizer_kinds
from symmol.kernels.similarity_columns import BLOCK_WORDS, column_words, transpose_rows

__all__ = ["ADDED_IN", "ARRAYS", "BLOBS", "FORMAT", "FORMAT_VERSION", "READABLE_VERSIONS", "IndexFileError",
           "column_chunks", "index_featurizer", "index_kinds", "index_parameters"]

#: ``meta.json`` ``format`` value of a symmol fingerprint index.
FORMAT = "symmol-fingerprint-index"
#: Version of the layout described in the module docstring (written by :func:`~symmol.similarity.index.build_index`).
FORMAT_VERSION = 2
#: Versions :meth:`~symmol.similarity.index.FingerprintIndex.open` reads (1: no bit columns, searched row by row).
READABLE_VERSIONS = (1, 2)
#: Array files: name -> (dtype, number of dimensions).
ARRAYS = {
    "fingerprints": (np.uint64, 2),
    "bin_offsets": (np.int64, 1),
    "rows": (np.int64, 1),
    "prefix_counts": (np.uint16, 1),
    "bit_columns": (np.uint64, 2),
    "id_offsets": (np.int64, 1),
    "smiles_offsets": (np.int64, 1),
}
#: Arrays added by each format version after the first.
ADDED_IN = {"bit_columns": 2}
BLOBS = ("ids.bin", "smiles.bin")


class IndexFileError(ValueError):
    """An index directory is missing files, corrupt, or inconsistent with its metadata."""


def index_kinds() -> list[str]:
    """Return the registered featurizer kinds an index can hold: the bit-fingerprint kinds (plug-ins included)."""
    return featurizer_kinds(base=FingerprintFeaturizer)


def index_featurizer(spec: dict[str, Any]) -> FingerprintFeaturizer:
    """Build the featurizer an index's ``fingerprint`` metadata describes (or a user's kind and parameters).

    Parameters
    ----------
    spec
        ``{"kind": kind, **params}``, e.g. ``{"kind": "ecfp", "radius": 2, "fp_size": 2048}``; missing
        parameters take the featurizer's defaults.

    Raises
    ------
    ValueError
        On a kind that is not a bit fingerprint, count fingerprints (``counts=True``) or invalid parameters.
    """
    kind = spec.get("kind")
    if not isinstance(kind, str) or kind not in index_kinds():
        raise ValueError(f"unknown fingerprint kind {kind!r} for a similarity index; expected one of "
                         f"{', '.join(index_kinds())}")
    featurizer = featurizer_from_dict(spec)
    assert isinstance(featurizer, FingerprintFeaturizer)
    if featurizer.counts:
        raise ValueError("a similarity index holds bit fingerprints; counts=True is not supported")
    return featurizer


def index_parameters(kind: str) -> tuple[str, ...]:
    """Return the parameters ``kind`` takes (e.g. ``("radius", "fp_size", "counts", "chirality")`` for ``ecfp``)."""
    return featurizer_class(kind).parameter_names()


def column_chunks(fingerprints: np.ndarray, n_bits: int, chunk_rows: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(w0, w1, columns[:, w0:w1])`` of the bit columns of sorted fingerprints.

    ``chunk_rows`` rows (rounded up to whole column blocks) at a time.
    """
    n = fingerprints.shape[0]
    step = max(1, -(-int(chunk_rows) // (64 * BLOCK_WORDS))) * 64 * BLOCK_WORDS
    for start in range(0, n, step):
        stop = min(start + step, n)
        block = transpose_rows(np.ascontiguousarray(fingerprints[start:stop]), n_bits, column_words(stop - start))
        yield start // 64, start // 64 + block.shape[1], block
