"""``symmol explain``: per-atom weights, molecule drawings and the fragments that drive a model's predictions."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from symmol.chem.io import read_molecules
from symmol.explain import METHODS, explain_molecules, write_explanation
from symmol.models.store import load_model

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol explain``'s arguments."""
    parser.add_argument("model", metavar="MODEL_DIR", help="model directory written by `symmol train`")
    parser.add_argument("data", help="molecules: .csv, .smi or .sdf, optionally .gz")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--target", default=None, help="the target to explain [default: the model's first]")
    parser.add_argument("--method", choices=METHODS, default="auto",
                        help="masking (fingerprint models): score minus the score without the atom's fingerprint "
                             "environments (Riniker-Landrum similarity maps); gradient: gradient x input on the "
                             "fingerprint bits, shared by their environments' atoms (MLPs), or on the atom states "
                             "(graph networks); auto [default]: masking where it applies, else gradient")
    parser.add_argument("--top-fragments", type=int, default=20,
                        help="fragments with the largest and the smallest mean contribution to list [default 20]")
    parser.add_argument("--min-molecules", type=int, default=3,
                        help="list fragments found in at least this many molecules [default 3]")
    parser.add_argument("--smiles-column", default=None)
    parser.add_argument("--no-images", action="store_true", help="skip the per-molecule SVG drawings")


def run(args: argparse.Namespace) -> int:
    """Explain every row and write the tables (and drawings)."""
    start = time.perf_counter()
    model = load_model(args.model)
    table = read_molecules(args.data, smiles_column=args.smiles_column)
    explanation = explain_molecules(model, table["smiles"].tolist(), args.target, args.method)
    write_explanation(explanation, args.out, args.top_fragments, not args.no_images, args.min_molecules)
    invalid = explanation.invalid
    if len(invalid):
        first = invalid.iloc[0]
        print(f"{len(invalid)} of {len(table)} rows not explained (first: row {first['row']}: {first['reason']}); "
              f"listed in {Path(args.out) / 'invalid.csv'}")
    print(f"{len(explanation.scores)} molecules explained for {explanation.target} in "
          f"{time.perf_counter() - start:.1f} s -> {Path(args.out) / 'atom_weights.csv'}")
    return 0
