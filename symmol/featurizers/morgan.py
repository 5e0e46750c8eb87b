"""Morgan fingerprints (ECFP, FCFP), bit- and count-identical to RDKit's ``GetMorganGenerator``."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from symmol.chem.invariants import chirality_arrays, feature_invariants
from symmol.chem.mol_arrays import mol_graph_batch
from symmol.chem.native import native_graphs
from symmol.chem.parse import ParseMode, parse_smiles_list
from symmol.data.batch import Featurized
from symmol.data.fingerprints import FingerprintBatch, spread_offsets
from symmol.data.molgraph import MolGraphBatch
from symmol.featurizers.base import Boolean, FingerprintFeaturizer, Integer, present_molecules
from symmol.featurizers.folding import MAX_FP_SIZE, csr_batch
from symmol.featurizers.registry import register_featurizer
from symmol.kernels.morgan import MORGAN_CSR_KERNELS, fold_csr, morgan_csr, morgan_environments
from symmol.kernels.smiles import GRAPH_BATCH_KERNELS
from symmol.kernels.tiering import CompileTier

__all__ = ["MORGAN_TIER", "MorganFingerprint"]

#: Kernels or RDKit's generator for Morgan fingerprints of SMILES. On this 2-core machine a cold
#: compile of the SMILES reader and the Morgan kernels takes ~35 s, in which RDKit parses and
#: fingerprints ~200,000 molecules (~150 us each; the kernels take ~15 us).
MORGAN_TIER = CompileTier("the SMILES reader and Morgan kernels", (*GRAPH_BATCH_KERNELS, *MORGAN_CSR_KERNELS),
                          break_even=200_000)


@register_featurizer
@dataclass(frozen=True)
class MorganFingerprint(FingerprintFeaturizer):
    """Morgan fingerprint (kinds ``ecfp`` and ``fcfp``), identical to RDKit's ``GetMorganGenerator``.

    Parameters
    ----------
    radius
        Number of Morgan iterations (ECFP4 is radius 2, ECFP6 radius 3). Range 0-8.
    fp_size
        Number of folded bits, ``1 <= fp_size <= 2**31 - 1``.
    counts
        Count fingerprint (values = occurrences, like ``GetCountFingerprintAsNumPy``)
        instead of bits (values = 1, like ``GetFingerprintAsNumPy``).
    features
        FCFP (kind ``fcfp``): RDKit's feature atom invariants
        (``atomInvariantsGenerator=GetMorganFeatureAtomInvGen()``) instead of the
        connectivity invariants of ECFP (kind ``ecfp``).
    chirality
        ``includeChirality=True``: CIP labels of stereocentres and the stereo of
        double bonds enter the invariants.

    References
    ----------
    Rogers & Hahn, "Extended-Connectivity Fingerprints", J. Chem. Inf. Model. 2010, 50, 742,
    doi:10.1021/ci100050t. Mirrors ``rdkit.Chem.rdFingerprintGenerator.GetMorganGenerator(radius,
    fpSize=fp_size, includeChirality=chirality)`` with bond types on and no count simulation.
    """

    KINDS: ClassVar = {"ecfp": {"features": False}, "fcfp": {"features": True}}
    PARAMETERS: ClassVar = {"radius": Integer(0, 8), "fp_size": Integer(1, MAX_FP_SIZE), "counts": Boolean(),
                            "features": Boolean(), "chirality": Boolean()}
    BATCH_TYPE: ClassVar = FingerprintBatch

    radius: int = 2
    fp_size: int = 2048
    counts: bool = False
    features: bool = False
    chirality: bool = False

    @property
    def name(self) -> str:
        """Conventional name, e.g. ``ECFP4`` or ``FCFP6-counts-chiral`` (diameter = 2 * radius)."""
        base = ("FCFP" if self.features else "ECFP") + str(2 * self.radius)
        return base + ("-counts" if self.counts else "") + ("-chiral" if self.chirality else "")

    @property
    def parse_mode(self) -> ParseMode:
        """``"fast"`` (the native reader, then RDKit's reduced sanitization) for ECFP without chirality."""
        return "full" if self.features or self.chirality else "fast"

    def _graph_arrays(self, mols: list[Chem.Mol]) -> tuple:
        graph = mol_graph_batch(mols)
        atom_inv = feature_invariants(mols) if self.features else graph.atom_invariants
        if self.chirality:
            chir, bond_inv = chirality_arrays(mols, graph)
        else:
            chir, bond_inv = None, graph.bond_types
        return (atom_inv, graph.atom_offsets, graph.bond_atoms, bond_inv, graph.bond_offsets), chir

    def environments(self, mols: Sequence[Chem.Mol | None]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Unfolded environments (RDKit emission order); a ``None`` entry gives an empty row.

        Returns ``env_ids`` (n_env,) uint32, ``env_offsets`` (n_rows + 1,) int64, ``env_atoms``
        (n_env,) int32 centre atoms and ``env_radius`` (n_env,) uint8, as
        :func:`symmol.kernels.morgan.morgan_environments`; :meth:`fold` turns them into any size.
        """
        present, pm = present_molecules(mols)
        arrays, chir = self._graph_arrays(pm)
        env_ids, env_offsets, env_atoms, env_radius = morgan_environments(*arrays, self.radius, chir)
        return env_ids, spread_offsets(env_offsets, present, len(mols)), env_atoms, env_radius

    def fold(self, env_ids: np.ndarray, env_offsets: np.ndarray) -> FingerprintBatch:
        """Fold unfolded ids (:meth:`environments`) to this featurizer's ``fp_size`` and bits/counts."""
        indptr, indices, counts = fold_csr(env_ids, env_offsets, self.fp_size)
        rows = range(len(env_offsets) - 1)
        return csr_batch(indptr, indices, counts, self.counts, self.fp_size, rows, len(rows))

    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> FingerprintBatch:
        """Fingerprints of RDKit molecules; a ``None`` entry gives an empty row.

        By the kernels, or by RDKit's generator itself while compiling them would not yet have paid
        (:data:`MORGAN_TIER`); the two are identical (``tests/test_tiering.py``).
        """
        if not MORGAN_TIER.use_kernels(len(mols)):
            return self.from_mols_rdkit(mols)
        present, pm = present_molecules(mols)
        arrays, chir = self._graph_arrays(pm)
        indptr, indices, counts = morgan_csr(*arrays, self.radius, self.fp_size, chir)
        return csr_batch(indptr, indices, counts, self.counts, self.fp_size, present, len(mols))

    def from_mols_rdkit(self, mols: Sequence[Chem.Mol | None]) -> FingerprintBatch:
        """Fingerprints of RDKit molecules by RDKit's ``GetMorganGenerator`` (no compiled kernel).

        What :meth:`from_mols` returns, computed by the function it mirrors; a ``None`` entry gives
        an empty row.
        """
        generator = _morgan_generator(self.radius, self.fp_size, self.features, self.chirality)
        indptr = np.zeros(len(mols) + 1, dtype=np.int64)
        indices: list[int] = []
        values: list[int] = []
        for row, mol in enumerate(mols):
            if mol is not None:
                counts = generator.GetCountFingerprint(mol).GetNonzeroElements()
                bits = sorted(counts)
                indices.extend(bits)
                values.extend([counts[bit] for bit in bits] if self.counts else [1] * len(bits))
            indptr[row + 1] = len(indices)
        return FingerprintBatch(indptr, np.array(indices, dtype=np.int32), np.array(values, dtype=np.float32),
                                self.fp_size)

    def from_graphs(self, graphs: MolGraphBatch) -> FingerprintBatch:
        """Fingerprint molecular graphs without parsing again.

        :class:`~symmol.featurizers.molgraph.MolGraphFeaturizer`'s batches hold the Morgan connectivity
        invariants and bond types.

        Raises
        ------
        ValueError
            For FCFP or chirality, whose invariants a graph batch does not hold.
        """
        if self.features or self.chirality:
            raise ValueError(f"{self.name} needs invariants a molecular graph batch does not hold; use from_smiles")
        g = graphs
        indptr, indices, counts = morgan_csr(g.atom_invariants, g.atom_offsets, g.bond_atoms, g.bond_types,
                                             g.bond_offsets, self.radius, self.fp_size, None)
        return csr_batch(indptr, indices, counts, self.counts, self.fp_size, range(len(g)), len(g))

    def from_smiles(self, smiles: Sequence[object], parse_mode: ParseMode = "full") -> Featurized:
        """Fingerprints of SMILES; invalid rows are empty and flagged with RDKit's reason, not dropped.

        Parameters
        ----------
        smiles
            SMILES texts, one per row.
        parse_mode
            ``"full"``: every row through ``Chem.MolFromSmiles``. ``"fast"`` (ECFP without
            chirality only; other settings fall back to ``"full"``): rows are read by the Numba
            SMILES reader (:mod:`symmol.chem.native`) when it can prove RDKit would give the same
            graph, and the rest by RDKit's reduced-sanitization path; fingerprints and error texts
            are identical to ``"full"`` (``bench/results/fastparse_identity.md``).
        """
        if parse_mode != "fast" or self.parse_mode != "fast":
            return super().from_smiles(smiles, "full")
        smiles = list(smiles)
        if not MORGAN_TIER.use_kernels(len(smiles)):  # RDKit parses (full: faster than "fast" plus its checks)
            parsed = parse_smiles_list(smiles, mode="full")
            return Featurized(self.from_mols_rdkit(parsed.mols), parsed.errors)
        native = native_graphs(smiles)
        batch = self.from_graphs(native.graph)
        refused = native.refused
        errors = [""] * len(smiles)
        if refused.size:
            parsed = parse_smiles_list([smiles[i] for i in refused.tolist()], mode="fast")
            for i, error in zip(refused.tolist(), parsed.errors, strict=True):
                errors[i] = error
            batch = batch.replace_rows(refused, self.from_mols(parsed.mols))
        return Featurized(batch, errors)

    def bit_info(self, mol: Chem.Mol) -> dict[int, list[tuple[int, int]]]:
        """Which environments set each bit, like RDKit's ``AdditionalOutput`` bitInfoMap.

        Parameters
        ----------
        mol : rdkit.Chem.Mol

        Returns
        -------
        dict
            ``{bit: [(centre atom, radius), ...]}`` for every set bit, the pairs in RDKit's
            emission order (radius 0 by atom index, then each layer).

        Raises
        ------
        ValueError
            If ``mol`` is ``None``.
        """
        if mol is None:
            raise ValueError("bit_info needs a molecule, got None")
        env_ids, _, env_atoms, env_radius = self.environments([mol])
        info: dict[int, list[tuple[int, int]]] = {}
        bits = (env_ids.astype(np.int64) % self.fp_size).tolist()
        for bit, atom, rad in zip(bits, env_atoms.tolist(), env_radius.tolist(), strict=True):
            info.setdefault(bit, []).append((atom, rad))
        return info


@functools.cache
def _morgan_generator(radius: int, fp_size: int, features: bool, chirality: bool) -> Any:
    """RDKit's Morgan generator with a featurizer's settings (one per setting and process)."""
    invariants = rdFingerprintGenerator.GetMorganFeatureAtomInvGen() if features else None
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=fp_size, includeChirality=chirality,
                                                     atomInvariantsGenerator=invariants)
