"""The registry of model kinds.

What ``symmol train --architecture``, :class:`~symmol.QSARModel`, the model store and the screen
iterate, never naming a kind themselves.

A :class:`ModelKind` names an architecture (``"mlp"``, ``"dmpnn"``...), the model class that
implements it, and its :class:`Option` s (settings with defaults, help and a CLI parser), and turns
a problem plus option values into the model's spec (:meth:`ModelKind.make_spec`). Built-in kinds
register when :mod:`symmol.models` is imported; kinds defined outside the package register through
the ``symmol.models`` entry-point group (the entry point names a :class:`ModelKind`, or a list of
them), loaded on first use in every process, so spawned and Dask workers find them too::

    [project.entry-points."symmol.models"]
    fp_profile = "my_package.models:FP_PROFILE_MLP"
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from symmol.models.base import CompiledModel, ModelInput, ModelSpec
from symmol.plugins import EntryPointScanner

__all__ = ["ENTRY_POINT_GROUP", "KIND_TRAINING_SETTINGS", "ModelKind", "Option", "Problem", "architecture_of",
           "check_option_clashes", "model_class", "model_kind", "model_kinds", "register_model_kind",
           "resolve_options", "widths"]

#: Entry-point group of model plug-ins.
ENTRY_POINT_GROUP = "symmol.models"


def widths(value: str | Sequence[int]) -> tuple[int, ...]:
    """Layer widths from ``"512"``, ``"1024,256"`` or a sequence of ints.

    Raises
    ------
    ValueError
        If a width is not a positive integer.
    """
    try:
        items = [int(w) for w in value.split(",") if w.strip()] if isinstance(value, str) else [int(w) for w in value]
    except (TypeError, ValueError):
        raise ValueError(f"expected comma-separated positive integers, got {value!r}") from None
    if not items or min(items) < 1:
        raise ValueError(f"expected comma-separated positive integers, got {value!r}")
    return tuple(items)


@dataclass(frozen=True)
class Option:
    """A setting of a model kind: a keyword of :class:`~symmol.QSARModel` and a ``symmol train`` flag.

    Attributes
    ----------
    name
        Python name (``"hidden"``); the flag is ``--hidden`` unless :attr:`flag` says otherwise.
    default
        Used when the option is not given; ``None`` means "the featurizer's or layer's own default".
    help
        One line for ``symmol train --help``.
    parse
        Turns a value (a CLI string, or what a Python caller passed) into the option's value;
        raises ``ValueError`` for a bad one.
    choices
        Allowed values, if a closed set.
    flag
        CLI flag, e.g. ``"--message-units"`` for ``units``.
    switch
        A CLI switch without a value (``--counts`` sets ``True``).
    """

    name: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = str
    choices: tuple[Any, ...] | None = None
    flag: str | None = None
    switch: bool = False

    @property
    def cli_flag(self) -> str:
        """The ``symmol train`` flag."""
        return self.flag or "--" + self.name.replace("_", "-")

    def value(self, given: Any) -> Any:
        """``given`` parsed and checked (``None`` stays ``None``).

        Raises
        ------
        ValueError
            Naming the option, for a value :attr:`parse` refuses or outside :attr:`choices`.
        """
        if given is None:
            return None
        try:
            value = self.parse(given)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"option {self.name}: {exc}") from None
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"option {self.name} must be one of {list(self.choices)}, got {value!r}")
        return value


def resolve_options(architecture: str, options: Sequence[Option], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every option's value: ``given`` (parsed and checked) over the defaults.

    Raises
    ------
    ValueError
        For an option ``architecture`` does not have (listing those it has) or a bad value.
    """
    by_name = {option.name: option for option in options}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        raise ValueError(f"architecture {architecture!r} has no option(s) {unknown}; its options are "
                         f"{list(by_name)}")
    resolved = {name: option.default for name, option in by_name.items()}
    resolved.update({name: by_name[name].value(value) for name, value in given.items()})
    return resolved


