"""MACCS structural keys, computed by RDKit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdMolDescriptors

from symmol.data.fingerprints import FingerprintBatch
from symmol.featurizers.base import FingerprintFeaturizer, present_molecules
from symmol.featurizers.folding import csr_batch
from symmol.featurizers.registry import register_featurizer

__all__ = ["MACCSKeys"]


@register_featurizer
@dataclass(frozen=True)
class MACCSKeys(FingerprintFeaturizer):
    """The 166 MACCS structural keys (kind ``maccs``), RDKit's ``rdMolDescriptors.GetMACCSKeysFingerprint``.

    No parameters; ``fp_size`` is 167: RDKit keeps bit 0 unused so that key ``k`` is bit ``k``. Bits only.

    References
    ----------
    Durant et al., J. Chem. Inf. Comput. Sci. 2002, 42, 1273, doi:10.1021/ci010132r (the public key set).
    """

    KINDS: ClassVar = {"maccs": {}}
    BATCH_TYPE: ClassVar = FingerprintBatch

    @property
    def fp_size(self) -> int:  # type: ignore[override]
        """167 (key ``k`` is bit ``k``)."""
        return 167

    @property
    def counts(self) -> bool:  # type: ignore[override]
        """MACCS keys are bits."""
        return False

    @property
    def name(self) -> str:
        """``MACCS``."""
        return "MACCS"

    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> FingerprintBatch:
        """MACCS keys of RDKit molecules; a ``None`` entry gives an empty row."""
        present, pm = present_molecules(mols)
        on_bits = [list(rdMolDescriptors.GetMACCSKeysFingerprint(mol).GetOnBits()) for mol in pm]
        lengths = np.fromiter(map(len, on_bits), dtype=np.int64, count=len(on_bits))
        indptr = np.zeros(len(pm) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        indices = np.fromiter((b for row in on_bits for b in row), dtype=np.int32, count=int(indptr[-1]))
        return csr_batch(indptr, indices, None, False, 167, present, len(mols))
