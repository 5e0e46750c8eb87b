"""Scores for goal-directed generation (symmol.generation.scoring): transforms, components, filters, spec files."""

from __future__ import annotations

import math

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import QED, AllChem, Descriptors

from symmol.estimator import QSARModel
from symmol.generation.metrics import sa_score
from symmol.generation.scoring import Component, Desirability, ScoreFunction, SmartsFilter

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
MOLECULES = ["CCO", "c1ccccc1O", ASPIRIN, "CC(=O)Nc1ccc(O)cc1", "O=[N+]([O-])c1ccccc1"]


def reinvent_sigmoid(x: float, low: float, high: float, k: float) -> float:
    """REINVENT's ``sigmoid`` transform, written out."""
    return 1 / (1 + 10 ** (10 * k * ((low + high) / 2 - x) / (high - low)))


def geometric_mean(values, weights) -> float:
    if any(v == 0 for v in values):
        return 0.0
    return math.exp(sum(w * math.log(v) for v, w in zip(values, weights, strict=True)) / sum(weights))


def test_transforms_follow_their_formulas():
    x = np.array([-1.0, 0.0, 2.0, 3.5, 5.0, 8.0])
    up = Desirability("maximise", low=2.0, high=5.0, k=0.5)(x)
    np.testing.assert_allclose(up, [reinvent_sigmoid(v, 2, 5, 0.5) for v in x], rtol=1e-12)
    assert up[3] == pytest.approx(0.5) and up[0] < 1e-4 and up[-1] > 1 - 1e-4
    np.testing.assert_allclose(Desirability("minimise", low=2.0, high=5.0)(x), 1 - up, rtol=1e-12)
    window = Desirability("range", low=2.0, high=5.0)(np.array([0.0, 3.5, 7.0]))
    assert window[1] > 0.99 and window[0] < 0.01 and window[2] < 0.01
    np.testing.assert_array_equal(Desirability("raw")(np.array([-0.2, 0.4, 1.3])), [0.0, 0.4, 1.0])
    assert Desirability("maximise", 0, 1, k=1)(np.array([1e9]))[0] == 1.0  # no overflow
    with pytest.raises(ValueError, match="low < high"):
        Desirability("maximise", low=3, high=3)
    with pytest.raises(ValueError, match="transform must be one of"):
        Desirability("maximize")


def test_components_combine_by_weighted_geometric_mean_and_filters_zero_the_score():
    score = ScoreFunction([
        Component("qed", lambda mols: np.array([QED.qed(m) for m in mols]), Desirability("raw"), weight=2.0),
        Component("mw", lambda mols: np.array([Descriptors.MolWt(m) for m in mols]),
                  Desirability("minimise", low=100, high=300), weight=1.0),
    ], filters=[SmartsFilter("[N+](=O)[O-]")])
    table = score(MOLECULES + ["C1CC", "", ASPIRIN])
    assert table["status"].tolist() == ["ok"] * 5 + ["invalid"] * 2 + ["ok"]
    assert table.loc[5, "error"] and table.loc[5, "score"] == 0.0
    for i, smiles in enumerate(MOLECULES[:4]):
        mol = Chem.MolFromSmiles(smiles)
        qed, mw = QED.qed(mol), reinvent_sigmoid(Descriptors.MolWt(mol), 100, 300, 0.5)
        assert table.loc[i, "qed"] == pytest.approx(qed) and table.loc[i, "mw_score"] == pytest.approx(1 - mw)
        assert table.loc[i, "score"] == pytest.approx(geometric_mean([qed, 1 - mw], [2.0, 1.0]), rel=1e-12)
    assert table.loc[4, "score"] == 0.0 and table.loc[4, "qed"] > 0  # nitro: forbidden, components still shown
    assert table.loc[7, "score"] == table.loc[2, "score"]
    assert score.calls == 5  # distinct valid molecules; the repeated aspirin came from the cache
    score(["OCC", "CCO"])  # the same molecule written two ways
    assert score.calls == 5


