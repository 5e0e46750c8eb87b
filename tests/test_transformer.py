"""FingerprintTransformer: scikit-learn API, estimator checks, errors, Pipeline use."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from symmol.chem.io import read_molecules
from symmol.featurizers.transformer import FingerprintTransformer


class _AsNumericEstimator(FingerprintTransformer):
    """The transformer tagged as taking 2-D numeric arrays, so that scikit-learn runs its checks.

    The real class says it takes strings, and scikit-learn skips every check for such
    estimators; under this tag the API checks run and pass, and the checks that feed numeric
    matrices fail for the reason given in :data:`_NUMERIC_INPUT_CHECKS`.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.string = False
        return tags


_FLOATS = "feeds a numeric matrix; the transformer takes a 1-D sequence of SMILES or molecules"
_NUMERIC_INPUT_CHECKS = {
    "check_fit_score_takes_y": _FLOATS,
    "check_estimators_dtypes": _FLOATS,
    "check_dtype_object": _FLOATS,
    "check_pipeline_consistency": _FLOATS,
    "check_estimators_pickle": _FLOATS,
    "check_f_contiguous_array_estimator": _FLOATS,
    "check_transformer_data_not_an_array": _FLOATS,
    "check_transformer_general": _FLOATS,
    "check_methods_sample_order_invariance": _FLOATS,
    "check_methods_subset_invariance": _FLOATS,
    "check_dict_unchanged": _FLOATS,
    "check_fit_idempotent": _FLOATS,
    "check_fit2d_predict1d": _FLOATS,
    "check_n_features_in": "n_features_in_ counts numeric input columns; the input is one column of molecules",
    "check_n_features_in_after_fitting": "n_features_in_ counts numeric input columns; the input is molecules",
    "check_complex_data": "fit does not read the data (the featurizer is fixed), so complex numbers are not seen",
    "check_estimators_empty_data_messages": "fit does not read the data (stateless featurizer)",
    "check_estimators_nan_inf": "fit does not read the data; NaN/inf are not molecules",
    "check_estimator_sparse_tag": "fit does not read the data, so sparse matrices are not rejected there",
    "check_fit1d": "1-D input is the normal input (a list of SMILES)",
}


