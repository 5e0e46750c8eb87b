"""The registry of generative model kinds: what ``symmol train --task generation`` and ``symmol generate`` iterate.

A :class:`GenerativeKind` names an architecture (``"gru"``...), the class that implements it (a
:class:`GenerativeModel`) and its :class:`~symmol.models.registry.Option` s. The command line
declares one flag per option name over these kinds and the supervised ones
(:mod:`symmol.models.registry`), so an option shared by name must parse the same way in both.
A new kind is its own module plus one :func:`register_generative_kind` call, imported by
:mod:`symmol.generation`; ``symmol generate`` finds a saved model's kind by the ``format`` its
``model.json`` names.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from symmol.models.registry import Option, check_option_clashes, model_kinds, resolve_options
from symmol.training.warm_cache import WARM_UP_SMILES

__all__ = ["BUILT_IN_MODULES", "GENERATION_TASK", "GenerativeKind", "GenerativeModel", "generative_kind",
           "generative_kinds", "load_generative_model", "register_generative_kind", "warm_generative_kind"]

#: The ``--task`` of generative models (they learn a distribution of molecules, no target column).
GENERATION_TASK = "generation"


class GenerativeModel(Protocol):
    """What a generative kind's class provides (:class:`~symmol.generation.language_model.SmilesLanguageModel`)."""

    #: ``model.json``'s ``format`` entry of saved models.
    FORMAT: ClassVar[str]
    #: Seconds spent in training steps over every run (resumed ones included; compilation too).
    seconds_trained: float

    @classmethod
    def for_training(cls, smiles: Sequence[str], options: dict[str, Any], seed: int,
                     backend: str = "numba") -> GenerativeModel:
        """Return a freshly initialised model whose vocabulary covers ``smiles``."""

    def fit(self, smiles: Sequence[str], epochs: int | None = 10, max_time: float | None = None,
            batch_size: int = 128, learning_rate: float = 1e-3, seed: int = 0, progress: bool = False,
            started: float | None = None, validation: Sequence[str] | None = None,
            checkpoint: str | Path | None = None, checkpoint_every: float = 300.0) -> list[dict[str, Any]]:
        """Train on ``smiles``; return one history entry per epoch."""

    def log_likelihood(self, smiles: Sequence[str], batch_size: int = 512) -> np.ndarray:
        """Return the ``(n,)`` log-likelihood of each SMILES, NaN where the model cannot read it."""

    def mean_token_loss(self, smiles: Sequence[str]) -> float:
        """Return the mean cross-entropy per predicted token (nats) over the SMILES the model reads."""

    def sample(self, n: int, temperature: float = 1.0, seed: int = 0, batch_size: int = 256) -> pd.DataFrame:
        """Draw ``n`` samples: ``smiles``, ``status``, ``error``, ``log_likelihood``."""

    def save(self, directory: str | Path) -> Path:
        """Write ``model.json`` and the parameters (no pickle) into ``directory``."""

    @classmethod
    def load(cls, directory: str | Path, backend: str = "numba") -> GenerativeModel:
        """Read a directory written by :meth:`save`."""


@dataclass(frozen=True)
class GenerativeKind:
    """One generative architecture.

    Attributes
    ----------
    name
        ``--architecture`` value.
    model_class
        The class that implements it (:class:`GenerativeModel`).
    description
        One line for ``symmol train --help``.
    options
        The kind's settings (flags of ``symmol train``).
    """

    name: str
    model_class: type[GenerativeModel]
    description: str
    options: tuple[Option, ...]

    @property
    def option_names(self) -> list[str]:
        """The option names, in declaration order."""
        return [option.name for option in self.options]

    def resolve(self, given: dict[str, Any]) -> dict[str, Any]:
        """Every option's value: ``given`` (parsed and checked) over the defaults."""
        return resolve_options(self.name, self.options, given)


_KINDS: dict[str, GenerativeKind] = {}
#: Modules of the built-in kinds, imported on first use of the registry (each registers itself).
BUILT_IN_MODULES = ("symmol.generation.language_model", "symmol.generation.vae")


def _load_built_ins() -> None:
    for module in BUILT_IN_MODULES:
        importlib.import_module(module)


def register_generative_kind(kind: GenerativeKind) -> GenerativeKind:
    """Register ``kind`` under its name (returns it).

    Raises
    ------
    ValueError
        If the name is taken (by a generative or a supervised kind), or an option shares its name with
        another kind's but parses differently.
    """
    taken = _KINDS.get(kind.name)
    if (taken is not None and taken is not kind) or kind.name in {k.name for k in model_kinds()}:
        raise ValueError(f"architecture {kind.name!r} is registered already")
    check_option_clashes(kind.name, kind.options, [*model_kinds(), *_KINDS.values()])
    _KINDS[kind.name] = kind
    return kind


def generative_kinds() -> list[GenerativeKind]:
    """Every registered generative kind, in registration order."""
    _load_built_ins()
    return list(_KINDS.values())


def generative_kind(name: str) -> GenerativeKind:
    """Return the generative kind registered as ``name``.

    Raises
    ------
    ValueError
        For an unknown name, listing the registered ones.
    """
    _load_built_ins()
    kind = _KINDS.get(name)
    if kind is None:
        raise ValueError(f"{name!r} is not a generative architecture; choose one of {list(_KINDS)}")
    return kind


def load_generative_model(directory: str | Path, backend: str = "numba") -> GenerativeModel:
    """Load a generative model directory, whatever its kind (by ``model.json``'s ``format``).

    Raises
    ------
    ValueError
        If the directory has no ``model.json``, or no registered kind reads its format.
    """
    _load_built_ins()
    directory = Path(directory)
    meta_path = directory / "model.json"
    if not meta_path.exists():
        raise ValueError(f"{directory}: no model.json; give a directory written by `symmol train --task generation`")
    meta = json.loads(meta_path.read_text())
    for kind in _KINDS.values():
        if kind.model_class.FORMAT == meta.get("format"):
            return kind.model_class.load(directory, backend)
    known = sorted(kind.model_class.FORMAT for kind in _KINDS.values())
    raise ValueError(f"{directory}: not a generative model this symmol reads (format {meta.get('format')!r}; "
                     f"it reads {known})")


def warm_generative_kind(name: str, backend: str = "numba") -> float:
    """Compile a generative kind's training step, scoring and sampling functions into the caches.

    PyTensor keys its cache on the graph, not on the sizes, so the kind's default depth warms every
    width. Returns the wall seconds it took.
    """
    start = time.perf_counter()
    kind = generative_kind(name)
    model = kind.model_class.for_training(list(WARM_UP_SMILES), kind.resolve({}), seed=0, backend=backend)
    model.fit(list(WARM_UP_SMILES), epochs=1, batch_size=len(WARM_UP_SMILES))
    model.log_likelihood(list(WARM_UP_SMILES))
    model.sample(2, seed=0)
    return time.perf_counter() - start

