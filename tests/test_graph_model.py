"""Graph networks as models: featurizer, batches, training, storage, prediction and screening on real data."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from naive_graph import dmpnn_atoms, gin_atoms, readout_and_head
from rdkit import Chem

from symmol.chem.io import read_molecules
from symmol.chem.mol_arrays import mol_graph_batch
from symmol.cli.main import main
from symmol.data.fingerprints import FingerprintBatch
from symmol.data.molgraph import MolGraphBatch
from symmol.estimator import QSARModel
from symmol.featurizers import MorganFingerprint
from symmol.featurizers.molgraph import MolGraphFeaturizer
from symmol.models.graph_network import GraphModel, GraphSpec
from symmol.models.store import ModelFileError, load_model, save_model
from symmol.training import TrainConfig, train_model

ESOL_TARGET = "measured log solubility in mols per litre"
INVALID = ["C1CC", "N(=O)(=O)(=O)C", "not a smiles"]
#: One small architecture for every compiled test here, so PyTensor's cache serves the later ones.
SMALL = {"units": 16, "depth": 2, "hidden": (8,)}


@pytest.fixture(scope="module")
def esol(example_data) -> pd.DataFrame:
    return read_molecules(example_data / "esol.csv", smiles_column="smiles").iloc[:240]


def _molecules(batch: MolGraphBatch, i: int) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Molecule ``i`` of a batch as plain lists: atom invariants and sorted (begin, end, type) bonds."""
    a0, a1 = batch.atom_offsets[i], batch.atom_offsets[i + 1]
    b0, b1 = batch.bond_offsets[i], batch.bond_offsets[i + 1]
    bonds = [(min(p), max(p), int(t)) for p, t in zip(batch.bond_atoms[b0:b1].tolist(),
                                                       batch.bond_types[b0:b1].tolist(), strict=True)]
    return batch.atom_invariants[a0:a1].tolist(), sorted(bonds)


def test_graph_batch_take_slice_concatenate_match_per_molecule_lists(esol):
    mols = [Chem.MolFromSmiles(s) for s in esol["smiles"][:30]]
    batch = mol_graph_batch(mols)
    rows = np.array([7, 0, 7, 29, 3])
    taken = batch.take(rows)
    assert len(taken) == 5
    for k, i in enumerate(rows):
        assert _molecules(taken, k) == _molecules(batch, i)
    sliced = batch.slice(10, 13)
    assert [_molecules(sliced, k) for k in range(3)] == [_molecules(batch, i) for i in range(10, 13)]
    joined = MolGraphBatch.concatenate([batch.slice(0, 4), batch.slice(4, 30)])
    for name in ("atom_invariants", "atom_offsets", "bond_atoms", "bond_types", "bond_offsets"):
        np.testing.assert_array_equal(getattr(joined, name), getattr(batch, name))
    assert len(batch.take(np.array([], dtype=np.int64))) == 0
    with pytest.raises(IndexError, match="rows.1. = 30 is out of range for 30 rows"):
        batch.take([1, 30])


def test_featurizer_rows_and_parse_paths_agree(example_data):
    smiles = read_molecules(example_data / "bbbp.csv", smiles_column="smiles")["smiles"].tolist()[:400]
    smiles[5:5] = INVALID
    featurizer = MolGraphFeaturizer()
    fast, full = featurizer.from_smiles(smiles, "fast"), featurizer.from_smiles(smiles, "full")
    assert fast.errors == full.errors
    assert [i for i, e in enumerate(fast.errors) if e][:3] == [5, 6, 7]
    for name in ("atom_invariants", "atom_offsets", "bond_atoms", "bond_types", "bond_offsets"):
        np.testing.assert_array_equal(getattr(fast.batch, name), getattr(full.batch, name))
    assert len(fast.batch) == len(smiles)
    for i, smi in enumerate(smiles):
        mol = None if fast.errors[i] else Chem.MolFromSmiles(smi)
        if mol is None:  # invalid rows: no atoms, a reason
            assert fast.errors[i] and fast.batch.atom_offsets[i] == fast.batch.atom_offsets[i + 1]
            continue
        invariants, bonds = _molecules(fast.batch, i)
        assert invariants == list(Chem.rdMolDescriptors.GetConnectivityInvariants(mol, includeRingMembership=True))
        assert bonds == sorted((min(b.GetBeginAtomIdx(), b.GetEndAtomIdx()), max(b.GetBeginAtomIdx(),
                                b.GetEndAtomIdx()), int(b.GetBondType())) for b in mol.GetBonds())
    assert MolGraphFeaturizer.from_dict(featurizer.to_dict()) == featurizer
    with pytest.raises(ValueError, match="MolGraphFeaturizer has no kind .ecfp."):
        MolGraphFeaturizer.from_dict({"kind": "morgan", "radius": 2})


