"""``symmol optimize``: steer a language model toward a score (REINVENT's policy gradient), keeping every molecule.

Writes into ``--out``: ``agent/`` (a language model directory: ``symmol generate`` samples it),
``molecules.csv`` (every distinct valid molecule scored, in oracle-call order: ``call``, ``step``,
``smiles``, ``score`` and each component's raw value and desirability), ``steps.csv`` (per step:
oracle calls, valid share, mean score, best-ten mean, loss, seconds) and ``summary.json`` (PMO's
AUC top-10, the best ten's mean, the settings).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from symmol.cli.output import write_json
from symmol.generation.language_model import SmilesLanguageModel
from symmol.generation.registry import load_generative_model
from symmol.generation.reinforcement import ReinforcementSettings, optimize
from symmol.generation.scoring import ScoreFunction

__all__ = ["add_arguments", "run"]

_DEFAULTS = ReinforcementSettings()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol optimize``'s arguments."""
    parser.add_argument("prior", help="a trained language model directory (`symmol train --task generation`)")
    parser.add_argument("--score", required=True, metavar="SPEC.toml",
                        help="the score: [[component]] kind = model|qed|sa|similarity|property|pmo, transform, weight; "
                             "[[filter]] smarts, forbid (see symmol.generation.scoring)")
    parser.add_argument("--budget", type=int, default=_DEFAULTS.budget,
                        help=f"oracle calls (distinct valid molecules scored) [default {_DEFAULTS.budget}]")
    parser.add_argument("--batch-size", type=int, default=_DEFAULTS.batch_size)
    parser.add_argument("--lr", type=float, default=_DEFAULTS.learning_rate, help="Adam's step size of the agent")
    parser.add_argument("--sigma", type=float, default=_DEFAULTS.sigma,
                        help="weight of the score in the augmented log-likelihood")
    parser.add_argument("--replay-size", type=int, default=_DEFAULTS.replay_size,
                        help="sequences replayed from the best-molecule memory per step (0: none)")
    parser.add_argument("--memory-size", type=int, default=_DEFAULTS.memory_size)
    parser.add_argument("--likelihood-penalty", type=float, default=_DEFAULTS.likelihood_penalty,
                        help="coefficient of REINVENT 1's mean(-1 / log-likelihood) term (0: none)")
    parser.add_argument("--diversity-filter", choices=("scaffold", "none"), default=_DEFAULTS.diversity_filter,
                        help="identical Murcko scaffolds: a scaffold's molecules past --bucket-size score 0")
    parser.add_argument("--bucket-size", type=int, default=_DEFAULTS.bucket_size)
    parser.add_argument("--min-score", type=float, default=_DEFAULTS.min_score,
                        help="score from which a molecule counts in its scaffold's bucket")
    parser.add_argument("--temperature", type=float, default=_DEFAULTS.temperature)
    parser.add_argument("--seed", type=int, default=_DEFAULTS.seed)
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps as well")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--out", required=True, help="directory to write")


def run(args: argparse.Namespace) -> int:
    """Optimise, write the agent, the molecules, the steps and the summary; print the best molecules."""
    settings = ReinforcementSettings(
        budget=args.budget, batch_size=args.batch_size, learning_rate=args.lr, sigma=args.sigma,
        replay_size=args.replay_size, memory_size=args.memory_size, likelihood_penalty=args.likelihood_penalty,
        diversity_filter=args.diversity_filter, bucket_size=args.bucket_size, min_score=args.min_score,
        temperature=args.temperature, seed=args.seed, max_steps=args.max_steps)
    prior = load_generative_model(args.prior)
    if not (isinstance(prior, SmilesLanguageModel) and prior.EXACT_LIKELIHOOD):
        raise ValueError(f"{args.prior}: a {type(prior).__name__} cannot be optimised by policy gradient; give a "
                         f"SMILES language model (--architecture gru)")
    score = ScoreFunction.from_toml(args.score)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tqdm(total=settings.budget, desc="optimize", unit="call", disable=args.no_progress) as bar:
        def show(step: dict[str, Any]) -> None:
            bar.update(min(step["calls"], settings.budget) - bar.n)
            bar.set_postfix(step=step["step"], top10=f"{step['top10_mean']:.3f}", valid=f"{step['valid']:.2f}",
                            refresh=False)

        result = optimize(prior, score, settings, progress=show)
    result.agent.save(out / "agent")
    result.molecules.to_csv(out / "molecules.csv", index=False)
    result.steps.to_csv(out / "steps.csv", index=False)
    summary = {**result.summary(), "prior": str(args.prior), "score": str(args.score)}
    write_json(out / "summary.json", summary)
    print(f"{summary['calls']} oracle calls in {summary['steps']} steps: AUC top-10 {result.auc_top10:.4f}, "
          f"best ten mean {summary['top10_mean']:.4f}, best {summary['top1']:.4f}")
    best = result.molecules.sort_values("score", ascending=False).head(10)
    print("best molecules:")
    for _, row in best.iterrows():
        print(f"  {row['score']:.4f}  {row['smiles']}  (call {row['call']}, step {row['step']})")
    print(f"agent, molecules.csv, steps.csv and summary.json written to {out}")
    return 0
