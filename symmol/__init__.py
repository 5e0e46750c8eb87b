"""symmol: a Theano-style symbolic compute engine for drug-discovery machine learning.

Layers, bottom to top (each imports only from those below it; ``pyproject.toml`` states the contract):
:mod:`symmol.kernels` (pure Numba) → :mod:`symmol.chem` (the RDKit boundary) → :mod:`symmol.data`
(batch types) → :mod:`symmol.featurizers` | :mod:`symmol.evaluation` → :mod:`symmol.ops` |
:mod:`symmol.similarity` → :mod:`symmol.nn` → :mod:`symmol.compile` → :mod:`symmol.models` →
:mod:`symmol.training` → :mod:`symmol.screen` → :mod:`symmol.estimator` → :mod:`symmol.cli`.

The names below are loaded on first use, so ``import symmol`` (and the CLI's ``--help``) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from symmol._version import __version__

__all__ = ["FingerprintBatch", "MorganFingerprint", "QSARModel", "__version__"]

#: Public name → the module that defines it (imported on first access).
_LAZY = {
    "QSARModel": "symmol.estimator",
    "MorganFingerprint": "symmol.featurizers.morgan",
    "FingerprintBatch": "symmol.data.fingerprints",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'symmol' has no attribute {name!r}")
