"""``symmol screen``: score a compound library with trained models, streaming, parallel, resumable."""

from __future__ import annotations

import argparse
import os

from symmol.cli.options import add_input_arguments, lookups
from symmol.featurizers.protein import read_sequence
from symmol.screen import screen_library
from symmol.screen.scoring import ALL_CALIBRATION_METHODS, UncertaintyRequest

__all__ = ["add_arguments", "fixed_inputs", "run"]


def add_arguments(parser: argparse.ArgumentParser, with_top: bool = True, default_jobs: int | None = None) -> None:
    """Declare the arguments of ``symmol screen`` (``symmol predict``: no ``--top``, one job by default)."""
    parser.add_argument("models", nargs="+", metavar="MODEL_DIR",
                        help="model directory written by `symmol train` (several: one score column per model "
                             "and target, plus their mean and standard deviation)")
    parser.add_argument("library", help="molecules: .csv, .smi or .sdf, optionally .gz (a model that reads other "
                                        "columns, e.g. a protein sequence, needs a .csv holding them)")
    parser.add_argument("--out", required=True,
                        help="results .csv, .csv.gz or .parquet (one row per input row, in input order)")
    if with_top:
        parser.add_argument("--top", type=int, default=0, metavar="K",
                            help="also write the K best valid rows (passing the filters), ranked by the first "
                                 "target (mean:<target> with several models), to <out without .csv/.csv.gz/"
                                 ".parquet>.top.csv")
    add_input_arguments(parser)
    parser.add_argument("--id-column", default=None)
    parser.add_argument("--chunk-size", type=int, default=20_000, help="rows per chunk (memory per worker)")
    n_jobs = default_jobs or os.cpu_count() or 1
    shown = "all cores" if default_jobs is None else n_jobs
    parser.add_argument("--n-jobs", type=int, default=n_jobs,
                        help=f"worker processes on this machine (default: {shown}; 1 = this process)")
    parser.add_argument("--scheduler", default="local",
                        help="'local' (default: worker processes), 'threads' (threads of this process; no "
                             "process start-up, best for small machines) or a dask.distributed scheduler address, "
                             "e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run of the same command (same output, library, models)")
    parser.add_argument("--filter", action="append", default=[], metavar="RULE",
                        help="lipinski, veber, pains, brenk or a SMARTS pattern (repeatable); failing rows are "
                             "kept and named in the 'filters' column but not ranked")
    parser.add_argument("--ad", action="store_true",
                        help="add 'ad': max Tanimoto similarity to the (first) model's training set")
    uncertainty = parser.add_argument_group("uncertainty")
    uncertainty.add_argument("--uncertainty", default=None, metavar="ESTIMATOR",
                             help="spread estimator of <target>_std: ensemble (a model trained with "
                                  "--ensemble-size > 1), gp, mve (a model trained with --loss mve) or dropout "
                                  "(MC dropout: a model trained with --dropout > 0) [default: an ensemble's, a "
                                  "GP's or an MVE head's own, if it has one]")
    uncertainty.add_argument("--mc-samples", type=int, default=30, help="MC dropout samples [default 30]")
    uncertainty.add_argument("--calibration", choices=ALL_CALIBRATION_METHODS, default=None,
                             help="apply the model's stored calibration (fitted on the validation set by `symmol "
                                  "train`, or by `symmol calibrate`): zscaling or conformal adds <target>_lower/"
                                  "_upper (regression); conformal adds the label set <target>_set, platt or "
                                  "isotonic calibrate the probabilities (classification)")
    uncertainty.add_argument("--coverage", type=float, default=0.9,
                             help="nominal coverage of the intervals and label sets [default 0.9]")
    pairs = parser.add_argument_group("pair models: one partner for every molecule of the library")
    pairs.add_argument("--protein", default=None, metavar="SEQUENCE_OR_FASTA",
                       help="rank the library against this protein (an amino-acid sequence, or a FASTA file: its "
                            "first record) with a drug-target model; the library then needs only the molecules")
    pairs.add_argument("--cell-line", default=None, metavar="ID",
                       help="rank the library on this cell line (an id of the model's profile table) with a "
                            "drug-response model")
    parser.add_argument("--backend", choices=("numba", "c"), default="numba")
    parser.add_argument("--no-progress", action="store_true")


def fixed_inputs(args: argparse.Namespace) -> dict[str, str]:
    """``--protein`` and ``--cell-line`` as model input name → value."""
    fixed = {}
    if args.protein is not None:
        fixed["protein"] = read_sequence(args.protein)
    if args.cell_line is not None:
        fixed["cell_line"] = str(args.cell_line).strip()
    return fixed


def run(args: argparse.Namespace) -> int:
    """Screen (or predict), then print the counts and the output paths."""
    summary = screen_library(
        args.models, args.library, args.out, top_k=getattr(args, "top", 0), smiles_column=args.smiles_column,
        id_column=args.id_column, chunk_size=args.chunk_size, n_jobs=args.n_jobs, scheduler=args.scheduler,
        resume=args.resume, filters=args.filter, applicability_domain=args.ad, backend=args.backend,
        progress=not args.no_progress,
        uncertainty=UncertaintyRequest(args.uncertainty, args.calibration, args.coverage, args.mc_samples),
        fixed_inputs=fixed_inputs(args), lookups=lookups(args),
    )
    resumed = f", {summary.resumed_chunks} chunks resumed" if summary.resumed_chunks else ""
    filtered = f", {summary.filtered} filtered" if args.filter else ""
    print(f"{summary.rows} rows ({summary.valid} ok, {summary.invalid} invalid{filtered}{resumed}) in "
          f"{summary.seconds:.1f} s ({summary.rate:,.0f} molecules/s) -> {summary.output}")
    if summary.top_output is not None:
        print(f"top {args.top} -> {summary.top_output}")
    return 0
