"""symmol's ECFP4 MLP vs scikit-learn's RandomForest (500 trees) on the same features and split.

Data sets (MoleculeNet, bundled in examples/data): Tox21 (scaffold split, mean ROC-AUC over
12 tasks), BBBP (scaffold, ROC-AUC), ESOL (random, RMSE). Splits are 80/10/10 (scaffold:
DeepChem's ordering, largest Bemis–Murcko groups to train). Both models see the identical
ECFP4 (radius 2, 2048 bits) matrix computed by symmol's kernel. RF uses scikit-learn's
defaults with 500 trees, trained on the training set, and is reported as the mean test metric
over the same ``--seeds`` as the MLP (``random_state=seed``), so both sides average the same
number of fits. The MLP (2048 → 512 → tasks, Adam)
picks its regularisation from a four-point grid by the *validation* metric (mean over
``--seeds``), uses the validation set for early stopping (up to ``EPOCHS`` epochs, patience
``PATIENCE``), and reports the test metric of that choice; the test set is never used for a
choice. Every candidate is listed.

How the grid and budget were chosen (validation data only): with 40 epochs, ESOL's best epoch
was 36–39 of 40, so the budget, not early stopping, ended training; ``EPOCHS = 100`` with
``PATIENCE = 20`` makes the budget non-binding (ESOL validation RMSE 1.12 → 1.06, BBBP
validation ROC-AUC unchanged). BBBP's validation optimum was at the grid's edge (the
strongest weight decay, 1e-2), so the grid was extended to 3e-2 and 1e-1: validation ROC-AUC
0.9645 (1e-2), 0.9688 (3e-2), 0.9618 (1e-1), an interior maximum at 3e-2, which joins the grid.
Weight averaging (``averaging="ema"``/``"swa"``), cosine decay without early stopping, and
bagged or plain 5-member ensembles did not raise any validation metric of BBBP or ESOL and
are not in the grid. ``--validation-probe`` then varied BBBP's chosen candidate one setting
at a time (``PROBE``: width 256/1024/2048, two layers, dropout 0.6/0.7, batch 128, GELU),
printing validation metrics only. The rule, fixed before the probe ran: the variant with the
best mean validation ROC-AUC joins the grid if it beats the chosen candidate, and the bench
runs once more with whatever it selects. Batch 128 won (0.9710 vs 0.9688); two layers 0.9706,
width 2048 0.9704, the rest 0.966–0.969. That run chose it for BBBP, at test ROC-AUC 0.677 against
0.685 for the previous choice (``bench/results/accuracy.md``): BBBP's validation set cannot rank
these models, and the candidate stays in the grid, since removing it for its test score would be
tuning on test.

Reproduce (about 50 minutes on 2 cores; Tox21's RF fits dominate)::

    python bench/accuracy.py --out bench/results/accuracy.md
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from symmol.chem.io import read_molecules
from symmol.data.fingerprints import FingerprintBatch
from symmol.estimator import QSARModel
from symmol.evaluation.metrics import task_metrics
from symmol.evaluation.splits import Split, random_split, scaffold_split

REPO = Path(__file__).resolve().parents[1]
#: MLP candidates: (dropout, weight decay, batch size); the first is `symmol train`'s default.
GRID = [(0.3, 3e-4, 64), (0.5, 3e-3, 256), (0.5, 1e-2, 256), (0.5, 3e-2, 256), (0.5, 3e-2, 128)]
#: ``--validation-probe``: BBBP's chosen candidate and one-setting variants of it (validation only).
PROBE_BASE = {"hidden": (512,), "dropout": 0.5, "weight_decay": 3e-2, "batch_size": 256}
PROBE = [{}, {"hidden": (256,)}, {"hidden": (1024,)}, {"hidden": (2048,)}, {"hidden": (512, 256)},
         {"dropout": 0.6}, {"dropout": 0.7}, {"batch_size": 128}, {"activation": "gelu"}]
#: Epoch budget and early-stopping patience of every candidate (see the module docstring).
EPOCHS, PATIENCE = 100, 20
TOX21_TASKS = ["NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD", "NR-PPAR-gamma",
               "SR-ARE", "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53"]


@dataclass(frozen=True)
class Dataset:
    name: str
    file: str
    targets: list[str]
    task: str
    split: str


DATASETS = [
    Dataset("Tox21", "tox21.csv", TOX21_TASKS, "classification", "scaffold"),
    Dataset("BBBP", "bbbp.csv", ["p_np"], "classification", "scaffold"),
    Dataset("ESOL", "esol.csv", ["measured log solubility in mols per litre"], "regression", "random"),
]


def random_forest_scores(task: str, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
                         seed: int, n_jobs: int) -> np.ndarray:
    """One RF per target, trained on the rows where that target is measured."""
    scores = np.zeros((X_test.shape[0], y_train.shape[1]))
    for j in range(y_train.shape[1]):
        mask = ~np.isnan(y_train[:, j])
        if task == "classification":
            rf = RandomForestClassifier(n_estimators=500, n_jobs=n_jobs, random_state=seed)
            rf.fit(X_train[mask], y_train[mask, j].astype(int))
            scores[:, j] = rf.predict_proba(X_test)[:, 1]
        else:
            rf = RandomForestRegressor(n_estimators=500, n_jobs=n_jobs, random_state=seed)
            rf.fit(X_train[mask], y_train[mask, j])
            scores[:, j] = rf.predict(X_test)
    return scores


@dataclass(frozen=True)
class LoadedDataset:
    """The RDKit-valid rows of a data set: SMILES, targets, ECFP4 fingerprints and the split."""

    smiles: np.ndarray
    y: np.ndarray
    fps: FingerprintBatch
    split: Split
    metric: str


def load_dataset(ds: Dataset, data_dir: Path) -> LoadedDataset:
    table = read_molecules(data_dir / ds.file, smiles_column="smiles")
    featurized = QSARModel(ds.task, progress=False).featurize(table["smiles"].tolist())
    valid = np.flatnonzero(featurized.valid)
    smiles = table["smiles"].to_numpy()[valid]
    split = scaffold_split(smiles) if ds.split == "scaffold" else random_split(valid.size, seed=0)
    return LoadedDataset(smiles, table[ds.targets].astype(float).to_numpy()[valid],
                         featurized.batch.take(valid), split,
                         "roc_auc" if ds.task == "classification" else "rmse")


def validation_metric(ds: Dataset, data: LoadedDataset, seed: int, **options) -> float:
    """Fit one MLP (early stopping on validation) and return its validation metric only."""
    model = QSARModel(ds.task, epochs=EPOCHS, patience=PATIENCE, progress=False, seed=seed, **options)
    split = data.split
    model.fit(data.smiles[split.train], data.y[split.train], data.smiles[split.val], data.y[split.val],
              target_names=ds.targets)
    scores = model.model_.predict_batch(data.fps.take(split.val))
    return task_metrics(ds.task, data.y[split.val], scores, ds.targets)[data.metric]


def validation_probe(ds: Dataset, data_dir: Path, seeds: list[int]) -> None:
    """Print the validation metric (mean, sd over ``seeds``) of ``PROBE_BASE`` and each ``PROBE`` variant."""
    data = load_dataset(ds, data_dir)
    for variant in PROBE:
        options = {**PROBE_BASE, **variant}
        values = [validation_metric(ds, data, seed, **options) for seed in seeds]
        print(f"{ds.name} {variant or 'base'}: validation {data.metric} {np.mean(values):.4f} "
              f"(sd {np.std(values):.4f})", flush=True)


def run_dataset(ds: Dataset, data_dir: Path, seeds: list[int], n_jobs: int) -> dict:
    data = load_dataset(ds, data_dir)
    smiles, y, fps, split, metric = data.smiles, data.y, data.fps, data.split, data.metric

    t0 = time.perf_counter()
    X = fps.to_dense(np.float32)
    rf_values = []
    for seed in seeds:
        rf = random_forest_scores(ds.task, X[split.train], y[split.train], X[split.test], seed=seed, n_jobs=n_jobs)
        rf_values.append(task_metrics(ds.task, y[split.test], rf, ds.targets)[metric])
    rf_value = float(np.mean(rf_values))
    rf_seconds = (time.perf_counter() - t0) / len(seeds)

    higher_better = metric == "roc_auc"
    candidates = []
    t0 = time.perf_counter()
    for dropout, weight_decay, batch_size in GRID:
        val_values, test_values = [], []
        for seed in seeds:
            model = QSARModel(ds.task, dropout=dropout, weight_decay=weight_decay, batch_size=batch_size,
                              epochs=EPOCHS, patience=PATIENCE, progress=False, seed=seed)
            model.fit(smiles[split.train], y[split.train], smiles[split.val], y[split.val], target_names=ds.targets)
            for rows, values in ((split.val, val_values), (split.test, test_values)):
                scores = model.model_.predict_batch(fps.take(rows))
                values.append(task_metrics(ds.task, y[rows], scores, ds.targets)[metric])
        candidates.append({"dropout": dropout, "weight_decay": weight_decay, "batch_size": batch_size,
                           "val": float(np.mean(val_values)), "test": float(np.mean(test_values)),
                           "test_sd": float(np.std(test_values))})
    mlp_seconds = (time.perf_counter() - t0) / (len(seeds) * len(GRID))
    chosen = (max if higher_better else min)(candidates, key=lambda c: c["val"])
    grid_text = "; ".join(f"d={c['dropout']} wd={c['weight_decay']:g} bs={c['batch_size']}: "
                          f"val {c['val']:.3f} test {c['test']:.3f}" for c in candidates)
    return {"dataset": ds.name, "split": ds.split, "metric": metric.upper().replace("_", "-"),
            "n train/val/test": f"{split.train.size}/{split.val.size}/{split.test.size}",
            "symmol MLP (val-selected)": chosen["test"], "MLP sd over seeds": chosen["test_sd"],
            "RF-500": rf_value, "RF sd over seeds": float(np.std(rf_values)),
            "MLP >= RF": bool(chosen["test"] >= rf_value if higher_better else chosen["test"] <= rf_value),
            "chosen (dropout, wd, batch)": f"{chosen['dropout']}, {chosen['weight_decay']:g}, {chosen['batch_size']}",
            "MLP s/fit": mlp_seconds, "RF s/fit": rf_seconds, "grid": grid_text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO / "examples" / "data",
                        help="folder with tox21.csv, bbbp.csv, esol.csv")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--datasets", nargs="+", default=[d.name for d in DATASETS])
    parser.add_argument("--out", type=Path, default=None, help="write the table as Markdown here")
    parser.add_argument("--validation-probe", action="store_true",
                        help="print validation metrics of the PROBE variants instead (no test metric, no RF)")
    args = parser.parse_args()
    if args.validation_probe:
        for ds in DATASETS:
            if ds.name in args.datasets:
                validation_probe(ds, args.data_dir, args.seeds)
        return
    rows = [run_dataset(ds, args.data_dir, args.seeds, args.n_jobs) for ds in DATASETS if ds.name in args.datasets]
    text = markdown_table(rows)
    print(text)
    if args.out:
        write_results(args.out, rows, args.seeds)


def markdown_table(rows: list[dict]) -> str:
    """A GitHub Markdown table of result rows (floats with 3 decimals); needs no ``tabulate``."""
    columns = list(rows[0])

    def cell(value) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_results(out: Path, rows: list[dict], seeds: list[int]) -> None:
    """Write the Markdown report to ``out`` and the raw rows to ``out`` with suffix ``.json``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    out.write_text(
        "# Accuracy: symmol ECFP4 MLP vs RandomForest(500) on identical ECFP4 features\n\n"
        f"Command: `python bench/accuracy.py --seeds {' '.join(map(str, seeds))}`\n\n"
        "ROC-AUC: higher is better; RMSE (log10 mol/L): lower is better. RF-500: mean over the same seeds "
        "(`random_state`). MLP: mean over seeds of the candidate with the best validation metric "
        "(every candidate: up to "
        f"{EPOCHS} epochs, early stopping on the validation metric with patience {PATIENCE}); `grid` lists "
        "every candidate's validation and test metric. The test set is used for no choice.\n\n"
        + markdown_table(rows) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    main()
