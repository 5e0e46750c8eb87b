"""REINVENT's policy gradient (symmol.generation.reinforcement) against PyTorch, and PMO's AUC top-10 by hand."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from symmol.generation.language_model import LanguageModelSpec, SmilesLanguageModel
from symmol.generation.metrics import auc_top_k
from symmol.generation.reinforcement import (
    DiversityFilter,
    ExperienceReplay,
    ReinforcementSettings,
    _policy_step,
    optimize,
)
from symmol.generation.scoring import ScoreFunction, component_from_dict

torch = pytest.importorskip("torch")

from torch_language_model import torch_log_likelihoods, torch_twin  # noqa: E402  (after the skip)


@pytest.fixture(scope="module")
def smiles(example_data) -> list[str]:
    with gzip.open(example_data / "zinc20k.smi.gz", "rt") as handle:
        return [line.split()[0] for _, line in zip(range(80), handle, strict=False)]


@pytest.fixture(scope="module")
def prior(smiles) -> SmilesLanguageModel:
    model = SmilesLanguageModel(LanguageModelSpec(SmilesLanguageModel.build_vocabulary(smiles), embedding=8,
                                                  units=16, layers=2, max_length=70, seed=1))
    model.fit(smiles, epochs=3, batch_size=16, learning_rate=1e-2)
    return model


def test_policy_step_matches_pytorch(smiles):
    agent = SmilesLanguageModel(LanguageModelSpec(SmilesLanguageModel.build_vocabulary(smiles), embedding=8, units=16,
                                                  layers=2, max_length=70, seed=4))
    twin = torch_twin(agent)
    tokens, _ = agent.encode(smiles[:12])
    augmented = np.linspace(-60.0, -20.0, 12).astype(np.float32)
    settings = ReinforcementSettings(learning_rate=1e-2, likelihood_penalty=5e3)
    loss, log_likelihood = _policy_step(agent, settings)(tokens, augmented)
    parameters = [p for module in twin for p in module.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-2)
    expected_ll = torch_log_likelihoods(twin, tokens).sum(dim=1)
    expected = torch.mean((torch.from_numpy(augmented) - expected_ll) ** 2) + 5e3 * torch.mean(-1.0 / expected_ll)
    optimizer.zero_grad()
    expected.backward()
    optimizer.step()
    np.testing.assert_allclose(log_likelihood, expected_ll.detach().numpy(), rtol=1e-5)
    assert float(loss) == pytest.approx(expected.item(), rel=1e-5)
    after = agent.get_param_values()
    np.testing.assert_allclose(after["gru0.W_x"], twin[1].weight_ih_l0.detach().numpy().T, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(after["output.b"], twin[2].bias.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_auc_top_k_by_hand():
    # calls 1-2: top-2 mean 0.3 (trapezoid from 0: 0.3); calls 3-4: top-2 mean 0.6 (2 x 0.45 = 0.9);
    # finished at 4 of 6 calls: held at 0.6 for 2 calls (1.2); (0.3 + 0.9 + 1.2) / 6 = 0.4
    assert auc_top_k([0.2, 0.4, 0.1, 0.8], k=2, budget=6, every=2) == pytest.approx(0.4)
    assert auc_top_k([0.2, 0.4, 0.1, 0.8], k=2, budget=6, every=2, finished=False) == pytest.approx(1.2 / 6)
    # a perfect score from the first call loses only the first trapezoid: (1 + 4 x 2) / 10
    assert auc_top_k(np.ones(10), k=1, budget=10, every=2) == pytest.approx(0.9)
    assert auc_top_k(np.ones(50), k=1, budget=10, every=2) == pytest.approx(0.9)  # calls past the budget ignored
    with pytest.raises(ValueError):
        auc_top_k([], k=10)


def test_diversity_filter_caps_each_scaffold():
    scaffold = DiversityFilter(bucket_size=2, min_score=0.4)
    smiles = ["Cc1ccccc1", "Oc1ccccc1", "Nc1ccccc1", "Fc1ccccc1", "Cc1ccccc1", "CCO", None]
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.9, 0.9, 0.0])
    filtered = scaffold(smiles, scores)
    # the benzene bucket fills with toluene and phenol; aniline is capped; a low score neither counts
    # nor is capped; toluene again is already in its bucket; ethanol has the empty scaffold
    assert filtered.tolist() == [0.9, 0.8, 0.0, 0.1, 0.9, 0.9, 0.0]


def test_experience_replay_keeps_the_best_and_draws_by_score():
    memory = ExperienceReplay(memory_size=2)
    tokens = np.array([[1, 5, 2, 0], [1, 6, 2, 0], [1, 7, 7, 2]], dtype=np.int32)
    memory.add(["A", "B", None], tokens, np.array([0.5, 0.0, 0.9]), np.array([-10.0, -11.0, -12.0]))
    memory.add(["C"], tokens[2:], np.array([0.9]), np.array([-12.0]))
    assert sorted(memory.entries) == ["A", "C"]
    rows, scores, prior = memory.sample(2, np.random.default_rng(0))
    assert sorted(scores.tolist()) == [0.5, 0.9] and sorted(prior.tolist()) == [-12.0, -10.0]
    assert any(np.array_equal(r, [1, 7, 7, 2]) for r in rows)


def test_optimize_counts_calls_and_trains_the_agent_only(prior):
    before = prior.get_param_values()
    score = ScoreFunction([component_from_dict({"kind": "qed", "transform": "raw"})])
    settings = ReinforcementSettings(budget=40, batch_size=16, replay_size=4, max_steps=8, seed=2)
    result = optimize(prior, score, settings)
    assert all(np.array_equal(v, prior.get_param_values()[k]) for k, v in before.items())
    assert any(not np.array_equal(v, result.agent.get_param_values()[k]) for k, v in before.items())
    steps, molecules = result.steps, result.molecules
    assert len(steps) <= 8 and (steps["calls"].iloc[-1] >= 40 or len(steps) == 8)
    assert molecules["call"].tolist() == list(range(1, len(molecules) + 1)) == list(range(1, score.calls + 1))
    assert molecules["step"].between(1, len(steps)).all() and molecules["step"].is_monotonic_increasing
    assert np.isfinite(steps["loss"]).all() and 0.0 <= result.auc_top10 <= 1.0
    assert result.summary()["top10_mean"] == pytest.approx(steps["top10_mean"].iloc[-1])


def test_settings_refuse_nonsense():
    with pytest.raises(ValueError, match="diversity_filter"):
        ReinforcementSettings(diversity_filter="tanimoto")
    with pytest.raises(ValueError):
        ReinforcementSettings(budget=0)
