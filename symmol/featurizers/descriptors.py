"""RDKit's 2D descriptors as dense feature rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors

from symmol.data.dense import DenseBatch
from symmol.featurizers.base import MoleculeFeaturizer, present_molecules
from symmol.featurizers.registry import register_featurizer

__all__ = ["RDKit2DDescriptors"]


@register_featurizer
@dataclass(frozen=True)
class RDKit2DDescriptors(MoleculeFeaturizer):
    """RDKit's 2D descriptors (kind ``rdkit2d``, ``rdkit.Chem.Descriptors.CalcMolDescriptors``) as float32 rows.

    :attr:`feature_names` are the names of ``Descriptors._descList`` in RDKit's order. A descriptor
    RDKit cannot compute for a molecule is NaN; so is every value of an invalid row. Values beyond the
    float32 range become ``inf``.
    """

    KINDS: ClassVar = {"rdkit2d": {}}
    BATCH_TYPE: ClassVar = DenseBatch

    @property
    def name(self) -> str:
        """``RDKit2D``."""
        return "RDKit2D"

    @cached_property
    def feature_names(self) -> list[str]:
        """Descriptor names, one per column."""
        return [name for name, _ in Descriptors._descList]

    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> DenseBatch:
        """``(n_rows, n_descriptors)`` float32 descriptors; a ``None`` entry gives a NaN row."""
        names = self.feature_names
        out = np.full((len(mols), len(names)), np.nan, dtype=np.float32)
        present, pm = present_molecules(mols)
        with np.errstate(over="ignore"):
            for i, mol in zip(present, pm, strict=True):
                values = Descriptors.CalcMolDescriptors(mol, missingVal=np.nan)
                out[i] = np.array([values[name] for name in names], dtype=np.float64)
        return DenseBatch(out)
