"""Target columns: numbers, 0/1 labels and errors that name the column, row and value."""

import numpy as np
import pandas as pd
import pytest

from symmol.evaluation.targets import check_targets, target_matrix


def test_target_matrix_reads_numbers_and_missing_values():
    table = pd.DataFrame({"row": [0, 1, 2], "a": ["1", None, "0"], "b": [0.5, 1.5, np.nan]})
    y = target_matrix(table, ["a", "b"], "regression")
    np.testing.assert_array_equal(y, [[1.0, 0.5], [np.nan, 1.5], [0.0, np.nan]])


def test_text_label_names_column_row_and_value():
    table = pd.DataFrame({"row": [5, 6, 7], "p_np": ["1", "inactive", "0"]})
    with pytest.raises(ValueError, match=r"data.csv: target 'p_np', row 6: 'inactive' is not a number "
                                         r"\(classification labels are 0 or 1"):
        target_matrix(table, ["p_np"], "classification", source="data.csv")


def test_labels_must_be_0_or_1_for_classification():
    table = pd.DataFrame({"y": [1.0, -1.0, 0.0]})
    with pytest.raises(ValueError, match=r"target 'y', row 1: -1 is not a 0/1 label"):
        target_matrix(table, ["y"], "classification")
    assert target_matrix(table, ["y"], "regression").tolist() == [[1.0], [-1.0], [0.0]]


def test_missing_column_and_infinite_regression_target():
    with pytest.raises(ValueError, match=r"no target column\(s\) \['z'\]"):
        target_matrix(pd.DataFrame({"y": [1.0]}), ["z"], "regression")
    with pytest.raises(ValueError, match=r"target 'logS', row 3: inf is not a finite number"):
        check_targets(np.array([[0.0], [1.0], [2.0], [np.inf]]), ["logS"], "regression")
