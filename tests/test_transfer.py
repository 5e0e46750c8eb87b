"""Pretraining on descriptors (resumable) and fine-tuning: copied parameters, frozen layers, a slower encoder."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem import Descriptors

from symmol.cli.main import main
from symmol.estimator import QSARModel
from symmol.models.store import load_model
from symmol.pretraining import pretrain
from symmol.training import TrainConfig
from symmol.training.transfer import encoder_parameter_names, freeze, initialize_from, parse_freeze

ESOL_TARGET = "measured log solubility in mols per litre"
SMALL = {"units": 24, "depth": 2, "hidden": (16, 8), "atom_features": "chemprop"}


@pytest.fixture(scope="module")
def library(tmp_path_factory, example_data):
    """300 ZINC molecules as a header-less .smi, the format of the shared screening libraries."""
    with gzip.open(example_data / "zinc20k.smi.gz", "rt") as handle:
        lines = [next(handle).split()[0] for _ in range(300)]
    path = tmp_path_factory.mktemp("library") / "zinc300.smi"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, library):
    out = tmp_path_factory.mktemp("pretrained") / "model"
    result = pretrain(library, out, "dmpnn", options=SMALL, config=TrainConfig(epochs=1, patience=0, progress=False))
    return out, result


def test_pretraining_predicts_every_descriptor_and_resumes(library, pretrained):
    out, result = pretrained
    assert result.n_molecules == 300 and result.n_descriptors == len(Descriptors._descList)
    assert result.epochs_done == 1 and len(result.val_rmse) == 1 and 0 < result.val_rmse[0] < 2
    model = load_model(out)
    assert model.targets == tuple(name for name, _ in Descriptors._descList)
    with np.load(out / "descriptors.npz") as stored:
        values = stored["values"]
    smiles = library.read_text().split()
    expected = Descriptors.CalcMolDescriptors(Chem.MolFromSmiles(smiles[7]))
    np.testing.assert_allclose(values[7], np.array([expected[n] for n in model.targets], np.float32), rtol=1e-6)
    # the same command with more epochs continues after the finished one
    again = pretrain(library, out, "dmpnn", options=SMALL, config=TrainConfig(epochs=2, patience=0, progress=False))
    assert again.epochs_done == 2 and again.val_rmse[0] == result.val_rmse[0]
    assert json.loads((out / "pretrain.json").read_text())["epochs_done"] == 2
    with pytest.raises(ValueError, match="other settings"):
        pretrain(library, out, "dmpnn", options={**SMALL, "depth": 3}, config=TrainConfig(epochs=3, progress=False))


def _esol(example_data, n=160):
    table = pd.read_csv(example_data / "esol.csv").iloc[:n]
    return table["smiles"].tolist(), table[[ESOL_TARGET]].to_numpy(float)


def test_fine_tuning_copies_all_but_the_output_and_freezes_the_encoder(example_data, pretrained):
    out, _ = pretrained
    source = load_model(out).get_param_values()
    smiles, y = _esol(example_data)
    estimator = QSARModel("regression", "dmpnn", epochs=2, patience=0, progress=False, init_from=out,
                          freeze="encoder")
    assert estimator.resolved_options()["atom_features"] == "chemprop"  # the pretrained model's options
    estimator.fit(smiles[:120], y[:120], smiles[120:], y[120:])
    model = estimator.model_
    assert sorted(estimator.initialized_) == sorted(n for n in source if not n.startswith("output."))
    values = model.get_param_values()
    encoder = encoder_parameter_names(model)
    assert encoder and all(n.startswith("dmpnn.") for n in encoder)
    for name in encoder:  # frozen: exactly the pretrained values after training
        np.testing.assert_array_equal(values[name], source[name], err_msg=name)
    assert not np.array_equal(values["readout_dense.W"], source["readout_dense.W"])  # the head trained
    assert values["output.W"].shape == (8, 1)


def test_an_ensemble_fine_tunes_every_member_from_the_pretrained_encoder(example_data, pretrained):
    out, _ = pretrained
    source = load_model(out).get_param_values()
    smiles, y = _esol(example_data, 80)
    estimator = QSARModel("regression", "dmpnn", ensemble_size=2, epochs=1, patience=0, progress=False,
                          init_from=out, freeze="encoder").fit(smiles, y)
    values = estimator.model_.get_param_values()
    for member in ("m0.", "m1."):
        np.testing.assert_array_equal(values[f"{member}dmpnn.W_h"], source["dmpnn.W_h"])
    assert not np.array_equal(values["m0.output.W"], values["m1.output.W"])  # own output layers


def test_freeze_forms_and_errors(example_data, pretrained):
    out, _ = pretrained
    model = load_model(out)
    assert parse_freeze("none") is None and parse_freeze("encoder") == 0 and parse_freeze("ffn:2") == 2
    frozen = freeze(model, "ffn:1")
    assert set(frozen) == set(encoder_parameter_names(model)) | {"readout_dense.W", "readout_dense.b"}
    assert freeze(model, "none") == []
    with pytest.raises(ValueError, match="output layer always trains"):
        freeze(model, "ffn:3")
    with pytest.raises(ValueError, match="freeze must be"):
        parse_freeze("all")
    smiles, y = _esol(example_data, 40)
    with pytest.raises(ValueError, match="fine-tune it with architecture='dmpnn'"):
        QSARModel("regression", "mlp", init_from=out, progress=False).fit(smiles, y)
    with pytest.raises(ValueError, match="needs a pretrained model"):
        QSARModel("regression", "mlp", freeze="encoder", epochs=1, progress=False).fit(smiles, y)
    mlp = load_model(out)
    other = QSARModel("regression", "dmpnn", epochs=1, progress=False, units=32, **{
        k: v for k, v in SMALL.items() if k != "units"}).fit(smiles, y).model_
    with pytest.raises(ValueError, match="the encoders differ"):
        initialize_from(other, mlp)


def test_encoder_learning_rate_scales_the_encoder_steps_exactly(example_data, pretrained):
    """With SGD one step of the encoder is encoder_lr / lr times the step it takes without the option."""
    out, _ = pretrained
    smiles, y = _esol(example_data, 64)
    source = load_model(out).get_param_values()
    steps = {}
    for encoder_lr in (None, 0.025):
        estimator = QSARModel("regression", "dmpnn", epochs=1, patience=0, batch_size=64, optimizer="sgd",
                              learning_rate=0.1, encoder_lr=encoder_lr, weight_decay=0.0, progress=False,
                              init_from=out)
        estimator.fit(smiles, y)
        steps[encoder_lr] = {n: v - source[n] for n, v in estimator.model_.get_param_values().items()
                             if n.startswith("dmpnn.")}
    for name, full in steps[None].items():
        np.testing.assert_allclose(steps[0.025][name], 0.25 * full, rtol=2e-3, atol=1e-7, err_msg=name)


def test_cli_pretrain_then_fine_tune(tmp_path, library, example_data):
    pre = tmp_path / "pre"
    assert main(["pretrain", str(library), "--limit", "120", "--epochs", "1", "--message-units", "16",
                 "--depth", "2", "--no-progress", "--out", str(pre)]) == 0
    assert json.loads((pre / "pretrain.json").read_text())["n_molecules"] == 120
    out = tmp_path / "tuned"
    assert main(["train", str(example_data / "esol.csv"), "--smiles-column", "smiles", "--target", ESOL_TARGET,
                 "--task", "regression", "--init-from", str(pre), "--freeze", "ffn:0", "--lr-encoder", "1e-4",
                 "--epochs", "2", "--no-progress", "--out", str(out)]) == 0
    document = json.loads((out / "model.json").read_text())
    assert document["architecture"] == "dmpnn" and document["spec"]["units"] == 16
    assert document["training"]["encoder_lr"] == 1e-4
