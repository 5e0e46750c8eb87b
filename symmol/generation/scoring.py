"""Scores for goal-directed generation: components, desirability transforms and their weighted geometric mean.

A score maps a molecule to ``[0, 1]``, as REINVENT 4's scoring does (Loeffler et al., J. Cheminform. 2024,
doi:10.1186/s13321-024-00812-5): each *component* computes a raw value (QED, SA score, a descriptor, a
Tanimoto similarity, a symmol model's prediction), a *desirability transform* maps it to ``[0, 1]`` in
the direction wanted, and the total is the weighted geometric mean of the transformed values
(``exp(sum w_i log d_i / sum w_i)``; any ``d_i = 0`` gives 0). SMARTS *filters* act on the total:
a molecule holding a forbidden substructure, or missing a required one, scores 0.

Transforms (``low < high``; ``k`` the steepness, REINVENT's, default 0.5):

``maximise``
    ``1 / (1 + 10**(10 k (mid - x) / (high - low)))``, ``mid = (low + high) / 2``: about 0 below ``low``,
    0.5 at ``mid``, about 1 above ``high`` (REINVENT's ``sigmoid``).
``minimise``
    ``1 - maximise`` (REINVENT's ``reverse_sigmoid``).
``range``
    ``maximise`` over ``[low - w, low + w]`` times ``minimise`` over ``[high - w, high + w]``, ``w =
    width`` (default a tenth of ``high - low``): about 1 inside ``[low, high]``, 0 outside.
``raw``
    the value clipped to ``[0, 1]`` (for components already in that range: QED, similarity, a probability).

The score spec is a TOML file (:meth:`ScoreFunction.from_toml`)::

    [[component]]
    kind = "model"                # a symmol model directory: its prediction (probability or value)
    path = "models/solubility"
    target = "logS"               # which target of a multitask model (default: the first)
    transform = "maximise"
    low = -5.0
    high = -2.0
    weight = 2.0

    [[component]]
    kind = "qed"                  # also "sa" (RDKit Contrib SA score, 1 easy - 10 hard), "similarity"
                                  # (query = "SMILES": Tanimoto of ECFP4, 2,048 bits), "property"
                                  # (name = "MolWt": any function of rdkit.Chem.Descriptors),
                                  # "pmo" (task = "osimertinib_mpo": one of PMO's RDKit oracles,
                                  # symmol.generation.oracles; already in [0, 1])
    transform = "raw"

    [[filter]]
    smarts = "[N+](=O)[O-]"
    forbid = true                 # false: the substructure is required

Calls are counted as PMO counts oracle calls (Gao et al., NeurIPS 2022, arXiv:2206.12411): each distinct
valid molecule (canonical SMILES) once; a repeated molecule is answered from the cache.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rdkit import Chem, rdBase
from rdkit.Chem import QED, Descriptors

from symmol.estimator import QSARModel
from symmol.featurizers.morgan import MorganFingerprint
from symmol.generation.metrics import sa_score
from symmol.generation.oracles import oracle
from symmol.similarity.search import bulk_similarity

__all__ = ["COMPONENT_KINDS", "TRANSFORMS", "Component", "Desirability", "ScoreFunction", "SmartsFilter"]

TRANSFORMS = ("maximise", "minimise", "range", "raw")
COMPONENT_KINDS = ("qed", "sa", "similarity", "property", "pmo", "model")
_SIMILARITY_FINGERPRINT = MorganFingerprint(radius=2, fp_size=2048)


@dataclass(frozen=True)
class Desirability:
    """A transform of raw component values to ``[0, 1]`` (see the module docstring).

    Raises
    ------
    ValueError
        For an unknown transform, ``low >= high`` or a non-positive ``k`` or ``width``.
    """

    transform: str = "raw"
    low: float = 0.0
    high: float = 1.0
    k: float = 0.5
    width: float | None = None

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}, got {self.transform!r}")
        if self.transform != "raw" and not self.low < self.high:
            raise ValueError(f"transform {self.transform!r} needs low < high, got low={self.low}, high={self.high}")
        if self.k <= 0 or (self.width is not None and self.width <= 0):
            raise ValueError(f"k and width must be positive, got k={self.k}, width={self.width}")

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Return the desirability of each value, float64 in ``[0, 1]`` (NaN stays NaN)."""
        x = np.asarray(values, dtype=np.float64)
        if self.transform == "raw":
            return np.clip(x, 0.0, 1.0)
        if self.transform == "maximise":
            return _rise(x, self.low, self.high, self.k)
        if self.transform == "minimise":
            return 1.0 - _rise(x, self.low, self.high, self.k)
        w = self.width if self.width is not None else (self.high - self.low) / 10.0
        return _rise(x, self.low - w, self.low + w, self.k) * (1.0 - _rise(x, self.high - w, self.high + w, self.k))


