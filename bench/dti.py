"""Drug–target binding affinity on DAVIS and KIBA, DeepDTA's setting 1: the baselines every model must beat.

Setting 1 (Öztürk et al., Bioinformatics 2018, doi:10.1093/bioinformatics/bty593): the pairs of
``deepdta_fold == "test"`` are the test set, reported once; the five ``train0..train4`` folds are for
model selection. Data from ``--data-dir`` (``../shared/data/dti``, DeepDTA's files as tidy CSVs).

Measured here, from the same run:

* **additive**: ``pKd ≈ drug mean + target mean − global mean`` over the training pairs, the global
  mean standing in for an entity that no training pair has. No parameter is chosen, so nothing is
  selected on any fold.
* **global mean**: the floor (CI 0.5 by construction).

Metrics (:func:`symmol.evaluation.metrics.affinity_metrics`): concordance index with DeepDTA's tie
convention, MSE, r_m² (Roy's formula, and DeepDTA's code's variant beside it), Pearson, Spearman.
The published figures are quoted, not rerun.

    python bench/dti.py --data-dir ../shared/data/dti --out bench/results/dti.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from symmol.evaluation.metrics import affinity_metrics

REPO = Path(__file__).resolve().parents[1]
#: Data set → (affinity file, target column).
DATASETS = {"DAVIS": ("davis/davis_affinities.csv", "pKd"), "KIBA": ("kiba/kiba_affinities.csv.gz", "kiba_score")}
#: Published setting-1 test figures: (CI, MSE) per data set.
PUBLISHED = {
    "DeepDTA (Öztürk et al. 2018)": {"DAVIS": (0.878, 0.261), "KIBA": (0.863, 0.194)},
    "GraphDTA, best of four variants (Nguyen et al. 2021)": {"DAVIS": (0.893, 0.229), "KIBA": (0.891, 0.139)},
    "MGraphDTA (Yang et al. 2022)": {"DAVIS": (0.900, 0.207), "KIBA": (0.902, 0.128)},
}
COLUMNS = ("ci", "mse", "rm2", "rm2_deepdta", "pearson", "spearman")


def additive_baseline(train: pd.DataFrame, test: pd.DataFrame, target: str) -> np.ndarray:
    """``drug mean + target mean − global mean`` of the training pairs for each test pair (unseen: the global mean)."""
    mu = float(train[target].mean())
    drug = train.groupby("drug_index")[target].mean()
    protein = train.groupby("target_index")[target].mean()
    drug_term = test["drug_index"].map(drug).fillna(mu).to_numpy()
    protein_term = test["target_index"].map(protein).fillna(mu).to_numpy()
    return drug_term + protein_term - mu


def run(data_dir: Path) -> pd.DataFrame:
    """Test metrics of the baselines on each data set's setting-1 test fold."""
    rows = []
    for name, (file, target) in DATASETS.items():
        pairs = pd.read_csv(data_dir / file)
        test_rows = pairs["deepdta_fold"] == "test"
        train, test = pairs[~test_rows], pairs[test_rows]
        y = test[target].to_numpy()
        for method in ("additive (drug + target means)", "global mean"):
            start = time.perf_counter()
            predicted = (additive_baseline(train, test, target) if method.startswith("additive")
                         else np.full(len(test), train[target].mean()))
            metrics = affinity_metrics(y, predicted)
            rows.append({"data set": name, "method": method, "train pairs": len(train), "test pairs": len(test),
                         **{k: round(metrics[k], 3) for k in COLUMNS},
                         "seconds": round(time.perf_counter() - start, 2)})
    return pd.DataFrame(rows)


def published_table() -> pd.DataFrame:
    return pd.DataFrame([{"method": method, **{f"{d} CI / MSE": f"{ci:.3f} / {mse:.3f}" for d, (ci, mse) in v.items()}}
                         for method, v in PUBLISHED.items()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "dti")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    table = run(args.data_dir)
    text = "\n\n".join([
        "# Drug–target affinity, DeepDTA setting 1: baselines",
        f"Command: `python bench/dti.py --data-dir {args.data_dir}`; {time.strftime('%Y-%m-%d')}, 2-core machine. "
        "Test fold of setting 1, reported once; `seconds`: fitting and scoring.",
        table.to_markdown(index=False),
        "Published figures on the same test fold (quoted, not rerun):",
        published_table().to_markdown(index=False),
    ]) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
