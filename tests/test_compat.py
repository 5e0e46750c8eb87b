"""Files written by symmol before the featurizer and model registries still load and give the same results.

The fixtures in ``tests/data/legacy`` were written by symmol 0.1.0 at commit 5f82bc6 (model.json format 1
with a ``"morgan"``/``"graph"`` featurizer; fingerprint indexes of formats 1 and 2), on ESOL molecules.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from symmol.estimator import QSARModel
from symmol.featurizers import MolGraphFeaturizer, MorganFingerprint, featurizer_from_dict
from symmol.models.store import load_model, save_model
from symmol.similarity.index import FingerprintIndex

LEGACY = Path(__file__).parent / "data" / "legacy"


@pytest.fixture(scope="module")
def expected():
    return pd.read_csv(LEGACY / "predictions.csv")


def test_old_featurizer_vocabulary_reads_as_todays_kinds():
    assert featurizer_from_dict({"kind": "morgan", "radius": 3, "fp_size": 1024, "counts": True,
                                 "features": False, "chirality": True}) == MorganFingerprint(3, 1024, True, False, True)
    fcfp = featurizer_from_dict({"kind": "morgan", "radius": 1, "fp_size": 128, "counts": False, "features": True})
    assert fcfp.kind == "fcfp" and fcfp.to_dict() == {"kind": "fcfp", "radius": 1, "fp_size": 128, "counts": False,
                                                      "chirality": False}
    assert featurizer_from_dict({"kind": "graph"}) == MolGraphFeaturizer()


@pytest.mark.parametrize("name", ["mlp_v1", "fcfp_v1", "gin_v1"])
def test_format_1_models_load_and_predict_as_before(name, expected, tmp_path):
    document = json.loads((LEGACY / name / "model.json").read_text())
    assert document["format_version"] == 1 and "featurizer" in document["spec"]
    estimator = QSARModel.load(LEGACY / name)
    scores = estimator.predict_scores(expected["smiles"])[:, 0]
    np.testing.assert_allclose(scores, expected[name].to_numpy(), rtol=1e-6, atol=1e-6)
    resaved = save_model(estimator.model_, tmp_path / name)  # written again in today's format
    again = load_model(resaved)
    assert json.loads((resaved / "model.json").read_text())["format_version"] == 2
    np.testing.assert_array_equal(again.predict_batch(again.featurize(expected[["smiles"]]).batch)[:, 0], scores)


def test_fcfp_model_keeps_its_fingerprint():
    model = load_model(LEGACY / "fcfp_v1")
    assert model.featurizer == MorganFingerprint(radius=1, fp_size=128, features=True)
    assert QSARModel.load(LEGACY / "fcfp_v1").get_params()["fingerprint"] == "fcfp"


@pytest.mark.parametrize("name", ["index_v1", "index_v2"])
def test_indexes_of_formats_1_and_2_open_and_search_as_before(name):
    index = FingerprintIndex.open(LEGACY / name, verify=True)
    assert index.meta["format_version"] == int(name[-1])
    assert index.featurizer() == MorganFingerprint(radius=2, fp_size=512)
    before = pd.read_csv(LEGACY / "index_hits.csv", keep_default_na=False)
    queries = pd.read_csv(LEGACY / "predictions.csv")["smiles"].iloc[:5].tolist()
    hits = index.search(queries, k=3)
    pd.testing.assert_frame_equal(hits.reset_index(drop=True), before, check_dtype=False)


def test_atom_pair_index_of_format_2_opens():
    index = FingerprintIndex.open(LEGACY / "index_atompair_v2", verify=True)
    assert index.featurizer().to_dict() == {"kind": "atompair", "fp_size": 256, "counts": False}
    assert len(index) == 60 and index.invalid()["row"].tolist() == [60]
