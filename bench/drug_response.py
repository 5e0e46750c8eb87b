"""Cancer drug response on GDSC: symmol's ``drug-response`` model against the baselines, on three splits.

Data from ``--data-dir`` (``../shared/data/drug_response``, GDSC1000 "v17" as shipped with gdsctools;
read its README's caveats): ``gdsc_ic50.csv.gz`` (ln IC50 per measured cell line × drug pair),
``gdsc_drugs.csv`` (SMILES for 253 of 265 drugs; the pairs of the 12 without one are left out),
``gdsc_cell_features.csv.gz`` (677 binary mutation and copy-number features, tissue, MSI status).

Splits, one per seed (80/10/10, by ``numpy.random.default_rng(seed)``):

* **random**: random pairs (tCNNs' and DeepCDR's setting: every drug and cell line is seen in training).
* **cell-blind**: leave cell lines out: the cell lines are split, a test cell line has no training pair
  (personalised medicine: a new patient's tumour).
* **drug-blind**: leave drugs out, grouped by structure (RDKit canonical SMILES without stereo,
  largest fragment): GDSC screens 16 compounds under two ids, which must fall on one side.

Methods, every one from the same split file:

* **symmol drug-response**: ``symmol train PAIRS.csv --architecture drug-response ...`` as a user runs
  it (the drug's ECFP4 beside the cell line's profile, defaults, early stopping on the validation
  pairs, the test pairs scored once).
* **gradient boosting** (scikit-learn's ``HistGradientBoostingRegressor``, 127 leaves, learning rate
  0.1) on the same inputs: ECFP4 folded to 1,024 bits beside the 705 profile columns; the iteration
  count chosen on the validation pairs (up to ``--gbm-max-iter``), then refitted on train + validation.
* **additive**: drug mean + cell-line mean − global mean over the training pairs (an unseen drug or
  cell line contributes the global mean): on cell-blind splits this is the drug's mean, on
  drug-blind splits the cell line's mean.

Metrics on the test pairs: RMSE, Pearson, Spearman, concordance index, and the per-drug Pearson
(:func:`symmol.evaluation.metrics.per_group_pearson`: within each test drug of at least 10 test cell
lines, grouped by structure), which a model cannot win by knowing which drugs are potent.

Every fit is appended to ``bench/results/drug_response_runs.csv``; ``--summary`` composes the table::

    python bench/drug_response.py --splits random cell-blind drug-blind --methods additive gbm drug-response
    python bench/drug_response.py --summary --out bench/results/drug_response.md
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from symmol.chem.scaffolds import structure_key
from symmol.evaluation.metrics import affinity_metrics, per_group_pearson
from symmol.featurizers import MorganFingerprint, ProfileTable

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "bench" / "results" / "drug_response_runs.csv"
SPLITS = ("random", "cell-blind", "drug-blind")
#: Method name → table label, in table order.
METHODS = {
    "drug-response": "symmol drug-response (ECFP4 + profile network)",
    "gbm": "gradient boosting (ECFP4 + profile)",
    "additive": "additive (drug + cell-line means)",
}
COLUMNS = ("rmse", "pearson", "spearman", "ci", "per_drug_pearson")
GBM_PARAMS = {"learning_rate": 0.1, "max_leaf_nodes": 127}


def gdsc_pairs(data_dir: Path) -> pd.DataFrame:
    """Measured pairs whose drug has a SMILES RDKit reads, with ``smiles`` and the drug's ``structure``."""
    ic50 = pd.read_csv(data_dir / "gdsc_ic50.csv.gz")
    drugs = pd.read_csv(data_dir / "gdsc_drugs.csv")[["drug_id", "smiles"]].dropna()
    drugs["structure"] = drugs["smiles"].map(structure_key)
    drugs = drugs[drugs["structure"] != ""]
    return ic50.merge(drugs, on="drug_id", how="inner").reset_index(drop=True)


