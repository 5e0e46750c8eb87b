"""MOSES's metrics of a generated set: symmol's implementation against the ``molsets`` package, on real molecules.

``symmol.generation.metrics`` reimplements MOSES's definitions (``molsets`` 0.3.1 no longer installs with
its pinned dependencies, moses#104). This script computes both on the same set and writes them side by
side with their differences. The "generated" set is built from real molecules so that every metric
is away from its limit: molecules of MOSES's train split (not novel), of its test split (novel), a
few hundred repeats, and SMILES with one character deleted (mostly invalid). The reference set is
drawn from MOSES's test split, novelty is against the whole train split.

``molsets`` installs without its pins: ``pip install --no-deps molsets==0.3.1 fcd_torch`` (it also
needs ``torch``). Two of its imports broke since: ``moses.metrics.utils`` calls ``DataFrame.append``,
which pandas 2 removed, and its copy of ``sascorer`` imports ``rdkit.six``, which RDKit removed; the
script puts both back (``pd.concat``, ``dict.items``) before importing it.

    python bench/generation_metrics.py --data-dir ../shared/data --out bench/results/generation_metrics.md
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, rdBase

from symmol.generation.metrics import GenerationReference, generation_metrics

REPO = Path(__file__).resolve().parents[1]


def generated_set(train: list[str], test: list[str], n: int, seed: int) -> list[str]:
    """``n`` SMILES: 85 % train molecules, 5 % test molecules, 5 % repeats, 5 % with one character deleted."""
    rng = np.random.default_rng(seed)
    n_train, n_test, n_repeat = int(0.85 * n), int(0.05 * n), int(0.05 * n)
    chosen = [train[i] for i in rng.choice(len(train), n_train, replace=False)]
    chosen += [test[i] for i in rng.choice(len(test), n_test, replace=False)]
    chosen += [chosen[i] for i in rng.choice(len(chosen), n_repeat)]
    for i in rng.choice(len(train), n - len(chosen), replace=False):
        s = train[i]
        cut = int(rng.integers(len(s)))
        chosen.append(s[:cut] + s[cut + 1:])
    return [chosen[i] for i in rng.permutation(len(chosen))]


def moses_metrics(gen: list[str], reference: list[str], train: list[str], k: tuple[int, ...]) -> dict[str, float]:
    """``get_all_metrics`` of molsets, step by step, without the scaffold-test columns."""
    if not hasattr(pd.DataFrame, "append"):  # pandas 2 removed it; moses.metrics.utils calls it at import
        pd.DataFrame.append = lambda self, other, sort=False: pd.concat([self, other], sort=sort)  # type: ignore
    six = types.ModuleType("rdkit.six")  # RDKit removed it; moses's sascorer imports iteritems from it
    six.iteritems = lambda mapping: iter(mapping.items())  # type: ignore[attr-defined]
    sys.modules.setdefault("rdkit.six", six)
    from moses.metrics import metrics as mm  # noqa: PLC0415 - optional, patched first

    out: dict[str, float] = {"valid": mm.fraction_valid(gen)}
    gen_valid = mm.remove_invalid(gen, canonize=True)
    for size in k:
        out[f"unique@{size}"] = mm.fraction_unique(gen_valid, size)
    ptest = mm.compute_intermediate_statistics(reference)
    mols = [mm.get_mol(s) for s in gen_valid]
    out["FCD/Test"] = mm.FCDMetric()(gen=gen_valid, pref=ptest["FCD"])
    out["SNN/Test"] = mm.SNNMetric()(gen=mols, pref=ptest["SNN"])
    out["Frag/Test"] = mm.FragMetric()(gen=mols, pref=ptest["Frag"])
    out["Scaf/Test"] = mm.ScafMetric()(gen=mols, pref=ptest["Scaf"])
    out["IntDiv"] = mm.internal_diversity(mols)
    out["IntDiv2"] = mm.internal_diversity(mols, p=2)
    out["Filters"] = mm.fraction_passes_filters(mols)
    for name, func in (("logP", mm.logP), ("SA", mm.SA), ("QED", mm.QED), ("weight", mm.weight)):
        out[name] = mm.WassersteinMetric(func)(gen=mols, pref=ptest[name])
    out["novelty"] = mm.novelty(mols, train)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=10_000, help="generated SMILES")
    parser.add_argument("--n-reference", type=int, default=10_000, help="reference molecules from MOSES test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    train = pd.read_csv(args.data_dir / "generation" / "moses_train.csv.gz")["SMILES"].tolist()
    test = pd.read_csv(args.data_dir / "screening_libraries" / "moses_test.csv.gz", header=None)[0].tolist()
    gen = generated_set(train, test, args.n, args.seed)
    reference = [test[i] for i in np.random.default_rng(args.seed + 1).choice(len(test), args.n_reference,
                                                                                replace=False)]
    k = (1000, args.n)

    start = time.perf_counter()
    ours = generation_metrics(gen, GenerationReference.from_smiles(reference), training=train, k=k)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    with rdBase.BlockLogs():
        theirs = moses_metrics(gen, reference, train, k)
    theirs_s = time.perf_counter() - start

    rows = [{"metric": name, "symmol": ours[name], "molsets": theirs[name],
             "|difference|": abs(float(ours[name]) - float(theirs[name])) if ours[name] is not None else None}
            for name in theirs]
    frame = pd.DataFrame(rows)
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("molsets", "fcd_torch", "rdkit", "torch"))
    text = "\n\n".join([
        "# MOSES metrics: symmol against molsets on the same set",
        f"Command: `python bench/generation_metrics.py --n {args.n} --n-reference {args.n_reference} --seed "
        f"{args.seed}`; {time.strftime('%Y-%m-%d')}, {versions} (RDKit {Chem.rdBase.rdkitVersion}). Generated set: "
        f"{args.n} SMILES (85 % MOSES train molecules, 5 % MOSES test molecules, 5 % repeats, 5 % with one "
        f"character deleted), shuffled; reference: {args.n_reference} MOSES test molecules; novelty against the "
        f"{len(train):,} train molecules. Wall time: symmol {ours_s:.0f} s, molsets {theirs_s:.0f} s (one process "
        "each; the FCD and the reference statistics included).",
        frame.to_markdown(index=False, floatfmt=".6g"),
    ]) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
