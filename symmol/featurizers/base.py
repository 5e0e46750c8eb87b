"""The featurizer family: one base class, declarative parameter checks, SMILES parsing policy.

A featurizer is a frozen dataclass whose fields are its parameters. Each class declares

* ``KINDS``: the kind names it is registered under (:mod:`symmol.featurizers.registry`), each with
  the parameters that kind fixes (``ecfp`` and ``fcfp`` are one class with ``features`` fixed);
* ``PARAMETERS``: a constraint per field, checked and normalised to plain Python values when the
  featurizer is made (numpy scalars from a parameter grid would break the JSON of a saved model),
  as scikit-fingerprints' ``_parameter_constraints`` do;
* ``BATCH_TYPE``: the batch it produces (:mod:`symmol.data`).

:meth:`Featurizer.featurize` turns the values of one input column into a
:class:`~symmol.data.batch.Featurized` (a batch row and an error text per input row; nothing is
dropped). A featurizer that reads several columns overrides :meth:`Featurizer.select` and
:meth:`Featurizer.reads`. Molecule featurizers (:class:`MoleculeFeaturizer`) choose their own
fastest parse path proven identical to ``Chem.MolFromSmiles``; callers never restate that policy.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from rdkit import Chem

from symmol.chem.parse import ParseMode, parse_smiles_list
from symmol.data.batch import Batch, Featurized

__all__ = ["Boolean", "Choice", "Featurizer", "FingerprintFeaturizer", "Integer", "MoleculeFeaturizer", "Real",
           "Strings", "present_molecules", "upgrade_featurizer_spec"]


# --------------------------------------------------------------------------
# parameter constraints
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Integer:
    """An integer in ``[low, high]`` (``None``: unbounded); numpy integers accepted, bools refused."""

    low: int | None = None
    high: int | None = None

    def __call__(self, name: str, value: object) -> int:
        """Return ``value`` as an ``int``; ``ValueError`` (naming ``name``) if it is no integer or out of range."""
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValueError(f"{name} must be in {self.low}..{self.high}, got {value}")
        return int(value)


@dataclass(frozen=True)
class Real:
    """A finite number in ``[low, high]``."""

    low: float = -math.inf
    high: float = math.inf

    def __call__(self, name: str, value: object) -> float:
        """Return ``value`` as a ``float``; ``ValueError`` (naming ``name``) if it is no finite number in range."""
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise ValueError(f"{name} must be a finite number in [{self.low}, {self.high}], got {value}")
        return float(value)


@dataclass(frozen=True)
class Boolean:
    """``True`` or ``False`` (numpy booleans accepted)."""

    def __call__(self, name: str, value: object) -> bool:
        """Return ``value`` as a ``bool``; ``ValueError`` (naming ``name``) if it is no (numpy) boolean."""
        if not isinstance(value, bool | np.bool_):
            raise ValueError(f"{name} must be True or False, got {value!r}")
        return bool(value)


@dataclass(frozen=True)
class Choice:
    """One of ``options``."""

    options: tuple[Any, ...]

    def __call__(self, name: str, value: object) -> Any:
        """Return ``value`` unchanged; ``ValueError`` (naming ``name``) if it is not one of the options."""
        if value not in self.options:
            raise ValueError(f"{name} must be one of {list(self.options)}, got {value!r}")
        return value


@dataclass(frozen=True)
class Strings:
    """A sequence of strings, stored as a tuple (``min_length`` entries at least, no repeats if ``unique``)."""

    min_length: int = 0
    unique: bool = True

    def __call__(self, name: str, value: object) -> tuple[str, ...]:
        """Return ``value`` as a tuple of strings.

        Raises
        ------
        ValueError
            Naming ``name``, if ``value`` is a string or no sequence, holds a non-string, has fewer
            than ``min_length`` entries, or repeats one while ``unique``.
        """
        if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
            raise ValueError(f"{name} must be a sequence of strings, got {value!r}")
        items = tuple(value)
        if not all(isinstance(item, str) for item in items):
            raise ValueError(f"{name} must hold strings only, got {items!r}")
        if len(items) < self.min_length:
            raise ValueError(f"{name} needs at least {self.min_length} entries, got {len(items)}")
        if self.unique and len(set(items)) != len(items):
            raise ValueError(f"{name} must not repeat entries, got {items!r}")
        return items


# --------------------------------------------------------------------------
# the base class
# --------------------------------------------------------------------------
def upgrade_featurizer_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Translate a featurizer spec of an earlier symmol into today's vocabulary (other specs unchanged).

    ``{"kind": "morgan", "features": f, ...}`` (``model.json`` before the registry) becomes
    ``{"kind": "fcfp" if f else "ecfp", ...}``; ``{"kind": "graph"}`` becomes ``{"kind": "molgraph"}``;
    ``{"kind": "maccs", "fp_size": 167}`` becomes ``{"kind": "maccs"}``.
    """
    kind = spec.get("kind")
    if kind == "morgan":
        rest = {k: v for k, v in spec.items() if k not in ("kind", "features")}
        return {"kind": "fcfp" if spec.get("features", False) else "ecfp", **rest}
    if kind == "graph":
        return {**spec, "kind": "molgraph"}
    if kind == "maccs" and spec.get("fp_size", 167) == 167:  # MACCS keys had a fixed fp_size parameter
        return {"kind": "maccs"}
    return spec


