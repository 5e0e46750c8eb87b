"""Chemprop's atom and bond features: the Numba reader's properties, the V/E rows and the D-MPNN that reads them.

References: RDKit's own getters (``Atom.GetHybridization``, ``Bond.GetIsConjugated``, ...) on the bundled
molecules; a plain re-statement of Chemprop v2's ``MultiHotAtomFeaturizer.v2`` / ``MultiHotBondFeaturizer``
below; Chemprop itself where it is installed (the ``bench`` extra); the NumPy D-MPNN of ``naive_graph``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from naive_graph import dmpnn_atoms, readout_and_head
from rdkit import Chem

from symmol.chem.mol_arrays import mol_properties
from symmol.chem.native import encode_smiles
from symmol.cli.main import main
from symmol.featurizers.chemprop_features import ATOM_FDIM, BOND_FDIM, atom_feature_matrix, bond_feature_matrix
from symmol.featurizers.molgraph import MolGraphFeaturizer
from symmol.kernels.smiles import ATOM_PROPERTIES, BOND_PROPERTIES, smiles_feature_graph_batch
from symmol.models.graph_network import GraphModel, GraphSpec
from symmol.models.store import load_model, save_model
from symmol.training import TrainConfig, train_model

ESOL_TARGET = "measured log solubility in mols per litre"
SMALL = {"units": 16, "depth": 3, "hidden": (8,)}
HYBRIDIZATIONS = [Chem.HybridizationType.S, Chem.HybridizationType.SP, Chem.HybridizationType.SP2,
                  Chem.HybridizationType.SP2D, Chem.HybridizationType.SP3, Chem.HybridizationType.SP3D,
                  Chem.HybridizationType.SP3D2]


def _one_hot(value, choices) -> list[float]:
    out = [0.0] * (len(choices) + 1)
    out[choices.index(value) if value in choices else len(choices)] = 1.0
    return out


def reference_atom_features(atom: Chem.Atom) -> np.ndarray:
    """Chemprop v2's default atom features, restated from its documented layout."""
    return np.array(
        _one_hot(atom.GetAtomicNum(), [*range(1, 37), 53]) + _one_hot(atom.GetTotalDegree(), list(range(6)))
        + _one_hot(atom.GetFormalCharge(), [-1, -2, 1, 2, 0]) + _one_hot(int(atom.GetChiralTag()), list(range(4)))
        + _one_hot(int(atom.GetTotalNumHs()), list(range(5))) + _one_hot(atom.GetHybridization(), HYBRIDIZATIONS)
        + [float(atom.GetIsAromatic()), 0.01 * atom.GetMass()], dtype=np.float32)


def reference_bond_features(bond: Chem.Bond) -> np.ndarray:
    """Chemprop's default bond features: null bit, 4 types, conjugated, in ring, stereo 0-5 + other."""
    types = [Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE, Chem.BondType.AROMATIC]
    type_bits = [float(bond.GetBondType() == t) for t in types]
    return np.array([0.0, *type_bits, float(bond.GetIsConjugated()), float(bond.IsInRing()),
                     *_one_hot(int(bond.GetStereo()), list(range(6)))], dtype=np.float32)


@pytest.fixture(scope="module")
def bundled_smiles(example_data) -> list[str]:
    """Every row of the bundled ESOL, BBBP and Tox21 files (charged, stereo, salts and invalid rows included)."""
    smiles: list[str] = []
    for name in ("esol.csv", "bbbp.csv", "tox21.csv"):
        table = pd.read_csv(example_data / name)
        smiles += table[next(c for c in table.columns if "smiles" in c.lower())].astype(str).tolist()
    return smiles


