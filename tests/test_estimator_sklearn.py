"""QSARModel is a scikit-learn estimator: clone, get/set_params, cross_val_score, GridSearchCV, estimator checks."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from symmol.chem.io import read_molecules
from symmol.estimator import QSARModel

FAST = dict(epochs=3, patience=0, batch_size=32, progress=False)


@pytest.fixture(scope="module")
def esol(example_data):
    table = read_molecules(example_data / "esol.csv").iloc[:300]
    return table["smiles"].to_numpy(), table["measured log solubility in mols per litre"].to_numpy()


@pytest.fixture(scope="module")
def bbbp(example_data):
    table = read_molecules(example_data / "bbbp.csv")
    table = table[QSARModel().featurize(table["smiles"]).valid].iloc[:300]
    return table["smiles"].to_numpy(), table["p_np"].to_numpy()


def test_params_round_trip_through_clone():
    model = QSARModel("regression", "dmpnn", depth=2, units=32, hidden=(16,), epochs=5, learning_rate=3e-3)
    params = model.get_params()
    assert params["depth"] == 2 and params["units"] == 32 and params["epochs"] == 5 and params["task"] == "regression"
    twin = clone(model)
    assert twin.get_params() == params and twin is not model
    assert is_regressor(model) and is_classifier(QSARModel("classification"))
    model.set_params(architecture="gin", depth=4)
    assert model.get_params()["architecture"] == "gin" and model.get_params()["depth"] == 4
    with pytest.raises(ValueError, match="Invalid parameter 'radius'.*architecture 'gin'"):
        model.set_params(radius=3)
    with pytest.raises(ValueError, match="architecture 'mlp' has no option.*'depth'"):
        QSARModel("regression", depth=3, **FAST).fit(["CCO", "CCC"], [1.0, 2.0])


def test_cross_val_score_with_two_jobs(esol):
    smiles, y = esol
    model = QSARModel("regression", hidden=(64,), fp_size=512, **{**FAST, "epochs": 15})
    scores = cross_val_score(model, smiles, y, cv=KFold(3, shuffle=True, random_state=0), n_jobs=2)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    assert scores.mean() > 0.3  # R² of a small fingerprint MLP on ESOL (a mean predictor scores ~0)


def test_grid_search_picks_on_validation_folds(bbbp):
    smiles, y = bbbp
    search = GridSearchCV(QSARModel("classification", fp_size=512, **FAST),
                          {"hidden": [(16,), (64,)], "learning_rate": [1e-3, 3e-3]}, cv=2, scoring="roc_auc")
    search.fit(smiles, y)
    assert set(search.best_params_) == {"hidden", "learning_rate"}
    assert 0.6 < search.best_score_ <= 1.0
    proba = search.predict_proba(smiles[:10])
    assert proba.shape == (10, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(np.unique(search.predict(smiles[:50]))) <= {0.0, 1.0}


def test_dataframe_input_and_invalid_rows(esol):
    smiles, y = esol
    model = QSARModel("regression", hidden=(32,), fp_size=256, **FAST).fit(pd.DataFrame({"smiles": smiles}), y)
    out = model.predict(["CCO", "C1CC", "c1ccccc1O"])
    assert out.shape == (3,) and np.isnan(out[1]) and np.isfinite(out[[0, 2]]).all()
    assert model.predict(pd.DataFrame({"molecule": ["CCO"]})).shape == (1,)  # one column: the input


class _AsNumericEstimator(QSARModel):
    """QSARModel tagged as taking 2-D numeric arrays, so that scikit-learn runs its generic checks.

    QSARModel takes molecules (SMILES strings), and scikit-learn skips every check of an estimator
    tagged ``string`` input; under this tag the API checks run and pass, and the checks that feed
    numeric matrices fail for the reasons in :data:`_NUMERIC_INPUT_CHECKS`.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.string = False
        return tags


_FLOATS = "fits or predicts a numeric matrix; QSARModel takes SMILES (or a table of the input columns)"
#: Checks that fail for both tasks because they feed numbers as molecules.
_NUMERIC_INPUT_CHECKS = (
    "check_estimators_dtypes", "check_fit_score_takes_y", "check_sample_weights_pandas_series",
    "check_sample_weights_not_an_array", "check_sample_weights_list", "check_sample_weights_shape",
    "check_sample_weights_not_overwritten", "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weights_invariance", "check_dtype_object", "check_complex_data", "check_dict_unchanged",
    "check_dont_overwrite_parameters", "check_fit_check_is_fitted", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature", "check_fit2d_predict1d",
    "check_estimators_nan_inf", "check_estimators_overwrite_params", "check_estimators_empty_data_messages",
    "check_estimators_pickle", "check_f_contiguous_array_estimator", "check_pipeline_consistency",
    "check_fit_idempotent", "check_n_features_in", "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit", "check_supervised_y_2d", "check_requires_y_none",
    "check_estimator_sparse_array", "check_estimator_sparse_matrix", "check_estimator_sparse_tag",
    "check_readonly_memmap_input", "check_estimators_fit_returns_self",
)
_REGRESSOR_CHECKS = ("check_regressors_train", "check_regressor_data_not_an_array",
                     "check_regressors_no_decision_function", "check_regressors_int", "check_regressor_multioutput",
                     "check_estimators_unfitted")
_CLASSIFIER_CHECKS = ("check_classifiers_train", "check_classifiers_one_label", "check_classifiers_classes",
                      "check_classifiers_regression_target", "check_classifier_data_not_an_array",
                      "check_classifiers_multilabel_representation_invariance",
                      "check_classifiers_multilabel_output_format_predict",
                      "check_classifiers_multilabel_output_format_predict_proba",
                      "check_classifiers_multilabel_output_format_decision_function",
                      "check_classifier_not_supporting_multiclass", "check_classifier_multioutput")


def _expected_failures(estimator):
    """Every check that fails, with its reason: they all feed numbers where QSARModel reads molecules."""
    task_checks = _CLASSIFIER_CHECKS if estimator.task == "classification" else _REGRESSOR_CHECKS
    return {name: _FLOATS for name in (*_NUMERIC_INPUT_CHECKS, *task_checks)}


@parametrize_with_checks([_AsNumericEstimator("regression", **FAST), _AsNumericEstimator("classification", **FAST)],
                         expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
