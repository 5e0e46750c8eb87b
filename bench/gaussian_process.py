"""symmol's Gaussian process (``symmol train --architecture gp``): accuracy against GAUCHE and RF-500, cost by size.

Three parts, each a table:

1. **Photoswitch, GAUCHE's protocol** (Griffiths et al., NeurIPS 2023, arXiv:2212.04450; its
   notebook's figure: fragprints + Tanimoto kernel, RMSE 20.86 ± 0.66 nm): the E isomer π–π*
   wavelength (392 molecules), 20 random 80/20 splits (``sklearn.model_selection.train_test_split``
   with ``random_state`` 0–19), targets standardised on the training part, RMSE mean ± standard
   error over the splits. GAUCHE's number is published, not rerun (GAUCHE needs GPyTorch).
2. **ESOL and FreeSolv, random 80/10/10** (``symmol.evaluation.splits.random_split`` with seeds
   0, 1, 2; the GP fits the training part, validation is not used), test RMSE mean ± sd, against
   scikit-learn's RandomForest (500 trees) on ECFP4 bits of the same split.
3. **Cost by training-set size**: molecules of ZINC250k (shuffled, seed 0) with RDKit's Crippen
   logP as the target, each size fitted in a fresh process (``symmol train``'s defaults): wall time
   of the fit, of predicting 10,000 other molecules, and the process's peak resident memory. Past
   ``max_exact`` (10,000) the GP fits a seeded random subsample of that size, as ``symmol train``
   reports.

Reproduce::

    python bench/gaussian_process.py --data-dir ../shared/data --out bench/results/gaussian_process.md
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
PHOTOSWITCH_TARGET = "E isomer pi-pi* wavelength in nm"
PHOTOSWITCH_SETTINGS = {
    "fragprints (ECFP6 bits + RDKit fragment counts), Tanimoto": {"fingerprint": "fragprints", "kernel": "tanimoto"},
    "ECFP4 counts, MinMax (gp default)": {},
    "ECFP4 bits, Tanimoto": {"counts": False, "kernel": "tanimoto"},
}
REGRESSION_SETS = {"ESOL": ("moleculenet/delaney-processed.csv", "measured log solubility in mols per litre"),
                   "FreeSolv": ("moleculenet/SAMPL.csv", "expt")}


def rmse(predicted: np.ndarray, observed: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.ravel(predicted) - observed) ** 2)))


def photoswitch(data_dir: Path, n_splits: int) -> list[str]:
    from sklearn.model_selection import train_test_split

    from symmol import QSARModel

    table = pd.read_csv(data_dir / "property_prediction_extra" / "photoswitches.csv")
    table = table[table[PHOTOSWITCH_TARGET].notna()]
    smiles = np.asarray(table["SMILES"].tolist(), dtype=object)
    y = table[PHOTOSWITCH_TARGET].to_numpy(float)
    lines = ["## Photoswitch E isomer π–π* wavelength, GAUCHE's protocol", "",
             f"{len(y)} molecules, {n_splits} random 80/20 splits; RMSE in nm, mean ± standard error.", "",
             "| representation, kernel | RMSE (nm) | fit + predict per split (s) |", "|---|---:|---:|",
             "| GAUCHE, fragprints + Tanimoto (published, not rerun) | 20.86 ± 0.66 | |"]
    for name, options in PHOTOSWITCH_SETTINGS.items():
        errors, seconds = [], []
        for seed in range(n_splits):
            x_train, x_test, y_train, y_test = train_test_split(smiles, y, test_size=0.2, random_state=seed)
            start = time.perf_counter()
            model = QSARModel(task="regression", architecture="gp", progress=False, **options).fit(x_train, y_train)
            errors.append(rmse(model.predict(x_test), y_test))
            seconds.append(time.perf_counter() - start)
        sem = np.std(errors) / np.sqrt(len(errors))
        lines.append(f"| symmol, {name} | {np.mean(errors):.2f} ± {sem:.2f} | {np.median(seconds):.2f} |")
        print(lines[-1], flush=True)
    return lines


def regression_sets(data_dir: Path, seeds: list[int]) -> list[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from accuracy import random_forest_scores

    from symmol import QSARModel
    from symmol.evaluation.splits import random_split

    lines = ["## ESOL and FreeSolv, random 80/10/10", "",
             f"Test RMSE mean ± sd over splits with seeds {', '.join(map(str, seeds))}.", "",
             "| data set | molecules | symmol GP (ECFP4 counts, MinMax) | symmol GP (ECFP4 bits, Tanimoto) "
             "| RF-500 (ECFP4 bits) | GP fit + predict (s) |", "|---|---:|---:|---:|---:|---:|"]
    for name, (file, target) in REGRESSION_SETS.items():
        table = pd.read_csv(data_dir / file)
        smiles, y = np.asarray(table["smiles"].tolist(), dtype=object), table[target].to_numpy(float)
        bits = QSARModel(progress=False).featurize(list(smiles))
        dense = bits.batch.to_dense()
        results: dict[str, list[float]] = {"minmax": [], "bits": [], "rf": []}
        seconds = []
        for seed in seeds:
            split = random_split(len(y), seed=seed)
            start = time.perf_counter()
            model = QSARModel(task="regression", architecture="gp", progress=False).fit(smiles[split.train],
                                                                                      y[split.train])
            results["minmax"].append(rmse(model.predict(smiles[split.test]), y[split.test]))
            seconds.append(time.perf_counter() - start)
            model = QSARModel(task="regression", architecture="gp", counts=False, kernel="tanimoto",
                              progress=False).fit(smiles[split.train], y[split.train])
            results["bits"].append(rmse(model.predict(smiles[split.test]), y[split.test]))
            rf = random_forest_scores("regression", dense[split.train], y[split.train, None], dense[split.test],
                                      seed=seed, n_jobs=2)
            results["rf"].append(rmse(rf, y[split.test]))
        cells = " | ".join(f"{np.mean(v):.3f} ± {np.std(v):.3f}" for v in results.values())
        lines.append(f"| {name} | {len(y)} | {cells} | {np.median(seconds):.1f} |")
        print(lines[-1], flush=True)
    return lines


def _zinc(data_dir: Path, n: int) -> list[str]:
    with gzip.open(data_dir / "screening_libraries" / "zinc250k_rndm_zinc_drugs_clean.smi.gz", "rt") as handle:
        smiles = [line.split()[0] for line in handle if line.strip()]
    order = np.random.default_rng(0).permutation(len(smiles))[:n]
    return [smiles[i] for i in order]


def scaling_worker(data_dir: Path, n_train: int) -> None:
    """One size in this process: print a JSON line with the fit and predict seconds and peak memory."""
    from rdkit import Chem
    from rdkit.Chem import Crippen

    from symmol import QSARModel

    smiles = _zinc(data_dir, n_train + 10_000)
    logp = np.array([Crippen.MolLogP(Chem.MolFromSmiles(s)) for s in smiles])
    start = time.perf_counter()
    model = QSARModel(task="regression", architecture="gp", progress=False).fit(smiles[:n_train], logp[:n_train])
    fitted = time.perf_counter()
    predicted = model.predict(smiles[n_train:])
    done = time.perf_counter()
    summary = model.history_.fit_summary["targets"]["task0"]
    print(json.dumps({"n_train": n_train, "n_fitted": summary["n_fitted"], "fit_s": fitted - start,
                      "predict_s": done - fitted, "rmse": rmse(predicted, logp[n_train:]),
                      "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))


def scaling(data_dir: Path, sizes: list[int]) -> list[str]:
    lines = ["## Cost by training-set size (ZINC250k, Crippen logP)", "",
             "| training molecules | fitted (exact GP) | fit (s) | predict 10,000 (s) | peak memory (GB) "
             "| test RMSE (logP) |", "|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--data-dir", str(data_dir), "--worker", str(n)],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        lines.append(f"| {r['n_train']:,} | {r['n_fitted']:,} | {r['fit_s']:.1f} | {r['predict_s']:.1f} "
                     f"| {r['peak_rss_gb']:.2f} | {r['rmse']:.3f} |")
        print(lines[-1], flush=True)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--parts", nargs="+", default=["photoswitch", "regression", "scaling"])
    parser.add_argument("--splits", type=int, default=20, help="Photoswitch splits (GAUCHE: 20)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000, 20000])
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.worker is not None:
        scaling_worker(args.data_dir, args.worker)
        return 0
    started = time.perf_counter()
    lines = ["# Gaussian process on fingerprints (`--architecture gp`)", "",
             "Command: `python bench/gaussian_process.py --data-dir ../shared/data`; "
             f"{time.strftime('%Y-%m-%d')}, 2-core machine.", ""]
    parts = {"photoswitch": lambda: photoswitch(args.data_dir, args.splits),
             "regression": lambda: regression_sets(args.data_dir, args.seeds),
             "scaling": lambda: scaling(args.data_dir, args.sizes)}
    for part in args.parts:
        lines += parts[part]() + [""]
    lines.append(f"Total {time.perf_counter() - started:.0f} s.")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    sys.exit(main())
