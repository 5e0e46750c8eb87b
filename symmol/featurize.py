"""Featurizers: molecules → :class:`~symmol.fingerprints.FingerprintBatch`.

RDKit parses and perceives the molecule (:mod:`symmol.chem.parse`), hands over flat arrays
(:mod:`symmol.chem.graph`), and the Numba kernels in :mod:`symmol.kernels.morgan` compute the
circular environments and fold them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from rdkit import Chem

from symmol.chem.graph import mol_graph_batch
from symmol.chem.parse import parse_smiles_list
from symmol.fingerprints import FingerprintBatch
from symmol.kernels.morgan import morgan_csr


@dataclass(frozen=True)
class FeaturizedMolecules:
    """Fingerprints aligned with the input rows, invalid rows included as empty rows.

    Attributes
    ----------
    fingerprints
        One row per input molecule; rows of invalid molecules have no features.
    errors
        ``""`` for valid rows, else why the molecule was rejected.
    """

    fingerprints: FingerprintBatch
    errors: list[str]

    @property
    def valid(self) -> np.ndarray:
        """(n_rows,) bool: which rows hold a real fingerprint."""
        return np.array([not e for e in self.errors], dtype=bool)


@dataclass(frozen=True)
class MorganFingerprint:
    """Morgan/ECFP fingerprint, identical to RDKit's ``GetMorganGenerator(radius, fpSize)``.

    Parameters
    ----------
    radius
        Number of Morgan iterations (ECFP4 is radius 2, ECFP6 radius 3). Range 0-8.
    fp_size
        Number of folded bits, ``>= 1``.
    counts
        Count fingerprint (values = occurrences, like ``GetCountFingerprintAsNumPy``)
        instead of bits (values = 1).

    References
    ----------
    Rogers & Hahn, "Extended-Connectivity Fingerprints", J. Chem. Inf. Model. 2010, 50, 742,
    doi:10.1021/ci100050t. Mirrors ``rdkit.Chem.rdFingerprintGenerator.GetMorganGenerator``
    with default atom invariants, bond types on, chirality off.
    """

    radius: int = 2
    fp_size: int = 2048
    counts: bool = False

    def __post_init__(self) -> None:
        if not 0 <= int(self.radius) <= 8:
            raise ValueError(f"radius must be in 0..8, got {self.radius}")
        if int(self.fp_size) < 1:
            raise ValueError(f"fp_size must be >= 1, got {self.fp_size}")

    @property
    def name(self) -> str:
        """Conventional name, e.g. ``ECFP4`` (diameter = 2 * radius)."""
        return f"ECFP{2 * self.radius}" + ("-counts" if self.counts else "")

    def to_dict(self) -> dict:
        """JSON-serialisable parameters (inverse of :meth:`from_dict`)."""
        return {"kind": "morgan", **asdict(self)}

    @classmethod
    def from_dict(cls, spec: dict) -> MorganFingerprint:
        """Rebuild from :meth:`to_dict` output; raises ``ValueError`` on an unknown kind."""
        if spec.get("kind") != "morgan":
            raise ValueError(f"not a Morgan fingerprint spec: {spec!r}")
        return cls(int(spec["radius"]), int(spec["fp_size"]), bool(spec["counts"]))

    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> FingerprintBatch:
        """Fingerprints of RDKit molecules; a ``None`` entry gives an empty row."""
        present = [i for i, m in enumerate(mols) if m is not None]
        graph = mol_graph_batch([mols[i] for i in present])
        indptr, indices, counts = morgan_csr(
            graph.atom_invariants, graph.atom_offsets, graph.bond_atoms, graph.bond_types,
            graph.bond_offsets, int(self.radius), int(self.fp_size),
        )
        values = counts.astype(np.float32) if self.counts else np.ones(indices.size, np.float32)
        batch = FingerprintBatch(indptr.astype(np.int64), indices.astype(np.int32), values, self.fp_size)
        if len(present) == len(mols):
            return batch
        # Re-insert empty rows for missing molecules, keeping input order.
        lengths = np.zeros(len(mols), dtype=np.int64)
        lengths[present] = np.diff(batch.indptr)
        full_indptr = np.zeros(len(mols) + 1, dtype=np.int64)
        np.cumsum(lengths, out=full_indptr[1:])
        return FingerprintBatch(full_indptr, batch.indices, batch.values, self.fp_size)

    def from_smiles(self, smiles: Sequence[str]) -> FeaturizedMolecules:
        """Parse SMILES with RDKit and fingerprint them; invalid rows are flagged, not dropped."""
        parsed = parse_smiles_list(smiles)
        return FeaturizedMolecules(self.from_mols(parsed.mols), parsed.errors)