def _rise(x: np.ndarray, low: float, high: float, k: float) -> np.ndarray:
    """REINVENT's sigmoid: ``1 / (1 + 10**(10 k (mid - x) / (high - low)))``, overflow-safe."""
    exponent = np.clip(10.0 * k * ((low + high) / 2.0 - x) / (high - low), -300.0, 300.0)
    return 1.0 / (1.0 + np.power(10.0, exponent))


@dataclass(frozen=True)
class Component:
    """One term of a score: a raw value per molecule, its desirability and its weight.

    Attributes
    ----------
    name
        Column name in the output (``qed``, ``similarity``, the model's target...).
    raw
        ``list of RDKit molecules -> (n,) float64`` raw values.
    desirability
        The transform to ``[0, 1]``.
    weight
        Positive weight in the geometric mean.
    """

    name: str
    raw: Callable[[list[Chem.Mol]], np.ndarray]
    desirability: Desirability = field(default_factory=Desirability)
    weight: float = 1.0


@dataclass(frozen=True)
class SmartsFilter:
    """A substructure a molecule must not hold (``forbid``) or must hold; failing it makes the score 0."""

    smarts: str
    forbid: bool = True

    def passes(self, mol: Chem.Mol) -> bool:
        """Return whether ``mol`` passes the filter."""
        return mol.HasSubstructMatch(_pattern(self.smarts)) != self.forbid


def _pattern(smarts: str) -> Chem.Mol:
    pattern = Chem.MolFromSmarts(smarts)
    if pattern is None:
        raise ValueError(f"not a valid SMARTS: {smarts!r}")
    return pattern


