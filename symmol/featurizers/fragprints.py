"""Fragprints: an ECFP concatenated with RDKit's functional-group fragment counts (GAUCHE's representation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import numpy as np
from rdkit import Chem
from rdkit.Chem import Fragments

from symmol.data.fingerprints import FingerprintBatch
from symmol.featurizers.base import Boolean, FingerprintFeaturizer, Integer, present_molecules
from symmol.featurizers.folding import MAX_FP_SIZE
from symmol.featurizers.morgan import MorganFingerprint
from symmol.featurizers.registry import register_featurizer

__all__ = ["FragPrints", "fragment_functions"]


@cache
def fragment_functions() -> tuple[tuple[str, object], ...]:
    """RDKit's ``rdkit.Chem.Fragments`` counters (``fr_*``), by name: ``((name, function), ...)``."""
    return tuple((name, getattr(Fragments, name)) for name in sorted(dir(Fragments)) if name.startswith("fr_"))


@register_featurizer
@dataclass(frozen=True)
class FragPrints(FingerprintFeaturizer):
    """ECFP bits (or counts) followed by the counts of RDKit's fragment functions (kind ``fragprints``).

    Features ``0 .. ecfp_size - 1`` are :class:`~symmol.featurizers.morgan.MorganFingerprint`
    (``radius``, ``ecfp_size``, ``ecfp_counts``); feature ``ecfp_size + k`` is the count of the
    ``k``-th ``rdkit.Chem.Fragments.fr_*`` function in name order (85 under RDKit 2026.09), so
    :attr:`fp_size` is ``ecfp_size + len(fragment_functions())``. The values are counts, so
    :attr:`counts` is true: a fragprint is a kernel's or a model's input, not a similarity index's.

    References
    ----------
    Griffiths et al., GAUCHE: A Library for Gaussian Processes in Chemistry, NeurIPS 2023,
    arXiv:2212.04450 (fragprints, with ``radius`` 3 and 2048 bits, are its Photoswitch default).
    """

    KINDS: ClassVar = {"fragprints": {}}
    PARAMETERS: ClassVar = {"radius": Integer(0, 8), "ecfp_size": Integer(1, MAX_FP_SIZE), "ecfp_counts": Boolean()}
    BATCH_TYPE: ClassVar = FingerprintBatch

    radius: int = 3
    ecfp_size: int = 2048
    ecfp_counts: bool = False

    @property
    def fp_size(self) -> int:  # type: ignore[override]
        """``ecfp_size`` + the number of fragment functions."""
        return self.ecfp_size + len(fragment_functions())

    @property
    def counts(self) -> bool:  # type: ignore[override]
        """Fragment counts are counts."""
        return True

    @property
    def name(self) -> str:
        """``fragprints-ECFP6`` (diameter = 2 * radius)."""
        return f"fragprints-ECFP{2 * self.radius}" + ("-counts" if self.ecfp_counts else "")

    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> FingerprintBatch:
        """Fragprints of RDKit molecules; a ``None`` entry gives an empty row."""
        ecfp = MorganFingerprint(self.radius, self.ecfp_size, counts=self.ecfp_counts).from_mols(mols)
        functions = [function for _, function in fragment_functions()]
        fragments = np.zeros((len(mols), len(functions)), dtype=np.float32)
        present, pm = present_molecules(mols)
        for row, mol in zip(present, pm, strict=True):
            fragments[row] = [function(mol) for function in functions]  # type: ignore[operator]
        rows, columns = np.nonzero(fragments)
        lengths = np.diff(ecfp.indptr) + np.bincount(rows, minlength=len(mols))
        indptr = np.zeros(len(mols) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        indices = np.empty(indptr[-1], dtype=np.int32)
        values = np.empty(indptr[-1], dtype=np.float32)
        starts = np.searchsorted(rows, np.arange(len(mols) + 1))
        for i in range(len(mols)):
            e0, e1, f0, f1 = ecfp.indptr[i], ecfp.indptr[i + 1], starts[i], starts[i + 1]
            n_ecfp = e1 - e0
            indices[indptr[i]:indptr[i] + n_ecfp] = ecfp.indices[e0:e1]
            values[indptr[i]:indptr[i] + n_ecfp] = ecfp.values[e0:e1]
            indices[indptr[i] + n_ecfp:indptr[i + 1]] = self.ecfp_size + columns[f0:f1]
            values[indptr[i] + n_ecfp:indptr[i + 1]] = fragments[i, columns[f0:f1]]
        return FingerprintBatch(indptr, indices, values, self.fp_size)
