"""Goal-directed generation: REINVENT's augmented-likelihood policy gradient on a SMILES language model.

An *agent* starts as a copy of the *prior* (a trained :class:`~symmol.generation.language_model.SmilesLanguageModel`)
and learns to sample molecules that score well while staying close to the prior (Olivecrona et al.,
J. Cheminform. 2017, doi:10.1186/s13321-017-0235-x; REINVENT 4, Loeffler et al., J. Cheminform. 2024,
doi:10.1186/s13321-024-00812-5). Each step:

1. the agent samples ``batch_size`` token sequences; repeated sequences count once;
2. the score function rates them (0 for a sequence RDKit rejects or without an end token); each distinct
   valid molecule scored for the first time is one oracle call (PMO's count);
3. the *diversity filter* sets to 0 the score of a molecule whose Bemis–Murcko scaffold already has
   ``bucket_size`` molecules scoring at least ``min_score`` (REINVENT's identical-Murcko-scaffold
   filter), so the agent cannot farm one scaffold;
4. the loss is ``mean((log P_prior(x) + sigma · S(x) − log P_agent(x))²)`` over the batch plus
   ``replay_size`` sequences drawn from the *experience replay* memory (the ``memory_size`` best distinct
   molecules so far, drawn with probability proportional to their scores), plus REINVENT 1's penalty on
   high sequence likelihoods ``likelihood_penalty · mean(−1 / log P_agent(x))``; one Adam step.

The defaults are those of REINVENT in PMO (``mol_opt``'s ``main/reinvent/hparams_default.yaml``:
``learning_rate`` 5e-4, ``batch_size`` 64, ``sigma`` 500, ``experience_replay`` 24), the penalty REINVENT 1's
(5,000); REINVENT 4 uses ``sigma`` 128 with its diversity filters. The run stops when the oracle calls
reach ``budget`` (the last batch may pass it; :func:`~symmol.generation.metrics.auc_top_k` reads the
first ``budget`` calls) or after ``max_steps``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
from rdkit import Chem, rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

from symmol.compile import get_backend_mode
from symmol.compile.heap import retained_heap
from symmol.generation.language_model import PAD, SmilesLanguageModel
from symmol.generation.metrics import auc_top_k
from symmol.generation.scoring import ScoreFunction
from symmol.nn.updates import adam

__all__ = ["DiversityFilter", "ExperienceReplay", "OptimizationResult", "ReinforcementSettings", "optimize"]


@dataclass(frozen=True)
class ReinforcementSettings:
    """Settings of :func:`optimize` (see the module docstring for their roles and sources).

    Attributes
    ----------
    budget
        Oracle calls (distinct valid molecules scored) after which the run stops.
    batch_size, learning_rate, sigma
        Sequences sampled per step, Adam's step size, the weight of the score in the augmented likelihood.
    replay_size, memory_size
        Sequences replayed per step (0: no replay) and molecules kept in the replay memory.
    likelihood_penalty
        Coefficient of ``mean(-1 / log P_agent)`` (0: none).
    diversity_filter, bucket_size, min_score
        ``"scaffold"`` (identical Murcko scaffolds) or ``"none"``; molecules per scaffold before its
        scores become 0; the score from which a molecule counts in its bucket.
    temperature, seed, max_steps
        Sampling temperature, the seed of sampling and replay, a cap on steps (``None``: the budget only).
    """

    budget: int = 10_000
    batch_size: int = 64
    learning_rate: float = 5e-4
    sigma: float = 500.0
    replay_size: int = 24
    memory_size: int = 100
    likelihood_penalty: float = 5e3
    diversity_filter: str = "scaffold"
    bucket_size: int = 25
    min_score: float = 0.4
    temperature: float = 1.0
    seed: int = 0
    max_steps: int | None = None

    def __post_init__(self) -> None:
        if min(self.budget, self.batch_size, self.memory_size, self.bucket_size) < 1:
            raise ValueError("budget, batch_size, memory_size and bucket_size must be positive")
        if self.replay_size < 0 or self.likelihood_penalty < 0 or not self.sigma > 0:
            raise ValueError("replay_size and likelihood_penalty must be >= 0 and sigma > 0")
        if self.diversity_filter not in ("scaffold", "none"):
            raise ValueError(f"diversity_filter must be 'scaffold' or 'none', got {self.diversity_filter!r}")
        if not self.learning_rate > 0 or not self.temperature > 0:
            raise ValueError("learning_rate and temperature must be positive")


def murcko_key(mol: Chem.Mol) -> str:
    """Canonical SMILES of the Bemis–Murcko scaffold (``""`` for an acyclic molecule)."""
    return Chem.MolToSmiles(MurckoScaffold.GetScaffoldForMol(mol))


class DiversityFilter:
    """REINVENT's identical-Murcko-scaffold filter: at most ``bucket_size`` good molecules per scaffold.

    A molecule scoring at least ``min_score`` joins its scaffold's bucket (each distinct molecule once);
    once the bucket holds ``bucket_size`` molecules, the scores of newcomers with that scaffold become 0.
    """

    def __init__(self, bucket_size: int = 25, min_score: float = 0.4):
        self.bucket_size = bucket_size
        self.min_score = min_score
        self.buckets: dict[str, set[str]] = {}

    def __call__(self, smiles: list[str | None], scores: np.ndarray) -> np.ndarray:
        """Return ``scores`` with those of molecules in full buckets set to 0 (``None``: not a molecule)."""
        out = scores.copy()
        with rdBase.BlockLogs():
            for i, text in enumerate(smiles):
                if text is None or scores[i] < self.min_score:
                    continue
                mol = Chem.MolFromSmiles(text)
                if mol is None:
                    continue
                bucket = self.buckets.setdefault(murcko_key(mol), set())
                canonical = Chem.MolToSmiles(mol)
                if canonical not in bucket and len(bucket) >= self.bucket_size:
                    out[i] = 0.0
                else:
                    bucket.add(canonical)
        return out


class ExperienceReplay:
    """The ``memory_size`` best distinct molecules so far, with their tokens, scores and prior log-likelihoods."""

    def __init__(self, memory_size: int = 100):
        self.memory_size = memory_size
        self.entries: dict[str, tuple[float, np.ndarray, float]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, keys: list[str | None], tokens: np.ndarray, scores: np.ndarray, prior: np.ndarray) -> None:
        """Add the valid rows (``keys[i]`` their canonical SMILES, ``None`` to skip); keep the best."""
        for i, key in enumerate(keys):
            if key is not None and key not in self.entries:
                self.entries[key] = (float(scores[i]), tokens[i][tokens[i] != PAD], float(prior[i]))
        if len(self.entries) > self.memory_size:
            best = sorted(self.entries.items(), key=lambda item: -item[1][0])[:self.memory_size]
            self.entries = dict(best)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """``n`` distinct entries drawn with probability proportional to their scores (uniform if all are 0)."""
        values = list(self.entries.values())
        scores = np.array([v[0] for v in values])
        p = scores / scores.sum() if scores.sum() > 0 else None
        chosen = rng.choice(len(values), size=min(n, len(values)), replace=False, p=p)
        return ([values[i][1] for i in chosen], np.array([values[i][0] for i in chosen]),
                np.array([values[i][2] for i in chosen]))


@dataclass
class OptimizationResult:
    """What :func:`optimize` returns.

    Attributes
    ----------
    agent
        The trained agent (a language model: ``save`` it, sample it with ``symmol generate``).
    molecules
        Every distinct valid molecule scored, in call order (:meth:`ScoreFunction.history` plus ``step``).
    steps
        One row per step: ``step``, ``calls``, ``valid`` (share of the batch), ``mean_score``,
        ``top10_mean`` (best ten so far), ``loss``, ``seconds``.
    auc_top10
        PMO's AUC top-10 over the first ``budget`` calls.
    settings
        The settings used.
    """

    agent: SmilesLanguageModel
    molecules: pd.DataFrame
    steps: pd.DataFrame
    auc_top10: float
    settings: ReinforcementSettings

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures: calls, steps, AUC top-10, the best ten's mean, the settings."""
        scores = self.molecules["score"].to_numpy()
        return {"calls": int(len(scores)), "steps": int(len(self.steps)), "auc_top10": self.auc_top10,
                "top10_mean": float(np.mean(np.sort(scores)[::-1][:10])) if len(scores) else None,
                "top1": float(scores.max()) if len(scores) else None, "settings": asdict(self.settings)}


