"""RDKit's folding of hashed environments into ``fp_size`` bits, shared by the hashed fingerprints."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import numpy as np
from rdkit import Chem

from symmol.data.fingerprints import FingerprintBatch, spread_offsets
from symmol.featurizers.base import FingerprintFeaturizer
from symmol.kernels.atompair import COUNT_BOUNDS, count_simulation_csr
from symmol.kernels.morgan import fold_csr

__all__ = ["MAX_FP_SIZE", "MIN_SIMULATED_SIZE", "HashedFingerprint", "csr_batch", "fold_environments"]

#: Largest ``fp_size`` (RDKit stores bit ids as 32-bit signed integers).
MAX_FP_SIZE = 2**31 - 1
#: Smallest bit-fingerprint size with count simulation (RDKit refuses ``fp_size <= len(countBounds)``).
MIN_SIMULATED_SIZE = len(COUNT_BOUNDS) + 1


def csr_batch(indptr: np.ndarray, indices: np.ndarray, counts: np.ndarray | None, use_counts: bool, fp_size: int,
              present: Sequence[int], n_rows: int) -> FingerprintBatch:
    """Build a :class:`FingerprintBatch` of ``n_rows`` rows from a kernel's CSR output for the ``present`` rows.

    Values are the counts (``use_counts``) or ones; rows not in ``present`` are empty.
    """
    values = counts.astype(np.float32) if use_counts and counts is not None else np.ones(indices.size, np.float32)
    return FingerprintBatch(spread_offsets(indptr.astype(np.int64), present, n_rows),
                            indices.astype(np.int32, copy=False), values, fp_size)


def fold_environments(env_ids: np.ndarray, env_offsets: np.ndarray, fp_size: int, counts: bool) -> FingerprintBatch:
    """Fold unfolded 32-bit ids as RDKit's generators do: counts modulo ``fp_size``, bits with count simulation.

    Count simulation (RDKit's default for atom pairs and torsions) gives each id
    ``len(COUNT_BOUNDS)`` bits, set for the bounds its count reaches
    (``FingerprintGenerator::getFingerprint`` with ``countSimulation=true``).
    """
    rows = range(len(env_offsets) - 1)
    if counts:
        indptr, indices, values = fold_csr(env_ids, env_offsets, fp_size)
        return csr_batch(indptr, indices, values, True, fp_size, rows, len(rows))
    indptr, indices, values = fold_csr(env_ids, env_offsets, fp_size // len(COUNT_BOUNDS))
    indptr, indices = count_simulation_csr(indptr, indices, values)
    return csr_batch(indptr, indices, None, False, fp_size, rows, len(rows))


class HashedFingerprint(FingerprintFeaturizer):
    """A fingerprint of hashed 32-bit environment ids folded with RDKit's count simulation for bits.

    Atom pairs, topological torsions: subclasses give :meth:`environments`.

    Subclasses are frozen dataclasses with ``fp_size`` and ``counts`` fields.
    """

    def check(self) -> None:
        """Bits need ``fp_size >= 5`` (count simulation)."""
        if not self.counts and self.fp_size < MIN_SIMULATED_SIZE:
            raise ValueError(f"fp_size must be in {MIN_SIMULATED_SIZE}..{MAX_FP_SIZE}, got {self.fp_size}")

    @abstractmethod
    def environments(self, mols: Sequence[Chem.Mol | None]) -> tuple[np.ndarray, np.ndarray]:
        """Unfolded 32-bit ids ``(env_ids uint32, env_offsets (n_rows + 1,) int64)``; ``None`` rows empty."""

    def fold(self, env_ids: np.ndarray, env_offsets: np.ndarray) -> FingerprintBatch:
        """Fold unfolded ids (:meth:`environments`) as RDKit does (count simulation for bits)."""
        return fold_environments(env_ids, env_offsets, self.fp_size, self.counts)

    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> FingerprintBatch:
        """Fingerprints of RDKit molecules; a ``None`` entry gives an empty row."""
        return self.fold(*self.environments(mols))
