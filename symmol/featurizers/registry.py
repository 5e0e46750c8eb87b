"""The one registry of featurizer kinds, read by the CLI, the transformer, the index, models and the screen.

Built-in kinds register when :mod:`symmol.featurizers` is imported; kinds defined outside the package
register through the ``symmol.featurizers`` entry-point group (the entry point names a
:class:`~symmol.featurizers.base.Featurizer` subclass), loaded on first use in every process, so
spawned workers and Dask workers find them too::

    [project.entry-points."symmol.featurizers"]
    element_counts = "my_package.featurizers:ElementCounts"

Files written by earlier versions name kinds of an older vocabulary (``"morgan"`` with a
``features`` flag, ``"graph"``); :func:`featurizer_from_dict` reads them through
:func:`upgrade_featurizer_spec`.
"""

from __future__ import annotations

import warnings
from typing import Any, TypeVar

from symmol.featurizers.base import Featurizer, upgrade_featurizer_spec
from symmol.plugins import EntryPointScanner

__all__ = ["ENTRY_POINT_GROUP", "featurizer_class", "featurizer_from_dict", "featurizer_kinds", "make_featurizer",
           "register_featurizer", "upgrade_featurizer_spec"]

#: Entry-point group of featurizer plug-ins.
ENTRY_POINT_GROUP = "symmol.featurizers"

_KINDS: dict[str, type[Featurizer]] = {}
_PLUGINS = EntryPointScanner(ENTRY_POINT_GROUP)

F = TypeVar("F", bound=type[Featurizer])


def register_featurizer(cls: F) -> F:
    """Register a featurizer class under each of its ``KINDS`` (a class decorator).

    Raises
    ------
    TypeError
        If ``cls`` is not a :class:`Featurizer` subclass or declares no kinds.
    ValueError
        If one of its kinds is registered for another class already.
    """
    if not (isinstance(cls, type) and issubclass(cls, Featurizer)) or not cls.KINDS:
        raise TypeError(f"{cls!r} is not a Featurizer subclass with KINDS")
    for kind in cls.KINDS:
        other = _KINDS.get(kind)
        if other is not None and other is not cls:
            raise ValueError(f"featurizer kind {kind!r} is registered for {other.__module__}.{other.__qualname__} "
                             f"already; {cls.__module__}.{cls.__qualname__} needs another name")
        _KINDS[kind] = cls
    return cls


def _load_plugins(rescan: bool = False) -> None:
    """Register the plug-ins installed since the last scan (:class:`~symmol.plugins.EntryPointScanner`)."""
    for entry in _PLUGINS.new_entry_points(rescan):
        try:
            register_featurizer(entry.load())
        except Exception as exc:  # a broken plug-in must not break the built-in kinds
            warnings.warn(f"featurizer plug-in {entry.name!r} ({entry.value}) was not loaded: {exc}", stacklevel=2)


def featurizer_kinds(batch_type: type | None = None, base: type | None = None) -> list[str]:
    """Return the registered kind names, sorted.

    Optionally only those producing ``batch_type`` or subclassing ``base``.
    """
    _load_plugins()
    return sorted(kind for kind, cls in _KINDS.items()
                  if (batch_type is None or cls.BATCH_TYPE is batch_type) and (base is None or issubclass(cls, base)))


def featurizer_class(kind: str) -> type[Featurizer]:
    """Return the class registered under ``kind``.

    Raises
    ------
    ValueError
        For an unknown kind, listing the known ones.
    """
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        _load_plugins(rescan=True)
        cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown featurizer kind {kind!r}; choose one of {featurizer_kinds()}")
    return cls


def make_featurizer(kind: str, **params: Any) -> Featurizer:
    """Build a featurizer from its kind name and parameters (``make_featurizer("ecfp", radius=3)``).

    Raises
    ------
    ValueError
        For an unknown kind, a parameter the kind does not take or fixes, or a bad parameter value.
    """
    key = kind.lower() if isinstance(kind, str) else kind
    return featurizer_class(key).from_params(key, params)


def featurizer_from_dict(spec: dict[str, Any]) -> Featurizer:
    """Rebuild any featurizer from its ``to_dict()`` (or an earlier version's spec).

    Earlier specs are translated by :func:`upgrade_featurizer_spec`.

    Raises
    ------
    ValueError
        If ``spec`` is not a dict, its ``kind`` is unknown, or a parameter is unknown or bad.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"a featurizer spec must be a dict, got {type(spec).__name__}")
    spec = upgrade_featurizer_spec(spec)
    return featurizer_class(spec.get("kind")).from_dict(spec)  # type: ignore[arg-type]
