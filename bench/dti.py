"""Drug–target binding affinity on DAVIS and KIBA, DeepDTA's setting 1: the baselines every model must beat.

Setting 1 (Öztürk et al., Bioinformatics 2018, doi:10.1093/bioinformatics/bty593): the pairs of
``deepdta_fold == "test"`` are the test set, reported once; the five ``train0..train4`` folds are for
model selection. Data from ``--data-dir`` (``../shared/data/dti``, DeepDTA's files as tidy CSVs).

Also two blind splits, one per seed (80/10/10 by ``numpy.random.default_rng(seed)``): **cold-drug**
(the ligands are split: a test ligand has no training pair) and **cold-target** (the proteins are
split, grouped by sequence: DAVIS lists ABL1 mutants whose sequence is the wild type's, which must
fall on one side). There the validation part plays ``train4``'s role.

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
    python bench/dti.py --datasets DAVIS --splits cold-drug cold-target --methods fp-dti gbm additive mean
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
SPLITS = ("setting 1", "cold-drug", "cold-target")
#: The methods trained by ``symmol train`` (``--train-args`` apply to them, and label their rows).
SYMMOL = ("fp-dti", "deepdta")
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


def split_rows(pairs: pd.DataFrame, setting: str, seed: int, sequences: pd.Series | None = None
               ) -> dict[str, np.ndarray]:
    """Row numbers of ``train``, ``val`` and ``test``: setting 1's folds, or a blind split by ligand or protein.

    ``sequences`` (``target_index`` → sequence) groups the proteins of a cold-target split by sequence.
    """
    if setting == "setting 1":
        folds = pairs["deepdta_fold"].to_numpy()
        return {"train": np.flatnonzero(np.isin(folds, ["train0", "train1", "train2", "train3"])),
                "val": np.flatnonzero(folds == "train4"), "test": np.flatnonzero(folds == "test")}
    if setting == "cold-drug":
        keys = pairs["drug_index"].to_numpy()
    else:
        assert sequences is not None
        keys = pairs["target_index"].map(sequences).to_numpy()
    groups = pd.unique(keys)
    groups = groups[np.random.default_rng(seed).permutation(len(groups))]
    cut = np.cumsum([int(round(0.8 * len(groups))), int(round(0.1 * len(groups)))])
    return {name: np.flatnonzero(np.isin(keys, part))
            for name, part in zip(("train", "val", "test"), np.split(groups, cut), strict=True)}


def gradient_boosting(features: np.ndarray, pairs: pd.DataFrame, target: str, max_iter: int,
                      seed: int, split: dict[str, np.ndarray]) -> tuple[np.ndarray, str]:
    """Test predictions of the gradient-boosting baseline chosen on the validation rows, and the choice."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    y = pairs[target].to_numpy()
    fit_rows, val_rows = split["train"], split["val"]
    train_rows = np.concatenate([split["train"], split["val"]])
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
    chosen = f"{params['max_leaf_nodes']} leaves, {iterations} iterations (validation MSE {best[0]:.3f})"
    return model.predict(features[split["test"]]), chosen


def joined_pairs(data_dir: Path, name: str) -> pd.DataFrame:
    """The pairs of ``name`` with each ligand's SMILES and each protein's sequence (what ``symmol train`` reads)."""
    prefix = name.lower()
    pairs = pd.read_csv(data_dir / DATASETS[name][0])
    ligands = pd.read_csv(data_dir / prefix / f"{prefix}_ligands.csv")[["drug_index", "smiles"]]
    proteins = pd.read_csv(data_dir / prefix / f"{prefix}_proteins.csv")[["target_index", "sequence"]]
    joined = pairs.merge(ligands, on="drug_index", how="left").merge(proteins, on="target_index", how="left")
    return joined.sort_values("pair_index" if "pair_index" in joined else joined.columns[0]).reset_index(drop=True)


def symmol_fit(data_dir: Path, name: str, architecture: str, seed: int, extra: list[str],
               split: dict[str, np.ndarray]) -> tuple[dict, float, str]:
    """Train ``architecture`` with ``symmol train`` on ``split`` (its val rows for early stopping); the test metrics."""
    target = DATASETS[name][1]
    pairs = joined_pairs(data_dir, name)
    with tempfile.TemporaryDirectory() as tmp:
        table, splits, out = Path(tmp) / "pairs.csv", Path(tmp) / "splits.json", Path(tmp) / "model"
        pairs[["smiles", "sequence", target]].to_csv(table, index=False)
        splits.write_text(json.dumps([{k: v.tolist() for k, v in split.items()}]))
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


