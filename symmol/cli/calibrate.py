"""``symmol calibrate``: fit a trained model's calibrators on labelled rows and store them with the model.

``symmol train`` already calibrates on its validation set; this command refits on other rows (a
newer assay batch, a held-out file). It writes ``MODEL_DIR/calibration.json``, which ``symmol
predict --calibration ...`` reads.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from symmol.chem.io import read_molecules
from symmol.cli.options import add_input_arguments, lookups
from symmol.evaluation.splits import read_splits_file
from symmol.evaluation.targets import target_matrix
from symmol.models.store import load_model, save_calibration

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol calibrate``'s arguments."""
    parser.add_argument("model", metavar="MODEL_DIR", help="model directory written by `symmol train`")
    parser.add_argument("data", help="labelled rows: .csv or .csv.gz")
    add_input_arguments(parser)
    parser.add_argument("--target", action="append", default=None, dest="targets", metavar="COL",
                        help="label column of each of the model's targets, in the model's order "
                             "(default: columns named like the targets)")
    parser.add_argument("--splits-file", default=None,
                        help="Chemprop splits.json: calibrate on its --rows entry only (default: every row)")
    parser.add_argument("--rows", choices=("train", "val", "test"), default="val",
                        help="which rows of --splits-file's first entry [default val]")
    parser.add_argument("--uncertainty", default=None, metavar="ESTIMATOR",
                        help="the spread estimator to calibrate (regression): ensemble, gp, dropout or mve "
                             "[default: the model's own]; predictions must then use the same")


def run(args: argparse.Namespace) -> int:
    """Fit, store and summarise the calibration."""
    model = load_model(args.model)
    targets = list(args.targets or model.targets)
    if len(targets) != len(model.targets):
        raise ValueError(f"--target given {len(targets)} times; the model has {len(model.targets)} targets "
                         f"({', '.join(model.targets)})")
    table = read_molecules(args.data, smiles_column=args.smiles_column, lookups=lookups(args))
    y = target_matrix(table, targets, model.task, source=str(args.data))
    rows = np.arange(len(table))
    if args.splits_file:
        rows = getattr(read_splits_file(args.splits_file, len(table)), args.rows)
    featurized = model.featurize(table.iloc[rows].reset_index(drop=True))
    valid = featurized.valid
    if not valid.all():
        first = int(np.flatnonzero(~valid)[0])
        print(f"skipping {int((~valid).sum())} of {rows.size} rows the featurizers reject (first: row "
              f"{int(rows[first])}: {featurized.errors[first]})")
    source = f"{Path(args.data).name}" + (f" ({args.rows} rows of {Path(args.splits_file).name})"
                                          if args.splits_file else "")
    calibration = model.calibrate(featurized.batch.take(np.flatnonzero(valid)), y[rows[valid]], args.uncertainty,
                                  source)
    path = save_calibration(model, args.model)
    spread = f" on σ from {calibration.uncertainty!r}" if calibration.uncertainty else ""
    print(f"calibrated{spread} on {', '.join(map(str, calibration.n_rows))} labelled rows of {source}: "
          f"{', '.join(calibration.methods)}")
    if "zscaling" in calibration.parameters:
        scales = calibration.parameters["zscaling"]["scale"]
        print("z-scaling factor per target: " + ", ".join(f"{t} {s:.3f}" for t, s in zip(model.targets, scales,
                                                                                          strict=True)))
    print(f"written to {path}")
    return 0
