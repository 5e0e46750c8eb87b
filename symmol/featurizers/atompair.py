"""Atom-pair fingerprints, bit- and count-identical to RDKit's ``GetAtomPairGenerator``."""

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
from symmol.kernels.atompair import atom_pair_environments

__all__ = ["AtomPairFingerprint"]


@register_featurizer
@dataclass(frozen=True)
class AtomPairFingerprint(HashedFingerprint):
    """Atom-pair fingerprint (kind ``atompair``), identical to RDKit's ``GetAtomPairGenerator(fpSize=fp_size)``.

    Parameters
    ----------
    fp_size
        Number of bits. Bits (``counts=False``) follow RDKit's default count simulation, as
        ``GetFingerprintAsNumPy`` does: ``fp_size >= 5``; counts are ``GetCountFingerprintAsNumPy``.
    counts
        Count fingerprint instead of bits.

    References
    ----------
    Carhart, Smith & Venkataraghavan, J. Chem. Inf. Comput. Sci. 1985, 25, 64,
    doi:10.1021/ci00046a002. Defaults of ``rdFingerprintGenerator.GetAtomPairGenerator``:
    distances 1-30, 2D, no chirality, count simulation for bits.
    """

    KINDS: ClassVar = {"atompair": {}}
    PARAMETERS: ClassVar = {"fp_size": Integer(1, MAX_FP_SIZE), "counts": Boolean()}
    BATCH_TYPE: ClassVar = FingerprintBatch

    fp_size: int = 2048
    counts: bool = False

    @property
    def name(self) -> str:
        """``AtomPair`` or ``AtomPair-counts``."""
        return "AtomPair" + ("-counts" if self.counts else "")

    def environments(self, mols: Sequence[Chem.Mol | None]) -> tuple[np.ndarray, np.ndarray]:
        """Unfolded 32-bit atom-pair ids ``(env_ids uint32, env_offsets (n_rows + 1,) int64)``."""
        present, pm = present_molecules(mols)
        graph = mol_graph_batch(pm)
        codes, _ = atom_pair_codes(pm, hydrogens=False)
        env_ids, env_offsets = atom_pair_environments(codes, graph.atom_offsets, graph.bond_atoms,
                                                      graph.bond_offsets)
        return env_ids, spread_offsets(env_offsets, present, len(mols))