def test_reader_properties_equal_rdkit_getters(bundled_smiles):
    """Each accepted molecule has RDKit's degree, charge, Hs, hybridization, aromaticity, conjugation, rings."""
    status, atom_offsets, _, _, bond_offsets, bond_atoms, _, atoms, bonds = smiles_feature_graph_batch(
        *encode_smiles(bundled_smiles))
    accepted = np.flatnonzero(status == 0)
    assert accepted.size > 8000  # of 11,009 rows; stereo markup is refused (status 8)
    assert (status == 8).sum() > 1000
    atom_columns = [ATOM_PROPERTIES.index(name) for name in ATOM_PROPERTIES]
    hybridizations_seen = set()
    for i in accepted.tolist():
        mol = Chem.MolFromSmiles(bundled_smiles[i])
        expected_atoms, _, expected_bonds = mol_properties([mol])
        # mol_properties' columns: atomic number, total degree, charge, chiral tag, Hs, hybridization, aromatic
        got = atoms[atom_offsets[i]:atom_offsets[i + 1]]
        np.testing.assert_array_equal(got[:, atom_columns], expected_atoms[:, [1, 2, 4, 5, 6]],
                                      err_msg=bundled_smiles[i])
        hybridizations_seen |= set(got[:, ATOM_PROPERTIES.index("hybridization")].tolist())
        expected = {(min(b.GetBeginAtomIdx(), b.GetEndAtomIdx()), max(b.GetBeginAtomIdx(), b.GetEndAtomIdx())):
                    tuple(expected_bonds[k, :2].tolist()) for k, b in enumerate(mol.GetBonds())}
        written = {tuple(sorted(bond_atoms[b].tolist())): tuple(bonds[b].tolist())
                   for b in range(bond_offsets[i], bond_offsets[i + 1])}
        assert written == expected, bundled_smiles[i]
    assert hybridizations_seen >= {1, 2, 3, 4}  # S, SP, SP2 and SP3 all occur
    assert BOND_PROPERTIES == ("conjugated", "in_ring")


@pytest.mark.parametrize("smiles", ["CS(C)(=O)=NC(=O)C", "CS(=O)(=O)N=CC", "C=CS(C)(=O)=O", "O=C(O)C=C",
                                    "CP(C)(C)=NC(=O)C", "[O-][N+](=O)c1ccccc1", "C#N", "[Na+].[O-]C(=O)C"])
def test_hypervalent_and_charged_conjugation_cases(smiles):
    """RDKit's current rules: hypervalent neutral atoms break conjugation, the double bond's far atom must qualify."""
    status, _, _, _, _, bond_atoms, _, atoms, bonds = smiles_feature_graph_batch(*encode_smiles([smiles]))
    assert status[0] == 0
    mol = Chem.MolFromSmiles(smiles)
    expected = {tuple(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))): int(b.GetIsConjugated())
                for b in mol.GetBonds()}
    assert {tuple(sorted(p.tolist())): int(c) for p, c in zip(bond_atoms, bonds[:, 0], strict=True)} == expected
    assert atoms[:, ATOM_PROPERTIES.index("hybridization")].tolist() == [int(a.GetHybridization())
                                                                       for a in mol.GetAtoms()]


def test_feature_rows_equal_chemprop_layout_on_both_parse_paths(bundled_smiles):
    """V and E equal the restated Chemprop featurizer on every valid row, from the reader and from RDKit alike."""
    featurizer = MolGraphFeaturizer(chemprop_features=True)
    assert featurizer.kind == "chemprop_molgraph"
    assert MolGraphFeaturizer.from_dict(featurizer.to_dict()) == featurizer
    smiles = bundled_smiles[::3]
    fast, full = (featurizer.from_smiles(smiles, parse_mode=mode) for mode in ("fast", "full"))
    assert fast.errors == full.errors
    V, E = atom_feature_matrix(fast.batch), bond_feature_matrix(fast.batch)
    assert V.shape[1] == ATOM_FDIM == 72 and E.shape[1] == BOND_FDIM == 14
    np.testing.assert_array_equal(V, atom_feature_matrix(full.batch))
    np.testing.assert_array_equal(E, bond_feature_matrix(full.batch))
    batch = fast.batch
    for i, text in enumerate(smiles):
        if fast.errors[i]:
            continue
        mol = Chem.MolFromSmiles(text)
        a0, a1 = batch.atom_offsets[i], batch.atom_offsets[i + 1]
        np.testing.assert_array_equal(V[a0:a1], np.stack([reference_atom_features(a) for a in mol.GetAtoms()]),
                                      err_msg=text)
        expected = {tuple(sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))): reference_bond_features(b)
                    for b in mol.GetBonds()}
        for b in range(batch.bond_offsets[i], batch.bond_offsets[i + 1]):
            np.testing.assert_array_equal(E[b], expected[tuple(batch.bond_atoms[b].tolist())], err_msg=text)


