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
    import tempfile

    import numpy as np
    import pandas as pd
    from tqdm.auto import tqdm

    from symmol.chem.io import iter_molecules
    from symmol.featurize import MorganFingerprint
    from symmol.screen import row_errors

    featurizer = MorganFingerprint(args.radius, args.fp_size, args.count)
    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"{out}: the output must be a .npy file")
    out.parent.mkdir(parents=True, exist_ok=True)
    invalid, n_rows = [], 0
    # Rows stream to a raw file (memory bounded by --chunk-size), then into the .npy.
    with tempfile.TemporaryFile(dir=out.parent) as raw:
        with tqdm(desc="featurize", unit="mol", disable=args.no_progress) as bar:
            for chunk in iter_molecules(args.library, args.smiles_column, chunk_size=args.chunk_size):
                featurized = featurizer.from_smiles(chunk["smiles"].tolist())
                featurized.fingerprints.to_dense_uint8().tofile(raw)
                errors = row_errors(chunk, featurized.errors)
                invalid += [(int(row), smiles, error) for row, smiles, error
                            in zip(chunk["row"], chunk["smiles"], errors, strict=True) if error]
                n_rows += len(chunk)
                bar.update(len(chunk))
        array = np.lib.format.open_memmap(out, mode="w+", dtype=np.uint8, shape=(n_rows, args.fp_size))
        raw.seek(0)
        for start in range(0, n_rows, args.chunk_size):
            stop = min(start + args.chunk_size, n_rows)
            array[start:stop] = np.fromfile(raw, dtype=np.uint8, count=(stop - start) * args.fp_size).reshape(
                stop - start, args.fp_size)
        array.flush()
        del array
    invalid_path = out.with_name(out.name + ".invalid.csv")
    pd.DataFrame(invalid, columns=["row", "smiles", "error"]).to_csv(invalid_path, index=False)
    print(f"{n_rows} rows x {args.fp_size} features ({featurizer.name}) -> {out}; "
          f"{len(invalid)} invalid rows -> {invalid_path}")
    return 0