def test_required_substructure_and_similarity_component(tmp_path):
    spec = tmp_path / "score.toml"
    spec.write_text(f'''
[[component]]
kind = "similarity"
query = "{ASPIRIN}"

[[component]]
kind = "sa"
transform = "minimise"
low = 2.0
high = 6.0
weight = 0.5

[[filter]]
smarts = "c1ccccc1"
forbid = false
''')
    score = ScoreFunction.from_toml(spec)
    table = score(MOLECULES)
    query = AllChem.GetMorganFingerprintAsBitVect(Chem.MolFromSmiles(ASPIRIN), 2, nBits=2048)
    for i, smiles in enumerate(MOLECULES):
        mol = Chem.MolFromSmiles(smiles)
        expected = DataStructs.TanimotoSimilarity(AllChem.GetMorganFingerprintAsBitVect(mol, 2, nBits=2048), query)
        assert table.loc[i, "similarity"] == pytest.approx(expected, abs=1e-12)
        assert table.loc[i, "sa"] == pytest.approx(sa_score(mol))
    assert table.loc[0, "score"] == 0.0  # ethanol has no benzene ring
    assert table.loc[2, "similarity"] == 1.0 and table.loc[2, "score"] > table.loc[3, "score"] > 0


def test_model_component_reads_a_symmol_model_directory(tmp_path, example_data):
    import pandas as pd

    esol = pd.read_csv(example_data / "esol.csv").iloc[:200]
    target = [c for c in esol.columns if c != "smiles"][-1]
    model = QSARModel("regression", hidden=(32,), fp_size=512, epochs=2, patience=0, progress=False)
    model.fit(esol["smiles"], esol[target].to_numpy(), target_names=["logS"]).save(tmp_path / "esol_model")
    (tmp_path / "score.toml").write_text('''
[[component]]
kind = "model"
path = "esol_model"
target = "logS"
transform = "maximise"
low = -6.0
high = 0.0
''')
    score = ScoreFunction.from_toml(tmp_path / "score.toml")
    table = score(MOLECULES)
    predicted = QSARModel.load(tmp_path / "esol_model").predict_scores(
        [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in MOLECULES])[:, 0]
    np.testing.assert_allclose(table["logS"], predicted, rtol=1e-6)
    np.testing.assert_allclose(table["score"], [reinvent_sigmoid(v, -6, 0, 0.5) for v in predicted], rtol=1e-5)


@pytest.mark.parametrize(("text", "message"), [
    ('[[component]]\nkind = "docking"\n', "component 1 (docking): unknown kind 'docking'"),
    ('[[component]]\nkind = "property"\n', "component 1 (property): missing key 'name'"),
    ('[[component]]\nkind = "property"\nname = "MolWeight"\n', "unknown RDKit descriptor 'MolWeight'"),
    ('[[component]]\nkind = "qed"\ntransform = "maximize"\n', "transform must be one of"),
    ('[[component]]\nkind = "qed"\nquery = "CCO"\n', "unknown key(s) ['query'] for kind 'qed'"),
    ('[[component]]\nkind = "similarity"\nquery = "C1CC"\n', "query is not a valid SMILES"),
    ('[[component]]\nkind = "qed"\n[[filter]]\nsmarts = "[C"\n', "filter 1: not a valid SMARTS"),
    ('[[filter]]\nsmarts = "C"\n', "no [[component]] entries"),
    ('[[component]\n', "not valid TOML"),
    ('[scoring]\nx = 1\n', "unknown section(s) ['scoring']"),
])
def test_spec_errors_name_the_file_the_entry_and_the_reason(tmp_path, text, message):
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    with pytest.raises(ValueError) as error:
        ScoreFunction.from_toml(spec)
    assert str(spec) in str(error.value) and message in str(error.value)
