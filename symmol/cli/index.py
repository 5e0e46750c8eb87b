"""``symmol index``: molecule library → on-disk fingerprint index for similarity search."""

from __future__ import annotations

import argparse

from symmol.cli.params import add_featurizer_flags, featurizer_params
from symmol.similarity.index import build_index, index_kinds

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol index``'s arguments (bit-fingerprint kinds from the featurizer registry)."""
    parser.add_argument("library", help="molecules: .csv, .smi or .sdf, optionally .gz")
    parser.add_argument("--out", required=True, metavar="INDEX", help="index directory to create")
    parser.add_argument("--fingerprint", choices=index_kinds(), default="ecfp",
                        help="bit fingerprint kind, identical to RDKit's (default ecfp)")
    add_featurizer_flags(parser, counts=False)
    parser.add_argument("--smiles-column", default=None)
    parser.add_argument("--id-column", default=None)
    parser.add_argument("--chunk-size", type=int, default=20_000, help="molecules per chunk (bounds memory)")
    parser.add_argument("--n-jobs", type=int, default=1, help="featurization worker processes (-1: all cores)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing INDEX directory")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Build the index and print its counts."""
    index = build_index(args.library, args.out, fingerprint=args.fingerprint,
                        params=featurizer_params(args, args.fingerprint), smiles_column=args.smiles_column,
                        id_column=args.id_column, chunk_size=args.chunk_size, n_jobs=args.n_jobs,
                        overwrite=args.overwrite, progress=not args.no_progress)
    meta = index.meta
    print(f"{meta['n_rows']} rows: {meta['n_molecules']} indexed ({index.featurizer().name}, {meta['n_bits']} bits), "
          f"{meta['n_invalid']} invalid -> {index.path / 'invalid.csv'}; index -> {index.path}")
    return 0
