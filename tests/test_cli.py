"""The ``symmol`` command line contract, on small real data."""

import json

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from symmol.chem.io import read_molecules
from symmol.cli.main import main

TASKS = ["NR-AR", "NR-AhR", "SR-MMP"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tox21_path):
    work = tmp_path_factory.mktemp("cli")
    data = work / "tox21_small.csv"
    pd.read_csv(tox21_path).iloc[:500].to_csv(data, index=False)
    model_dir = work / "model"
    argv = ["train", str(data), "--smiles-column", "smiles", "--task", "classification",
            "--split", "scaffold", "--epochs", "2", "--patience", "0", "--hidden", "64",
            "--fp-size", "1024", "--batch-size", "32", "--no-progress", "--out", str(model_dir)]
    for task in TASKS:
        argv += ["--target", task]
    assert main(argv) == 0
    return work, model_dir


def test_train_writes_metrics(trained):
    _, model_dir = trained
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert set(metrics) == {"train", "val", "test"}
    for part in metrics.values():
        assert {"roc_auc", "pr_auc", "per_task"} <= set(part)
        assert set(part["per_task"]) == set(TASKS)
    assert 0.5 < metrics["train"]["roc_auc"] <= 1.0
    assert (model_dir / "model.json").is_file() and (model_dir / "params.npz").is_file()


def test_patience_zero_runs_exact_epochs(trained):
    _, model_dir = trained
    history = json.loads((model_dir / "history.json").read_text())
    assert len(history["train_loss"]) == 2
    assert len(history["epoch_seconds"]) == 2 and all(s > 0 for s in history["epoch_seconds"])


def test_screen_keeps_every_row_and_reports_invalid(trained, example_data):
    work, model_dir = trained
    library = work / "library.smi"
    zinc = read_molecules(example_data / "zinc20k.smi.gz").iloc[:300]
    rows = [f"{s} {i}" for s, i in zip(zinc["smiles"], zinc["id"], strict=True)]
    rows.insert(5, "C1CC bad_ring")
    rows.insert(77, "N(=O)(=O)(=O)C bad_valence")
    library.write_text("\n".join(rows) + "\n")
    out = work / "scores.csv.gz"
    assert main(["screen", str(model_dir), str(library), "--out", str(out), "--top", "7",
                 "--chunk-size", "100", "--no-progress"]) == 0
    result = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(result.columns) == ["row", "id", "smiles", *TASKS, "status", "error"]
    assert result["row"].tolist() == list(range(302))
    assert result.loc[5, "status"] == "invalid" and "syntax error" in result.loc[5, "error"]
    assert result.loc[77, "status"] == "invalid" and "valence" in result.loc[77, "error"]
    assert result["status"].value_counts()["ok"] == 300
    top = pd.read_csv(work / "scores.top.csv")
    assert len(top) == 7
    assert top["NR-AR"].is_monotonic_decreasing
    best = result[result["status"] == "ok"].sort_values("NR-AR", ascending=False).head(7)
    np.testing.assert_allclose(top["NR-AR"].to_numpy(), best["NR-AR"].to_numpy())


def test_predict_matches_screen(trained, tox21_path):
    work, model_dir = trained
    out = work / "pred.csv"
    assert main(["predict", str(model_dir), str(tox21_path), "--out", str(out), "--no-progress"]) == 0
    pred = pd.read_csv(out)
    assert len(pred) == 7831
    assert (pred["status"] == "invalid").sum() == 8  # the 8 Tox21 SMILES current RDKit rejects
    assert pred["id"].iloc[0] == "TOX3021"


def test_featurize_equals_rdkit(tmp_path, example_data):
    library = tmp_path / "lib.smi"
    zinc = read_molecules(example_data / "zinc20k.smi.gz").iloc[:200]
    smiles = zinc["smiles"].tolist()
    smiles.insert(3, "C1CC")
    library.write_text("\n".join(smiles) + "\n")
    out = tmp_path / "fp.npy"
    for count in (False, True):
        argv = ["featurize", str(library), "--radius", "3", "--fp-size", "1024", "--out", str(out), "--no-progress"]
        assert main(argv + (["--count"] if count else [])) == 0
        array = np.load(out)
        assert array.shape == (201, 1024) and array.dtype == np.uint8
        assert not array[3].any()
        generator = rdFingerprintGenerator.GetMorganGenerator(radius=3, fpSize=1024)
        for row in (0, 4, 200):
            mol = Chem.MolFromSmiles(smiles[row])
            ref = generator.GetCountFingerprintAsNumPy(mol) if count else generator.GetFingerprintAsNumPy(mol)
            np.testing.assert_array_equal(array[row], np.minimum(ref, 255))
    invalid = pd.read_csv(tmp_path / "fp.npy.invalid.csv")
    assert invalid["row"].tolist() == [3]