class Featurizer(ABC):
    """Base class of every featurizer; subclasses are frozen dataclasses.

    Class attributes
    ----------------
    KINDS : dict
        Kind name → the parameters that kind fixes (``{"atompair": {}}``).
    PARAMETERS : dict
        Field name → constraint (:class:`Integer`, :class:`Boolean`, ...), checked on creation.
    BATCH_TYPE : type
        The :mod:`symmol.data` batch class :meth:`featurize` returns.
    ANNOTATES : bool
        Whether :meth:`featurize` may note rows it changed to fit (``Featurized.notes``: a truncated
        sequence); outputs of models with such an input get a ``note`` column.
    """

    KINDS: ClassVar[dict[str, dict[str, Any]]] = {}
    PARAMETERS: ClassVar[dict[str, Any]] = {}
    BATCH_TYPE: ClassVar[type] = object
    ANNOTATES: ClassVar[bool] = False

    def __post_init__(self) -> None:
        for name, check in self.PARAMETERS.items():
            object.__setattr__(self, name, check(name, getattr(self, name)))
        self.check()

    def check(self) -> None:
        """Check constraints across parameters, after each parameter's own; raise ``ValueError``.

        The base class has none; subclasses with such constraints override this hook.
        """
        return None

    # -- identity ---------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """The registry name of this featurizer: the first of :attr:`KINDS` whose fixed parameters it has."""
        for kind, fixed in self.KINDS.items():
            if all(getattr(self, k) == v for k, v in fixed.items()):
                return kind
        raise ValueError(f"{type(self).__name__} has no kind for its parameters")

    @property
    def name(self) -> str:
        """Display name (e.g. ``ECFP4``); the kind by default."""
        return self.kind

    def params(self) -> dict[str, Any]:
        """Return the parameters, without those the kind fixes."""
        fixed = self.KINDS.get(self.kind, {})
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in fixed}  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": ..., **parameters}``, JSON-ready (inverse of :meth:`from_dict`)."""
        return {"kind": self.kind, **{k: list(v) if isinstance(v, tuple) else v for k, v in self.params().items()}}

    @classmethod
    def parameter_names(cls) -> tuple[str, ...]:
        """Names of the parameters a kind of this class takes (fixed ones excluded)."""
        fixed = set().union(*cls.KINDS.values()) if cls.KINDS else set()
        return tuple(f.name for f in fields(cls) if f.name not in fixed)  # type: ignore[arg-type]

    @classmethod
    def from_params(cls, kind: str, params: dict[str, Any]) -> Featurizer:
        """Build the featurizer of ``kind`` with ``params`` (the kind's fixed parameters added).

        Raises
        ------
        ValueError
            If ``kind`` is not one of this class's, or a parameter is unknown, fixed by the kind, or bad.
        """
        if kind not in cls.KINDS:
            raise ValueError(f"{cls.__name__} has no kind {kind!r} (its kinds: {sorted(cls.KINDS)})")
        fixed = cls.KINDS[kind]
        clash = sorted(set(params) & set(fixed))
        if clash:
            raise ValueError(f"parameter(s) {clash} are fixed by kind {kind!r}")
        unknown = sorted(set(params) - set(cls.parameter_names()))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown} for kind {kind!r}; it takes "
                             f"{sorted(cls.parameter_names())}")
        return cls(**params, **fixed)

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> Featurizer:
        """Rebuild from :meth:`to_dict` (or an earlier version's spec, :func:`upgrade_featurizer_spec`).

        Raises
        ------
        ValueError
            For another kind or unknown parameters.
        """
        if not isinstance(spec, dict):
            raise ValueError(f"a featurizer spec must be a dict, got {type(spec).__name__}")
        spec = upgrade_featurizer_spec(spec)
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items() if k != "kind"}
        return cls.from_params(spec.get("kind", ""), params)

    # -- what a featurizer reads and returns ---------------------------------------------------
    def reads(self, column: str) -> list[str]:
        """Return the table columns this featurizer reads when bound to input column ``column``."""
        return [column]

    def select(self, table: pd.DataFrame, column: str) -> Any:
        """Return what :meth:`featurize` takes from ``table`` for input column ``column`` (its values as a list)."""
        return table[column].tolist()

    def featurize_table(self, table: pd.DataFrame, column: str) -> Featurized:
        """:meth:`featurize` of the input column ``column`` of ``table`` (one row per table row)."""
        return self.featurize(self.select(table, column))

    @abstractmethod
    def featurize(self, values: Any) -> Featurized:
        """Features of every input row; invalid rows stay, flagged with the reason.

        Parameters
        ----------
        values
            What :meth:`select` returns: one entry per row (a SMILES, a sequence, ...).

        Returns
        -------
        Featurized
            A :attr:`BATCH_TYPE` batch with one row per input row, and one error text per row.
        """