def _policy_step(agent: SmilesLanguageModel, settings: ReinforcementSettings) -> Callable[..., Any]:
    """Compile ``(tokens (n, L) int32, augmented (n,) float32) -> (loss, agent log-likelihoods)`` with Adam."""
    tokens = pt.imatrix("tokens")
    augmented = pt.vector("augmented", dtype="float32")
    log_likelihood = agent.log_likelihood_graph(tokens)
    loss = pt.mean(pt.sqr(augmented - log_likelihood))
    if settings.likelihood_penalty:
        loss = loss + np.float32(settings.likelihood_penalty) * pt.mean(-1.0 / log_likelihood)
    updates = adam(loss, agent.params(), settings.learning_rate)
    return pytensor.function([tokens, augmented], [loss, log_likelihood], updates=updates,
                             mode=get_backend_mode(agent.backend))


def _padded(rows: list[np.ndarray]) -> np.ndarray:
    out = np.full((len(rows), max(len(r) for r in rows)), PAD, dtype=np.int32)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


def _canonical(smiles: list[str], ok: np.ndarray) -> list[str | None]:
    out: list[str | None] = []
    with rdBase.BlockLogs():
        for text, valid in zip(smiles, ok, strict=True):
            mol = Chem.MolFromSmiles(text) if valid else None
            out.append(Chem.MolToSmiles(mol) if mol is not None else None)
    return out


