"""Files the commands write: strict JSON (NaN and infinities as ``null``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["strict_json", "write_json"]


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None``, recursively (dicts, lists, tuples)."""
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, value: Any) -> Path:
    """Write ``value`` as indented strict JSON (:func:`strict_json`) to ``path``; return the path."""
    path = Path(path)
    path.write_text(json.dumps(strict_json(value), indent=2) + "\n")
    return path