def check_option_clashes(name: str, options: Sequence[Option], others: Sequence[Any]) -> None:
    """Refuse options that share a name with another architecture's but parse differently.

    ``others`` are registered kinds (anything with ``name`` and ``options``): the command line has
    one flag per option name.

    Raises
    ------
    ValueError
        Naming both architectures and the option.
    """
    for existing in others:
        theirs = {option.name: option for option in existing.options}
        for option in options:
            twin = theirs.get(option.name)
            if twin is not None and (twin.parse is not option.parse or twin.cli_flag != option.cli_flag):
                raise ValueError(f"option {option.name!r} of {name!r} parses differently from the one of "
                                 f"{existing.name!r}; give it another name")


@dataclass(frozen=True)
class Problem:
    """What a model is trained for, shared by every kind's spec.

    Attributes
    ----------
    targets, task
        Target names and ``"classification"``/``"regression"``.
    target_mean, target_std
        Regression normalisation (``y = output * std + mean``); empty for classification.
    seed, ensemble_size
        Initialisation seed and number of ensemble members.
    """

    targets: tuple[str, ...]
    task: str
    target_mean: tuple[float, ...] = ()
    target_std: tuple[float, ...] = ()
    seed: int = 0
    ensemble_size: int = 1

    def spec_fields(self) -> dict[str, Any]:
        """Return the fields every :class:`~symmol.models.base.ModelSpec` has, as keyword arguments."""
        return {"targets": self.targets, "task": self.task, "target_mean": self.target_mean,
                "target_std": self.target_std, "seed": self.seed, "ensemble_size": self.ensemble_size}


#: Training settings whose default an architecture may set (``ModelKind.training_defaults``).
KIND_TRAINING_SETTINGS = ("epochs", "patience", "batch_size", "weight_decay", "lr_schedule", "batch_order")


@dataclass(frozen=True)
class ModelKind:
    """One architecture: its model class, options and how options become a spec.

    Attributes
    ----------
    name
        The architecture name (``--architecture``, ``QSARModel(architecture=...)``).
    model_class
        The :class:`~symmol.models.base.CompiledModel` subclass that implements it.
    description
        One line for ``symmol train --help``.
    options
        The kind's settings.
    build_inputs
        ``options → [ModelInput, ...]``: the inputs (columns and featurizers) the settings give.
    build_spec
        ``(problem, inputs, options) → spec``.
    spec_options
        ``spec → options``: the settings a saved spec was made with (the inverse of ``build_spec``).
    search_space
        ``trial → options``: the settings ``symmol tune`` samples, drawn with an Optuna trial's
        ``suggest_*`` methods (``None``: the kind is tuned with its defaults only).
    training_defaults
        Training settings of this kind that differ from
        :class:`~symmol.training.config.TrainConfig`'s defaults (among :data:`KIND_TRAINING_SETTINGS`),
        used where a user gives none, e.g. Chemprop's schedule for ``dmpnn``.
    tune_presets
        Settings ``symmol tune`` tries first, before sampling: the kind's defaults or a published
        recipe, as values of the search space's parameter names (and of the training parameters
        ``learning_rate``, ``weight_decay``, ``lr_schedule`` for kinds trained by epochs).
    """

    name: str
    model_class: type[CompiledModel]
    description: str
    options: tuple[Option, ...]
    build_inputs: Callable[[dict[str, Any]], list[ModelInput]]
    build_spec: Callable[[Problem, list[ModelInput], dict[str, Any]], ModelSpec]
    spec_options: Callable[[ModelSpec], dict[str, Any]]
    search_space: Callable[[Any], dict[str, Any]] | None = None
    training_defaults: Mapping[str, Any] = field(default_factory=dict)
    tune_presets: tuple[Mapping[str, Any], ...] = ()
    _by_name: dict[str, Option] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {option.name: option for option in self.options})
        unknown = sorted(set(self.training_defaults) - set(KIND_TRAINING_SETTINGS))
        if unknown:
            raise ValueError(f"architecture {self.name!r}: training_defaults {unknown} are not among the settings a "
                             f"kind may set ({', '.join(KIND_TRAINING_SETTINGS)})")

    @property
    def option_names(self) -> list[str]:
        """The option names, in declaration order."""
        return list(self._by_name)

    def resolve(self, given: dict[str, Any]) -> dict[str, Any]:
        """Every option's value: ``given`` (parsed and checked) over the defaults (:func:`resolve_options`)."""
        return resolve_options(self.name, self.options, given)

    def inputs(self, given: dict[str, Any]) -> list[ModelInput]:
        """Return the model inputs for option values ``given`` (resolved over the defaults)."""
        return self.build_inputs(self.resolve(given))

    def make_spec(self, problem: Problem, given: dict[str, Any]) -> ModelSpec:
        """Return the spec of this architecture for ``problem`` and option values ``given``."""
        options = self.resolve(given)
        return self.build_spec(problem, self.build_inputs(options), options)

    def make_model(self, problem: Problem, given: dict[str, Any], backend: str = "numba") -> CompiledModel:
        """Build a freshly initialised model (:meth:`make_spec`, then the model class)."""
        return self.model_class(self.make_spec(problem, given), backend=backend)


