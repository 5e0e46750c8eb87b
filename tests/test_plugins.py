"""Kinds defined outside symmol plug in through entry points: a featurizer and a two-input model.

``tests/plugin`` is a separate package (``symmol_example_plugin``) declaring the featurizer kind
``log_columns`` and the model kind ``fp_profile`` (ECFP4 + log-scaled numeric columns, joined by a
ConcatLayer) in its entry points. The fixture installs it on this test's path (a ``.dist-info`` as pip
writes it, and ``PYTHONPATH`` for worker processes); nothing in symmol names it. On ESOL, the model is
trained, saved, loaded, used for prediction and screening (worker processes included) through
:class:`~symmol.QSARModel` and the CLI.
"""

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from symmol.cli.main import main
from symmol.estimator import QSARModel
from symmol.featurizers import featurizer_kinds, make_featurizer
from symmol.models import model_kinds

PLUGIN = Path(__file__).parent / "plugin"
PROFILE = ["Molecular Weight", "Number of H-Bond Donors", "Number of Rings", "Number of Rotatable Bonds",
           "Polar Surface Area"]
TARGET = "measured log solubility in mols per litre"
ENTRY_POINTS = """[symmol.featurizers]
log_columns = symmol_example_plugin:LogColumns

[symmol.models]
fp_profile = symmol_example_plugin:FP_PROFILE
"""


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    info = site / "symmol_example_plugin-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: symmol-example-plugin\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    paths = [str(site), str(PLUGIN)]
    old_path, old_env = list(sys.path), os.environ.get("PYTHONPATH")
    sys.path[:0] = paths
    os.environ["PYTHONPATH"] = os.pathsep.join(paths + ([old_env] if old_env else []))
    yield
    sys.path[:] = old_path
    if old_env is None:
        os.environ.pop("PYTHONPATH")
    else:
        os.environ["PYTHONPATH"] = old_env


@pytest.fixture(scope="module")
def esol(example_data):
    return pd.read_csv(example_data / "esol.csv")


def test_plugin_kinds_are_registered(plugin):
    assert "log_columns" in featurizer_kinds() and "fp_profile" in [k.name for k in model_kinds()]
    featurizer = make_featurizer("log_columns", columns=["a", "b"])
    rows = featurizer.featurize_table(pd.DataFrame({"a": [0.0, np.e - 1, -3.0], "b": [1.0, "x", 2.0]}), "unused")
    assert rows.errors[:1] == [""] and "'x' is not a finite number" in rows.errors[1]
    np.testing.assert_allclose(rows.batch.values[0], [0.0, np.log(2.0)], rtol=1e-6)


def test_estimator_trains_saves_loads_and_predicts(plugin, esol, tmp_path):
    train, test = esol.iloc[:800], esol.iloc[800:]
    model = QSARModel("regression", "fp_profile", profile_columns=PROFILE, hidden=(64,), epochs=30, patience=0,
                      progress=False)
    model.fit(train, train[TARGET].to_numpy(), target_names=["logS"])
    rmse = float(np.sqrt(np.mean((model.predict(test) - test[TARGET].to_numpy()) ** 2)))
    assert rmse < 0.75 * float(np.std(test[TARGET]))  # well below predicting the mean
    model.save(tmp_path / "fp_profile")
    loaded = QSARModel.load(tmp_path / "fp_profile")
    assert loaded.get_params()["profile_columns"] == tuple(PROFILE)
    np.testing.assert_array_equal(loaded.predict_scores(test), model.predict_scores(test))


def test_cli_train_predict_and_screen_in_worker_processes(plugin, esol, tmp_path):
    data = tmp_path / "esol.csv"
    esol.to_csv(data, index=False)
    out = tmp_path / "model"
    assert main(["train", str(data), "--architecture", "fp_profile", "--profile-columns", ",".join(PROFILE),
                 "--hidden", "32", "--target", TARGET, "--task", "regression", "--epochs", "3", "--patience", "0",
                 "--no-progress", "--out", str(out)]) == 0
    library = esol.iloc[:300].astype({"Polar Surface Area": object})
    library.loc[5, "smiles"] = "C1CC"                       # RDKit rejects it
    library.loc[17, "Polar Surface Area"] = "n/a"           # not a number
    library_path = tmp_path / "library.csv"
    library.to_csv(library_path, index=False)
    predicted, screened = tmp_path / "predicted.csv", tmp_path / "screened.csv"
    assert main(["predict", str(out), str(library_path), "--out", str(predicted), "--no-progress"]) == 0
    assert main(["screen", str(out), str(library_path), "--out", str(screened), "--n-jobs", "2",
                 "--scheduler", "local", "--chunk-size", "64", "--no-progress"]) == 0
    a = pd.read_csv(predicted, keep_default_na=False, na_values=[""])
    b = pd.read_csv(screened, keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(a, b)
    assert a["row"].tolist() == list(range(300))
    assert a.loc[5, "status"] == "invalid" and "smiles: SMILES syntax error" in a.loc[5, "error"]
    assert a.loc[17, "status"] == "invalid" and "Polar Surface Area" in a.loc[17, "error"]
    assert (a["status"] == "ok").sum() == 298 and a.loc[a["status"] == "ok", TARGET].notna().all()


def test_a_kind_sets_its_own_training_defaults_and_explicit_settings_win(capsys):
    from dataclasses import replace

    from symmol.models.registry import model_kind

    dmpnn = QSARModel("regression", "dmpnn")
    assert (dmpnn.train_config().epochs, dmpnn.train_config().patience, dmpnn.train_config().lr_schedule) == \
        (50, 50, "noam")
    mlp = QSARModel("regression", "mlp")
    assert (mlp.train_config().epochs, mlp.train_config().lr_schedule) == (40, "constant")
    explicit = QSARModel("regression", "dmpnn", epochs=7, lr_schedule="cosine").train_config()
    assert (explicit.epochs, explicit.patience, explicit.lr_schedule) == (7, 50, "cosine")
    deepdta = QSARModel("regression", "deepdta").train_config()
    assert (deepdta.batch_size, deepdta.weight_decay, mlp.train_config().batch_size) == (256, 0.0, 64)
    with pytest.raises(ValueError, match=r"training_defaults \['optimizer'\] are not among"):
        replace(model_kind("mlp"), name="wide", training_defaults={"optimizer": "sgd"})
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "default 40 (deepdta: 100, drug-response: 100, fp-dti: 100, dmpnn: 50)" in help_text