class ScoreFunction:
    """A callable score over SMILES: components combined by a weighted geometric mean, filters, a cache.

    Parameters
    ----------
    components : sequence of Component
        At least one.
    filters : sequence of SmartsFilter

    Raises
    ------
    ValueError
        Without components, with a non-positive weight or a repeated name, or an invalid SMARTS.
    """

    def __init__(self, components: Sequence[Component], filters: Sequence[SmartsFilter] = ()):
        if not components:
            raise ValueError("a score needs at least one component")
        names = [c.name for c in components]
        if len(set(names)) != len(names):
            raise ValueError(f"component names repeat: {names}; give them distinct names")
        if any(not c.weight > 0 for c in components):
            raise ValueError(f"component weights must be positive, got {[c.weight for c in components]}")
        for f in filters:
            _pattern(f.smarts)
        self.components = list(components)
        self.filters = list(filters)
        self._cache: dict[str, dict[str, float]] = {}

    @property
    def calls(self) -> int:
        """Distinct valid molecules scored so far (PMO's oracle calls)."""
        return len(self._cache)

    def history(self) -> pd.DataFrame:
        """Every distinct valid molecule scored so far, in the order of its first call.

        Returns
        -------
        DataFrame
            ``call`` (1-based), ``smiles`` (canonical), ``score`` and per component its raw value and
            desirability.
        """
        columns = ["call", "smiles", "score", *[n for c in self.components for n in (c.name, f"{c.name}_score")]]
        rows = [{"call": i, "smiles": key, **values} for i, (key, values) in enumerate(self._cache.items(), start=1)]
        return pd.DataFrame(rows).reindex(columns=columns)

    def __call__(self, smiles: Sequence[object]) -> pd.DataFrame:
        """Score ``smiles``; every input gives one row, in order.

        Returns
        -------
        DataFrame
            ``smiles``, ``status`` (``ok``/``invalid``), ``error``, ``score`` (0 for invalid rows), and
            per component its raw value (column ``name``) and desirability (``name_score``).
        """
        rows: list[dict[str, Any]] = []
        pending: dict[str, Chem.Mol] = {}
        keys: list[str | None] = []
        with rdBase.BlockLogs():
            for text in smiles:
                mol = Chem.MolFromSmiles(text) if isinstance(text, str) and text else None
                if mol is None:
                    keys.append(None)
                    continue
                canonical = Chem.MolToSmiles(mol)
                keys.append(canonical)
                if canonical not in self._cache:
                    pending.setdefault(canonical, mol)
        if pending:
            self._cache.update(self._score(list(pending), list(pending.values())))
        for text, key in zip(smiles, keys, strict=True):
            if key is None:
                rows.append({"smiles": text, "status": "invalid", "error": "RDKit could not parse the SMILES",
                             "score": 0.0})
            else:
                rows.append({"smiles": text, "status": "ok", "error": "", **self._cache[key]})
        columns = ["smiles", "status", "error", "score",
                   *[n for c in self.components for n in (c.name, f"{c.name}_score")]]
        return pd.DataFrame(rows).reindex(columns=columns)

    def _score(self, keys: list[str], mols: list[Chem.Mol]) -> dict[str, dict[str, float]]:
        values = {c.name: np.asarray(c.raw(mols), dtype=np.float64) for c in self.components}
        scores = {c.name: np.nan_to_num(c.desirability(values[c.name]), nan=0.0) for c in self.components}
        weights = np.array([c.weight for c in self.components])
        stacked = np.stack([scores[c.name] for c in self.components])  # (n_components, n)
        with np.errstate(divide="ignore"):
            total = np.exp((weights[:, None] * np.log(stacked)).sum(axis=0) / weights.sum())
        passes = np.array([all(f.passes(m) for f in self.filters) for m in mols], dtype=bool)
        total = np.where(passes, total, 0.0)
        out = {}
        for i, key in enumerate(keys):
            row = {"score": float(total[i])}
            for c in self.components:
                row[c.name] = float(values[c.name][i])
                row[f"{c.name}_score"] = float(scores[c.name][i])
            out[key] = row
        return out

    @classmethod
    def from_toml(cls, path: str | Path) -> ScoreFunction:
        """Read a score spec (see the module docstring); model paths are relative to the file.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            One line naming the file, the entry and the reason: TOML syntax, an unknown kind, key or
            transform, a missing key, a bad SMARTS or query, an unknown descriptor or target.
        """
        path = Path(path)
        try:
            spec = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML ({exc})") from None
        unknown = sorted(set(spec) - {"component", "filter"})
        if unknown:
            raise ValueError(f"{path}: unknown section(s) {unknown}; use [[component]] and [[filter]]")
        components = []
        for i, entry in enumerate(spec.get("component", [])):
            try:
                components.append(component_from_dict(entry, path.parent))
            except (KeyError, TypeError, ValueError) as exc:
                message = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
                raise ValueError(f"{path}: component {i + 1} ({entry.get('kind', '?')}): {message}") from None
        filters = []
        for i, entry in enumerate(spec.get("filter", [])):
            extra = sorted(set(entry) - {"smarts", "forbid"})
            if "smarts" not in entry or extra:
                raise ValueError(f"{path}: filter {i + 1}: needs 'smarts' (and optionally 'forbid'), "
                                 f"got {sorted(entry)}")
            try:
                filters.append(SmartsFilter(str(entry["smarts"]), bool(entry.get("forbid", True))))
                _pattern(filters[-1].smarts)
            except ValueError as exc:
                raise ValueError(f"{path}: filter {i + 1}: {exc}") from None
        if not components:
            raise ValueError(f"{path}: no [[component]] entries")
        return cls(components, filters)


