"""``symmol search``: query molecules → their most similar molecules in a fingerprint index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from symmol.chem.io import iter_molecules, row_errors
from symmol.data.fingerprints import FingerprintBatch
from symmol.similarity.index import FingerprintIndex

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol search``'s arguments."""
    parser.add_argument("index", help="index directory written by `symmol index`")
    parser.add_argument("--queries", required=True, help="query molecules: .csv, .smi or .sdf, optionally .gz")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--k", type=int, help="the K most similar library molecules per query")
    mode.add_argument("--threshold", type=float, help="every library molecule with similarity >= T")
    parser.add_argument("--metric", choices=("tanimoto", "dice", "tversky", "cosine"), default="tanimoto")
    parser.add_argument("--alpha", type=float, default=0.5, help="Tversky weight of the query's own bits")
    parser.add_argument("--beta", type=float, default=0.5, help="Tversky weight of the library molecule's own bits")
    parser.add_argument("--smiles-column", default=None)
    parser.add_argument("--chunk-size", type=int, default=10_000, help="queries per chunk")
    parser.add_argument("--verify", action="store_true", help="check the index's sha256 checksums first")
    parser.add_argument("--out", required=True, metavar="HITS.csv",
                        help="hits: query (0-based query row), target (0-based library row), id, similarity; "
                             "ranked by similarity within each query. Invalid queries -> <out>.invalid.csv")


def run(args: argparse.Namespace) -> int:
    """Search every query chunk; hits are appended to the output, invalid queries listed beside it."""
    index = FingerprintIndex.open(args.index, verify=args.verify)
    if index.targets.columns is None:
        print(f"note: {args.index} is a format-1 index without bit columns: searched row by row (slower); "
              "rebuild it with `symmol index` for faster searches", file=sys.stderr)
    featurizer = index.featurizer()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    invalid, n_queries, n_hits = [], 0, 0
    columns = ["query", "target", "id", "similarity"]
    pd.DataFrame(columns=columns).to_csv(out, index=False)
    for chunk in iter_molecules(args.queries, args.smiles_column, chunk_size=args.chunk_size):
        smiles = chunk["smiles"].tolist()
        featurized = featurizer.featurize(smiles)
        errors = row_errors(chunk, featurized.errors)
        valid = np.array([not e for e in errors], dtype=bool)
        rows = chunk["row"].to_numpy(dtype=np.int64)
        invalid += [(int(r), s, e) for r, s, e in zip(rows, smiles, errors, strict=True) if e]
        n_queries += len(chunk)
        if not valid.any():
            continue
        packed = cast(FingerprintBatch, featurized.batch).to_packed()  # an index's featurizer gives fingerprints
        hits = index.search(packed[valid], k=args.k, threshold=args.threshold,
                            metric=args.metric, alpha=args.alpha, beta=args.beta)
        hits["query"] = rows[valid][hits["query"].to_numpy()]
        hits[columns].to_csv(out, mode="a", header=False, index=False)
        n_hits += len(hits)
    invalid_path = out.with_name(out.name + ".invalid.csv")
    pd.DataFrame(invalid, columns=["row", "smiles", "error"]).to_csv(invalid_path, index=False)
    print(f"{n_queries} queries ({len(invalid)} invalid -> {invalid_path}) against {len(index)} molecules: "
          f"{n_hits} hits -> {out}")
    return 0
