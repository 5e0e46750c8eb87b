"""``symmol tune``: hyperparameter search (Optuna) over architectures; the best model as a model directory.

Takes ``symmol train``'s data options (the split is fixed once: ``--splits-file``'s first entry, or
``--split`` with ``--seed``); every trial trains on the training rows and is scored on the validation
rows. ``DIR/best/`` is an ordinary model directory (``symmol predict``/``screen`` read it) whose
``metrics.json`` has ``train``'s shape. Rerunning the same command continues the study
(:mod:`symmol.tuning`).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from symmol.chem.io import read_molecules
from symmol.cli.options import lookups
from symmol.cli.train import add_data_arguments, report_invalid, split_rows
from symmol.estimator import QSARModel
from symmol.evaluation.targets import target_matrix
from symmol.tuning import TuneData, TuneSettings, tune

__all__ = ["add_arguments", "run"]


def _memory_default_gb() -> float:
    """75 % of the machine's memory."""
    return 0.75 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol tune``'s arguments."""
    add_data_arguments(parser)
    parser.add_argument("--architectures", default="mlp,dmpnn,gp,rf",
                        help="comma-separated architectures to choose among (default mlp,dmpnn,gp,rf)")
    parser.add_argument("--n-trials", type=int, default=None,
                        help="finished trials to reach over every run of the study (default 50 without --timeout)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds this run may search")
    parser.add_argument("--n-jobs", type=int, default=1, help="worker processes running trials")
    parser.add_argument("--max-memory", type=float, default=None, metavar="GB",
                        help="memory budget of the workers together (default 75%% of RAM)")
    parser.add_argument("--storage", default=None,
                        help="Optuna RDB storage URL (sqlite:///..., postgresql://...) shared by several machines; "
                             "default: the journal file DIR/study.journal")
    parser.add_argument("--epochs", type=int, default=40, help="epoch budget of epoch-trained architectures")
    parser.add_argument("--patience", type=int, default=8, help="early-stopping patience")
    parser.add_argument("--init-from", default=None, metavar="DIR",
                        help="a `symmol pretrain` model: its architecture's trials also try fine-tuning it")
    parser.add_argument("--ensemble-size", type=int, default=1, metavar="K",
                        help="after the search, train the best settings again as a K-member ensemble (DIR/ensemble/, "
                             "then DIR/best/; default 1: the best trial itself)")
    parser.add_argument("--out", required=True, help="study directory (created; an existing study continues)")


def run(args: argparse.Namespace) -> int:
    """Search, then write DIR/best/, DIR/trials.csv and the plots; print the best trial."""
    architectures = tuple(a.strip() for a in args.architectures.split(",") if a.strip())
    if not architectures:
        raise ValueError("--architectures names no architecture")
    if args.n_jobs < 1:
        raise ValueError(f"--n-jobs must be at least 1, got {args.n_jobs}")
    if args.ensemble_size < 1:
        raise ValueError(f"--ensemble-size must be at least 1, got {args.ensemble_size}")
    if args.n_trials is not None and args.n_trials < 1:
        raise ValueError(f"--n-trials must be at least 1, got {args.n_trials}")
    table = read_molecules(args.data, smiles_column=args.smiles_column, lookups=lookups(args))
    y = target_matrix(table, args.targets, args.task, source=str(args.data))
    parsed = QSARModel(args.task, progress=False).featurize(table)
    sets = split_rows(args, table, report_invalid(table, parsed))
    print(f"{args.data}: {len(table)} rows, split train/val/test = "
          f"{'/'.join(str(sets[k].size) for k in ('train', 'val', 'test'))} "
          f"({'splits file' if args.splits_file else args.split}); searching {', '.join(architectures)}")
    n_trials = args.n_trials if args.n_trials is not None else (None if args.timeout else 50)
    settings = TuneSettings(architectures, Path(args.out), n_trials, args.timeout, args.n_jobs,
                            args.max_memory or _memory_default_gb(), args.storage, args.seed, args.epochs,
                            args.patience, Path(args.init_from) if args.init_from else None, args.ensemble_size)
    data = TuneData(table, y, np.asarray(sets["train"]), np.asarray(sets["val"]), np.asarray(sets["test"]),
                    args.task, tuple(args.targets))
    result = tune(data, settings)
    if result["failed_orphans"]:
        print(f"marked failed: trial(s) {result['failed_orphans']} of an earlier run whose process is gone")
    print(f"{result['n_finished']} finished trials; best trial {result['best_trial']} "
          f"(validation score {result['best_value']:.4f}): {json.dumps(result['best_params'])}")
    ensemble = result["ensemble"]
    if ensemble is not None:
        print(f"best model: a {ensemble['size']}-member ensemble of those settings (validation score "
              f"{ensemble['val_score']:.4f}; the trial's {ensemble['trial_val_score']:.4f})")
    for name, metrics in result["metrics"].items():
        shown = {k: round(v, 4) for k, v in metrics.items() if isinstance(v, float)}
        print(f"  {name}: {shown}")
    print(f"best model written to {Path(args.out) / 'best'}; trials in {Path(args.out) / 'trials.csv'}")
    return 0
