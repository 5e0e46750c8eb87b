"""Screen the whole ZINC250k file with ``symmol screen`` and check that nothing is lost.

A copy of ZINC250k gets invalid SMILES injected at known positions (syntax errors, valence
errors, unkekulizable aromatics, blank lines). The script runs ``symmol screen`` on it and
checks that the results have exactly one row per input line, in order, that every injected
row is ``invalid`` with a reason and every other row is ``ok``, and that the top-K file is
ranked. It prints rows, time and molecules/s.

Reproduce (model from the quickstart, or any model directory)::

    bash examples/quickstart.sh
    python bench/screen_zinc.py --model runs/quickstart/tox21_model --out bench/results/screen_zinc.md
"""

from __future__ import annotations

import argparse
import gzip
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from symmol.cli.main import main as symmol_main

REPO = Path(__file__).resolve().parents[1]
INJECTED = ["C1CC", "N(=O)(=O)(=O)C", "c1cccc1", "", "C(C)(C)(C)(C)C", "[Xe+9]x", "CC(=O"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", type=Path, default=REPO / "runs" / "quickstart" / "tox21_model")
    parser.add_argument("--every", type=int, default=10_000, help="inject one invalid SMILES every N rows")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    source = args.data_dir / "screening_libraries" / "zinc250k_rndm_zinc_drugs_clean.smi.gz"
    with gzip.open(source, "rt") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    injected_rows = {}
    for k, position in enumerate(range(args.every // 2, len(lines), args.every)):
        injected_rows[position + k] = INJECTED[k % len(INJECTED)]
    rows: list[str] = []
    queue = iter(lines)
    for row in range(len(lines) + len(injected_rows)):
        rows.append(injected_rows[row] if row in injected_rows else next(queue))

    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "zinc250k_injected.smi.gz"
        with gzip.open(library, "wt") as handle:
            handle.write("\n".join(rows) + "\n")
        results = Path(tmp) / "scores.csv.gz"
        t0 = time.perf_counter()
        status = symmol_main(["screen", str(args.model), str(library), "--out", str(results), "--top", "100",
                              "--no-progress"])
        seconds = time.perf_counter() - t0
        assert status == 0, "symmol screen failed"
        table = pd.read_csv(results, keep_default_na=False, na_values=[""])
        top = pd.read_csv(Path(tmp) / "scores.top.csv")
    first_target = table.columns[list(table.columns).index("smiles") + 1]

    checks = {
        "one output row per input row": len(table) == len(rows),
        "rows in input order": table["row"].tolist() == list(range(len(rows))),
        "every injected row invalid, with a reason": all(
            table.loc[r, "status"] == "invalid" and table.loc[r, "error"] for r in injected_rows),
        "every other row ok": int((table["status"] == "ok").sum()) == len(lines),
        "top 100 ranked by first target": len(top) == 100 and top[first_target].is_monotonic_decreasing
        and np.isclose(top[first_target].iloc[0], table.loc[table["status"] == "ok", first_target].max()),
    }
    report = [
        f"| input rows | {len(rows):,} ({len(lines):,} ZINC250k + {len(injected_rows)} injected invalid) |",
        f"| ok / invalid | {int((table['status'] == 'ok').sum()):,} / {int((table['status'] == 'invalid').sum())} |",
        f"| wall time | {seconds:.1f} s ({len(rows) / seconds:,.0f} molecules/s, end to end) |",
    ] + [f"| {name} | {'yes' if ok else 'NO'} |" for name, ok in checks.items()]
    examples = table.loc[sorted(injected_rows)[:4], ["row", "smiles", "status", "error"]]
    text = ("| check | result |\n|---|---|\n" + "\n".join(report) + "\n\nInjected rows as reported:\n\n"
            + examples.to_markdown(index=False) + "\n")
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("# `symmol screen` on the whole ZINC250k with injected invalid SMILES\n\n"
                            f"Command: `python bench/screen_zinc.py --model {args.model}`\n\n" + text)
    if not all(checks.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    main()