def present_molecules(mols: Sequence[Chem.Mol | None]) -> tuple[list[int], list[Chem.Mol]]:
    """Positions and molecules of the non-``None`` entries.

    Raises
    ------
    TypeError
        If an entry is neither ``None`` nor an ``rdkit.Chem.Mol``.
    """
    idx, present = [], []
    for i, mol in enumerate(mols):
        if mol is None:
            continue
        if not isinstance(mol, Chem.Mol):
            raise TypeError(f"mols[{i}] is {type(mol).__name__}, not rdkit.Chem.Mol or None")
        idx.append(i)
        present.append(mol)
    return idx, present


class MoleculeFeaturizer(Featurizer):
    """A featurizer of molecules given as SMILES (or RDKit molecules, :meth:`from_mols`).

    :meth:`featurize` parses with :attr:`parse_mode` (``"fast"`` only where the kind is proven to
    give identical features, see :mod:`symmol.chem.parse`), then calls :meth:`from_mols`. Kinds
    with a native (Numba) reading path override :meth:`featurize`.
    """

    @property
    def parse_mode(self) -> ParseMode:
        """The cheapest parse path proven to give this featurizer the molecules ``MolFromSmiles`` gives."""
        return "full"

    @abstractmethod
    def from_mols(self, mols: Sequence[Chem.Mol | None]) -> Batch:
        """Features of RDKit molecules, one row per entry; a ``None`` entry gives an empty/NaN row."""

    def from_smiles(self, smiles: Sequence[object], parse_mode: ParseMode = "full") -> Featurized:
        """Parse SMILES with RDKit (``parse_mode``) and featurize; invalid rows flagged with RDKit's reason."""
        parsed = parse_smiles_list(smiles, mode=parse_mode)
        return Featurized(self.from_mols(parsed.mols), parsed.errors)

    def featurize(self, values: Sequence[object]) -> Featurized:
        """Features of SMILES (see the class docstring); ``None``/NaN/blank rows are invalid ("empty SMILES")."""
        return self.from_smiles(values, self.parse_mode)


class FingerprintFeaturizer(MoleculeFeaturizer):
    """A molecule featurizer giving a :class:`~symmol.data.fingerprints.FingerprintBatch` of ``fp_size`` bits.

    Subclasses have ``fp_size`` and ``counts`` fields; only bit fingerprints (``counts=False``) go
    into a similarity index.
    """

    fp_size: int
    counts: bool
