"""Active learning: acquisition functions, pool rules, a campaign on real docking scores, kill -9 resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from symmol import QSARModel
from symmol.active_learning import CampaignSettings, Pool, acquisition_scores, propose_batch, run_campaign
from symmol.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "enamine10k_sample.csv.gz"  # 2,000 molecules, docking scores (lower is better)
FAST = {"epochs": 15}


def test_acquisition_functions_match_their_formulas():
    mean, std = np.array([0.0, 1.0, 2.0]), np.array([2.0, 1.0, 0.1])
    np.testing.assert_array_equal(acquisition_scores("greedy", mean, None, 0.0), mean)
    np.testing.assert_allclose(acquisition_scores("ucb", mean, std, 0.0, beta=2.0), mean + 2 * std)
    best = 1.5
    gain = mean - best - 0.01
    expected = gain * scipy.stats.norm.cdf(gain / std) + std * scipy.stats.norm.pdf(gain / std)
    np.testing.assert_allclose(acquisition_scores("ei", mean, std, best), expected)
    # a wide prediction below the best found beats a narrow one just below it
    wide_vs_narrow = acquisition_scores("ei", np.array([1.0, 1.45]), np.array([2.0, 0.01]), best)
    assert wide_vs_narrow[0] > 0.5 > 1e-6 > wide_vs_narrow[1]
    draws = np.array([acquisition_scores("thompson", mean, std, 0.0, rng=np.random.default_rng(s))
                      for s in range(4000)])
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.1)
    np.testing.assert_allclose(draws.std(axis=0), std, rtol=0.06)
    with pytest.raises(ValueError, match="needs the surrogate's spread"):
        acquisition_scores("ucb", mean, None, 0.0)


def test_pool_rules_exclude_unusable_rows_and_count_ties_in_the_top():
    table = pd.DataFrame({"smiles": ["CCO", "not a smiles", "CCN", "CCO", "c1ccccc1", "CCC", "CCCl"],
                          "score": [-9.0, -8.0, np.nan, -7.0, 0.0, -9.0, -5.0]})
    settings = CampaignSettings("score", "minimize", failed_values=(0.0,), top_fraction=0.25)
    pool = Pool.build(table, settings, QSARModel("regression", progress=False))
    np.testing.assert_array_equal(pool.usable, [0, 5, 6])
    np.testing.assert_array_equal(pool.values, [9.0, 9.0, 5.0])  # oriented: larger is better
    reasons = dict(zip(pool.excluded["row"], pool.excluded["reason"], strict=True))
    assert reasons[1].startswith("invalid SMILES") and reasons[2] == "no usable score (nan)"
    assert reasons[3] == "duplicate SMILES (first row kept)" and reasons[4] == "no usable score (0.0)"
    np.testing.assert_array_equal(pool.top_mask(0.25), [True, True, False])  # k = 1, its tie included


@pytest.fixture(scope="module")
def greedy_campaign(tmp_path_factory):
    out = tmp_path_factory.mktemp("al") / "greedy"
    settings = CampaignSettings("score", "minimize", initial=0.05, acquire_size=0.05, rounds=2, acquisition="greedy",
                                surrogate_options=FAST, ensemble_size=2, seed=0)
    return out, settings, run_campaign(SAMPLE, settings, out, progress=False)


def test_greedy_campaign_on_docking_scores_beats_random(greedy_campaign):
    out, _, result = greedy_campaign
    curve = pd.read_csv(out / "curve.csv")
    assert list(curve.columns[:4]) == ["round", "n_evaluated", "fraction_evaluated", "fraction_top_found"]
    assert curve["n_evaluated"].tolist() == [100, 200, 300] and result.n_top >= 20
    # random acquisition finds, in expectation, the evaluated fraction of the top; the surrogate does better
    assert curve["fraction_top_found"].iloc[-1] > 2 * curve["fraction_evaluated"].iloc[-1]
    acquired = pd.read_csv(out / "acquired.csv")
    assert acquired["row"].is_unique and len(acquired) == 300
    assert (out / "curve.png").read_bytes()[:4] == b"\x89PNG"
    # the molecules acquired by the surrogate are better docked than the random initial batch
    by_round = acquired.groupby("round")["score"].mean()
    assert by_round[2] < by_round[0] - 0.3


def test_finished_campaign_returns_at_once_and_refuses_other_settings(greedy_campaign):
    out, settings, result = greedy_campaign
    again = run_campaign(SAMPLE, settings, out, progress=False)
    pd.testing.assert_frame_equal(again.curve, result.curve)
    with pytest.raises(ValueError, match="other settings"):
        run_campaign(SAMPLE, CampaignSettings("score", "minimize", initial=0.05, acquire_size=0.05, rounds=2,
                                              acquisition="ucb", surrogate_options=FAST, ensemble_size=2), out,
                     progress=False)


def test_kill_9_resume_acquires_what_an_uninterrupted_run_does(greedy_campaign, tmp_path):
    reference, _, _ = greedy_campaign
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "symmol", "active", str(SAMPLE), "--smiles-column", "smiles",
               "--oracle-column", "score", "--objective", "minimize", "--initial", "0.05", "--acquire-size", "0.05",
               "--rounds", "2", "--acquisition", "greedy", "--ensemble-size", "2", "--epochs", "15", "--seed", "0",
               "--out", str(out), "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not ((out / "curve.csv").is_file()
                                               and len(pd.read_csv(out / "curve.csv")) >= 2):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert len(pd.read_csv(out / "curve.csv")) in (2, 3)
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    for name in ("acquired.csv", "curve.csv"):
        resumed, uninterrupted = pd.read_csv(out / name), pd.read_csv(reference / name)
        keep = [c for c in resumed.columns if c != "seconds"]
        pd.testing.assert_frame_equal(resumed[keep], uninterrupted[keep])


def test_ucb_and_contract_cli(tmp_path, capsys):
    out = tmp_path / "ucb"
    assert main(["active", str(SAMPLE), "--smiles-column", "smiles", "--oracle-column", "score", "--objective",
                 "minimize", "--initial", "0.05", "--acquire-size", "100", "--rounds", "1", "--acquisition", "ucb",
                 "--ensemble-size", "2", "--epochs", "10", "--seed", "1", "--out", str(out), "--no-progress"]) == 0
    assert "200 evaluated (10.0%)" in capsys.readouterr().out
    curve = pd.read_csv(out / "curve.csv")
    assert curve["round"].tolist() == [0, 1] and curve["n_evaluated"].tolist() == [100, 200]
    assert curve["fraction_evaluated"].tolist() == pytest.approx([0.05, 0.1], abs=1e-3)  # of the usable rows


def test_propose_batch_ranks_unmeasured_molecules(tmp_path):
    table = pd.read_csv(SAMPLE)
    labels = table.sample(150, random_state=0)
    settings = CampaignSettings("score", "minimize", acquisition="greedy", surrogate_options=FAST, ensemble_size=2)
    proposal = propose_batch(table[["smiles"]], labels, settings, size=50)
    assert len(proposal) == 50 and not set(proposal["smiles"]) & set(labels["smiles"])
    assert proposal["acquisition_score"].is_monotonic_decreasing
    np.testing.assert_allclose(proposal["predicted"], -proposal["acquisition_score"], rtol=1e-5)  # greedy on -score
    measured = table.set_index("smiles").loc[proposal["smiles"], "score"]
    assert measured.mean() < table["score"].mean() - 0.3  # the proposals dock better than the pool on average
