"""Metrics of generated sets (symmol.generation.metrics) against plain RDKit computations of MOSES's definitions.

The full comparison with the ``molsets`` package itself is ``bench/generation_metrics.py``.
"""

from __future__ import annotations

import gzip
import importlib.util
from collections import Counter

import numpy as np
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import AllChem, Crippen
from rdkit.Chem.Scaffolds import MurckoScaffold
from scipy.stats import wasserstein_distance

from symmol.generation.metrics import (
    GenerationReference,
    canonical_valid,
    fraction_passes_filters,
    fraction_unique,
    fraction_valid,
    generation_metrics,
    internal_diversity,
    novelty,
    passes_filters,
)


@pytest.fixture(scope="module")
def zinc(example_data) -> list[str]:
    with gzip.open(example_data / "zinc20k.smi.gz", "rt") as handle:
        return [line.split()[0] for line in handle][:600]


def rdkit_fingerprints(smiles):
    return [AllChem.GetMorganFingerprintAsBitVect(Chem.MolFromSmiles(s), 2, nBits=1024) for s in smiles]


def test_validity_uniqueness_and_novelty_follow_moses():
    generated = ["CCO", "OCC", "C1CC", "", None, "c1ccccc1", "c1cccc1", "C(C)(C)(C)(C)C", "CCO"]
    assert canonical_valid(generated) == ["CCO", "CCO", "c1ccccc1", "CCO"]
    assert fraction_valid(generated) == pytest.approx(4 / 9)
    canonical = canonical_valid(generated)
    assert fraction_unique(canonical) == pytest.approx(2 / 4)
    assert fraction_unique(canonical, 1) == 1.0
    assert fraction_unique(canonical, 100) == pytest.approx(2 / 4)  # fewer than k: over what there is
    assert novelty(canonical, ["CCO"]) == pytest.approx(1 / 2)
    assert novelty(canonical, []) == 1.0
    with pytest.raises(ValueError, match="no SMILES"):
        fraction_valid([])
    with pytest.raises(ValueError, match="no valid"):
        fraction_unique([])


def test_internal_diversity_matches_rdkit_tanimoto(zinc):
    smiles = zinc[:300] + zinc[:20]  # repeats count, as in MOSES
    fps = rdkit_fingerprints(smiles)
    matrix = np.array([DataStructs.BulkTanimotoSimilarity(fp, fps) for fp in fps])
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    from symmol.generation.metrics import _packed_ecfp4

    packed = _packed_ecfp4(mols)
    assert internal_diversity(packed, 1) == pytest.approx(1 - matrix.mean(), abs=1e-12)
    assert internal_diversity(packed, 2) == pytest.approx(1 - np.mean(np.sqrt((matrix ** 2).mean(axis=1))), abs=1e-12)
    assert 0.8 < internal_diversity(packed, 1) < 0.95  # ZINC is diverse
    with pytest.raises(ValueError, match="p must be"):
        internal_diversity(packed, 0)


def test_filters_name_what_moses_rejects():
    assert passes_filters(Chem.MolFromSmiles("CC(=O)Nc1ccc(O)cc1"))  # paracetamol
    assert not passes_filters(Chem.MolFromSmiles("C[N+](C)(C)C"))  # a charge
    assert not passes_filters(Chem.MolFromSmiles("Ic1ccccc1"))  # iodine is not allowed
    assert not passes_filters(Chem.MolFromSmiles("C1CCCCCCC1"))  # an 8-membered ring
    assert not passes_filters(Chem.MolFromSmiles("O=C1NC(=S)SC1=Cc1ccccc1"))  # PAINS ene_rhod
    mols = [Chem.MolFromSmiles(s) for s in ("CC(=O)Nc1ccc(O)cc1", "Ic1ccccc1")]
    assert fraction_passes_filters(mols) == 0.5


def _cosine(a: Counter, b: Counter) -> float:
    keys = set(a) | set(b)
    va, vb = np.array([a[k] for k in keys], float), np.array([b[k] for k in keys], float)
    return float(va @ vb / np.linalg.norm(va) / np.linalg.norm(vb))


def test_reference_metrics_match_direct_rdkit_computations(zinc):
    generated, reference_smiles = zinc[:200], zinc[300:600]
    reference = GenerationReference.from_smiles(reference_smiles, fcd=False)
    assert reference.fcd is None and reference.fingerprints.shape == (300, 16)
    training = canonical_valid(zinc[150:250])
    metrics = generation_metrics(generated + ["not a smiles"], reference, training=training, k=(100,))
    assert metrics["valid"] == pytest.approx(200 / 201)
    assert metrics["unique@100"] == 1.0
    assert metrics["FCD/Test"] is None
    assert metrics["novelty"] == pytest.approx(150 / 200)  # zinc rows are distinct; 50 of them are in training
    gen_fps, ref_fps = rdkit_fingerprints(generated), rdkit_fingerprints(reference_smiles)
    snn = np.mean([max(DataStructs.BulkTanimotoSimilarity(fp, ref_fps)) for fp in gen_fps])
    assert metrics["SNN/Test"] == pytest.approx(snn, abs=1e-12)

    def fragments(smiles):
        return Counter(f for s in smiles for f in Chem.MolToSmiles(Chem.FragmentOnBRICSBonds(Chem.MolFromSmiles(s)))
                       .split("."))

    def scaffolds(smiles):
        found = (MurckoScaffold.GetScaffoldForMol(Chem.MolFromSmiles(s)) for s in smiles)
        return Counter(Chem.MolToSmiles(m) for m in found if m.GetRingInfo().NumRings() >= 2)

    assert metrics["Frag/Test"] == pytest.approx(_cosine(fragments(reference_smiles), fragments(generated)), abs=1e-12)
    assert metrics["Scaf/Test"] == pytest.approx(_cosine(scaffolds(reference_smiles), scaffolds(generated)), abs=1e-12)
    logp = wasserstein_distance([Crippen.MolLogP(Chem.MolFromSmiles(s)) for s in reference_smiles],
                                [Crippen.MolLogP(Chem.MolFromSmiles(s)) for s in generated])
    assert metrics["logP"] == pytest.approx(logp, abs=1e-12)
    assert 0 < metrics["SA"] < 1 and 0 < metrics["QED"] < 0.1 and 0 < metrics["weight"] < 30
    assert 0.8 < metrics["IntDiv"] < 0.95 and metrics["Filters"] > 0.5


def test_no_valid_molecule_is_one_clear_error():
    with pytest.raises(ValueError, match="none of the 2 SMILES is valid"):
        generation_metrics(["C1CC", "xyz"])


@pytest.mark.skipif(importlib.util.find_spec("fcd_torch") is None, reason="fcd_torch is not installed")
def test_fcd_of_a_set_against_itself_is_zero_and_grows_with_difference(zinc):
    reference = GenerationReference.from_smiles(zinc[:300])
    assert generation_metrics(zinc[:300], reference)["FCD/Test"] == pytest.approx(0.0, abs=1e-3)
    assert generation_metrics(["CCO", "CCN", "CCC", "CCCl", "CCBr"], reference)["FCD/Test"] > 10
