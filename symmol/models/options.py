"""Options several model kinds share (one flag each on ``symmol train``), and value parsers."""

from __future__ import annotations

from typing import Any

from symmol.models.registry import Option, widths
from symmol.nn.nonlinearities import NONLINEARITIES

__all__ = ["activation_option", "as_bool", "dropout_option", "hidden_option", "positive_int", "probability"]


def as_bool(value: Any) -> bool:
    """``True``/``False`` from a bool or the texts ``true``/``false``/``1``/``0``.

    Raises
    ------
    ValueError
        For anything else.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def positive_int(value: Any) -> int:
    """Parse an integer >= 1; ``ValueError`` otherwise."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"expected a positive integer, got {value!r}")
    number = int(value)
    if number < 1:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return number


def probability(value: Any) -> float:
    """Parse a float in [0, 1); ``ValueError`` otherwise."""
    p = float(value)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"expected a probability in [0, 1), got {value!r}")
    return p


def hidden_option(default: tuple[int, ...], what: str) -> Option:
    """``hidden``: widths of dense layers (``--hidden 512`` or ``--hidden 1024,256``)."""
    return Option("hidden", default, f"widths of {what}, e.g. 512 or 1024,256", parse=widths)


def dropout_option(default: float, where: str) -> Option:
    """``dropout``: dropout probability (training only)."""
    return Option("dropout", default, f"dropout probability {where} (training only)", parse=probability)


def activation_option() -> Option:
    """``activation``: the hidden layers' nonlinearity."""
    return Option("activation", "relu", "nonlinearity of the hidden layers",
                  choices=tuple(name for name in NONLINEARITIES if name != "identity"))
