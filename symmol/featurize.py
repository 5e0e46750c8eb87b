"""Featurizers: molecules → :class:`~symmol.fingerprints.FingerprintBatch` (or a descriptor matrix).

RDKit parses and perceives the molecule (:mod:`symmol.chem.parse`), hands over flat arrays
(:mod:`symmol.chem.graph`, :mod:`symmol.chem.invariants`), and the Numba kernels compute the
environments and fold them: :mod:`symmol.kernels.morgan` (ECFP/FCFP), :mod:`symmol.kernels.atompair`
and :mod:`symmol.kernels.torsion`. Every kernel-backed fingerprint is bit- and count-identical to
the RDKit generator named in its class docstring (``bench/fingerprint_identity.py``). MACCS keys and
the RDKit 2D descriptors are computed by RDKit itself.

:func:`make_featurizer` builds a featurizer from a kind name (``ecfp``, ``fcfp``, ``atompair``,
``torsion``, ``maccs``, ``rdkit2d``) and :func:`featurizer_from_dict` from a saved
``to_dict()`` spec.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import ClassVar

import numpy as np
from rdkit import Chem
from rdkit.Chem import Descriptors, rdMolDescriptors

from symmol.chem.graph import mol_graph_batch
from symmol.chem.invariants import atom_pair_codes, chirality_arrays, feature_invariants
from symmol.chem.native import native_graphs
from symmol.chem.parse import ParseMode, parse_smiles_list
from symmol.fingerprints import FingerprintBatch
from symmol.kernels.atompair import COUNT_BOUNDS, atom_pair_environments, count_simulation_csr
from symmol.kernels.morgan import fold_csr, morgan_csr, morgan_environments
from symmol.kernels.torsion import torsion_environments

__all__ = ["FINGERPRINT_KINDS", "AtomPairFingerprint", "FeaturizedDescriptors", "FeaturizedMolecules",
           "MACCSKeys", "MorganFingerprint", "RDKit2DDescriptors", "TorsionFingerprint",
           "featurizer_from_dict", "make_featurizer"]

_MAX_FP_SIZE = 2**31 - 1
#: Smallest bit-fingerprint size with count simulation (RDKit refuses ``fp_size <= len(countBounds)``).
_MIN_SIMULATED_SIZE = len(COUNT_BOUNDS) + 1


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
    def features(self) -> FingerprintBatch:
        """The model input (the fingerprints)."""
        return self.fingerprints

    @property
    def valid(self) -> np.ndarray:
        """(n_rows,) bool: which rows hold a real fingerprint."""
        return np.array([not e for e in self.errors], dtype=bool)


@dataclass(frozen=True)
class FeaturizedDescriptors:
    """Descriptor rows aligned with the input rows; invalid rows are all NaN.

    Attributes
    ----------
    values : (n_rows, n_descriptors) float32
    errors
        ``""`` for valid rows, else why the molecule was rejected.
    """

    values: np.ndarray
    errors: list[str]

    @property
    def valid(self) -> np.ndarray:
        """(n_rows,) bool: which rows were computed from a molecule."""
        return np.array([not e for e in self.errors], dtype=bool)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def _normalise(instance, name: str, value) -> None:
    """Store a checked (plain Python) value on a frozen dataclass: numpy ints and bools from a
    parameter grid would otherwise reach ``to_dict`` and break JSON."""
    object.__setattr__(instance, name, value)


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high}, got {value}")
    return int(value)


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _present(mols: Sequence[Chem.Mol | None]) -> tuple[list[int], list[Chem.Mol]]:
    """Indices and molecules of the non-``None`` entries (type-checked)."""
    idx, present = [], []
    for i, mol in enumerate(mols):
        if mol is None:
            continue
        if not isinstance(mol, Chem.Mol):
            raise TypeError(f"mols[{i}] is {type(mol).__name__}, not rdkit.Chem.Mol or None")
        idx.append(i)
        present.append(mol)
    return idx, present


def _spread_offsets(offsets: np.ndarray, present: list[int], n_rows: int) -> np.ndarray:
    """Offsets of ``len(present)`` rows re-spread over ``n_rows`` rows (the others empty)."""
    if len(present) == n_rows:
        return offsets
    lengths = np.zeros(n_rows, dtype=np.int64)
    lengths[present] = np.diff(offsets)
    out = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _batch(indptr: np.ndarray, indices: np.ndarray, counts: np.ndarray | None, use_counts: bool,
           fp_size: int, present: list[int], n_rows: int) -> FingerprintBatch:
    values = counts.astype(np.float32) if use_counts else np.ones(indices.size, np.float32)
    return FingerprintBatch(_spread_offsets(indptr.astype(np.int64), present, n_rows),
                            indices.astype(np.int32, copy=False), values, fp_size)


def _insert_rows(batch: FingerprintBatch, rows: np.ndarray, filling: FingerprintBatch) -> FingerprintBatch:
    """``batch`` with its empty rows ``rows`` (sorted) replaced by the rows of ``filling``, in order."""
    lengths = np.diff(batch.indptr)
    fill_lengths = np.diff(filling.indptr)
    lengths[rows] = fill_lengths
    indptr = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    at = np.repeat(batch.indptr[rows], fill_lengths)
    return FingerprintBatch(indptr, np.insert(batch.indices, at, filling.indices),
                            np.insert(batch.values, at, filling.values), batch.fp_size)


def _fold(env_ids: np.ndarray, env_offsets: np.ndarray, fp_size: int, counts: bool, present: list[int],
          n_rows: int) -> FingerprintBatch:
    """RDKit's folding of 32-bit ids: counts modulo ``fp_size``, bits with count simulation."""
    if counts:
        indptr, indices, values = fold_csr(env_ids, env_offsets, fp_size)
        return _batch(indptr, indices, values, True, fp_size, present, n_rows)
    indptr, indices, values = fold_csr(env_ids, env_offsets, fp_size // len(COUNT_BOUNDS))
    indptr, indices = count_simulation_csr(indptr, indices, values)
    return _batch(indptr, indices, None, False, fp_size, present, n_rows)


class _SmilesMixin:
    """``from_smiles`` for featurizers whose ``from_mols`` returns a :class:`FingerprintBatch`."""

    def from_smiles(self, smiles: Sequence[str], parse_mode: ParseMode = "full") -> FeaturizedMolecules:
        """Parse SMILES with RDKit and featurize; invalid rows are flagged, not dropped.

        ``parse_mode`` is ``"full"`` (``Chem.MolFromSmiles``) or ``"fast"`` (only for the kinds proven
        identical under it, see :mod:`symmol.chem.parse`).
        """
        parsed = parse_smiles_list(smiles, mode=parse_mode)
        return FeaturizedMolecules(self.from_mols(parsed.mols), parsed.errors)


# --------------------------------------------------------------------------
# Morgan: ECFP / FCFP
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class MorganFingerprint(_SmilesMixin):
    """Morgan fingerprint (ECFP or FCFP), identical to RDKit's ``GetMorganGenerator``.

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
        FCFP: RDKit's feature atom invariants
        (``atomInvariantsGenerator=GetMorganFeatureAtomInvGen()``) instead of the
        connectivity invariants of ECFP.
    chirality
        ``includeChirality=True``: CIP labels of stereocentres and the stereo of
        double bonds enter the invariants.

    References
    ----------
    Rogers & Hahn, "Extended-Connectivity Fingerprints", J. Chem. Inf. Model. 2010, 50, 742,
    doi:10.1021/ci100050t. Mirrors ``rdkit.Chem.rdFingerprintGenerator.GetMorganGenerator(radius,
    fpSize=fp_size, includeChirality=chirality)`` with bond types on and no count simulation.
    """

    radius: int = 2
    fp_size: int = 2048
    counts: bool = False
    features: bool = False
    chirality: bool = False

    def __post_init__(self) -> None:
        _normalise(self, "radius", _check_int("radius", self.radius, 0, 8))
        _normalise(self, "fp_size", _check_int("fp_size", self.fp_size, 1, _MAX_FP_SIZE))
        for name in ("counts", "features", "chirality"):
            _normalise(self, name, _check_bool(name, getattr(self, name)))

    @property
    def name(self) -> str:
        """Conventional name, e.g. ``ECFP4`` or ``FCFP6-counts-chiral`` (diameter = 2 * radius)."""
        base = ("FCFP" if self.features else "ECFP") + str(2 * self.radius)
        return base + ("-counts" if self.counts else "") + ("-chiral" if self.chirality else "")

    def to_dict(self) -> dict:
        """JSON-serialisable parameters (inverse of :meth:`from_dict`)."""
        return {"kind": "morgan", **asdict(self)}

    @classmethod
    def from_dict(cls, spec: dict) -> MorganFingerprint:
        """Rebuild from :meth:`to_dict` output (older specs without ``features``/``chirality`` too).

        Raises ``ValueError`` on another kind or unknown keys.
        """
        if spec.get("kind") != "morgan":
            raise ValueError(f"not a Morgan fingerprint spec: {spec!r}")
        return cls(**_params(cls, spec))

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
        present, pm = _present(mols)
        arrays, chir = self._graph_arrays(pm)
        env_ids, env_offsets, env_atoms, env_radius = morgan_environments(*arrays, int(self.radius), chir)
        return env_ids, _spread_offsets(env_offsets, present, len(mols)), env_atoms, env_radius

    def fold(self, env_ids: np.ndarray, env_offsets: np.ndarray) -> FingerprintBatch:
        """Fold unfolded ids (:meth:`environments`) to this featurizer's ``fp_size`` and bits/counts."""
        indptr, indices, counts = fold_csr(env_ids, env_offsets, int(self.fp_size))
        rows = list(range(len(env_offsets) - 1))
        return _batch(indptr, indices, counts, self.counts, int(self.fp_size), rows, len(rows))

    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> FingerprintBatch:
        """Fingerprints of RDKit molecules; a ``None`` entry gives an empty row."""
        present, pm = _present(mols)
        arrays, chir = self._graph_arrays(pm)
        indptr, indices, counts = morgan_csr(*arrays, int(self.radius), int(self.fp_size), chir)
        return _batch(indptr, indices, counts, self.counts, int(self.fp_size), present, len(mols))

    def from_smiles(self, smiles: Sequence[str], parse_mode: ParseMode = "full") -> FeaturizedMolecules:
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
        if parse_mode != "fast" or self.features or self.chirality:
            return super().from_smiles(smiles, "full" if parse_mode == "fast" else parse_mode)
        smiles = list(smiles)
        native = native_graphs(smiles)
        g = native.graph
        indptr, indices, counts = morgan_csr(g.atom_invariants, g.atom_offsets, g.bond_atoms, g.bond_types,
                                             g.bond_offsets, int(self.radius), int(self.fp_size), None)
        values = counts.astype(np.float32) if self.counts else np.ones(indices.size, np.float32)
        batch = FingerprintBatch(indptr.astype(np.int64, copy=False), indices.astype(np.int32, copy=False), values,
                                 int(self.fp_size))
        refused = native.refused
        errors = [""] * len(smiles)
        if refused.size:
            parsed = parse_smiles_list([smiles[i] for i in refused.tolist()], mode="fast")
            for i, error in zip(refused.tolist(), parsed.errors, strict=True):
                errors[i] = error
            batch = _insert_rows(batch, refused, self.from_mols(parsed.mols))
        return FeaturizedMolecules(batch, errors)

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
        bits = (env_ids.astype(np.int64) % int(self.fp_size)).tolist()
        for bit, atom, rad in zip(bits, env_atoms.tolist(), env_radius.tolist(), strict=True):
            info.setdefault(bit, []).append((atom, rad))
        return info


# --------------------------------------------------------------------------
# atom pairs and topological torsions
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class _HashedPathFingerprint(_SmilesMixin):
    """Shared parameters of the atom-pair and torsion fingerprints."""

    _kind: ClassVar[str] = ""
    fp_size: int = 2048
    counts: bool = False

    def __post_init__(self) -> None:
        _normalise(self, "counts", _check_bool("counts", self.counts))
        low = 1 if self.counts else _MIN_SIMULATED_SIZE
        _normalise(self, "fp_size", _check_int("fp_size", self.fp_size, low, _MAX_FP_SIZE))

    def to_dict(self) -> dict:
        """JSON-serialisable parameters (inverse of :meth:`from_dict`)."""
        return {"kind": self._kind, **asdict(self)}

    @classmethod
    def from_dict(cls, spec: dict):
        """Rebuild from :meth:`to_dict` output; ``ValueError`` on another kind or unknown keys."""
        if spec.get("kind") != cls._kind:
            raise ValueError(f"not a {cls._kind} fingerprint spec: {spec!r}")
        return cls(**_params(cls, spec))

    def fold(self, env_ids: np.ndarray, env_offsets: np.ndarray) -> FingerprintBatch:
        """Fold unfolded ids (:meth:`environments`) as RDKit does (count simulation for bits)."""
        rows = list(range(len(env_offsets) - 1))
        return _fold(env_ids, env_offsets, int(self.fp_size), self.counts, rows, len(rows))

    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> FingerprintBatch:
        """Fingerprints of RDKit molecules; a ``None`` entry gives an empty row."""
        return self.fold(*self.environments(mols))


@dataclass(frozen=True)
class AtomPairFingerprint(_HashedPathFingerprint):
    """Atom-pair fingerprint, identical to RDKit's ``GetAtomPairGenerator(fpSize=fp_size)``.

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

    _kind: ClassVar[str] = "atompair"

    @property
    def name(self) -> str:
        """``AtomPair`` or ``AtomPair-counts``."""
        return "AtomPair" + ("-counts" if self.counts else "")

    def environments(self, mols: Sequence[Chem.Mol | None]) -> tuple[np.ndarray, np.ndarray]:
        """Unfolded 32-bit atom-pair ids ``(env_ids uint32, env_offsets (n_rows + 1,) int64)``."""
        present, pm = _present(mols)
        graph = mol_graph_batch(pm)
        codes, _ = atom_pair_codes(pm, hydrogens=False)
        env_ids, env_offsets = atom_pair_environments(codes, graph.atom_offsets, graph.bond_atoms,
                                                      graph.bond_offsets)
        return env_ids, _spread_offsets(env_offsets, present, len(mols))


@dataclass(frozen=True)
class TorsionFingerprint(_HashedPathFingerprint):
    """Topological torsion fingerprint, identical to RDKit's ``GetTopologicalTorsionGenerator``.

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

    _kind: ClassVar[str] = "torsion"

    @property
    def name(self) -> str:
        """``Torsion`` or ``Torsion-counts``."""
        return "Torsion" + ("-counts" if self.counts else "")

    def environments(self, mols: Sequence[Chem.Mol | None]) -> tuple[np.ndarray, np.ndarray]:
        """Unfolded 32-bit torsion ids ``(env_ids uint32, env_offsets (n_rows + 1,) int64)``."""
        present, pm = _present(mols)
        graph = mol_graph_batch(pm)
        codes, is_hydrogen = atom_pair_codes(pm)
        env_ids, env_offsets = torsion_environments(codes, is_hydrogen, graph.atom_offsets,
                                                    graph.bond_atoms, graph.bond_offsets)
        return env_ids, _spread_offsets(env_offsets, present, len(mols))


# --------------------------------------------------------------------------
# RDKit-computed featurizers
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class MACCSKeys(_SmilesMixin):
    """The 166 MACCS structural keys, computed by RDKit (``rdMolDescriptors.GetMACCSKeysFingerprint``).

    ``fp_size`` is 167: RDKit keeps bit 0 unused so that key ``k`` is bit ``k``.
    """

    fp_size: int = 167

    def __post_init__(self) -> None:
        if self.fp_size != 167:
            raise ValueError(f"MACCS keys have fp_size 167, got {self.fp_size}")

    @property
    def name(self) -> str:
        """``MACCS``."""
        return "MACCS"

    def to_dict(self) -> dict:
        """JSON-serialisable parameters (inverse of :meth:`from_dict`)."""
        return {"kind": "maccs", "fp_size": 167}

    @classmethod
    def from_dict(cls, spec: dict) -> MACCSKeys:
        """Rebuild from :meth:`to_dict` output; ``ValueError`` on another kind."""
        if spec.get("kind") != "maccs":
            raise ValueError(f"not a MACCS spec: {spec!r}")
        return cls(**_params(cls, spec))

    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> FingerprintBatch:
        """MACCS keys of RDKit molecules; a ``None`` entry gives an empty row."""
        present, pm = _present(mols)
        on_bits = [list(rdMolDescriptors.GetMACCSKeysFingerprint(mol).GetOnBits()) for mol in pm]
        lengths = np.fromiter(map(len, on_bits), dtype=np.int64, count=len(on_bits))
        indptr = np.zeros(len(pm) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        indices = np.fromiter((b for row in on_bits for b in row), dtype=np.int32, count=int(indptr[-1]))
        return _batch(indptr, indices, None, False, 167, present, len(mols))


@dataclass(frozen=True)
class RDKit2DDescriptors:
    """RDKit's 2D descriptors (``rdkit.Chem.Descriptors.CalcMolDescriptors``), as a dense float32 matrix.

    ``feature_names`` are the names of ``Descriptors._descList`` in RDKit's order. A descriptor
    RDKit cannot compute for a molecule is NaN; so is every value of a ``None`` row. Values
    beyond the float32 range become ``inf``.
    """

    @property
    def name(self) -> str:
        """``RDKit2D``."""
        return "RDKit2D"

    @property
    def feature_names(self) -> list[str]:
        """Descriptor names, one per column."""
        return [name for name, _ in Descriptors._descList]

    def to_dict(self) -> dict:
        """JSON-serialisable parameters (inverse of :meth:`from_dict`)."""
        return {"kind": "rdkit2d"}

    @classmethod
    def from_dict(cls, spec: dict) -> RDKit2DDescriptors:
        """Rebuild from :meth:`to_dict` output; ``ValueError`` on another kind."""
        if spec.get("kind") != "rdkit2d":
            raise ValueError(f"not an RDKit 2D descriptor spec: {spec!r}")
        return cls(**_params(cls, spec))

    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> np.ndarray:
        """``(n_rows, n_descriptors)`` float32 descriptors; a ``None`` entry gives a NaN row."""
        names = self.feature_names
        out = np.full((len(mols), len(names)), np.nan, dtype=np.float32)
        present, pm = _present(mols)
        with np.errstate(over="ignore"):
            for i, mol in zip(present, pm, strict=True):
                values = Descriptors.CalcMolDescriptors(mol, missingVal=np.nan)
                out[i] = np.array([values[name] for name in names], dtype=np.float64)
        return out

    def from_smiles(self, smiles: Sequence[str], parse_mode: ParseMode = "full") -> FeaturizedDescriptors:
        """Parse SMILES with RDKit and compute the descriptors; invalid rows are NaN and flagged."""
        parsed = parse_smiles_list(smiles, mode=parse_mode)
        return FeaturizedDescriptors(self.from_mols(parsed.mols), parsed.errors)


# --------------------------------------------------------------------------
# factory
# --------------------------------------------------------------------------
Featurizer = MorganFingerprint | AtomPairFingerprint | TorsionFingerprint | MACCSKeys | RDKit2DDescriptors

#: Kind name → (class, fixed parameters).
FINGERPRINT_KINDS: dict[str, tuple[type, dict]] = {
    "ecfp": (MorganFingerprint, {"features": False}),
    "fcfp": (MorganFingerprint, {"features": True}),
    "atompair": (AtomPairFingerprint, {}),
    "torsion": (TorsionFingerprint, {}),
    "maccs": (MACCSKeys, {}),
    "rdkit2d": (RDKit2DDescriptors, {}),
}

_SPEC_CLASSES = {"morgan": MorganFingerprint, "atompair": AtomPairFingerprint, "torsion": TorsionFingerprint,
                 "maccs": MACCSKeys, "rdkit2d": RDKit2DDescriptors}


def _params(cls: type, spec: dict) -> dict:
    """``spec`` without ``kind``, checked against the fields of ``cls``."""
    allowed = {f.name for f in fields(cls)}
    params = {k: v for k, v in spec.items() if k != "kind"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for {cls.__name__}; allowed: {sorted(allowed)}")
    return params


def make_featurizer(kind: str, **params) -> Featurizer:
    """Build a featurizer from its kind name and parameters.

    Parameters
    ----------
    kind : {"ecfp", "fcfp", "atompair", "torsion", "maccs", "rdkit2d"}
        ``ecfp``/``fcfp``: :class:`MorganFingerprint` (``radius``, ``fp_size``, ``counts``,
        ``chirality``); ``atompair``/``torsion``: :class:`AtomPairFingerprint` /
        :class:`TorsionFingerprint` (``fp_size``, ``counts``); ``maccs``: :class:`MACCSKeys`;
        ``rdkit2d``: :class:`RDKit2DDescriptors` (no parameters).
    **params
        Parameters of that class.

    Returns
    -------
    The featurizer.

    Raises
    ------
    ValueError
        For an unknown kind, a parameter the kind does not take, or a bad parameter value.
    """
    key = kind.lower() if isinstance(kind, str) else kind
    if key not in FINGERPRINT_KINDS:
        raise ValueError(f"unknown fingerprint kind {kind!r}; choose one of {sorted(FINGERPRINT_KINDS)}")
    cls, fixed = FINGERPRINT_KINDS[key]
    clash = sorted(set(params) & set(fixed))
    if clash:
        raise ValueError(f"parameter(s) {clash} are fixed by kind {key!r}")
    _params(cls, params)
    try:
        return cls(**params, **fixed)
    except TypeError as exc:  # e.g. a positional/keyword mix-up inside dataclass init
        raise ValueError(f"bad parameters for kind {key!r}: {exc}") from None


def featurizer_from_dict(spec: dict) -> Featurizer:
    """Rebuild any featurizer from its ``to_dict()`` output.

    Raises
    ------
    ValueError
        If ``spec`` is not a dict, its ``kind`` is unknown, or a parameter is unknown or bad.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"a featurizer spec must be a dict, got {type(spec).__name__}")
    cls = _SPEC_CLASSES.get(spec.get("kind"))
    if cls is None:
        raise ValueError(f"unknown featurizer kind {spec.get('kind')!r}; known: {sorted(_SPEC_CLASSES)}")
    return cls.from_dict(spec)
