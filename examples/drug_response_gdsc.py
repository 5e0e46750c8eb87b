"""Cancer drug response on GDSC: train on some cell lines, then rank every drug for a cell line never seen.

GDSC (Iorio et al., Cell 2016) measures the IC50 of 265 drugs on 988 cancer cell lines, each
described by 677 binary mutation and copy-number features, its tissue and MSI status. This trains
symmol's ``drug-response`` model (the drug's ECFP4 beside the cell line's genomic profile) on the
pairs of 80 % of the cell lines, keeps the epoch with the best RMSE on 10 % more, and scores the
pairs of the remaining 10 % (leave-cell-line-out: a new patient's tumour) against the baseline that
predicts each drug's mean. Then it ranks every drug for one held-out cell line by predicted ln IC50
(lowest: most sensitive) beside what was measured.

Reads ``../shared/data/drug_response`` (see its README's caveats); about 10 minutes on 2 cores.

Run: ``python examples/drug_response_gdsc.py [--data-dir ../shared/data/drug_response] [--epochs 15]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from symmol import QSARModel
from symmol.evaluation.metrics import affinity_metrics, per_group_pearson

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "drug_response")
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()

    ic50 = pd.read_csv(args.data_dir / "gdsc_ic50.csv.gz")
    drugs = pd.read_csv(args.data_dir / "gdsc_drugs.csv")[["drug_id", "drug_name", "smiles", "target_pathway"]]
    pairs = ic50.merge(drugs.dropna(subset=["smiles"])[["drug_id", "smiles"]], on="drug_id")  # 253 drugs with SMILES
    cell_lines = pairs["cosmic_id"].unique()
    cell_lines = cell_lines[np.random.default_rng(0).permutation(len(cell_lines))]
    n_fit, n_val = int(0.8 * len(cell_lines)), int(0.1 * len(cell_lines))
    fit, val, test = (pairs[pairs["cosmic_id"].isin(part)]
                      for part in (cell_lines[:n_fit], cell_lines[n_fit:n_fit + n_val], cell_lines[n_fit + n_val:]))

    # the model reads each pair's `smiles` and `cosmic_id`; the cell lines' profiles are stored in it
    model = QSARModel("regression", "drug-response", epochs=args.epochs, progress=True, seed=0,
                      cell_features=str(args.data_dir / "gdsc_cell_features.csv.gz"), cell_id_column="COSMIC_ID")
    columns = ["smiles", "cosmic_id"]
    model.fit(fit[columns], fit["ln_ic50"], X_val=val[columns], y_val=val["ln_ic50"], target_names=["ln_ic50"])
    predicted = model.predict(test[columns]).ravel()
    drug_mean = test["drug_id"].map(fit.groupby("drug_id")["ln_ic50"].mean()).to_numpy()
    for name, values in (("symmol drug-response", predicted), ("each drug's mean", drug_mean)):
        scores = affinity_metrics(test["ln_ic50"].to_numpy(), values)
        per_drug, n_drugs = per_group_pearson(test["ln_ic50"].to_numpy(), values, test["drug_id"].to_numpy())
        print(f"{name:>22}: RMSE {scores['rmse']:.3f}, Pearson {scores['pearson']:.3f}, per-drug Pearson "
              f"{per_drug:.3f} ({n_drugs} drugs) on {len(test)} pairs of {test['cosmic_id'].nunique()} new cell lines")

    # every drug for one held-out cell line: one row per drug, the cell line's id repeated
    line = test.groupby("cosmic_id").size().idxmax()
    name = test.loc[test["cosmic_id"] == line, "cell_line_name"].iloc[0]
    query = drugs.dropna(subset=["smiles"]).assign(cosmic_id=line)
    query["predicted ln IC50"] = model.predict(query[columns]).ravel()
    measured = test[test["cosmic_id"] == line][["drug_id", "ln_ic50"]]
    ranked = query.merge(measured, on="drug_id", how="left").sort_values("predicted ln IC50")
    print(f"\nthe ten drugs predicted most potent on {name} (COSMIC {line}, never seen in training):")
    print(ranked[["drug_name", "target_pathway", "predicted ln IC50", "ln_ic50"]].head(10).to_string(index=False))
    both = ranked.dropna(subset=["ln_ic50"])
    print(f"Spearman between predicted and measured over its {len(both)} measured drugs: "
          f"{both['predicted ln IC50'].corr(both['ln_ic50'], method='spearman'):.2f}")


if __name__ == "__main__":
    main()