@pytest.mark.parametrize(("message_passing", "readout"), [("dmpnn", "mean"), ("gin", "mean"), ("dmpnn", "norm")])
def test_predictions_match_numpy_reference(esol, message_passing, readout):
    spec = GraphSpec(targets=("logS",), task="regression", message_passing=message_passing, readout=readout,
                     target_mean=(-3.0,), target_std=(2.0,), **SMALL)
    model = GraphModel(spec)
    featurized = model.featurizer.featurize(list(esol["smiles"][:12]) + INVALID[:1])
    got = model.predict_batch(featurized.batch)
    params = {k: v.astype(np.float64) for k, v in model.get_param_values().items()}
    x = featurized.batch.graph_inputs()
    atoms = (dmpnn_atoms if message_passing == "dmpnn" else gin_atoms)(params, x, spec.depth)
    expected = readout_and_head(params, atoms, x, readout=readout) * 2.0 - 3.0
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert got.shape == (13, 1) and got.dtype == np.float32


def test_training_learns_and_backends_agree(esol):
    """Two epochs from the same start on numba and C give the same parameters; more epochs fit ESOL."""
    featurized = MolGraphFeaturizer().from_smiles(esol["smiles"].tolist())
    y = esol[[ESOL_TARGET]].to_numpy(float)
    spec = GraphSpec(targets=("logS",), task="regression", target_mean=(float(y.mean()),),
                     target_std=(float(y.std()),), **SMALL)
    models = {backend: GraphModel(spec, backend=backend) for backend in ("numba", "c")}
    config = TrainConfig(epochs=2, patience=0, batch_size=32, progress=False)
    for model in models.values():
        train_model(model, featurized.batch, y, config=config)
    numba_params, c_params = (models[b].get_param_values() for b in ("numba", "c"))
    for name, value in numba_params.items():
        np.testing.assert_allclose(value, c_params[name], rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(models["numba"].predict_batch(featurized.batch),
                               models["c"].predict_batch(featurized.batch), rtol=1e-4, atol=1e-5)
    model = models["numba"]
    history = train_model(model, featurized.batch.slice(0, 200), y[:200],
                          featurized.batch.slice(200, 240), y[200:],
                          TrainConfig(epochs=25, patience=0, batch_size=32, progress=False))
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert -history.val_score[-1] < float(y[200:].std())  # validation RMSE below the constant predictor's


def test_estimator_classification_save_load_and_invalid_rows(tmp_path, example_data):
    table = read_molecules(example_data / "bbbp.csv", smiles_column="smiles")
    featurized = MolGraphFeaturizer().from_smiles(table["smiles"].tolist()[:300])
    valid = table.iloc[:300][featurized.valid]
    model = QSARModel("classification", architecture="dmpnn", ensemble_size=2, epochs=4, patience=0,
                      batch_size=32, progress=False, **SMALL).fit(valid["smiles"][:250], valid["p_np"][:250],
                                                                  target_names=["p_np"])
    assert isinstance(model.model_, GraphModel) and model.model_.train_fingerprints.shape == (250, 32)
    queries = list(valid["smiles"][250:260]) + INVALID
    scores = model.predict_scores(queries)
    assert scores.shape == (13, 1) and np.isnan(scores[10:]).all()
    assert ((scores[:10] > 0) & (scores[:10] < 1)).all()
    members = model.model_.predict_members(model.featurize(queries[:10]).batch)
    np.testing.assert_allclose(scores[:10], members.mean(axis=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(members[0], members[1])  # members start from different seeds
    model.save(tmp_path / "m")
    document = json.loads((tmp_path / "m" / "model.json").read_text())
    assert document["model"] == "graph_network" and document["spec"]["message_passing"] == "dmpnn"
    loaded = QSARModel.load(tmp_path / "m")
    assert (loaded.architecture, loaded.units, loaded.depth, loaded.hidden) == ("dmpnn", 16, 2, (8,))
    np.testing.assert_array_equal(loaded.predict_scores(queries), scores)
    frame = loaded.predict_frame(queries)
    assert frame["status"].tolist() == ["ok"] * 10 + ["invalid"] * 3
    assert frame["error"][12].startswith("SMILES syntax error")
    # batches without bonds or without atoms: salts, single atoms, only invalid rows
    no_bonds = loaded.predict_scores(["[Na+].[Cl-]", "[He]", "C"])
    assert np.isfinite(no_bonds).all() and ((no_bonds > 0) & (no_bonds < 1)).all()
    assert np.isnan(loaded.predict_scores(INVALID)).all()
    # the applicability domain is ECFP4 of the training graphs, equal to ECFP4 of their SMILES
    ecfp4 = MorganFingerprint(2, 2048).featurize(list(valid["smiles"][:250])).batch.to_packed()
    np.testing.assert_array_equal(model.model_.train_fingerprints, ecfp4)


def test_model_file_and_input_errors(tmp_path, esol):
    spec = GraphSpec(targets=("logS",), task="regression", **SMALL)
    save_model(GraphModel(spec), tmp_path / "g")
    with pytest.raises(ValueError, match="a graph_network model compiles with the numba or c backend, not 'jax'"):
        load_model(tmp_path / "g", backend="jax")
    document = json.loads((tmp_path / "g" / "model.json").read_text())
    document["model"] = "transformer"
    (tmp_path / "g" / "model.json").write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="unknown model kind 'transformer'"):
        load_model(tmp_path / "g")
    with pytest.raises(TypeError, match=r"GraphModel takes \(smiles: MolGraphBatch\), got FingerprintBatch"):
        GraphModel(spec).predict_batch(FingerprintBatch(np.zeros(2, np.int64), np.zeros(0, np.int32),
                                                           np.zeros(0, np.float32), 2048))
    with pytest.raises(ValueError, match="readout must be one of"):
        GraphSpec(targets=("a",), task="regression", readout="attention")
    with pytest.raises(ValueError, match="unknown architecture 'transformer'; choose one of"):
        QSARModel("regression", architecture="transformer").fit(esol["smiles"][:4], np.zeros(4))


def test_cli_refuses_options_of_the_other_architecture(tmp_path, esol, capsys):
    data = tmp_path / "esol.csv"
    esol.to_csv(data, index=False)
    base = ["train", str(data), "--smiles-column", "smiles", "--target", ESOL_TARGET, "--task", "regression",
            "--out", str(tmp_path / "m")]
    assert main([*base, "--architecture", "dmpnn", "--fp-size", "1024", "--counts"]) == 2
    refused = re.search(r"--fp-size, --counts applies to --architecture (\S+) only, not --architecture dmpnn",
                        capsys.readouterr().err)
    assert refused is not None  # the kinds taking them, plug-ins registered by other tests included
    assert {"drug-response", "fp-dti", "gp", "mlp"} <= set(refused.group(1).split("|"))
    assert not {"dmpnn", "gin", "deepdta"} & set(refused.group(1).split("|"))
    assert main([*base, "--architecture", "mlp", "--depth", "5"]) == 2
    assert "--depth applies to --architecture dmpnn|gin only, not --architecture mlp" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_cli_train_predict_screen_with_a_dmpnn(tmp_path, esol, example_data):
    data = tmp_path / "esol.csv"
    esol.to_csv(data, index=False)
    model_dir = tmp_path / "model"
    argv = ["train", str(data), "--smiles-column", "smiles", "--target", ESOL_TARGET, "--task", "regression",
            "--architecture", "dmpnn", "--depth", "2", "--message-units", "16", "--hidden", "8",
            "--epochs", "3", "--patience", "0", "--batch-size", "32", "--no-progress", "--out", str(model_dir)]
    assert main(argv) == 0
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert set(metrics) == {"train", "val", "test"} and np.isfinite(metrics["test"]["rmse"])
    spec = json.loads((model_dir / "model.json").read_text())["spec"]
    assert (spec["units"], spec["depth"], spec["hidden"], spec["dropout"]) == (16, 2, [8], 0.0)
    library = tmp_path / "library.smi"
    zinc = read_molecules(example_data / "zinc20k.smi.gz").iloc[:150]
    rows = [f"{s} {i}" for s, i in zip(zinc["smiles"], zinc["id"], strict=True)]
    rows.insert(3, "C1CC bad_ring")
    library.write_text("\n".join(rows) + "\n")
    out = tmp_path / "scores.csv"
    assert main(["screen", str(model_dir), str(library), "--out", str(out), "--top", "5", "--ad",
                 "--chunk-size", "40", "--no-progress", "--scheduler", "threads"]) == 0
    result = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert result["row"].tolist() == list(range(151))
    assert result["status"][3] == "invalid" and np.isnan(result[ESOL_TARGET][3]) and result["error"][3]
    ok = result[result["status"] == "ok"]
    assert ok[ESOL_TARGET].notna().all() and ((ok["ad"] > 0) & (ok["ad"] <= 1)).all()
    expected = QSARModel.load(model_dir).predict_scores(zinc["smiles"].tolist())[:, 0]
    np.testing.assert_allclose(ok[ESOL_TARGET].to_numpy(), expected, rtol=1e-6)
    predictions = tmp_path / "predictions.csv"
    assert main(["predict", str(model_dir), str(library), "--out", str(predictions), "--no-progress"]) == 0
    np.testing.assert_allclose(pd.read_csv(predictions)[ESOL_TARGET], result[ESOL_TARGET], rtol=1e-6)