def test_feature_rows_equal_chemprop_itself(bundled_smiles):
    """Where Chemprop is installed (the bench extra): its SimpleMoleculeMolGraphFeaturizer gives the same V and E."""
    featurizers = pytest.importorskip("chemprop.featurizers")
    chemprop = featurizers.SimpleMoleculeMolGraphFeaturizer()
    smiles = bundled_smiles[::7]
    batch = MolGraphFeaturizer(chemprop_features=True).from_smiles(smiles).batch
    V, E = atom_feature_matrix(batch), bond_feature_matrix(batch)
    for i, text in enumerate(smiles):
        mol = Chem.MolFromSmiles(text)
        if mol is None or mol.GetNumAtoms() == 0:
            continue
        graph = chemprop(mol)
        np.testing.assert_array_equal(graph.V, V[batch.atom_offsets[i]:batch.atom_offsets[i + 1]])
        rows = {tuple(sorted(graph.edge_index[:, k].tolist())): graph.E[k] for k in range(0, len(graph.E), 2)}
        for b in range(batch.bond_offsets[i], batch.bond_offsets[i + 1]):
            np.testing.assert_array_equal(rows[tuple(batch.bond_atoms[b].tolist())], E[b])


def test_graphs_with_and_without_properties_do_not_mix(example_data):
    with_properties = MolGraphFeaturizer(chemprop_features=True).from_smiles(["CCO", "C1CC"])
    assert with_properties.errors[1] and with_properties.batch.has_properties
    plain = MolGraphFeaturizer().from_smiles(["CCO"]).batch
    with pytest.raises(ValueError, match="cannot concatenate"):
        type(plain).concatenate([plain, with_properties.batch])
    with pytest.raises(ValueError, match="featurize with kind 'chemprop_molgraph'"):
        atom_feature_matrix(plain)


@pytest.fixture(scope="module")
def esol(example_data) -> pd.DataFrame:
    return pd.read_csv(example_data / "esol.csv").iloc[:200]


@pytest.mark.parametrize("message_passing", ["dmpnn", "gin"])
def test_chemprop_input_network_matches_numpy(esol, message_passing):
    spec = GraphSpec(targets=("logS",), task="regression", message_passing=message_passing, readout="norm",
                     atom_features="chemprop", target_mean=(-3.0,), target_std=(2.0,),
                     inputs={"smiles": {"column": "smiles", "featurizer": {"kind": "chemprop_molgraph"}}}, **SMALL)
    model = GraphModel(spec)
    featurized = model.featurizer.featurize(list(esol["smiles"][:10]) + ["C1CC"])
    got = model.predict_batch(featurized.batch)
    assert got.shape == (11, 1) and np.isfinite(got).all()
    if message_passing == "gin":  # the projection and bond rows are exercised; the NumPy check is the D-MPNN's
        return
    params = {k: v.astype(np.float64) for k, v in model.get_param_values().items()}
    x = featurized.batch.graph_inputs()
    bond_rows = bond_feature_matrix(featurized.batch).astype(np.float64)
    dense = x._replace(atom_types=atom_feature_matrix(featurized.batch).astype(np.float64),
                       bond_types=np.concatenate([bond_rows, bond_rows]))
    atoms = dmpnn_atoms(params, dense, spec.depth)
    expected = readout_and_head(params, atoms, dense, readout="norm") * 2.0 - 3.0
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_training_agrees_across_backends_and_learns(esol):
    featurizer = MolGraphFeaturizer(chemprop_features=True)
    featurized = featurizer.from_smiles(esol["smiles"].tolist())
    y = esol[[ESOL_TARGET]].to_numpy(float)
    spec = GraphSpec(targets=("logS",), task="regression", atom_features="chemprop",
                     inputs={"smiles": {"column": "smiles", "featurizer": featurizer.to_dict()}},
                     target_mean=(float(y.mean()),), target_std=(float(y.std()),), **SMALL)
    models = {backend: GraphModel(spec, backend=backend) for backend in ("numba", "c")}
    for model in models.values():
        train_model(model, featurized.batch, y, config=TrainConfig(epochs=2, patience=0, batch_size=32,
                                                                   progress=False))
    for name, value in models["numba"].get_param_values().items():
        np.testing.assert_allclose(value, models["c"].get_param_values()[name], rtol=1e-4, atol=1e-5, err_msg=name)
    model = models["numba"]
    history = train_model(model, featurized.batch.slice(0, 160), y[:160], featurized.batch.slice(160, 200),
                          y[160:], TrainConfig(epochs=20, patience=0, batch_size=32, progress=False))
    assert history.train_loss[-1] < 0.7 * history.train_loss[0]  # after the two epochs above
    assert -history.val_score[-1] < float(y[160:].std())  # below the constant predictor's RMSE


