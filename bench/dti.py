"""Drug–target binding affinity on DAVIS and KIBA, DeepDTA's setting 1: the baselines every model must beat.

Setting 1 (Öztürk et al., Bioinformatics 2018, doi:10.1093/bioinformatics/bty593): the pairs of
``deepdta_fold == "test"`` are the test set, reported once; the five ``train0..train4`` folds are for
model selection. Data from ``--data-dir`` (``../shared/data/dti``, DeepDTA's files as tidy CSVs).

Measured here, from the same run:

* **additive**: ``pKd ≈ drug mean + target mean − global mean`` over the training pairs, the global
  mean standing in for an entity that no training pair has. No parameter is chosen, so nothing is
  selected on any fold.
* **global mean**: the floor (CI 0.5 by construction).
* **gradient boosting** (scikit-learn's ``HistGradientBoostingRegressor``) on the ligand's ECFP4
  (1,024 bits, :class:`~symmol.featurizers.MorganFingerprint`) beside the protein's amino-acid and
  dipeptide composition (:class:`~symmol.featurizers.ProteinComposition`, 420 columns): the plain
  fingerprint + composition baseline of MGraphDTA's comparison, as a tree ensemble. Chosen on the
  training folds only: each setting of ``--gbm-grid`` is fitted on ``train0..train3`` and scored on
  ``train4`` after every boosting iteration (up to ``--gbm-max-iter``); the setting and iteration count
  with the lowest ``train4`` MSE are refitted on all five training folds and scored on the test fold once.

* **symmol fp-dti**, **symmol deepdta**: ``symmol train PAIRS.csv --architecture ...`` as a user
  runs it, on the pairs joined with their SMILES and sequences, with a Chemprop ``splits.json``:
  train on ``train0..train3``, keep the epoch with the best ``train4`` RMSE (early stopping), score
  the test fold once; the architectures' default settings, nothing tuned. One fit per seed.

Metrics (:func:`symmol.evaluation.metrics.affinity_metrics`): concordance index with DeepDTA's tie
convention, MSE, r_m² (Roy's formula, and DeepDTA's code's variant beside it), Pearson, Spearman.
The published figures are quoted, not rerun.

Every fit is appended to ``bench/results/dti_runs.csv`` (data set, method, seed, metrics, seconds,
date, command); ``--summary`` composes ``dti.md`` from the latest fit of each data set, method and
seed (mean ± sd over seeds)::

    python bench/dti.py --data-dir ../shared/data/dti --datasets DAVIS KIBA --methods gbm additive mean
    python bench/dti.py --datasets DAVIS --methods fp-dti --seeds 0 1 2
    python bench/dti.py --summary --out bench/results/dti.md
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

from symmol.evaluation.metrics import affinity_metrics
from symmol.featurizers import MorganFingerprint, ProteinComposition

REPO = Path(__file__).resolve().parents[1]
#: Data set → (affinity file, target column).
DATASETS = {"DAVIS": ("davis/davis_affinities.csv", "pKd"), "KIBA": ("kiba/kiba_affinities.csv.gz", "kiba_score")}
#: Settings tried for the gradient-boosting baseline (the rest at scikit-learn's defaults).
#: One setting: 127 leaves gave a lower train4 MSE than 31 on both sets in a first run of 60 iterations, and each
#: KIBA iteration takes about a second on 2 cores.
GBM_GRID = ({"learning_rate": 0.1, "max_leaf_nodes": 127},)
#: Published setting-1 test figures: (CI, MSE) per data set.
PUBLISHED = {
    "DeepDTA (Öztürk et al. 2018)": {"DAVIS": (0.878, 0.261), "KIBA": (0.863, 0.194)},
    "GraphDTA, best of four variants (Nguyen et al. 2021)": {"DAVIS": (0.893, 0.229), "KIBA": (0.891, 0.139)},
    "MGraphDTA (Yang et al. 2022)": {"DAVIS": (0.900, 0.207), "KIBA": (0.902, 0.128)},
}
COLUMNS = ("ci", "mse", "rm2", "rm2_deepdta", "pearson", "spearman")
RUNS = REPO / "bench" / "results" / "dti_runs.csv"
#: Method name → what it is, in table order.
METHODS = {
    "fp-dti": "symmol fp-dti (ECFP4 + composition network)",
    "deepdta": "symmol deepdta",
    "gbm": "gradient boosting (ECFP4 + composition)",
    "additive": "additive (drug + target means)",
    "mean": "global mean",
}


def additive_baseline(train: pd.DataFrame, test: pd.DataFrame, target: str) -> np.ndarray:
    """``drug mean + target mean − global mean`` of the training pairs for each test pair (unseen: the global mean)."""
    mu = float(train[target].mean())
    drug = train.groupby("drug_index")[target].mean()
    protein = train.groupby("target_index")[target].mean()
    drug_term = test["drug_index"].map(drug).fillna(mu).to_numpy()
    protein_term = test["target_index"].map(protein).fillna(mu).to_numpy()
    return drug_term + protein_term - mu


def pair_features(data_dir: Path, name: str, pairs: pd.DataFrame) -> np.ndarray:
    """``(n_pairs, 1024 + 420)`` float32: each pair's ligand ECFP4 bits and protein composition."""
    prefix = name.lower()
    ligands = pd.read_csv(data_dir / prefix / f"{prefix}_ligands.csv").set_index("drug_index")
    proteins = pd.read_csv(data_dir / prefix / f"{prefix}_proteins.csv").set_index("target_index")
    fingerprints = MorganFingerprint(fp_size=1024).featurize(ligands["smiles"].tolist())
    composition = ProteinComposition().featurize(proteins["sequence"].tolist())
    for what, result in (("ligand", fingerprints), ("protein", composition)):
        if any(result.errors):
            raise ValueError(f"{name}: a {what} does not featurize: {next(e for e in result.errors if e)}")
    drug_rows = ligands.index.get_indexer(pairs["drug_index"])
    protein_rows = proteins.index.get_indexer(pairs["target_index"])
    return np.hstack([fingerprints.batch.to_dense()[drug_rows], composition.batch.values[protein_rows]])


