"""Drug response (``drug-response``) and the profile table it looks cell lines up in.

Data: a bundled GDSC sample (``tests/data/gdsc_sample_*``; 361 measured pairs of 12 drugs and 40
cell lines, with the 40 lines' genomic features; see ``tests/data/README.md``).
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from symmol.cli.main import main
from symmol.featurizers import ProfileTable, featurizer_from_dict
from symmol.featurizers.profile import decode_table, id_text
from symmol.models.base import featurize_inputs
from symmol.models.registry import Problem, model_kind

TEST_DATA = Path(__file__).resolve().parent / "data"
SMALL = {"fp_size": 256, "ligand_units": 16, "cell_units": 8, "hidden": (16,), "dropout": 0.0}


@pytest.fixture(scope="module")
def gdsc():
    pairs = pd.read_csv(TEST_DATA / "gdsc_sample_pairs.csv.gz")
    return pairs, TEST_DATA / "gdsc_sample_cell_features.csv.gz"


def test_profile_table_one_hot_encodes_text_columns_and_keeps_numbers() -> None:
    frame = pd.DataFrame({"COSMIC_ID": [11, 12, 13], "TISSUE": ["lung", "blood", "lung"], "MSI": [0, 1, 0],
                          "TP53_mut": [1.0, 0.0, 0.5]})
    table = ProfileTable.from_frame(frame, "COSMIC_ID", source="cells.csv")
    assert table.ids == ("11", "12", "13")
    assert table.feature_names == ("TISSUE=blood", "TISSUE=lung", "MSI", "TP53_mut")
    np.testing.assert_array_equal(table.values, [[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 0.5]])
    featurized = table.featurize([12, "13", 11.0, 99, " 11 "])
    np.testing.assert_array_equal(featurized.batch.values[[0, 1, 2, 4]], table.values[[1, 2, 0, 0]])
    assert featurized.errors[:3] == ["", "", ""] and featurized.errors[4] == ""
    assert featurized.errors[3] == "id '99' is not in the profile table (3 ids of cells.csv by COSMIC_ID)"
    assert np.isnan(featurized.batch.values[3]).all()
    assert featurizer_from_dict(json.loads(json.dumps(table.to_dict()))) == table


@pytest.mark.parametrize(("frame", "message"), [
    (pd.DataFrame({"id": [1, 2, 1], "x": [0, 1, 2]}), "cells.csv: row 3: id '1' repeats row 1"),
    (pd.DataFrame({"id": [1, 2], "x": [0, None]}), "cells.csv: row 2 (id '2'): column 'x' has no value"),
    (pd.DataFrame({"id": [1, 2], "x": [0, np.inf]}), "cells.csv: row 2 (id '2'): column 'x' is inf"),
    (pd.DataFrame({"key": [1, 2], "x": [0, 1]}), "cells.csv: no id column 'id'"),
    (pd.DataFrame({"id": [1, 2]}), "cells.csv: no feature columns besides the id column 'id'"),
])
def test_profile_table_refuses_bad_tables_in_one_line(frame, message) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        ProfileTable.from_frame(frame, "id", source="cells.csv")


def test_profile_table_never_unpickles() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not an encoded float32 matrix"):
        decode_table(base64.b64encode(zlib.compress(buffer.getvalue())).decode())


def test_id_text_reads_integers_floats_and_strings_alike() -> None:
    assert {id_text(683665), id_text(683665.0), id_text("683665"), id_text(np.int64(683665))} == {"683665"}
    assert id_text("ACH-000001") == "ACH-000001" and id_text(1.5) == "1.5"


def test_drug_response_predicts_as_numpy_written_by_hand(gdsc) -> None:
    pairs, features = gdsc
    problem = Problem(targets=("ln_ic50",), task="regression", target_mean=(0.0,), target_std=(1.0,))
    model = model_kind("drug-response").make_model(problem, {**SMALL, "cell_features": str(features)})
    batch = featurize_inputs(model.inputs, pairs).batch
    model.fit_preprocessing(batch)
    values = model.get_param_values()
    cells = pd.read_csv(features).set_index("COSMIC_ID")
    tissue = pd.get_dummies(cells["TISSUE_FACTOR"], prefix="TISSUE_FACTOR", prefix_sep="=").astype(float)
    profile = pd.concat([tissue, cells.drop(columns="TISSUE_FACTOR")], axis=1).loc[pairs["cosmic_id"]].to_numpy(float)
    std = profile.std(axis=0)
    scaled = (profile - profile.mean(axis=0)) / np.where(std > 0, std, 1.0)
    bits = batch["smiles"].to_dense().astype(np.float64)

    def dense(x, name, relu=True):
        out = x @ values[f"{name}.W"] + values[f"{name}.b"]
        return np.maximum(out, 0.0) if relu else out
    h = np.concatenate([dense(bits, "ligand_dense"), dense(scaled, "cell_line_dense")], axis=1)
    expected = dense(dense(h, "hidden0"), "output", relu=False)
    np.testing.assert_allclose(model.predict_batch(batch), expected, rtol=1e-4, atol=1e-5)


def test_cli_trains_on_gdsc_and_predicts_from_the_stored_profiles(gdsc, tmp_path) -> None:
    pairs, features = gdsc
    copy = tmp_path / "cells.csv.gz"
    copy.write_bytes(features.read_bytes())
    table = pairs.rename(columns={"smiles": "drug_smiles"})
    data = tmp_path / "pairs.csv"
    table.to_csv(data, index=False)
    out = tmp_path / "model"
    assert main(["train", str(data), "--architecture", "drug-response", "--ligand-column", "drug_smiles",
                 "--cell-line-column", "cosmic_id", "--cell-features", str(copy), "--cell-id-column", "COSMIC_ID",
                 "--target", "ln_ic50", "--task", "regression", "--seed", "0", "--epochs", "60", "--patience", "0",
                 "--no-progress", "--out", str(out), "--fp-size", "256", "--ligand-units", "32", "--cell-units", "16",
                 "--hidden", "32"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    # ln IC50 differs mostly between drugs: the drug's fingerprint alone ranks test pairs well
    assert metrics["test"]["pearson"] > 0.6 and metrics["test"]["ci"] > 0.7
    copy.unlink()  # the profiles travel inside the model
    query = table.head(6).copy()
    query.loc[2, "cosmic_id"] = 1  # no such cell line
    query_path = tmp_path / "query.csv"
    query.to_csv(query_path, index=False)
    predictions = tmp_path / "predictions.csv"
    assert main(["predict", str(out), str(query_path), "--ligand-column", "drug_smiles", "--out", str(predictions),
                 "--no-progress"]) == 0
    written = pd.read_csv(predictions, keep_default_na=False)
    assert written["row"].tolist() == list(range(6))
    assert written.loc[2, "status"] == "invalid" and "id '1' is not in the profile table" in written.loc[2, "error"]
    assert (written.drop(index=2)["status"] == "ok").all()
    # every drug of the sample on one cell line, which the library file does not name
    library = tmp_path / "drugs.smi"
    library.write_text("\n".join(table["drug_smiles"].unique()) + "\n")
    line = str(table["cosmic_id"].iloc[0])
    ranked = tmp_path / "ranked.csv"
    assert main(["screen", str(out), str(library), "--cell-line", line, "--out", str(ranked), "--n-jobs", "1",
                 "--no-progress"]) == 0
    scores = pd.read_csv(ranked)["ln_ic50"].to_numpy()
    same = table[table["cosmic_id"] == int(line)]
    on_line = dict(zip(pd.read_csv(ranked)["smiles"], scores, strict=True))
    np.testing.assert_allclose([on_line[s] for s in same["drug_smiles"].head(2)],
                               pd.read_csv(predictions)["ln_ic50"].to_numpy()[[0, 1]], rtol=1e-5)
    assert main(["screen", str(out), str(library), "--protein", "MKV", "--out", str(tmp_path / "x.csv"),
                 "--n-jobs", "1", "--no-progress"]) == 2


def test_drug_response_without_profiles_says_what_it_needs(gdsc, tmp_path, capsys) -> None:
    pairs, _ = gdsc
    data = tmp_path / "pairs.csv"
    pairs.to_csv(data, index=False)
    code = main(["train", str(data), "--architecture", "drug-response", "--target", "ln_ic50", "--task",
                 "regression", "--out", str(tmp_path / "m"), "--no-progress"])
    assert code != 0
    assert "--cell-features FILE" in capsys.readouterr().err


def test_pairs_read_their_ligands_from_a_lookup_table(gdsc, tmp_path) -> None:
    pairs, features = gdsc
    ligands = pairs.drop_duplicates("drug_id")[["drug_id", "drug_name", "smiles"]]
    ligands.to_csv(tmp_path / "drugs.csv", index=False)
    ids_only = pairs.drop(columns=["smiles", "drug_name"])
    ids_only.loc[5, "drug_id"] = 99999  # a drug the lookup table lacks: kept, flagged
    ids_only.to_csv(tmp_path / "pairs.csv", index=False)
    out = tmp_path / "model"
    assert main(["train", str(tmp_path / "pairs.csv"), "--ligands", str(tmp_path / "drugs.csv"), "--ligand-id-column",
                 "drug_id", "--architecture", "drug-response", "--cell-features", str(features), "--target",
                 "ln_ic50", "--task", "regression", "--epochs", "2", "--no-progress", "--out", str(out),
                 "--fp-size", "256", "--ligand-units", "16", "--cell-units", "8", "--hidden", "16"]) == 0
    predictions = tmp_path / "predictions.csv"
    assert main(["predict", str(out), str(tmp_path / "pairs.csv"), "--ligands", str(tmp_path / "drugs.csv"),
                 "--ligand-id-column", "drug_id", "--out", str(predictions), "--no-progress"]) == 0
    written = pd.read_csv(predictions, keep_default_na=False)
    assert len(written) == len(pairs) and written["smiles"].iloc[0] == pairs["smiles"].iloc[0]
    assert written.loc[5, "status"] == "invalid" and written.loc[5, "error"] == "drug_id '99999' is not in drugs.csv"
    assert (written.drop(index=5)["status"] == "ok").all()


def test_a_lookup_table_with_a_repeated_id_is_refused(tmp_path, capsys) -> None:
    (tmp_path / "drugs.csv").write_text("drug_id,smiles\n1,CCO\n2,CCN\n1,CCC\n")
    (tmp_path / "pairs.csv").write_text("drug_id,cosmic_id,y\n1,5,0.1\n")
    assert main(["train", str(tmp_path / "pairs.csv"), "--ligands", str(tmp_path / "drugs.csv"), "--ligand-id-column",
                 "drug_id", "--target", "y", "--task", "regression", "--out", str(tmp_path / "m")]) == 2
    assert "drugs.csv: row 3: id '1' repeats an earlier row" in capsys.readouterr().err
