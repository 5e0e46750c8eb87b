"""``symmol featurize``: molecules → a ``.npy`` feature array, streamed, in input order.

* ``--format npy`` (default): ``(n_rows, fp_size)`` uint8 (bits, or counts clipped at 255);
  ``rdkit2d`` gives ``(n_rows, n_descriptors)`` float32.
* ``--format packed``: ``(n_rows, ceil(fp_size / 64))`` uint64 words (feature ``f`` is bit
  ``f % 64`` of word ``f // 64``), the similarity-search format.

Invalid rows are all zero (NaN for ``rdkit2d``) and listed with RDKit's reason in
``<out>.invalid.csv``. Rows are written straight into the ``.npy`` file as the chunks arrive
(the header is rewritten with the final row count at the end), so memory is bounded by
``--chunk-size`` and ``--n-jobs``, not by the library size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "compute fingerprints (ECFP/FCFP/atom pairs/torsions/MACCS) or RDKit 2D descriptors into a .npy array"

KINDS = ("ecfp", "fcfp", "atompair", "torsion", "maccs", "rdkit2d")
#: Bytes reserved for the .npy header (a multiple of 64, room for any row count).
_HEADER_BYTES = 128


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("library", help="molecules: .csv, .smi or .sdf, optionally .gz")
    parser.add_argument("--fingerprint", choices=KINDS, default="ecfp", help="featurizer kind (default ecfp)")
    parser.add_argument("--radius", type=int, default=2, help="Morgan radius for ecfp/fcfp (ECFP4: 2)")
    parser.add_argument("--fp-size", type=int, default=2048, help="bits for ecfp/fcfp/atompair/torsion")
    parser.add_argument("--count", action="store_true", help="counts (clipped at 255) instead of bits")
    parser.add_argument("--chirality", action="store_true", help="chirality in the ecfp/fcfp invariants")
    parser.add_argument("--format", choices=("npy", "packed"), default="npy",
                        help="npy: (n, fp_size) uint8; packed: (n, ceil(fp_size/64)) uint64 bit words")
    parser.add_argument("--n-jobs", type=int, default=1, help="worker processes (-1: all cores)")
    parser.add_argument("--chunk-size", type=int, default=20_000, help="rows per chunk (bounds memory)")
    parser.add_argument("--smiles-column", default=None)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--out", required=True, help="output .npy; invalid rows listed in <out>.invalid.csv")


def _featurizer(args: argparse.Namespace):
    from symmol.featurize import make_featurizer

    kind = args.fingerprint
    if kind in ("ecfp", "fcfp"):
        return make_featurizer(kind, radius=args.radius, fp_size=args.fp_size, counts=args.count,
                               chirality=args.chirality)
    if kind in ("atompair", "torsion"):
        return make_featurizer(kind, fp_size=args.fp_size, counts=args.count)
    return make_featurizer(kind)


def _npy_header(dtype, shape: tuple[int, int]) -> bytes:
    """A version 1.0 ``.npy`` header of exactly :data:`_HEADER_BYTES` bytes."""
    import struct

    import numpy as np

    text = repr({"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                 "shape": tuple(int(s) for s in shape)}).encode("latin1")
    body = _HEADER_BYTES - 10
    if len(text) + 1 > body:
        raise ValueError(f"shape {shape} does not fit in a {_HEADER_BYTES}-byte .npy header")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", body) + text + b" " * (body - 1 - len(text)) + b"\n"


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd
    from tqdm.auto import tqdm

    from symmol.pipeline import featurize_file

    featurizer = _featurizer(args)
    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"{out}: the output must be a .npy file")
    descriptors = args.fingerprint == "rdkit2d"
    if descriptors and args.format == "packed":
        raise ValueError("--format packed needs a fingerprint; rdkit2d descriptors are written as float32 npy")
    if args.count and args.format == "packed":
        raise ValueError("--format packed stores bits; drop --count or use --format npy")
    if descriptors:
        output, dtype, width = "dense", np.float32, len(featurizer.feature_names)
    elif args.format == "packed":
        output, dtype, width = "packed", np.uint64, (int(featurizer.fp_size) + 63) // 64
    else:
        output, dtype, width = "csr", np.uint8, int(featurizer.fp_size)
    out.parent.mkdir(parents=True, exist_ok=True)
    invalid, n_rows = [], 0
    with open(out, "wb") as handle, tqdm(desc="featurize", unit="mol", disable=args.no_progress) as bar:
        handle.write(_npy_header(dtype, (0, width)))
        for chunk in featurize_file(args.library, featurizer, n_jobs=args.n_jobs, chunk_size=args.chunk_size,
                                    output=output, smiles_column=args.smiles_column):
            block = chunk.features.to_dense_uint8() if output == "csr" else chunk.features
            handle.write(np.ascontiguousarray(block, dtype=dtype).data)
            invalid += [(int(row), smiles, error) for row, smiles, error
                        in zip(chunk.rows, chunk.source["smiles"], chunk.errors, strict=True) if error]
            n_rows += len(chunk.rows)
            bar.update(len(chunk.rows))
        handle.seek(0)
        handle.write(_npy_header(dtype, (n_rows, width)))
    invalid_path = out.with_name(out.name + ".invalid.csv")
    table = pd.DataFrame(invalid, columns=["row", "smiles", "error"])
    table.to_csv(invalid_path, index=False)
    print(f"{n_rows} rows x {width} {'words' if output == 'packed' else 'features'} ({featurizer.name}) -> {out}; "
          f"{len(invalid)} invalid rows -> {invalid_path}")
    return 0