def test_cli_trains_on_a_splits_file_and_old_specs_keep_their_update(tmp_path, example_data):
    """The contract: ``train --architecture dmpnn --atom-features chemprop`` with --splits-file/--split/--seed."""
    data = example_data / "esol.csv"
    n = len(pd.read_csv(data))
    order = np.random.default_rng(0).permutation(n).tolist()
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps([{"train": order[300:], "val": order[:150], "test": order[150:300]}]))
    out = tmp_path / "model"
    common = ["train", str(data), "--smiles-column", "smiles", "--target", ESOL_TARGET, "--task", "regression",
              "--architecture", "dmpnn", "--atom-features", "chemprop", "--message-units", "32", "--no-progress"]
    assert main([*common, "--splits-file", str(splits), "--seed", "3", "--epochs", "3", "--out", str(out)]) == 0
    assert main([*common, "--split", "scaffold", "--seed", "3", "--epochs", "1", "--out", str(tmp_path / "s")]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= {"train", "val", "test"} and metrics["test"]["rmse"] < 2.0
    document = json.loads((out / "model.json").read_text())
    assert document["spec"]["atom_features"] == "chemprop"
    assert document["spec"]["initial_message"] == "pre-activation"
    assert document["spec"]["inputs"]["smiles"]["featurizer"] == {"kind": "chemprop_molgraph"}
    model = load_model(out)
    # a model saved before initial_message existed keeps the update it was trained with
    legacy = GraphModel(GraphSpec(targets=("logS",), task="regression", **SMALL))
    save_model(legacy, tmp_path / "legacy")
    spec_path = tmp_path / "legacy" / "model.json"
    stored = json.loads(spec_path.read_text())
    del stored["spec"]["initial_message"]
    spec_path.write_text(json.dumps(stored))
    assert load_model(tmp_path / "legacy").spec.initial_message == "activated"
    featurized = model.featurizer.featurize(pd.read_csv(data)["smiles"].tolist()[:5])
    assert np.isfinite(model.predict_batch(featurized.batch)).all()


def test_extra_rdkit_descriptors_are_standardised_stored_and_checked_on_load(tmp_path, example_data):
    """``--extra-features rdkit2d``: the training set's statistics in the model, the head reads them, RDKit checked."""
    from rdkit.Chem import Descriptors

    from symmol.models.store import ModelFileError

    data = example_data / "esol.csv"
    out = tmp_path / "model"
    assert main(["train", str(data), "--smiles-column", "smiles", "--target", ESOL_TARGET, "--task", "regression",
                 "--architecture", "dmpnn", "--extra-features", "rdkit2d", "--readout", "mean",
                 "--message-units", "16", "--hidden", "8", "--epochs", "1", "--no-progress", "--split-sizes",
                 "0.2,0.1,0.7", "--out", str(out)]) == 0
    model = load_model(out)
    names = [name for name, _ in Descriptors._descList]
    assert list(model.spec.extra_feature_names) == names and [i.name for i in model.inputs] == ["smiles", "extra"]
    params = model.get_param_values()
    smiles = pd.read_csv(data)["smiles"].tolist()
    featurized = model.featurize(pd.DataFrame({"smiles": smiles[:6]}))
    descriptors = featurized.batch["extra"].values.astype(np.float64)
    scaled = (descriptors - params["extra_scaler.mean"]) / params["extra_scaler.std"]
    scaled = np.where(np.isfinite(scaled), scaled, 0.0)
    assert params["readout_dense.W"].shape == (16 + len(names), 8)
    assert np.all(params["extra_scaler.std"] > 0) and np.isfinite(params["extra_scaler.mean"]).all()
    graph = featurized.batch["smiles"]
    x = graph.graph_inputs()
    bonds = bond_feature_matrix(graph).astype(np.float64)
    dense = x._replace(atom_types=atom_feature_matrix(graph).astype(np.float64),
                       bond_types=np.concatenate([bonds, bonds]))
    p = {k: v.astype(np.float64) for k, v in params.items()}
    atoms = dmpnn_atoms(p, dense, model.spec.depth)
    pooled = np.stack([atoms[x.atom_molecule == m].mean(axis=0) for m in range(len(smiles[:6]))])
    hidden = np.maximum(np.concatenate([pooled, scaled], axis=1) @ p["readout_dense.W"] + p["readout_dense.b"], 0)
    expected = (hidden @ p["output.W"] + p["output.b"]) * model.spec.target_std[0] + model.spec.target_mean[0]
    np.testing.assert_allclose(model.predict_batch(featurized.batch), expected, rtol=1e-4, atol=1e-4)
    # the statistics are the training rows' (train's seeded random split, 20 % of ESOL)
    from symmol.evaluation.splits import random_split
    from symmol.featurizers.descriptors import RDKit2DDescriptors

    train_rows = random_split(len(smiles), (0.2, 0.1, 0.7), seed=0).train
    train_values = RDKit2DDescriptors().from_smiles([smiles[i] for i in train_rows]).batch.values.astype(np.float64)
    train_values[~np.isfinite(train_values)] = np.nan
    np.testing.assert_allclose(params["extra_scaler.mean"], np.nan_to_num(np.nanmean(train_values, axis=0)),
                               rtol=1e-5, atol=1e-6)
    spec_path = out / "model.json"
    stored = json.loads(spec_path.read_text())
    stored["spec"]["extra_feature_names"] = names[:-1] + ["NotADescriptor"]
    spec_path.write_text(json.dumps(stored))
    with pytest.raises(ModelFileError, match=rf"missing here \['NotADescriptor'\], new here \['{names[-1]}'\]"):
        load_model(out)


def test_standardize_layer_statistics_ignore_non_finite_values():
    from symmol.nn.layers import InputLayer, StandardizeLayer, get_output

    values = np.array([[1.0, np.nan, 5.0], [3.0, np.inf, 5.0], [5.0, np.nan, 5.0]], dtype=np.float32)
    layer = StandardizeLayer(InputLayer((None, 3), name="x"), np.random.default_rng(0))
    layer.set_statistics(values)
    np.testing.assert_allclose(layer.mean.get_value(), [3.0, 0.0, 5.0])
    np.testing.assert_allclose(layer.std.get_value(), [np.sqrt(8 / 3), 1.0, 1.0], rtol=1e-6)
    out = get_output(layer, inputs={layer.input_layers[0]: values}).eval()
    np.testing.assert_allclose(out, [[-np.sqrt(1.5), 0, 0], [0, 0, 0], [np.sqrt(1.5), 0, 0]], rtol=1e-5, atol=1e-6)
    assert not any("trainable" in tags for tags in layer.params.values())
