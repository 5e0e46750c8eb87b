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
import struct
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from symmol.cli.params import add_featurizer_flags, featurizer_params
from symmol.data.dense import DenseBatch
from symmol.data.fingerprints import FingerprintBatch, PackedFingerprints
from symmol.featurizers.base import Featurizer
from symmol.featurizers.pipeline import featurize_file
from symmol.featurizers.registry import make_featurizer
from symmol.featurizers.transformer import transformer_kinds

__all__ = ["add_arguments", "run"]

#: Bytes reserved for the .npy header (a multiple of 64, room for any row count).
_HEADER_BYTES = 128


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol featurize``'s arguments (kinds from the featurizer registry)."""
    parser.add_argument("library", help="molecules: .csv, .smi or .sdf, optionally .gz")
    parser.add_argument("--fingerprint", choices=transformer_kinds(), default="ecfp",
                        help="featurizer kind (default ecfp)")
    add_featurizer_flags(parser)
    parser.add_argument("--format", choices=("npy", "packed"), default="npy",
                        help="npy: (n, fp_size) uint8; packed: (n, ceil(fp_size/64)) uint64 bit words")
    parser.add_argument("--n-jobs", type=int, default=1, help="worker processes (-1: all cores)")
    parser.add_argument("--chunk-size", type=int, default=20_000, help="rows per chunk (bounds memory)")
    parser.add_argument("--smiles-column", default=None)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--out", required=True, help="output .npy; invalid rows listed in <out>.invalid.csv")


def _npy_header(dtype: type, shape: tuple[int, int]) -> bytes:
    """Build a version 1.0 ``.npy`` header of exactly :data:`_HEADER_BYTES` bytes."""
    text = repr({"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
                 "shape": tuple(int(s) for s in shape)}).encode("latin1")
    body = _HEADER_BYTES - 10
    if len(text) + 1 > body:
        raise ValueError(f"shape {shape} does not fit in a {_HEADER_BYTES}-byte .npy header")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", body) + text + b" " * (body - 1 - len(text)) + b"\n"


def _layout(featurizer: Featurizer, packed: bool) -> tuple[str, type, int]:
    """``(pipeline output, file dtype, row width)``; ``ValueError`` for a layout the kind cannot give."""
    if featurizer.BATCH_TYPE is DenseBatch:
        if packed:
            raise ValueError(f"--format packed needs a fingerprint; {featurizer.kind} rows are written as float32 npy")
        return "batch", np.float32, len(featurizer.feature_names)  # type: ignore[attr-defined]
    if packed:
        if getattr(featurizer, "counts", False):
            raise ValueError("--format packed stores bits; drop --count or use --format npy")
        return "packed", np.uint64, (int(featurizer.fp_size) + 63) // 64  # type: ignore[attr-defined]
    return "batch", np.uint8, int(featurizer.fp_size)  # type: ignore[attr-defined]


def _block(features: object) -> np.ndarray:
    if isinstance(features, FingerprintBatch):
        return features.to_dense_uint8()
    if isinstance(features, DenseBatch):
        return features.values
    if isinstance(features, PackedFingerprints):
        return features.words
    raise TypeError(f"cannot write {type(features).__name__} rows to a .npy file")


def run(args: argparse.Namespace) -> int:
    """Featurize the library chunk by chunk into the .npy file; list the invalid rows beside it."""
    featurizer = make_featurizer(args.fingerprint, **featurizer_params(args, args.fingerprint))
    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"{out}: the output must be a .npy file")
    output, dtype, width = _layout(featurizer, args.format == "packed")
    out.parent.mkdir(parents=True, exist_ok=True)
    invalid, n_rows = [], 0
    with open(out, "wb") as handle, tqdm(desc="featurize", unit="mol", disable=args.no_progress) as bar:
        handle.write(_npy_header(dtype, (0, width)))
        for chunk in featurize_file(args.library, featurizer, n_jobs=args.n_jobs, chunk_size=args.chunk_size,
                                    output=output, smiles_column=args.smiles_column):  # type: ignore[arg-type]
            handle.write(np.ascontiguousarray(_block(chunk.features), dtype=dtype).data)
            assert chunk.source is not None
            invalid += [(int(row), smiles, error) for row, smiles, error
                        in zip(chunk.rows, chunk.source["smiles"], chunk.errors, strict=True) if error]
            n_rows += len(chunk.rows)
            bar.update(len(chunk.rows))
        handle.seek(0)
        handle.write(_npy_header(dtype, (n_rows, width)))
    invalid_path = out.with_name(out.name + ".invalid.csv")
    pd.DataFrame(invalid, columns=["row", "smiles", "error"]).to_csv(invalid_path, index=False)
    print(f"{n_rows} rows x {width} {'words' if output == 'packed' else 'features'} ({featurizer.name}) -> {out}; "
          f"{len(invalid)} invalid rows -> {invalid_path}")
    return 0
