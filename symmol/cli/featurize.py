"""``symmol featurize``: molecules → dense ``(n_rows, fp_size)`` uint8 fingerprint array."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "compute ECFP fingerprints (bits or counts) for a molecule file into a .npy array"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("library", help="molecules: .csv, .smi or .sdf, optionally .gz")
    parser.add_argument("--radius", type=int, default=2)
    parser.add_argument("--fp-size", type=int, default=2048)
    parser.add_argument("--count", action="store_true", help="counts (clipped at 255) instead of bits")
    parser.add_argument("--smiles-column", default=None)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--out", required=True, help="output .npy; invalid rows listed in <out>.invalid.csv")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd
    from tqdm.auto import tqdm

    from symmol.chem.io import iter_molecules
    from symmol.featurize import MorganFingerprint
    featurizer = MorganFingerprint(args.radius, args.fp_size, args.count)
    out = Path(args.out)
    blocks, invalid = [], []
    with tqdm(desc="featurize", unit="mol", disable=args.no_progress) as bar:
        for chunk in iter_molecules(args.library, args.smiles_column, chunk_size=args.chunk_size):
            featurized = featurizer.from_smiles(chunk["smiles"].tolist())
            blocks.append(featurized.fingerprints.to_dense_uint8())
            for position, error in enumerate(featurized.errors):
                if error:
                    invalid.append((int(chunk["row"].iloc[position]), chunk["smiles"].iloc[position], error))
            bar.update(len(chunk))
    array = np.concatenate(blocks) if blocks else np.zeros((0, args.fp_size), np.uint8)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, array)
    invalid_path = out.with_name(out.name + ".invalid.csv")
    pd.DataFrame(invalid, columns=["row", "smiles", "error"]).to_csv(invalid_path, index=False)
    print(f"{array.shape[0]} rows x {array.shape[1]} features ({featurizer.name}) -> {out}; "
          f"{len(invalid)} invalid rows -> {invalid_path}")
    return 0
