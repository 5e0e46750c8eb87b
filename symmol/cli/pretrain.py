"""``symmol pretrain``: learn every RDKit 2D descriptor of an unlabelled library; fine-tune with ``train --init-from``.

The model directory is an ordinary one (``symmol predict`` reads it and predicts the descriptors);
rerunning the same command resumes after the last finished epoch (:mod:`symmol.pretraining`).
"""

from __future__ import annotations

import argparse

from symmol.cli.options import add_model_options, chosen_options
from symmol.pretraining import DESCRIPTOR_SETS, pretrain
from symmol.training.config import LR_SCHEDULES, TrainConfig

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol pretrain``'s arguments (architecture options from the model registry)."""
    parser.add_argument("library", help="molecules: .smi (header-less works), .csv or .sdf, optionally .gz")
    parser.add_argument("--smiles-column", default=None, help="column with SMILES in a .csv (default: auto-detect)")
    parser.add_argument("--descriptors", choices=DESCRIPTOR_SETS, default="rdkit2d",
                        help="what the model learns to predict (RDKit's 2D descriptors, standardised)")
    parser.add_argument("--limit", type=int, default=None, help="use the first N molecules only")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lr-schedule", choices=tuple(LR_SCHEDULES), default="constant")
    parser.add_argument("--val-fraction", type=float, default=0.05,
                        help="random share of the molecules held out to report validation RMSE")
    parser.add_argument("--n-jobs", type=int, default=1, help="processes computing the descriptors")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=("numba", "c"), default="numba")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--out", required=True, help="model directory to write (an existing run resumes)")
    add_model_options(parser, default_architecture="dmpnn")


def run(args: argparse.Namespace) -> int:
    """Pretrain, print the validation RMSE per epoch and where the model is."""
    config = TrainConfig(epochs=args.epochs, patience=0, batch_size=args.batch_size, learning_rate=args.lr,
                         lr_schedule=args.lr_schedule, seed=args.seed, progress=not args.no_progress)
    result = pretrain(args.library, args.out, architecture=args.architecture, descriptors=args.descriptors,
                      options=chosen_options(args), config=config, limit=args.limit,
                      val_fraction=args.val_fraction, n_jobs=args.n_jobs, smiles_column=args.smiles_column,
                      backend=args.backend)
    print(f"{args.library}: {result.n_molecules} molecules, {result.n_descriptors} descriptors, "
          f"{result.epochs_done} epochs done ({result.seconds:.0f} s this run)")
    for epoch, rmse in enumerate(result.val_rmse, 1):
        print(f"  epoch {epoch}: validation RMSE {rmse:.4f} standard deviations")
    print(f"pretrained model written to {result.directory}; fine-tune with "
          f"`symmol train ... --init-from {result.directory}`")
    return 0