def gradient_boosting(features: np.ndarray, pairs: pd.DataFrame, target: str, max_iter: int,
                      seed: int) -> tuple[np.ndarray, str]:
    """Test predictions of the gradient-boosting baseline chosen on the training folds, and the choice."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    folds = pairs["deepdta_fold"].to_numpy()
    y = pairs[target].to_numpy()
    fit_rows, val_rows, train_rows = (np.isin(folds, ["train0", "train1", "train2", "train3"]), folds == "train4",
                                      folds != "test")
    best = (np.inf, {}, 0)
    for params in GBM_GRID:
        model = HistGradientBoostingRegressor(max_iter=max_iter, early_stopping=False, random_state=seed, **params)
        model.fit(features[fit_rows], y[fit_rows])
        for iteration, predicted in enumerate(model.staged_predict(features[val_rows]), start=1):
            mse = float(np.mean((predicted - y[val_rows]) ** 2))
            if mse < best[0]:
                best = (mse, params, iteration)
    _, params, iterations = best
    model = HistGradientBoostingRegressor(max_iter=iterations, early_stopping=False, random_state=seed, **params)
    model.fit(features[train_rows], y[train_rows])
    chosen = f"{params['max_leaf_nodes']} leaves, {iterations} iterations (train4 MSE {best[0]:.3f})"
    return model.predict(features[folds == "test"]), chosen


def joined_pairs(data_dir: Path, name: str) -> pd.DataFrame:
    """The pairs of ``name`` with each ligand's SMILES and each protein's sequence (what ``symmol train`` reads)."""
    prefix = name.lower()
    pairs = pd.read_csv(data_dir / DATASETS[name][0])
    ligands = pd.read_csv(data_dir / prefix / f"{prefix}_ligands.csv")[["drug_index", "smiles"]]
    proteins = pd.read_csv(data_dir / prefix / f"{prefix}_proteins.csv")[["target_index", "sequence"]]
    joined = pairs.merge(ligands, on="drug_index", how="left").merge(proteins, on="target_index", how="left")
    return joined.sort_values("pair_index" if "pair_index" in joined else joined.columns[0]).reset_index(drop=True)


def symmol_fit(data_dir: Path, name: str, architecture: str, seed: int, extra: list[str]) -> tuple[dict, float, str]:
    """Train ``architecture`` with ``symmol train`` on setting 1 (train4 for early stopping); the test metrics."""
    target = DATASETS[name][1]
    pairs = joined_pairs(data_dir, name)
    folds = pairs["deepdta_fold"].to_numpy()
    split = {"train": np.flatnonzero(np.isin(folds, ["train0", "train1", "train2", "train3"])).tolist(),
             "val": np.flatnonzero(folds == "train4").tolist(), "test": np.flatnonzero(folds == "test").tolist()}
    with tempfile.TemporaryDirectory() as tmp:
        table, splits, out = Path(tmp) / "pairs.csv", Path(tmp) / "splits.json", Path(tmp) / "model"
        pairs[["smiles", "sequence", target]].to_csv(table, index=False)
        splits.write_text(json.dumps([split]))
        command = ["symmol", "train", str(table), "--architecture", architecture, "--ligand-column", "smiles",
                   "--protein-column", "sequence", "--target", target, "--task", "regression", "--splits-file",
                   str(splits), "--seed", str(seed), "--no-progress", "--out", str(out), *extra]
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "symmol", *command[1:]], check=True)
        seconds = time.perf_counter() - start
        metrics = json.loads((out / "metrics.json").read_text())["test"]
        history = json.loads((out / "history.json").read_text())
    metrics["rm2_deepdta"] = float("nan")  # train reports Roy's r_m² only
    note = (f"best epoch {history['best_epoch'] + 1} of {len(history['train_loss'])}, "
            f"{np.median(history['epoch_seconds']):.1f} s/epoch")
    return metrics, seconds, shlex.join(["symmol", "train", "PAIRS.csv", *command[3:13], "--splits-file",
                                          "splits.json", "--seed", str(seed), *extra]) + f" ({note})"


def run(data_dir: Path, datasets: list[str], methods: list[str], seeds: list[int], max_iter: int,
        extra: list[str]) -> pd.DataFrame:
    """Fit every method on each data set's setting 1 and score the test fold once; one row per fit."""
    rows = []
    for name in datasets:
        file, target = DATASETS[name]
        pairs = pd.read_csv(data_dir / file)
        test_rows = pairs["deepdta_fold"] == "test"
        train, test = pairs[~test_rows], pairs[test_rows]
        y = test[target].to_numpy()
        for method in methods:
            for seed in seeds if method in ("fp-dti", "deepdta", "gbm") else seeds[:1]:
                start = time.perf_counter()
                chosen = ""
                if method in ("fp-dti", "deepdta"):
                    metrics, seconds, chosen = symmol_fit(data_dir, name, method, seed, extra)
                else:
                    if method == "gbm":
                        predicted, chosen = gradient_boosting(pair_features(data_dir, name, pairs), pairs, target,
                                                              max_iter, seed)
                    elif method == "additive":
                        predicted = additive_baseline(train, test, target)
                    else:
                        predicted = np.full(len(test), train[target].mean())
                    metrics, seconds = affinity_metrics(y, predicted), time.perf_counter() - start
                rows.append({"data set": name, "method": METHODS[method], "seed": seed, "train pairs": len(train),
                             "test pairs": len(test), **{k: metrics[k] for k in COLUMNS},
                             "seconds": round(seconds, 1), "date": time.strftime("%Y-%m-%d"), "how": chosen})
                print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds of the latest fit of each data set, method and seed."""
    latest = runs.drop_duplicates(["data set", "method", "seed"], keep="last")
    rows = []
    for (name, method), group in latest.groupby(["data set", "method"], sort=False):
        row = {"data set": name, "method": method, "seeds": len(group)}
        for key in COLUMNS:
            values = group[key].astype(float)
            row[key] = (f"{values.mean():.3f}" if len(group) == 1 or values.isna().all()
                        else f"{values.mean():.3f} ± {values.std(ddof=0):.3f}")
        row["s/fit"] = round(float(group["seconds"].mean()))
        rows.append(row)
    order = {label: i for i, label in enumerate(METHODS.values())}
    table = pd.DataFrame(rows)
    return table.sort_values(["data set", "method"], key=lambda c: c.map(order) if c.name == "method" else c)


def published_table() -> pd.DataFrame:
    return pd.DataFrame([{"method": method, **{f"{d} CI / MSE": f"{ci:.3f} / {mse:.3f}" for d, (ci, mse) in v.items()}}
                         for method, v in PUBLISHED.items()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "dti")
    parser.add_argument("--datasets", nargs="+", choices=tuple(DATASETS), default=list(DATASETS))
    parser.add_argument("--methods", nargs="+", choices=tuple(METHODS), default=["gbm", "additive", "mean"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--gbm-max-iter", type=int, default=400, help="boosting iterations tried at most")
    parser.add_argument("--train-args", default="", help="extra `symmol train` arguments for the symmol methods")
    parser.add_argument("--summary", action="store_true", help="compose the table from dti_runs.csv; fit nothing")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not args.summary:
        fits = run(args.data_dir, args.datasets, args.methods, args.seeds, args.gbm_max_iter,
                   shlex.split(args.train_args))
        fits.to_csv(RUNS, mode="a", header=not RUNS.exists(), index=False)
        return
    runs = pd.read_csv(RUNS)
    text = "\n\n".join([
        "# Drug–target affinity, DeepDTA setting 1",
        "Composed by `python bench/dti.py --summary` from `dti_runs.csv` (every fit with its date and how it was "
        "chosen or trained). Test fold of setting 1, reported once; mean ± sd over seeds (population sd). "
        "Choices made on the training folds only: gradient boosting's iteration count and the symmol models' "
        "best epoch on `train4`. `s/fit`: wall seconds per fit on this 2-core machine (featurizing, compiling, "
        "training, scoring).",
        summary(runs).to_markdown(index=False),
        "Published figures on the same test fold (quoted, not rerun):",
        published_table().to_markdown(index=False),
    ]) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