@parametrize_with_checks([_AsNumericEstimator()], expected_failed_checks=lambda est: _NUMERIC_INPUT_CHECKS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def smiles(example_data) -> list[str]:
    return read_molecules(example_data / "zinc20k.smi.gz")["smiles"].iloc[:120].tolist()


def test_transform_equals_rdkit_dense_and_sparse(smiles):
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    ref = np.stack([generator.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in smiles]).astype(np.float32)
    dense = FingerprintTransformer(fp_size=1024).fit_transform(smiles)
    assert dense.dtype == np.float32 and dense.shape == (120, 1024)
    np.testing.assert_array_equal(dense, ref)
    sp = FingerprintTransformer(fp_size=1024, output="sparse", n_jobs=2, batch_size=25).fit_transform(smiles)
    assert sparse.issparse(sp)
    np.testing.assert_array_equal(sp.toarray(), ref)
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    np.testing.assert_array_equal(FingerprintTransformer(fp_size=1024).fit_transform(mols), ref)


def test_errors_raise_names_index_smiles_and_reason(smiles):
    bad = smiles[:3] + ["CN(C)(C)(C)C"] + smiles[3:5]
    with pytest.raises(ValueError, match=r"molecule 3 \('CN\(C\)\(C\)\(C\)C'\) is invalid: .*Explicit valence"):
        FingerprintTransformer().fit_transform(bad)


def test_errors_flag_gives_zero_rows_and_records_them(smiles):
    bad = smiles[:3] + ["C1CC"] + smiles[3:5] + [None]
    transformer = FingerprintTransformer(kind="ecfp", counts=True, errors="flag")
    X = transformer.fit_transform(bad[:-1])
    assert transformer.invalid_.tolist() == [3] and "syntax error" in transformer.errors_[3]
    assert not X[3].any() and X[0].sum() > 0
    mols = [Chem.MolFromSmiles(s) if s != "C1CC" else None for s in bad[:-1]]
    np.testing.assert_array_equal(transformer.transform(mols), X)
    assert transformer.invalid_.tolist() == [3]


def test_feature_names_and_kinds(smiles):
    t = FingerprintTransformer(kind="torsion", fp_size=512).fit(smiles)
    assert t.get_feature_names_out().tolist()[:2] == ["torsion_0", "torsion_1"]
    assert len(t.get_feature_names_out()) == 512
    d = FingerprintTransformer(kind="rdkit2d", errors="flag").fit(smiles[:3])
    values = d.transform(smiles[:3])
    assert values.shape == (3, len(d.get_feature_names_out())) and "MolWt" in d.get_feature_names_out()
    m = FingerprintTransformer(kind="maccs").fit(smiles)
    assert m.transform(smiles[:2]).shape == (2, 167)
    with pytest.raises(ValueError, match="kind must be"):
        FingerprintTransformer(kind="ecfp5").fit(smiles)
    with pytest.raises(ValueError, match="errors must be"):
        FingerprintTransformer(errors="ignore").fit(smiles)


def test_inside_a_pipeline_with_a_classifier(smiles):
    y = np.array([("N" in s) for s in smiles], dtype=int)
    model = make_pipeline(FingerprintTransformer(radius=1, fp_size=256), LogisticRegression(max_iter=500))
    model.fit(smiles[:100], y[:100])
    proba = model.predict_proba(smiles[100:])
    assert proba.shape == (20, 2)
    assert model.score(smiles[:100], y[:100]) > 0.9


def test_mixed_smiles_and_molecules(smiles):
    mixed = [smiles[0], Chem.MolFromSmiles(smiles[1]), None, "C1CC"]
    t = FingerprintTransformer(fp_size=512, errors="flag").fit(mixed)
    X = t.transform(mixed)
    ref = FingerprintTransformer(fp_size=512).fit_transform(smiles[:2])
    np.testing.assert_array_equal(X[:2], ref)
    assert t.invalid_.tolist() == [2, 3] and not X[2:].any()
    assert t.errors_[2] == "missing molecule (None)" and "syntax error" in t.errors_[3]
    with pytest.raises(TypeError, match=r"X\[1\] is int"):
        t.transform(["CCO", 5])


def test_missing_values_index_labels_and_parameter_checks(smiles):
    import pandas as pd

    column = pd.Series([smiles[0], np.nan, smiles[1], None], index=[10, 20, 30, 40])
    transformer = FingerprintTransformer(errors="flag", n_jobs=None)
    X = transformer.fit_transform(column)
    assert transformer.invalid_.tolist() == [1, 3] and transformer.errors_[1] == "missing molecule (nan)"
    assert not X[1].any() and X[0].sum() > 0
    bad = pd.Series([smiles[0], "C1CC"], index=[7, 9])
    with pytest.raises(ValueError, match=r"molecule 1, index label 9 \('C1CC'\) is invalid"):
        FingerprintTransformer().fit_transform(bad)
    for params, message in (({"batch_size": 0}, "batch_size must be a positive int"),
                            ({"n_jobs": "x"}, "n_jobs must be a positive int"),
                            ({"n_jobs": 0}, "n_jobs must be")):
        with pytest.raises(ValueError, match=message):
            FingerprintTransformer(**params).fit(None)


def test_numpy_parameters_stay_json_serialisable():
    import json

    from symmol.featurizers import MorganFingerprint
    from symmol.training import TrainConfig

    spec = MorganFingerprint(radius=np.int64(2), fp_size=np.int64(64), counts=np.bool_(True)).to_dict()
    assert json.loads(json.dumps(spec))["fp_size"] == 64
    config = TrainConfig(epochs=np.int64(3), batch_size=np.int32(8), learning_rate=np.float32(0.01))
    assert json.loads(json.dumps(config.to_dict()))["epochs"] == 3
    for kwargs, message in (({"epochs": 10.0}, "epochs must be an integer"), ({"seed": -1}, "seed must be >= 0"),
                            ({"weight_decay": -1.0}, "weight_decay must be >= 0")):
        with pytest.raises(ValueError, match=message):
            TrainConfig(**kwargs)


def test_gaps_in_a_smiles_column_keep_the_batch_path_and_row_alignment(smiles):
    import pandas as pd

    column = pd.Series([smiles[0], np.nan, smiles[1], None, smiles[2]])
    for kind in ("ecfp", "rdkit2d"):
        transformer = FingerprintTransformer(kind=kind, errors="flag")
        X = transformer.fit_transform(column)
        reference = FingerprintTransformer(kind=kind).fit_transform([smiles[0], smiles[1], smiles[2]])
        np.testing.assert_array_equal(X[[0, 2, 4]], reference)
        assert transformer.invalid_.tolist() == [1, 3]
        assert all(transformer.errors_[i].startswith("missing molecule") for i in (1, 3))
        if kind == "ecfp":
            assert not X[[1, 3]].any()
        else:
            assert np.isnan(X[[1, 3]]).all()
    sparse = FingerprintTransformer(errors="flag", output="sparse").fit_transform(column)
    np.testing.assert_array_equal(sparse.toarray(), FingerprintTransformer(errors="flag").fit_transform(column))