_KINDS: dict[str, ModelKind] = {}
_PLUGINS = EntryPointScanner(ENTRY_POINT_GROUP)


def register_model_kind(kind: ModelKind) -> ModelKind:
    """Register ``kind`` under its name (returns it).

    Raises
    ------
    TypeError
        If ``kind`` is not a :class:`ModelKind`.
    ValueError
        If its name is taken by another kind, or another registered kind's option of the same name
        parses differently (the CLI has one flag per option name).
    """
    if not isinstance(kind, ModelKind):
        raise TypeError(f"{kind!r} is not a ModelKind")
    other = _KINDS.get(kind.name)
    if other is not None and other is not kind:
        raise ValueError(f"model kind {kind.name!r} is registered already (by {other.model_class.__module__})")
    check_option_clashes(kind.name, kind.options, list(_KINDS.values()))
    _KINDS[kind.name] = kind
    return kind


def _load_plugins(rescan: bool = False) -> None:
    """Register the plug-ins installed since the last scan (:class:`~symmol.plugins.EntryPointScanner`)."""
    for entry in _PLUGINS.new_entry_points(rescan):
        try:
            loaded = entry.load()
            for kind in loaded if isinstance(loaded, list | tuple) else [loaded]:
                register_model_kind(kind)
        except Exception as exc:  # a broken plug-in must not break the built-in kinds
            warnings.warn(f"model plug-in {entry.name!r} ({entry.value}) was not loaded: {exc}", stacklevel=2)


def model_kinds() -> list[ModelKind]:
    """Every registered kind (built-in first, then plug-ins), in registration order."""
    _load_plugins()
    return list(_KINDS.values())


def model_kind(name: str) -> ModelKind:
    """Return the kind registered as ``name``.

    Raises
    ------
    ValueError
        For an unknown name, listing the registered ones.
    """
    kind = _KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        _load_plugins(rescan=True)
        kind = _KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        raise ValueError(f"unknown architecture {name!r}; choose one of {[k.name for k in _KINDS.values()]}")
    return kind


def model_class(stored_kind: str) -> type[CompiledModel]:
    """Return the model class whose ``KIND`` is ``stored_kind`` (the ``"model"`` entry of ``model.json``).

    Raises
    ------
    ValueError
        If no registered kind stores models under that name.
    """
    for kind in model_kinds():
        if kind.model_class.KIND == stored_kind:
            return kind.model_class
    known = sorted({k.model_class.KIND for k in model_kinds()})
    raise ValueError(f"unknown model kind {stored_kind!r} (this symmol reads {known})")


def architecture_of(model: CompiledModel) -> ModelKind:
    """Return the registered kind that made ``model``.

    The only kind of its class, or the one named by the spec's ``architecture`` when several kinds
    share a class (``dmpnn`` and ``gin``).

    Raises
    ------
    ValueError
        If no registered kind matches.
    """
    candidates = [k for k in model_kinds() if k.model_class is type(model)]
    if len(candidates) == 1:
        return candidates[0]
    name = getattr(model.spec, "architecture", None)
    for kind in candidates:
        if kind.name == name:
            return kind
    raise ValueError(f"no registered architecture builds this {type(model).__name__} model")
