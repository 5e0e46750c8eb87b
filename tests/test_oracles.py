"""PMO's RDKit oracles (symmol.generation.oracles) against PyTDC's values, and as a score component."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, rdBase

from symmol.generation.oracles import ORACLES, PMO_TASKS, at_least, at_most, clipped, gaussian, oracle
from symmol.generation.scoring import ScoreFunction

REFERENCE = Path(__file__).parent / "data" / "pmo_oracle_reference.csv"
HOP_TASKS = ("deco_hop", "scaffold_hop")  # 2D pharmacophore fingerprints: ~40 ms a molecule


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    """PyTDC 1.1.15's values (``bench/pmo_oracle_reference.py``): 117 sample molecules, the tasks' references."""
    table = pd.read_csv(REFERENCE, skiprows=1)  # line 1: provenance
    with rdBase.BlockLogs():
        table["mol"] = [Chem.MolFromSmiles(s) for s in table["smiles"]]
    return table


def test_the_twenty_rdkit_tasks_of_pmo():
    assert len(PMO_TASKS) == 20
    assert not {"drd2", "gsk3b", "jnk3"} & set(PMO_TASKS)  # those need PMO's trained classifiers


@pytest.mark.parametrize("task", PMO_TASKS)
def test_every_task_equals_pytdc_on_real_molecules(reference, task):
    rows = reference.iloc[::4] if task in HOP_TASKS else reference
    ours = ORACLES[task].score_mols(list(rows["mol"]))
    np.testing.assert_allclose(ours, rows[task].to_numpy(), rtol=0, atol=1e-12)
    assert 0.0 <= ours.min() and ours.max() <= 1.0


def test_reference_values_span_the_range(reference):
    """The table is not all zeros: the tasks' own molecules score high where they should."""
    by_source = reference.set_index("source")
    for task, molecule in [("celecoxib_rediscovery", "celecoxib"), ("troglitazone_rediscovery", "troglitazone"),
                           ("thiothixene_rediscovery", "thiothixene"), ("albuterol_similarity", "albuterol"),
                           ("mestranol_similarity", "mestranol"), ("isomers_c7h8n2o2", "a C7H8N2O2 isomer")]:
        assert by_source.loc[f"reference:{molecule}", task] == pytest.approx(1.0, abs=1e-12)
    # the hop tasks ask to keep the pharmacophore but change decorations or scaffold: the reference is halfway
    assert by_source.loc["reference:pharmacophore of the hop tasks", "deco_hop"] == pytest.approx(0.5)
    high = (reference[list(PMO_TASKS)] > 0.3).sum()
    assert set(high[high == 0].index) == {"sitagliptin_mpo", "valsartan_smarts"}  # REINVENT's AUC: 0.02, 0.18


def test_modifiers_follow_guacamol():
    assert gaussian(2.0, 0.5)(2.0) == 1.0
    assert gaussian(2.0, 0.5)(3.0) == pytest.approx(np.exp(-2.0))
    assert at_most(1.0, 1.0)(-5.0) == 1.0 and at_most(1.0, 1.0)(2.0) == pytest.approx(np.exp(-0.5))
    assert at_least(100.0, 10.0)(150.0) == 1.0 and at_least(100.0, 10.0)(90.0) == pytest.approx(np.exp(-0.5))
    assert [clipped(0.75)(x) for x in (-0.1, 0.3, 0.75, 0.9)] == pytest.approx([0.0, 0.4, 1.0, 1.0])


def test_isomer_score_is_one_for_the_formula_and_counts_hydrogens():
    isomers = oracle("isomers_c7h8n2o2")
    assert isomers(Chem.MolFromSmiles("Nc1ccc(N)c(C(=O)O)c1")) == pytest.approx(1.0)  # C7H8N2O2
    # C7H6N2O2: hydrogens 6 of 8 (exp(-2)), 17 atoms of 19 (exp(-0.5)), C, N, O exact: gmean exp(-0.5)
    assert isomers(Chem.MolFromSmiles("Nc1ccc2[nH]c(=O)oc2c1")) == pytest.approx(np.exp(-0.5), rel=1e-12)


def test_unknown_task_lists_the_tasks():
    with pytest.raises(ValueError, match="unknown PMO task 'drd2'; choose from qed, celecoxib_rediscovery"):
        oracle("drd2")


def test_pmo_component_in_a_score_spec(tmp_path, reference):
    spec = tmp_path / "score.toml"
    spec.write_text('[[component]]\nkind = "pmo"\ntask = "osimertinib_mpo"\n\n'
                    '[[component]]\nkind = "qed"\n')
    score = ScoreFunction.from_toml(spec)
    rows = reference.iloc[:10]
    scored = score(list(rows["smiles"]))
    np.testing.assert_allclose(scored["osimertinib_mpo"], rows["osimertinib_mpo"], atol=1e-12)
    np.testing.assert_allclose(scored["score"], np.sqrt(rows["osimertinib_mpo"] * rows["qed"]), atol=1e-12)
    spec.write_text('[[component]]\nkind = "pmo"\ntask = "jnk3"\n')
    with pytest.raises(ValueError, match=r"component 1 \(pmo\): unknown PMO task 'jnk3'"):
        ScoreFunction.from_toml(spec)