_TRANSFORM_KEYS = ("transform", "low", "high", "k", "width")
_KIND_KEYS = {"qed": (), "sa": (), "similarity": ("query",), "property": ("name",), "pmo": ("task",),
              "model": ("path", "target")}


def component_from_dict(entry: dict[str, Any], base: Path = Path()) -> Component:
    """Build a :class:`Component` from one ``[[component]]`` table of a score spec.

    Raises
    ------
    KeyError
        For a missing ``kind`` or kind-specific key.
    ValueError
        For an unknown kind, key, transform, descriptor or target, or an invalid query SMILES.
    """
    kind = entry["kind"]
    if kind not in COMPONENT_KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(COMPONENT_KINDS)}")
    allowed = {"kind", "weight", "name", *_TRANSFORM_KEYS, *_KIND_KEYS[kind]}
    extra = sorted(set(entry) - allowed)
    if extra:
        raise ValueError(f"unknown key(s) {extra} for kind {kind!r}")
    desirability = Desirability(**{k: entry[k] for k in _TRANSFORM_KEYS if k in entry})
    raw, name = _raw_function(kind, entry, base)
    return Component(str(entry.get("name", name)), raw, desirability, float(entry.get("weight", 1.0)))


def _raw_function(kind: str, entry: dict[str, Any], base: Path) -> tuple[Callable[[list[Chem.Mol]], np.ndarray], str]:
    if kind == "qed":
        return (lambda mols: np.array([QED.qed(m) for m in mols])), "qed"
    if kind == "sa":
        return (lambda mols: np.array([sa_score(m) for m in mols])), "sa"
    if kind == "similarity":
        query = Chem.MolFromSmiles(str(entry["query"]))
        if query is None:
            raise ValueError(f"query is not a valid SMILES: {entry['query']!r}")
        query_bits = _SIMILARITY_FINGERPRINT.from_mols([query]).to_packed()

        def similarity(mols: list[Chem.Mol]) -> np.ndarray:
            return bulk_similarity(_SIMILARITY_FINGERPRINT.from_mols(mols).to_packed(), query_bits)[:, 0]

        return similarity, "similarity"
    if kind == "property":
        descriptor = str(entry["name"])
        function = dict(Descriptors.descList).get(descriptor)
        if function is None:
            raise ValueError(f"unknown RDKit descriptor {descriptor!r} (see rdkit.Chem.Descriptors.descList)")
        return (lambda mols: np.array([float(function(m)) for m in mols])), descriptor
    if kind == "pmo":
        task = oracle(str(entry["task"]))
        return task.score_mols, task.name
    return _model_function(Path(base) / str(entry["path"]), entry.get("target"))


def _model_function(directory: Path, target: str | None) -> tuple[Callable[[list[Chem.Mol]], np.ndarray], str]:
    """Load a symmol model; return its prediction (probability or value) for one target, and the target's name."""
    model = QSARModel.load(directory)
    names = list(model.target_names_)
    if target is not None and target not in names:
        raise ValueError(f"{directory}: the model has no target {target!r}; it predicts {names}")
    column = names.index(target) if target is not None else 0

    def predict(mols: list[Chem.Mol]) -> np.ndarray:
        scores = model.predict_scores([Chem.MolToSmiles(m) for m in mols])
        return scores[:, column].astype(np.float64)

    return predict, names[column]

