"""``symmol train`` without ``--architecture``: the D-MPNN on small data files, the MLP on large ones."""

from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest

from symmol.cli.main import main
from symmol.cli.train import add_arguments, resolve_architecture
from symmol.models.default import SMALL_DATA_ROWS, default_architecture

ESOL_TARGET = "measured log solubility in mols per litre"


def _args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["data.csv", "--target", "y", "--task", "regression", "--out", "m", *extra])


def test_the_size_of_the_data_file_picks_the_architecture() -> None:
    assert SMALL_DATA_ROWS == 5000
    assert default_architecture(SMALL_DATA_ROWS - 1) == "dmpnn"
    assert default_architecture(SMALL_DATA_ROWS) == "mlp"
    assert default_architecture(None) == "mlp"  # before the file is read


def test_an_option_only_one_architecture_takes_picks_it() -> None:
    assert default_architecture(100, ["fp_size", "hidden"]) == "mlp"
    assert default_architecture(100_000, ["depth"]) == "dmpnn"
    assert default_architecture(100, ["hidden", "dropout"]) == "dmpnn"  # both take them: the size decides
    assert default_architecture(100, ["fp_size", "depth"]) is None  # neither takes both


def test_named_architecture_wins_over_the_default() -> None:
    assert resolve_architecture(_args(), 100) == "dmpnn"
    assert resolve_architecture(_args(), 20_000) == "mlp"
    assert resolve_architecture(_args("--architecture", "gp"), 100) == "gp"
    assert resolve_architecture(_args("--fp-size", "1024"), 100) == "mlp"


def test_train_on_a_small_file_fits_the_dmpnn_and_says_so(example_data, tmp_path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "esol_small.csv"
    pd.read_csv(example_data / "esol.csv").iloc[:120].to_csv(data, index=False)
    assert main(["train", str(data), "--smiles-column", "smiles", "--target", ESOL_TARGET, "--task", "regression",
                 "--epochs", "1", "--message-units", "32", "--hidden", "16", "--no-progress", "--out",
                 str(tmp_path / "model")]) == 0
    assert ("architecture dmpnn: the default for a file of 120 rows (fewer than 5000; --architecture names "
            "another)") in capsys.readouterr().out
    assert json.loads((tmp_path / "model" / "model.json").read_text())["model"] == "graph_network"


def test_options_of_both_architectures_without_one_named_fail_clearly(example_data, tmp_path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(example_data / "esol.csv"), "--smiles-column", "smiles", "--target", ESOL_TARGET,
                 "--task", "regression", "--fp-size", "1024", "--depth", "2", "--out", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err.strip() == ("symmol train: error: --fp-size, --depth: no one architecture takes "
                                               "all of these; name one with --architecture")
    assert not (tmp_path / "m").exists()
