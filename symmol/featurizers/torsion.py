"""Topological-torsion fingerprints, bit- and count-identical to RDKit's ``GetTopologicalTorsionGenerator``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rdkit import Chem

from symmol.chem.invariants import atom_pair_codes
from symmol.chem.mol_arrays import mol_graph_batch
from symmol.data.fingerprints import FingerprintBatch, spread_offsets
from symmol.featurizers.base import Boolean, Integer, present_molecules
from symmol.featurizers.folding import MAX_FP_SIZE, HashedFingerprint
from symmol.featurizers.registry import register_featurizer
from symmol.kernels.torsion import torsion_environments

__all__ = ["TorsionFingerprint"]


@register_featurizer
@dataclass(frozen=True)
class TorsionFingerprint(HashedFingerprint):
    """Topological torsion fingerprint (kind ``torsion``), identical to RDKit's ``GetTopologicalTorsionGenerator``.

    Parameters
    ----------
    fp_size
        Number of bits; bits use RDKit's default count simulation (``fp_size >= 5``).
    counts
        Count fingerprint instead of bits.

    References
    ----------
    Nilakantan et al., J. Chem. Inf. Comput. Sci. 1987, 27, 82, doi:10.1021/ci00054a008.
    Defaults of ``rdFingerprintGenerator.GetTopologicalTorsionGenerator``: four-atom paths,
    all paths (not only shortest), no chirality, count simulation for bits.
    """

    KINDS: ClassVar = {"torsion": {}}
    PARAMETERS: ClassVar = {"fp_size": Integer(1, MAX_FP_SIZE), "counts": Boolean()}
    BATCH_TYPE: ClassVar = FingerprintBatch

    fp_size: int = 2048
    counts: bool = False

    @property
    def name(self) -> str:
        """``Torsion`` or ``Torsion-counts``."""
        return "Torsion" + ("-counts" if self.counts else "")

    def environments(self, mols: Sequence[Chem.Mol | None]) -> tuple[np.ndarray, np.ndarray]:
        """Unfolded 32-bit torsion ids ``(env_ids uint32, env_offsets (n_rows + 1,) int64)``."""
        present, pm = present_molecules(mols)
        graph = mol_graph_batch(pm)
        codes, is_hydrogen = atom_pair_codes(pm)
        env_ids, env_offsets = torsion_environments(codes, is_hydrogen, graph.atom_offsets,
                                                    graph.bond_atoms, graph.bond_offsets)
        return env_ids, spread_offsets(env_offsets, present, len(mols))
