"""scikit-learn transformer: SMILES (or RDKit molecules) → fingerprint / descriptor matrix.

:class:`FingerprintTransformer` wraps the molecule featurizers of :mod:`symmol.featurizers` (any
registered kind giving fingerprints or dense rows, plug-ins included) and the parallel pipeline of
:mod:`symmol.featurizers.pipeline` behind ``fit``/``transform``, so that a fingerprint is one step
of a :class:`sklearn.pipeline.Pipeline`.

scikit-learn's generic estimator checks feed numeric matrices; this transformer takes
molecules, so only the checks that do not depend on the input type apply (parameter
handling, cloning, ``get_params``/``set_params``, ``__repr__``, no attributes set in
``__init__``, ``fit`` returning ``self``...). ``tests/test_transformer.py`` runs every check
of ``parametrize_with_checks`` and lists the numeric-input ones as expected failures, each
with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from rdkit import Chem
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from symmol.chem.parse import parse_smiles
from symmol.data.dense import DenseBatch
from symmol.data.fingerprints import FingerprintBatch, spread_offsets
from symmol.featurizers.base import MoleculeFeaturizer
from symmol.featurizers.pipeline import featurize_values
from symmol.featurizers.registry import featurizer_class, featurizer_kinds, make_featurizer

__all__ = ["FingerprintTransformer", "transformer_kinds"]

#: The transformer's own featurizer parameters; each kind takes those its class has.
_FEATURIZER_PARAMS = ("radius", "fp_size", "counts", "chirality")


def transformer_kinds() -> list[str]:
    """Return the registered molecule featurizer kinds giving fingerprints or dense rows (what ``kind`` accepts)."""
    return [k for k in featurizer_kinds(base=MoleculeFeaturizer)
            if featurizer_class(k).BATCH_TYPE in (FingerprintBatch, DenseBatch)]


class FingerprintTransformer(TransformerMixin, BaseEstimator):
    """Molecules → fingerprint matrix, as a scikit-learn transformer.

    Parameters
    ----------
    kind : {"ecfp", "fcfp", "atompair", "torsion", "maccs", "rdkit2d"} or a plug-in kind
        Featurizer (see :func:`symmol.featurizers.make_featurizer`; :func:`transformer_kinds`).
    radius : int
        Morgan radius for ``ecfp``/``fcfp`` (ECFP4 is 2). Ignored by other kinds.
    fp_size : int
        Number of bits for ``ecfp``/``fcfp``/``atompair``/``torsion``. Ignored by other kinds.
    counts : bool
        Count fingerprint instead of bits (``ecfp``/``fcfp``/``atompair``/``torsion``).
    chirality : bool
        Chirality in the Morgan invariants (``ecfp``/``fcfp``).
    n_jobs : int or None
        Worker processes for SMILES input (``-1``: all cores; ``None``: 1, as in
        scikit-learn); molecules given as RDKit ``Mol`` objects are featurized in-process.
    batch_size : int or None
        Molecules per task sent to a worker; ``None`` picks about ``4 * n_jobs`` tasks.
    errors : {"raise", "flag"}
        ``"raise"``: an invalid molecule raises ``ValueError`` naming its index, SMILES and
        RDKit's reason. ``"flag"``: its row is all zeros (NaN for ``rdkit2d``) and its index
        is recorded in ``invalid_``.
    output : {"dense", "sparse"}
        ``numpy.ndarray`` (float32) or ``scipy.sparse.csr_matrix`` (float32). ``rdkit2d``
        is always dense.

    Attributes
    ----------
    n_features_out_ : int
        Number of output columns (set by ``fit``).
    invalid_ : (n_invalid,) int64
        Indices of the invalid molecules of the last ``transform`` call.
    errors_ : list of str
        One reason per row of the last ``transform`` call (``""`` when valid).
    """

    def __init__(self, kind: str = "ecfp", radius: int = 2, fp_size: int = 2048, counts: bool = False,
                 chirality: bool = False, n_jobs: int = 1, batch_size: int | None = None,
                 errors: str = "raise", output: str = "dense") -> None:
        self.kind = kind
        self.radius = radius
        self.fp_size = fp_size
        self.counts = counts
        self.chirality = chirality
        self.n_jobs = n_jobs
        self.batch_size = batch_size
        self.errors = errors
        self.output = output

    # ------------------------------------------------------------------
    def _make_featurizer(self):
        kinds = transformer_kinds()
        if self.kind not in kinds:
            raise ValueError(f"kind must be one of {kinds}, got {self.kind!r}")
        if self.errors not in ("raise", "flag"):
            raise ValueError(f"errors must be 'raise' or 'flag', got {self.errors!r}")
        if self.output not in ("dense", "sparse"):
            raise ValueError(f"output must be 'dense' or 'sparse', got {self.output!r}")
        if self.n_jobs is not None and (isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, int | np.integer)
                                        or not (self.n_jobs >= 1 or self.n_jobs == -1)):
            raise ValueError(f"n_jobs must be a positive int, -1 (all cores) or None (1), got {self.n_jobs!r}")
        if self.batch_size is not None and (isinstance(self.batch_size, bool)
                                            or not isinstance(self.batch_size, int | np.integer)
                                            or self.batch_size < 1):
            raise ValueError(f"batch_size must be a positive int or None, got {self.batch_size!r}")
        taken = featurizer_class(self.kind).parameter_names()
        params = {name: getattr(self, name) for name in _FEATURIZER_PARAMS if name in taken}
        return make_featurizer(self.kind, **params)

    def fit(self, X: Sequence, y=None) -> FingerprintTransformer:
        """Check the parameters and record the output width; the data is not used.

        Raises
        ------
        ValueError
            On an unknown ``kind``/``errors``/``output``, a bad featurizer parameter, or a bad
            ``n_jobs``/``batch_size``.
        """
        featurizer = self._make_featurizer()
        self.featurizer_ = featurizer
        self.n_features_out_ = (len(featurizer.feature_names) if featurizer.BATCH_TYPE is DenseBatch
                                else int(featurizer.fp_size))
        return self

    def transform(self, X: Sequence):
        """Featurize molecules.

        Parameters
        ----------
        X : sequence of str or rdkit.Chem.Mol (or a 1-column array / DataFrame of them)

        Returns
        -------
        (n_molecules, n_features_out_) float32 ``numpy.ndarray`` or ``scipy.sparse.csr_matrix``.

        Raises
        ------
        ValueError
            With ``errors="raise"``, on the first invalid molecule: its index, SMILES and reason.
        """
        check_is_fitted(self, "n_features_out_")
        items = _as_list(X)
        features, errors, texts = self._featurize(items)
        invalid = np.array([i for i, e in enumerate(errors) if e], dtype=np.int64)
        if invalid.size and self.errors == "raise":
            i = int(invalid[0])
            label = f", index label {X.index.tolist()[i]!r}" if isinstance(X, pd.Series | pd.DataFrame) else ""
            raise ValueError(f"molecule {i}{label} ({texts[i]!r}) is invalid: {errors[i]} "
                             f"({invalid.size} invalid in total; errors='flag' keeps them as zero rows)")
        self.invalid_ = invalid
        self.errors_ = errors
        if isinstance(features, DenseBatch):
            return features.values
        if self.output == "sparse":
            return features.to_scipy()
        return features.to_dense(np.float32)

    def _featurize(self, items: list) -> tuple:
        featurizer = self.featurizer_
        n_jobs = 1 if self.n_jobs is None else self.n_jobs
        missing = np.array([_is_missing(x) for x in items], dtype=bool)
        texts = [x if isinstance(x, str) else repr(x) for x in items]
        if all(isinstance(x, str) or gap for x, gap in zip(items, missing, strict=True)):
            # SMILES with gaps (NaN from pandas): the parallel, fast-parsing path for the strings
            present = np.flatnonzero(~missing)
            featurized = featurize_values([items[i] for i in present], featurizer, n_jobs=n_jobs,
                                          chunk_size=self.batch_size)
            features, errors = featurized.batch, featurized.errors
            if missing.any():
                features, errors = _spread(features, errors, present, missing, texts)
            return features, errors, texts
        mols, errors = [], []
        for i, x in enumerate(items):
            if isinstance(x, Chem.Mol):
                mol, error = x, ""
            elif missing[i]:
                mol, error = None, f"missing molecule ({x!r})"
            elif isinstance(x, str):
                mol, error = parse_smiles(x)
            else:
                raise TypeError(f"X[{i}] is {type(x).__name__}; expected a SMILES string or an RDKit Mol")
            mols.append(mol)
            errors.append(error)
        return featurizer.from_mols(mols), errors, texts

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Output column names: ``ecfp_0 ... ecfp_2047`` (kind prefix), or the descriptor names."""
        check_is_fitted(self, "n_features_out_")
        if self.featurizer_.BATCH_TYPE is DenseBatch:
            return np.asarray(self.featurizer_.feature_names, dtype=object)
        return np.asarray([f"{self.kind}_{i}" for i in range(self.n_features_out_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = []
        return tags


def _is_missing(x) -> bool:
    """``None``, NaN or ``pd.NA``: a gap in a column of molecules."""
    return x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x))


def _spread(features, errors: list[str], present: np.ndarray, missing: np.ndarray, texts: list[str]):
    """Spread the features and errors of the ``present`` rows over all rows.

    Missing rows are empty (fingerprints) or NaN (descriptors) and flagged ``missing molecule``.
    """
    n = missing.size
    all_errors = [f"missing molecule ({texts[i]})" for i in range(n)]
    for row, error in zip(present.tolist(), errors, strict=True):
        all_errors[row] = error
    if isinstance(features, FingerprintBatch):
        indptr = spread_offsets(np.asarray(features.indptr, dtype=np.int64), present.tolist(), n)
        return FingerprintBatch(indptr, features.indices, features.values, features.fp_size), all_errors
    dense = np.full((n, features.n_features), np.nan, dtype=np.float32)
    dense[present] = features.values
    return DenseBatch(dense), all_errors


def _as_list(X) -> list:
    """Sequence of molecules from a list, a 1-D/1-column array, a Series or a 1-column DataFrame."""
    if hasattr(X, "columns"):  # DataFrame
        if X.shape[1] != 1:
            raise ValueError(f"X must have one column of molecules, got {X.shape[1]} columns")
        X = X.iloc[:, 0]
    if isinstance(X, str):
        raise ValueError("X must be a sequence of molecules, not a single string")
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"X must be a 1-D sequence of SMILES or molecules, got shape {arr.shape}")
    return arr.tolist()
