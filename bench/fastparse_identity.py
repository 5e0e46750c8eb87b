"""Prove that the fast parse path gives the same ECFP as ``Chem.MolFromSmiles`` on whole libraries.

For every row of each library file, parses the SMILES with ``parse_smiles_list(mode="full")``
(``Chem.MolFromSmiles``) and ``mode="fast"`` (reduced sanitization, no stereo perception,
see :mod:`symmol.chem.parse`), then checks that

* the same rows are rejected, with the same reason text;
* ECFP4 and ECFP6 (``fp_size`` 2048) bits and counts are identical on every parsed row.

It also reports how many rows the fast path sent to the full path (explicit hydrogens or
rejected by the reduced sanitization) and the parse time of both paths in the same run.
Prints a markdown report (also written to ``--out``) and exits with status 1 on any difference.

Example::

    python bench/fastparse_identity.py --data-dir /work/shared/data
    python bench/fastparse_identity.py --data-dir /work/shared/data --limit 20000
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rdkit

from symmol.chem.io import iter_molecules
from symmol.chem.parse import _EXPLICIT_H, parse_smiles_list
from symmol.featurize import MorganFingerprint

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
    explicit_h: int = 0
    same_rejections: int = 0
    same: dict[int, int] = field(default_factory=lambda: dict.fromkeys(RADII, 0))
    t_full: float = 0.0
    t_fast: float = 0.0
    differences: list[str] = field(default_factory=list)


def same_rows(a, b) -> np.ndarray:
    """(n_rows,) bool: rows of two FingerprintBatches with equal indices and values."""
    out = np.zeros(len(a), dtype=bool)
    for i in range(len(a)):
        sa = slice(a.indptr[i], a.indptr[i + 1])
        sb = slice(b.indptr[i], b.indptr[i + 1])
        out[i] = (np.array_equal(a.indices[sa], b.indices[sb]) and np.array_equal(a.values[sa], b.values[sb]))
    return out


def check_library(name: str, path: Path, limit: int | None, chunk_size: int) -> Tally:
    """Compare the two parse paths on one file (at most ``limit`` rows)."""
    tally = Tally(name)
    featurizers = {r: MorganFingerprint(r, FP_SIZE, counts=True) for r in RADII}
    for chunk in iter_molecules(path, chunk_size=chunk_size):
        smiles = chunk["smiles"].tolist()
        if limit is not None:
            smiles = smiles[: max(limit - tally.rows, 0)]
        if not smiles:
            break
        t0 = time.perf_counter()
        full = parse_smiles_list(smiles, mode="full")
        t1 = time.perf_counter()
        fast = parse_smiles_list(smiles, mode="fast")
        t2 = time.perf_counter()
        tally.t_full += t1 - t0
        tally.t_fast += t2 - t1
        tally.explicit_h += sum(_EXPLICIT_H.search(s) is not None for s in smiles)
        same_error = np.array([a == b for a, b in zip(full.errors, fast.errors, strict=True)])
        tally.same_rejections += int(same_error.sum())
        for i in np.flatnonzero(~same_error)[:5]:
            tally.differences.append(f"row {tally.rows + i}: {smiles[i]!r} full={full.errors[i]!r} "
                                     f"fast={fast.errors[i]!r}")
        both = [i for i in range(len(smiles)) if full.mols[i] is not None and fast.mols[i] is not None]
        tally.parsed += len(both)
        for radius, featurizer in featurizers.items():
            a = featurizer.from_mols([full.mols[i] for i in both])
            b = featurizer.from_mols([fast.mols[i] for i in both])
            ok = same_rows(a, b)
            tally.same[radius] += int(ok.sum())
            for j in np.flatnonzero(~ok)[:5]:
                tally.differences.append(f"ECFP{2 * radius} differs on {smiles[both[j]]!r}")
        tally.rows += len(smiles)
        print(f"[{name}] {tally.rows} rows", file=sys.stderr, flush=True)
        if limit is not None and tally.rows >= limit:
            break
    return tally


def report(tallies: list[Tally], command: str) -> str:
    """Markdown report of all files."""
    lines = [
        "# Fast parse path vs `Chem.MolFromSmiles`: ECFP identity",
        "",
        f"Command: `{command}` (RDKit {rdkit.__version__}, fp_size {FP_SIZE}, bits and counts; "
        "bits are the set indices of the count fingerprint, so equal counts imply equal bits).",
        "",
        "| file | rows | parsed | same rejection (row and reason) | ECFP4 identical | ECFP6 identical "
        "| explicit-H rows (full path) | full parse us/mol | fast parse us/mol | speed-up |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tallies:
        full_us = 1e6 * t.t_full / max(t.rows, 1)
        fast_us = 1e6 * t.t_fast / max(t.rows, 1)
        lines.append(f"| {t.name} | {t.rows} | {t.parsed} | {t.same_rejections} | {t.same[2]} | {t.same[3]} "
                     f"| {t.explicit_h} | {full_us:.1f} | {fast_us:.1f} | {full_us / fast_us:.2f}x |")
    diffs = [d for t in tallies for d in t.differences]
    lines += ["", "Parse times: wall clock of the two paths on the same chunks, interleaved chunk by chunk, one "
              "process. On a shared machine they are noisy even as a ratio; `bench/featurize.py --steps` profiles "
              "the steps.", ""]
    lines.append("RESULT: " + ("all identical" if not diffs else "DIFFERENCES:\n" + "\n".join(diffs)))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--limit", type=int, default=None, help="at most this many rows per file")
    parser.add_argument("--files", nargs="+", choices=sorted(LIBRARIES), default=list(LIBRARIES))
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fastparse_identity.md")
    args = parser.parse_args(argv)
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
    sys.exit(main())
