"""``symmol screen``: score a compound library with a trained model, streaming."""

from __future__ import annotations

import argparse

HELP = "score every molecule of a library (.csv/.smi/.sdf[.gz]) with a trained model, keeping the top K"


def add_arguments(parser: argparse.ArgumentParser, with_top: bool = True) -> None:
    parser.add_argument("model", help="model directory written by `symmol train`")
    parser.add_argument("library", help="molecules: .csv, .smi or .sdf, optionally .gz")
    parser.add_argument("--out", required=True, help="results .csv or .csv.gz (one row per input row)")
    if with_top:
        parser.add_argument("--top", type=int, default=0, metavar="K",
                            help="also write the K best valid rows to <out>.top.csv")
    parser.add_argument("--smiles-column", default=None)
    parser.add_argument("--id-column", default=None)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--backend", choices=("numba", "c"), default="numba")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from symmol.models.store import load_model
    from symmol.screen import screen_library
    model = load_model(args.model, backend=args.backend)
    summary = screen_library(model, args.library, args.out, top_k=getattr(args, "top", 0),
                             smiles_column=args.smiles_column, id_column=args.id_column,
                             chunk_size=args.chunk_size, progress=not args.no_progress)
    print(f"{summary.rows} rows ({summary.valid} ok, {summary.invalid} invalid) in {summary.seconds:.1f} s "
          f"({summary.rate:,.0f} molecules/s) -> {summary.output}")
    if summary.top_output is not None:
        print(f"top {args.top} -> {summary.top_output}")
    return 0