def optimize(prior: SmilesLanguageModel, score: ScoreFunction,
             settings: ReinforcementSettings = ReinforcementSettings(),
             progress: Callable[[dict[str, Any]], None] | None = None) -> OptimizationResult:
    """Train an agent from ``prior`` toward ``score`` (REINVENT; see the module docstring).

    Parameters
    ----------
    prior : SmilesLanguageModel
        The trained prior; left unchanged.
    score : ScoreFunction
        Scores in ``[0, 1]``; its call count and cache carry the run's oracle calls (give a fresh one).
    settings : ReinforcementSettings
    progress : callable, optional
        Called after every step with that step's row of ``steps``.

    Returns
    -------
    OptimizationResult
    """
    started = time.perf_counter()
    agent = prior.copy()
    step_fn = _policy_step(agent, settings)
    rng = np.random.default_rng(settings.seed)
    diversity = DiversityFilter(settings.bucket_size, settings.min_score) if settings.diversity_filter == "scaffold" \
        else None
    memory = ExperienceReplay(settings.memory_size)
    first_step: dict[str, int] = {}
    steps: list[dict[str, Any]] = []
    with retained_heap():  # the step's large arrays stay mapped between steps
        while score.calls < settings.budget and (settings.max_steps is None or len(steps) < settings.max_steps):
            tokens, ended, _ = agent.sample_tokens(settings.batch_size, settings.temperature,
                                                   seed=int(rng.integers(2**31)))
            _, distinct = np.unique(tokens, axis=0, return_index=True)
            distinct.sort()
            tokens, ended = tokens[distinct], ended[distinct]
            smiles = [agent.decode(row[1:]) for row in tokens]
            scored = score([text if end else "" for text, end in zip(smiles, ended, strict=True)])
            keys = _canonical(smiles, (scored["status"] == "ok").to_numpy())
            for key in keys:
                if key is not None:
                    first_step.setdefault(key, len(steps) + 1)
            raw = scored["score"].to_numpy(dtype=np.float64)
            rewarded = diversity(keys, raw) if diversity is not None else raw
            prior_ll = prior.token_log_likelihood(tokens)
            rows, augmented = list(tokens), list(prior_ll + settings.sigma * rewarded)
            if settings.replay_size and len(memory) > settings.replay_size:
                replayed, replay_scores, replay_prior = memory.sample(settings.replay_size, rng)
                rows += replayed
                augmented += list(replay_prior + settings.sigma * replay_scores)
            memory.add(keys, tokens, rewarded, prior_ll)
            padded = _padded(rows)
            by_length = np.argsort(-(padded != PAD).sum(axis=1), kind="stable")  # the GRUs skip finished rows
            loss, _ = step_fn(padded[by_length], np.asarray(augmented, dtype=np.float32)[by_length])
            history = score.history()["score"].to_numpy()
            steps.append({"step": len(steps) + 1, "calls": score.calls,
                          "valid": float(np.mean([k is not None for k in keys])), "mean_score": float(raw.mean()),
                          "top10_mean": float(np.mean(np.sort(history)[::-1][:10])) if history.size else 0.0,
                          "loss": float(loss), "seconds": time.perf_counter() - started})
            if progress is not None:
                progress(steps[-1])
    molecules = score.history()
    molecules.insert(1, "step", [first_step.get(s, 0) for s in molecules["smiles"]])
    auc = auc_top_k(molecules["score"].to_numpy(), 10, settings.budget) if len(molecules) else 0.0
    return OptimizationResult(agent, molecules, pd.DataFrame(steps), auc, settings)
