"""Prove that the fast parse paths give the same ECFP as ``Chem.MolFromSmiles`` on whole libraries.

For every row of each library file, featurizes the SMILES three ways:

* **full**: ``parse_smiles_list(mode="full")`` (``Chem.MolFromSmiles``), then the Morgan kernel;
* **rdkit-fast**: ``parse_smiles_list(mode="fast")`` (reduced sanitization, no stereo perception,
  see :mod:`symmol.chem.parse`), then the Morgan kernel;
* **native**: ``MorganFingerprint.from_smiles(parse_mode="fast")``, the path symmol uses for ECFP:
  the Numba SMILES reader (:mod:`symmol.kernels.smiles`) for every row it accepts, rdkit-fast for
  the rows it refuses;

and checks that the same rows are rejected with the same reason text and that ECFP4 and ECFP6
(``fp_size`` 2048) counts are identical on every row (bits are the set indices of the counts).
It reports how many rows the Numba reader accepted, why it refused the others, and the CPU time
per molecule of SMILES → ECFP4 counts on each path (one process, one Numba thread, same chunks).
Prints a markdown report (also written to ``--out``) and exits with status 1 on any difference.

Example::

    python bench/fastparse_identity.py --data-dir /work/shared/data
    python bench/fastparse_identity.py --data-dir /work/shared/data --limit 20000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np
import rdkit

from symmol.chem.io import iter_molecules
from symmol.chem.native import REFUSAL_REASONS, native_graphs
from symmol.chem.parse import parse_smiles_list
from symmol.featurizers import MorganFingerprint

REPO = Path(__file__).resolve().parents[1]
LIBRARIES = {
    "zinc250k": "screening_libraries/zinc250k_rndm_zinc_drugs_clean.smi.gz",
    "moses_test": "screening_libraries/moses_test.csv.gz",
    "chembl31_50k": "screening_libraries/chembl31_valid_50k.smi.gz",
}
RADII = (2, 3)
FP_SIZE = 2048


@dataclass
class Tally:
    """Counts for one library file."""

    name: str
    rows: int = 0
    parsed: int = 0
    accepted: int = 0
    same_rejections: int = 0
    same: dict[int, int] = field(default_factory=lambda: dict.fromkeys(RADII, 0))
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PATHS, 0.0))
    refusals: Counter = field(default_factory=Counter)
    differences: list[str] = field(default_factory=list)


PATHS = ("full", "rdkit-fast", "native")


def same_rows(a, b) -> np.ndarray:
    """(n_rows,) bool: rows of two FingerprintBatches with equal indices and values."""
    out = np.zeros(len(a), dtype=bool)
    for i in range(len(a)):
        sa = slice(a.indptr[i], a.indptr[i + 1])
        sb = slice(b.indptr[i], b.indptr[i + 1])
        out[i] = (np.array_equal(a.indices[sa], b.indices[sb]) and np.array_equal(a.values[sa], b.values[sb]))
    return out


def featurize(path: str, smiles: list[str], featurizers: dict[int, MorganFingerprint]
              ) -> tuple[dict[int, object], list[str], float]:
    """({radius: FingerprintBatch}, errors, CPU seconds of SMILES → ECFP4) of one path."""
    t0 = time.process_time()
    out = {}
    if path == "native":
        for radius, featurizer in featurizers.items():
            featurized = featurizer.from_smiles(smiles, parse_mode="fast")
            out[radius], errors = featurized.batch, featurized.errors
            if radius == 2:
                seconds = time.process_time() - t0
        return out, errors, seconds
    parsed = parse_smiles_list(smiles, mode="full" if path == "full" else "fast")
    for radius, featurizer in featurizers.items():
        out[radius] = featurizer.from_mols(parsed.mols)
        if radius == 2:
            seconds = time.process_time() - t0
    return out, parsed.errors, seconds


def check_library(name: str, path: Path, limit: int | None, chunk_size: int) -> Tally:
    """Compare the three paths on one file (at most ``limit`` rows)."""
    tally = Tally(name)
    featurizers = {r: MorganFingerprint(r, FP_SIZE, counts=True) for r in RADII}
    for chunk in iter_molecules(path, chunk_size=chunk_size):
        smiles = chunk["smiles"].tolist()
        if limit is not None:
            smiles = smiles[: max(limit - tally.rows, 0)]
        if not smiles:
            break
        status = native_graphs(smiles).status
        tally.accepted += int((status == 0).sum())
        tally.refusals.update(REFUSAL_REASONS[int(s)] for s in status[status != 0])
        results = {}
        for p in PATHS:
            fps, errors, seconds = featurize(p, smiles, featurizers)
            tally.cpu[p] += seconds
            for radius in RADII:
                results[p, radius] = (fps[radius], errors)
        ref_fp, ref_errors = results["full", 2]
        same_error = np.array([all(results[p, r][1][i] == e for p in PATHS for r in RADII)
                               for i, e in enumerate(ref_errors)])
        tally.same_rejections += int(same_error.sum())
        for i in np.flatnonzero(~same_error)[:5]:
            tally.differences.append(f"row {tally.rows + i}: {smiles[i]!r} errors differ: "
                                     + ", ".join(f"{p}={results[p, 2][1][i]!r}" for p in PATHS))
        tally.parsed += sum(1 for e in ref_errors if not e)
        for radius in RADII:
            ok = np.ones(len(smiles), dtype=bool)
            for p in PATHS[1:]:
                ok &= same_rows(results["full", radius][0], results[p, radius][0])
            tally.same[radius] += int(ok.sum())
            for j in np.flatnonzero(~ok)[:5]:
                tally.differences.append(f"ECFP{2 * radius} differs on row {tally.rows + j}: {smiles[j]!r}")
        tally.rows += len(smiles)
        print(f"[{name}] {tally.rows} rows", file=sys.stderr, flush=True)
        if limit is not None and tally.rows >= limit:
            break
    return tally


def report(tallies: list[Tally], command: str) -> str:
    """Markdown report of all files."""
    lines = [
        "# Fast parse paths vs `Chem.MolFromSmiles`: ECFP identity",
        "",
        f"Command: `{command}` (RDKit {rdkit.__version__}, fp_size {FP_SIZE}, counts; "
        "bits are the set indices of the counts, so equal counts imply equal bits). A row is identical when "
        "the full, rdkit-fast and native paths give the same ECFP counts and the same rejection text.",
        "",
        "| file | rows | parsed | same rejection (row and reason) | ECFP4 identical | ECFP6 identical "
        "| Numba reader accepted | full CPU us/mol | rdkit-fast CPU us/mol | native CPU us/mol | native vs full |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tallies:
        us = {p: 1e6 * t.cpu[p] / max(t.rows, 1) for p in PATHS}
        lines.append(f"| {t.name} | {t.rows} | {t.parsed} | {t.same_rejections} | {t.same[2]} | {t.same[3]} "
                     f"| {t.accepted} ({t.accepted / max(t.rows, 1):.2%}) | {us['full']:.1f} | {us['rdkit-fast']:.1f} "
                     f"| {us['native']:.1f} | {us['full'] / us['native']:.1f}x |")
    lines += ["", "CPU time: SMILES → ECFP4 counts (parse, graph extraction, Morgan kernel), one process, one Numba "
              "thread, the three paths on the same chunks.", "", "Why the Numba reader refused rows (RDKit parsed "
              "them instead):", "", "| file | reason | rows |", "|---|---|---|"]
    for t in tallies:
        for reason, count in t.refusals.most_common():
            lines.append(f"| {t.name} | {reason} | {count} |")
    diffs = [d for t in tallies for d in t.differences]
    lines += ["", "RESULT: " + ("all identical" if not diffs else "DIFFERENCES:\n" + "\n".join(diffs))]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=None, help="at most this many rows per file")
    parser.add_argument("--files", nargs="+", choices=sorted(LIBRARIES), default=list(LIBRARIES))
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fastparse_identity.md")
    args = parser.parse_args(argv)
    numba.set_num_threads(1)
    command = "python bench/fastparse_identity.py " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tallies = []
    for name in args.files:  # the report is rewritten after each file
        tallies.append(check_library(name, args.data_dir / LIBRARIES[name], args.limit, args.chunk_size))
        text = report(tallies, command.strip())
        args.out.write_text(text)
    print(text)
    ok = all(t.same_rejections == t.rows and all(v == t.parsed for v in t.same.values()) for t in tallies)
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    sys.exit(main())
