"""symmol: a Theano-style symbolic compute engine for drug-discovery machine learning.

Layers, bottom to top: :mod:`symmol.kernels` (pure Numba) → :mod:`symmol.chem` (RDKit boundary)
→ :mod:`symmol.featurize` → :mod:`symmol.ops` (PyTensor Ops) → :mod:`symmol.nn` (layers, losses,
updates) → :mod:`symmol.models` → :mod:`symmol.compile` / :mod:`symmol.train` /
:mod:`symmol.screen` → :mod:`symmol.cli`.
"""

__version__ = "0.1.0"

__all__ = ["QSARModel", "MorganFingerprint", "FingerprintBatch", "__version__"]


def __getattr__(name: str):
    # Lazy imports keep `import symmol` (and the CLI's --help) fast.
    if name == "QSARModel":
        from symmol.estimator import QSARModel

        return QSARModel
    if name == "MorganFingerprint":
        from symmol.featurize import MorganFingerprint

        return MorganFingerprint
    if name == "FingerprintBatch":
        from symmol.fingerprints import FingerprintBatch

        return FingerprintBatch
    raise AttributeError(f"module 'symmol' has no attribute {name!r}")