def make_split(pairs: pd.DataFrame, kind: str, seed: int) -> dict[str, np.ndarray]:
    """Row numbers of train, val and test (80/10/10) of split ``kind``."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        units = rng.permutation(len(pairs))
        cut = np.cumsum([int(0.8 * len(units)), int(0.1 * len(units))])
        return dict(zip(("train", "val", "test"), np.split(units, cut), strict=True))
    column = {"cell-blind": "cosmic_id", "drug-blind": "structure"}[kind]
    groups = pd.unique(pairs[column])
    groups = groups[rng.permutation(len(groups))]
    cut = np.cumsum([int(round(0.8 * len(groups))), int(round(0.1 * len(groups)))])
    parts = np.split(groups, cut)
    return {name: np.flatnonzero(pairs[column].isin(part).to_numpy())
            for name, part in zip(("train", "val", "test"), parts, strict=True)}


def additive(pairs: pd.DataFrame, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Drug mean + cell-line mean − global mean of the training pairs (unseen: the global mean)."""
    fit = pairs.iloc[train]
    mu = float(fit["ln_ic50"].mean())
    drug = fit.groupby("structure")["ln_ic50"].mean()
    cell = fit.groupby("cosmic_id")["ln_ic50"].mean()
    rows = pairs.iloc[test]
    return (rows["structure"].map(drug).fillna(mu).to_numpy() + rows["cosmic_id"].map(cell).fillna(mu).to_numpy()
            - mu)


def features(pairs: pd.DataFrame, data_dir: Path) -> np.ndarray:
    """``(n_pairs, 1024 + 705)`` float32: the drug's ECFP4 bits beside the cell line's profile."""
    drugs = pairs.drop_duplicates("drug_id").set_index("drug_id")
    fingerprints = MorganFingerprint(fp_size=1024).featurize(drugs["smiles"].tolist()).batch.to_dense()
    table = ProfileTable.read(data_dir / "gdsc_cell_features.csv.gz", "COSMIC_ID")
    profiles = table.featurize(pairs["cosmic_id"].tolist())
    if any(profiles.errors):
        raise ValueError(next(e for e in profiles.errors if e))
    return np.hstack([fingerprints[drugs.index.get_indexer(pairs["drug_id"])].astype(np.float32),
                      profiles.batch.values])