def run(data_dir: Path, datasets: list[str], settings: list[str], methods: list[str], seeds: list[int],
        max_iter: int, extra: list[str]) -> pd.DataFrame:
    """Fit every method on each data set's splits and score the test rows once; one row per fit."""
    rows = []
    for name in datasets:
        target = DATASETS[name][1]
        pairs = joined_pairs(data_dir, name)
        sequences = pairs.drop_duplicates("target_index").set_index("target_index")["sequence"]
        for setting in settings:
            # setting 1's test fold is fixed: the baselines without randomness are fitted once
            for seed in seeds:
                split = split_rows(pairs, setting, seed, sequences)
                train = pairs.iloc[np.concatenate([split["train"], split["val"]])]
                test = pairs.iloc[split["test"]]
                y = test[target].to_numpy()
                for method in methods:
                    if setting == "setting 1" and method in ("additive", "mean") and seed != seeds[0]:
                        continue
                    start, chosen = time.perf_counter(), ""
                    if method in SYMMOL:
                        metrics, seconds, chosen = symmol_fit(data_dir, name, method, seed, extra, split)
                    else:
                        if method == "gbm":
                            predicted, chosen = gradient_boosting(pair_features(data_dir, name, pairs), pairs,
                                                                  target, max_iter, seed, split)
                        elif method == "additive":
                            predicted = additive_baseline(train, test, target)
                        else:
                            predicted = np.full(len(test), train[target].mean())
                        metrics, seconds = affinity_metrics(y, predicted), time.perf_counter() - start
                    label = METHODS[method] + (f" [{shlex.join(extra)}]" if extra and method in SYMMOL else "")
                    rows.append({"data set": name, "split": setting, "method": label, "seed": seed,
                                 "train pairs": len(train), "test pairs": len(test),
                                 **{k: metrics[k] for k in COLUMNS}, "seconds": round(seconds, 1),
                                 "date": time.strftime("%Y-%m-%d"), "how": chosen})
                    print(rows[-1], flush=True)
                    record(rows[-1])
    return pd.DataFrame(rows)


def record(row: dict) -> None:
    """Append one fit to ``dti_runs.csv`` as soon as it is done (a stopped run keeps its finished fits)."""
    runs = pd.concat([pd.read_csv(RUNS), pd.DataFrame([row])], ignore_index=True) if RUNS.exists() \
        else pd.DataFrame([row])
    runs.to_csv(RUNS, index=False)


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over seeds of the latest fit of each data set, method and seed."""
    runs = runs.assign(split=runs["split"].fillna("setting 1")) if "split" in runs else runs.assign(split="setting 1")
    latest = runs.drop_duplicates(["data set", "split", "method", "seed"], keep="last")
    rows = []
    for (name, setting, method), group in latest.groupby(["data set", "split", "method"], sort=False):
        row = {"data set": name, "split": setting, "method": method, "seeds": len(group)}
        for key in COLUMNS:
            values = group[key].astype(float)
            row[key] = (f"{values.mean():.3f}" if len(group) == 1 or values.isna().all()
                        else f"{values.mean():.3f} ± {values.std(ddof=0):.3f}")
        row["s/fit"] = round(float(group["seconds"].mean()))
        rows.append(row)
    order = {label: i for i, label in enumerate(METHODS.values())}
    order.update({label: order[label.split(" [")[0]] + 0.5 for label in latest["method"] if " [" in label})
    split_order = {s: i for i, s in enumerate(SPLITS)}
    table = pd.DataFrame(rows)
    return table.sort_values(["data set", "split", "method"],
                             key=lambda c: c.map(order) if c.name == "method" else
                             c.map(split_order) if c.name == "split" else c)


def published_table() -> pd.DataFrame:
    return pd.DataFrame([{"method": method, **{f"{d} CI / MSE": f"{ci:.3f} / {mse:.3f}" for d, (ci, mse) in v.items()}}
                         for method, v in PUBLISHED.items()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "dti")
    parser.add_argument("--datasets", nargs="+", choices=tuple(DATASETS), default=list(DATASETS))
    parser.add_argument("--splits", nargs="+", choices=SPLITS, default=["setting 1"])
    parser.add_argument("--methods", nargs="+", choices=tuple(METHODS), default=["gbm", "additive", "mean"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--gbm-max-iter", type=int, default=400, help="boosting iterations tried at most")
    parser.add_argument("--train-args", default="", help="extra `symmol train` arguments for the symmol methods")
    parser.add_argument("--summary", action="store_true", help="compose the table from dti_runs.csv; fit nothing")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not args.summary:
        run(args.data_dir, args.datasets, args.splits, args.methods, args.seeds, args.gbm_max_iter,
            shlex.split(args.train_args))
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