def test_splits_file_and_bad_target(trained, tmp_path, tox21_path):
    work, _ = trained
    data = work / "tox21_small.csv"
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps([{"train": list(range(0, 300)), "val": list(range(300, 400)),
                                   "test": list(range(400, 500))}]))
    out = tmp_path / "model"
    argv = ["train", str(data), "--task", "classification", "--target", "NR-AR", "--splits-file", str(splits),
            "--epochs", "1", "--patience", "0", "--hidden", "16", "--fp-size", "256", "--no-progress",
            "--out", str(out)]
    assert main(argv) == 0
    argv[5] = "NO-SUCH-TASK"
    assert main(argv) == 2


def test_train_averaging_and_bagging_flags_reach_model_json(trained, tmp_path):
    work, _ = trained
    out = tmp_path / "model"
    argv = ["train", str(work / "tox21_small.csv"), "--task", "classification", "--target", "NR-AR",
            "--epochs", "2", "--patience", "0", "--hidden", "16", "--fp-size", "256", "--ensemble-size", "2",
            "--averaging", "swa", "--swa-start", "0.5", "--bagging", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    document = json.loads((out / "model.json").read_text())
    training = document["training"]
    assert training["averaging"] == "swa" and training["swa_start"] == 0.5 and training["bagging"] is True
    assert training["epochs"] == 2 and document["spec"]["ensemble_size"] == 2
    argv[argv.index("swa")] = "polyak"
    with pytest.raises(SystemExit):
        main(argv)


def test_screen_sdf_reports_unreadable_records(trained):
    work, model_dir = trained
    path = work / "mols.sdf.gz"
    import gzip

    blocks = []
    for smi in ("CCO", "c1ccccc1N"):
        blocks.append(Chem.MolToMolBlock(Chem.MolFromSmiles(smi)) + "$$$$\n")
    blocks.insert(1, "broken\n  RDKit\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n"
                     "    0.0 0.0 0.0 Xx  0  0\nM  END\n$$$$\n")
    with gzip.open(path, "wt") as handle:
        handle.write("".join(blocks))
    out = work / "sdf_scores.csv"
    assert main(["predict", str(model_dir), str(path), "--out", str(out), "--no-progress"]) == 0
    result = pd.read_csv(out, keep_default_na=False)
    assert result["status"].tolist() == ["ok", "invalid", "ok"]
    assert result.loc[1, "error"] == "unreadable SDF record (record 1)"
    assert "read_error" not in result.columns


def test_bench_lists_the_benchmarks(capsys):
    assert main(["bench"]) == 0
    listed = capsys.readouterr().out
    for name in ("accuracy", "screen", "similarity", "train_speed"):
        assert name in listed
    assert main(["bench", "no_such_benchmark"]) == 2


def test_train_one_replicate_per_splits_file_entry(tmp_path, example_data):
    table = pd.read_csv(example_data / "esol.csv").iloc[:200]
    table.to_csv(tmp_path / "esol.csv", index=False)
    entries = [{"train": list(range(k, 200, 3)), "val": list(range((k + 1) % 3, 200, 6)),
                "test": list(range((k + 1) % 3 + 3, 200, 6))} for k in range(3)]
    (tmp_path / "splits.json").write_text(json.dumps(entries))
    out = tmp_path / "model"
    assert main(["train", str(tmp_path / "esol.csv"), "--smiles-column", "smiles", "--target",
                 "measured log solubility in mols per litre", "--task", "regression", "--architecture", "gp",
                 "--splits-file", str(tmp_path / "splits.json"), "--out", str(out)]) == 0
    summary = json.loads((out / "metrics.json").read_text())
    replicates = [json.loads((out / f"replicate_{k}" / "metrics.json").read_text()) for k in range(3)]
    assert summary["replicates"] == replicates
    test_rmse = [r["test"]["rmse"] for r in replicates]
    assert len(set(test_rmse)) == 3  # three different test sets
    assert summary["test"]["rmse"] == pytest.approx(np.mean(test_rmse))
    assert summary["sd"]["test"]["rmse"] == pytest.approx(np.std(test_rmse))
    assert (out / "replicate_2" / "model.json").exists()