def gradient_boosting(x: np.ndarray, y: np.ndarray, split: dict[str, np.ndarray], max_iter: int,
                      seed: int) -> tuple[np.ndarray, str]:
    """Test predictions; the iteration count chosen on the validation pairs, refitted on train + val."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    model = HistGradientBoostingRegressor(max_iter=max_iter, early_stopping=False, random_state=seed, **GBM_PARAMS)
    model.fit(x[split["train"]], y[split["train"]])
    errors = [float(np.mean((p - y[split["val"]]) ** 2)) for p in model.staged_predict(x[split["val"]])]
    iterations = int(np.argmin(errors)) + 1
    rows = np.concatenate([split["train"], split["val"]])
    model = HistGradientBoostingRegressor(max_iter=iterations, early_stopping=False, random_state=seed,
                                          **GBM_PARAMS)
    model.fit(x[rows], y[rows])
    return model.predict(x[split["test"]]), f"{iterations} iterations (validation RMSE {np.sqrt(min(errors)):.3f})"


def symmol_fit(pairs: pd.DataFrame, split: dict[str, np.ndarray], data_dir: Path, seed: int,
               extra: list[str]) -> tuple[np.ndarray, str]:
    """Train ``drug-response`` through ``symmol train`` on ``split``; the test predictions, and how it went."""
    with tempfile.TemporaryDirectory() as tmp:
        table, splits, out = Path(tmp) / "pairs.csv", Path(tmp) / "splits.json", Path(tmp) / "model"
        pairs[["cosmic_id", "drug_id", "smiles", "ln_ic50"]].to_csv(table, index=False)
        splits.write_text(json.dumps([{k: v.tolist() for k, v in split.items()}]))
        command = ["train", str(table), "--architecture", "drug-response", "--ligand-column", "smiles",
                   "--cell-line-column", "cosmic_id", "--cell-features",
                   str(data_dir / "gdsc_cell_features.csv.gz"), "--cell-id-column", "COSMIC_ID",
                   "--target", "ln_ic50", "--task", "regression", "--splits-file", str(splits), "--seed", str(seed),
                   "--no-progress", "--out", str(out), *extra]
        subprocess.run([sys.executable, "-m", "symmol", *command], check=True)
        test = pairs.iloc[split["test"]]
        query = Path(tmp) / "test.csv"
        test[["cosmic_id", "smiles"]].to_csv(query, index=False)
        predictions = Path(tmp) / "predictions.csv"
        subprocess.run([sys.executable, "-m", "symmol", "predict", str(out), str(query), "--ligand-column",
                        "smiles", "--out", str(predictions), "--no-progress"], check=True)
        predicted = pd.read_csv(predictions)["ln_ic50"].to_numpy()
        history = json.loads((out / "history.json").read_text())
    note = (f"best epoch {history['best_epoch'] + 1} of {len(history['train_loss'])}, "
            f"{np.median(history['epoch_seconds']):.1f} s/epoch")
    shown = ["symmol", "train", "PAIRS.csv", *command[2:9], "gdsc_cell_features.csv.gz", *command[10:17],
             "splits.json", *command[18:20], *extra]
    return predicted, shlex.join(shown) + f" ({note})"


def run(data_dir: Path, splits: list[str], methods: list[str], seeds: list[int], max_iter: int,
        extra: list[str]) -> pd.DataFrame:
    """Fit every method on each split and score its test pairs once; one row per fit."""
    pairs = gdsc_pairs(data_dir)
    y = pairs["ln_ic50"].to_numpy()
    x = features(pairs, data_dir) if "gbm" in methods else None
    rows = []
    for kind in splits:
        for seed in seeds:
            split = make_split(pairs, kind, seed)
            truth = y[split["test"]]
            for method in methods:
                start, how = time.perf_counter(), ""
                if method == "additive":
                    predicted = additive(pairs, split["train"], split["test"])
                elif method == "gbm":
                    assert x is not None
                    predicted, how = gradient_boosting(x, y, split, max_iter, seed)
                else:
                    predicted, how = symmol_fit(pairs, split, data_dir, seed, extra)
                seconds = time.perf_counter() - start
                metrics = affinity_metrics(truth, predicted)
                per_drug, n_drugs = per_group_pearson(truth, predicted, pairs["structure"].to_numpy()[split["test"]])
                label = METHODS[method] + (f" [{shlex.join(extra)}]" if extra and method == "drug-response" else "")
                rows.append({"split": kind, "method": label, "seed": seed,
                             "train pairs": len(split["train"]), "test pairs": len(split["test"]),
                             **{k: metrics[k] for k in COLUMNS[:-1]}, "per_drug_pearson": per_drug,
                             "drugs in per-drug mean": n_drugs, "seconds": round(seconds, 1),
                             "date": time.strftime("%Y-%m-%d"), "how": how})
                print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds of the latest fit of each split, method and seed."""
    latest = runs.drop_duplicates(["split", "method", "seed"], keep="last")
    rows = []
    for (kind, method), group in latest.groupby(["split", "method"], sort=False):
        row = {"split": kind, "method": method, "seeds": len(group)}
        for key in COLUMNS:
            values = group[key].astype(float)
            row[key] = f"{values.mean():.3f}" if len(group) == 1 else f"{values.mean():.3f} ± {values.std(ddof=0):.3f}"
        row["s/fit"] = round(float(group["seconds"].mean()))
        rows.append(row)
    split_order = {s: i for i, s in enumerate(SPLITS)}
    method_order = {label: i for i, label in enumerate(METHODS.values())}
    method_order.update({label: method_order[label.split(" [")[0]] + 0.5 for label in latest["method"]
                         if " [" in label})
    table = pd.DataFrame(rows)
    table["_order"] = table["split"].map(split_order) * 10 + table["method"].map(method_order)
    return table.sort_values("_order").drop(columns="_order")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "drug_response")
    parser.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS))
    parser.add_argument("--methods", nargs="+", choices=tuple(METHODS), default=["additive", "gbm"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--gbm-max-iter", type=int, default=300)
    parser.add_argument("--train-args", default="", help="extra `symmol train` arguments for drug-response")
    parser.add_argument("--summary", action="store_true", help="compose the table from the runs file; fit nothing")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not args.summary:
        fits = run(args.data_dir, args.splits, args.methods, args.seeds, args.gbm_max_iter,
                   shlex.split(args.train_args))
        fits.to_csv(RUNS, mode="a", header=not RUNS.exists(), index=False)
        return
    text = "\n\n".join([
        "# Cancer drug response on GDSC (ln IC50)",
        "Composed by `python bench/drug_response.py --summary` from `drug_response_runs.csv` (every fit with its "
        "date and how it was chosen or trained). Test pairs of each split, scored once; mean ± sd over seeds "
        "(population sd). `per_drug_pearson`: mean over test drugs of the Pearson r across their test cell "
        "lines. `s/fit`: wall seconds per fit on this 2-core machine.",
        summary(pd.read_csv(RUNS)).to_markdown(index=False),
    ]) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
