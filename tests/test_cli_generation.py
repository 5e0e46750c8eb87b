"""``symmol train --task generation`` and ``symmol generate`` through the command line (issue 18's contract)."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from symmol.cli.main import main
from symmol.generation.registry import generative_kinds, load_generative_model

SMALL = ["--embedding", "8", "--rnn-units", "16", "--rnn-layers", "2"]  # the depth test_language_model compiles


@pytest.fixture(scope="module")
def library(example_data, tmp_path_factory) -> str:
    with gzip.open(example_data / "zinc20k.smi.gz", "rt") as handle:
        smiles = [line.split()[0] for _, line in zip(range(200), handle, strict=False)]
    path = tmp_path_factory.mktemp("library") / "library.csv"
    pd.DataFrame({"smiles": [*smiles[:100], "C1CC", *smiles[100:]]}).to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def trained(library, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("lm") / "model"
    status = main(["train", library, "--smiles-column", "smiles", "--task", "generation", "--architecture", "gru",
                   "--epochs", "2", "--seed", "0", *SMALL, "--out", str(out), "--no-progress"])
    assert status == 0
    return str(out)


def test_train_writes_a_usable_model_and_accounts_for_every_row(trained):
    metrics = json.loads(open(f"{trained}/metrics.json").read())
    assert metrics["training"]["architecture"] == "gru"
    assert metrics["training"]["rnn_units"] == 16 and metrics["training"]["skipped_rows"] == 1
    assert {"train", "val", "test", "samples"} <= set(metrics)
    assert 0.0 < metrics["train"]["loss"] < 10.0
    assert metrics["train"]["rows_scored"] + metrics["val"]["rows_scored"] + metrics["test"]["rows_scored"] == 200
    skipped = pd.read_csv(f"{trained}/skipped.csv")
    assert skipped["row"].tolist() == [100] and skipped["smiles"].tolist() == ["C1CC"]
    assert "syntax error" in skipped["error"].iloc[0]
    history = json.loads(open(f"{trained}/history.json").read())
    assert [entry["epoch"] for entry in history["epochs"]] == [1, 2] and history["epochs"][0]["tokens_per_s"] > 0
    assert all(entry["complete"] and entry["val_loss"] > 0 for entry in history["epochs"])


def test_generate_writes_n_rows_with_status_and_is_seeded(trained, tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["generate", trained, "--n", "25", "--seed", "3", "--out", str(first)]) == 0
    assert main(["generate", trained, "--n", "25", "--seed", "3", "--out", str(second)]) == 0
    samples = pd.read_csv(first, keep_default_na=False)
    assert len(samples) == 25 and {"smiles", "status", "error", "log_likelihood"} <= set(samples.columns)
    assert set(samples["status"]) <= {"ok", "invalid"}
    assert (samples["error"][samples["status"] == "ok"] == "").all()
    assert (samples["error"][samples["status"] == "invalid"] != "").all()
    pd.testing.assert_frame_equal(samples, pd.read_csv(second, keep_default_na=False))


def test_saved_model_loads_through_the_registry(trained):
    model = load_generative_model(trained)
    assert type(model) is generative_kinds()[0].model_class
    assert model.spec.units == 16 and model.spec.layers == 2


@pytest.mark.parametrize(("extra", "message"), [
    (["--task", "generation", "--target", "y"], "--target: not a setting of --task generation"),
    (["--task", "generation", "--architecture", "mlp"], "--architecture mlp does not generate molecules"),
    (["--task", "generation", "--split", "scaffold"], "--split: not a setting of --task generation"),
    (["--task", "generation", "--max-time", "0"], "--max-time must be positive"),
    (["--task", "classification"], "--task classification needs --target"),
    (["--task", "regression", "--target", "y", "--max-time", "5"], "--max-time applies to --task generation"),
    (["--task", "generation", "--fp-size", "1024"], "--fp-size applies to --architecture"),
])
def test_wrong_settings_fail_in_one_line(library, tmp_path, capsys, extra, message):
    status = main(["train", library, "--smiles-column", "smiles", *extra, "--out", str(tmp_path / "m")])
    error = capsys.readouterr().err.strip()
    assert status == 2 and len(error.splitlines()) == 1 and message in error, error


def test_optimize_writes_the_agent_molecules_steps_and_summary(trained, tmp_path):
    spec = tmp_path / "score.toml"
    spec.write_text('[[component]]\nkind = "qed"\ntransform = "raw"\n\n[[component]]\nkind = "property"\n'
                    'name = "MolWt"\ntransform = "range"\nlow = 150.0\nhigh = 450.0\n')
    out = tmp_path / "run"
    assert main(["optimize", trained, "--score", str(spec), "--budget", "20", "--batch-size", "16",
                 "--max-steps", "3", "--seed", "1", "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    steps = pd.read_csv(out / "steps.csv")
    molecules = pd.read_csv(out / "molecules.csv")
    assert summary["steps"] == len(steps) <= 3 and summary["calls"] == len(molecules)
    assert summary["settings"]["sigma"] == 500.0 and 0.0 <= summary["auc_top10"] <= 1.0
    assert {"call", "step", "smiles", "score", "qed", "qed_score", "MolWt", "MolWt_score"} <= set(molecules.columns)
    assert load_generative_model(out / "agent").spec == load_generative_model(trained).spec


def test_optimize_refuses_a_bad_score_file_in_one_line(trained, tmp_path, capsys):
    spec = tmp_path / "score.toml"
    spec.write_text('[[component]]\nkind = "charisma"\n')
    assert main(["optimize", trained, "--score", str(spec), "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "charisma" in error, error


def test_a_stopped_run_resumes_and_a_new_one_never_overwrites_it(library, tmp_path, capsys):
    out = tmp_path / "model"
    command = ["train", library, "--smiles-column", "smiles", "--task", "generation", *SMALL, "--seed", "0",
               "--out", str(out), "--no-progress"]
    assert main([*command, "--max-time", "0.001"]) == 0  # one batch, then the model and the checkpoint
    assert load_generative_model(out).spec.units == 16
    assert main([*command, "--epochs", "1"]) == 2
    assert "--resume continues it" in capsys.readouterr().err
    assert main([*command, "--epochs", "1", "--resume"]) == 0
    history = json.loads((out / "history.json").read_text())["epochs"]
    assert [entry["epoch"] for entry in history] == [1] and history[0]["complete"]
