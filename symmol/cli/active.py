"""``symmol active``: a simulated active-learning campaign on a labelled pool, or the next batch of a real one."""

from __future__ import annotations

import argparse
from pathlib import Path

from symmol.active_learning import ACQUISITIONS, CampaignSettings, propose_batch, run_campaign
from symmol.models.registry import model_kinds

__all__ = ["add_arguments", "run"]


def _amount(text: str) -> float:
    value = float(text)
    if not value > 0 or (value >= 1 and value != int(value)):
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1) or a whole number of molecules, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol active``'s arguments."""
    parser.add_argument("pool", help="molecules with their oracle values (.csv[.gz]); with --labels, the candidates")
    parser.add_argument("--smiles-column", default=None, help="column with SMILES (default: auto-detect)")
    parser.add_argument("--oracle-column", required=True, help="the value being optimised (e.g. a docking score)")
    parser.add_argument("--objective", choices=("minimize", "maximize"), required=True)
    parser.add_argument("--initial", type=_amount, default=0.01,
                        help="random initial batch: fraction of the pool (< 1) or molecules [default 0.01]")
    parser.add_argument("--acquire-size", type=_amount, default=0.01,
                        help="molecules acquired per round: fraction of the pool (< 1) or a count [default 0.01]")
    parser.add_argument("--rounds", type=int, default=5, help="acquisition rounds after the initial batch")
    parser.add_argument("--acquisition", choices=ACQUISITIONS, default="greedy")
    parser.add_argument("--surrogate", choices=[k.name for k in model_kinds()], default="mlp",
                        help="registered model kind trained each round [default mlp: ECFP4 MLP]")
    parser.add_argument("--ensemble-size", type=int, default=5, help="surrogate members (σ for ucb/ei/thompson)")
    parser.add_argument("--epochs", type=int, default=50, help="surrogate training epochs per round")
    parser.add_argument("--beta", type=float, default=2.0, help="UCB weight of σ")
    parser.add_argument("--top-fraction", type=float, default=0.01,
                        help="the pool's top molecules counted in the curve [default 0.01]")
    parser.add_argument("--failed-value", type=float, action="append", default=[], metavar="V",
                        help="oracle value that marks a failed evaluation, excluded (docking programs often write 0)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--labels", default=None,
                        help="a real campaign: molecules measured so far (SMILES and the oracle column); writes "
                             "OUT/proposed.csv, the next --acquire-size molecules of POOL, instead of simulating")
    parser.add_argument("--out", required=True, help="output directory (rerun the same command to resume)")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Run the campaign (or propose a batch) and print where the results are."""
    settings = CampaignSettings(args.oracle_column, args.objective, args.initial, args.acquire_size, args.rounds,
                                args.acquisition, args.surrogate, {"epochs": args.epochs}, args.ensemble_size,
                                args.beta, args.top_fraction, tuple(args.failed_value), args.seed)
    out = Path(args.out)
    if args.labels:
        if args.acquire_size < 1:
            raise ValueError("--labels proposes a batch of --acquire-size molecules: give a count, not a fraction")
        proposal = propose_batch(args.pool, args.labels, settings, int(args.acquire_size), args.smiles_column)
        out.mkdir(parents=True, exist_ok=True)
        proposal.to_csv(out / "proposed.csv", index=False)
        print(f"{len(proposal)} molecules proposed ({args.acquisition}, {args.surrogate}) -> {out / 'proposed.csv'}")
        return 0
    result = run_campaign(args.pool, settings, out, args.smiles_column, progress=not args.no_progress)
    last = result.curve.iloc[-1]
    print(f"{int(last['n_evaluated'])} evaluated ({last['fraction_evaluated']:.1%}); "
          f"{last['fraction_top_found']:.1%} of the top {result.n_top} found -> {out / 'curve.csv'}")
    return 0
