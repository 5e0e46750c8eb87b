"""``symmol index``: molecule library → on-disk fingerprint index for similarity search."""

from __future__ import annotations

import argparse

HELP = "build a memory-mapped fingerprint index of a molecule library (.csv/.smi/.sdf[.gz]) for `symmol search`"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("library", help="molecules: .csv, .smi or .sdf, optionally .gz")
    parser.add_argument("--out", required=True, metavar="INDEX", help="index directory to create")
    parser.add_argument("--fingerprint", choices=("ecfp", "fcfp", "atompair", "torsion", "maccs"), default="ecfp",
                        help="bit fingerprint kind, identical to RDKit's (default ecfp)")
    parser.add_argument("--radius", type=int, default=None, help="Morgan radius of ecfp/fcfp (default 2 = ECFP4)")
    parser.add_argument("--fp-size", type=int, default=None,
                        help="bits per fingerprint (default 2048; maccs has 167 fixed)")
    parser.add_argument("--smiles-column", default=None)
    parser.add_argument("--id-column", default=None)
    parser.add_argument("--chunk-size", type=int, default=20_000, help="molecules per chunk (bounds memory)")
    parser.add_argument("--n-jobs", type=int, default=1, help="featurization worker processes (-1: all cores)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing INDEX directory")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from symmol.similarity.index import FINGERPRINT_DEFAULTS, build_index

    params = {}
    for name, value in (("radius", args.radius), ("fp_size", args.fp_size)):
        if value is not None:
            if name not in FINGERPRINT_DEFAULTS[args.fingerprint]:
                raise ValueError(f"--{name.replace('_', '-')} does not apply to --fingerprint {args.fingerprint}")
            params[name] = value
    index = build_index(args.library, args.out, fingerprint=args.fingerprint, params=params,
                        smiles_column=args.smiles_column, id_column=args.id_column, chunk_size=args.chunk_size,
                        n_jobs=args.n_jobs, overwrite=args.overwrite, progress=not args.no_progress)
    meta = index.meta
    print(f"{meta['n_rows']} rows: {meta['n_molecules']} indexed ({index.featurizer().name}, {meta['n_bits']} bits), "
          f"{meta['n_invalid']} invalid -> {index.path / 'invalid.csv'}; index -> {index.path}")
    return 0
