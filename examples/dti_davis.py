"""Drug–target affinity on DAVIS: train on pairs, then rank the 68 DAVIS inhibitors for one kinase.

DAVIS (Davis et al., Nat. Biotechnol. 2011) measures the Kd of 68 kinase inhibitors against 442
kinases; DeepDTA's setting 1 holds out a fixed test fold of pairs. This trains symmol's ``fp-dti``
model (the ligand's ECFP4 beside the protein's amino-acid and dipeptide composition; ``deepdta`` is
the convolutional alternative) on the training folds, keeps the epoch with the best ``train4``
RMSE, reports the test fold's concordance index and MSE, and ranks every DAVIS drug for one kinase
(EGFR by default) by predicted pKd, marking which pairs the model never saw.

Reads ``../shared/data/dti/davis`` (DeepDTA's files as tidy CSVs); about 5 minutes on 2 cores.

Run: ``python examples/dti_davis.py [--data-dir ../shared/data/dti/davis] [--kinase EGFR] [--epochs 30]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from symmol import QSARModel
from symmol.evaluation.metrics import affinity_metrics

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "dti" / "davis")
    parser.add_argument("--kinase", default="EGFR", help="target_id of the kinase to rank the drugs for")
    parser.add_argument("--architecture", default="fp-dti", choices=("fp-dti", "deepdta"))
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()

    pairs = pd.read_csv(args.data_dir / "davis_affinities.csv")
    ligands = pd.read_csv(args.data_dir / "davis_ligands.csv")[["drug_index", "drug_id", "smiles"]]
    proteins = pd.read_csv(args.data_dir / "davis_proteins.csv")[["target_index", "target_id", "sequence"]]
    table = pairs.merge(ligands[["drug_index", "smiles"]], on="drug_index").merge(
        proteins[["target_index", "sequence"]], on="target_index")
    fit, val, test = (table[table["deepdta_fold"].isin(folds)]
                      for folds in (["train0", "train1", "train2", "train3"], ["train4"], ["test"]))

    # a model reads the `smiles` and `sequence` columns of a DataFrame; pKd = -log10(Kd / 1 M)
    model = QSARModel("regression", args.architecture, epochs=args.epochs, progress=True, seed=0)
    model.fit(fit[["smiles", "sequence"]], fit["pKd"], X_val=val[["smiles", "sequence"]], y_val=val["pKd"],
              target_names=["pKd"])
    scores = affinity_metrics(test["pKd"].to_numpy(), model.predict(test[["smiles", "sequence"]]).ravel())
    print(f"test fold ({len(test)} pairs): CI {scores['ci']:.3f}, MSE {scores['mse']:.3f}, "
          f"Pearson {scores['pearson']:.3f} (best epoch {model.history_.best_epoch + 1})")

    # every DAVIS drug against one kinase: one row per drug, the kinase's sequence repeated
    sequence = proteins.loc[proteins["target_id"] == args.kinase, "sequence"].iloc[0]
    query = ligands.assign(sequence=sequence)
    query["predicted pKd"] = model.predict(query[["smiles", "sequence"]]).ravel()
    measured = table[table["target_id"] == args.kinase][["drug_index", "pKd", "deepdta_fold"]]
    ranked = query.merge(measured, on="drug_index").sort_values("predicted pKd", ascending=False)
    ranked["seen in training"] = np.where(ranked["deepdta_fold"] == "test", "no", "yes")
    print(f"\nthe ten drugs predicted to bind {args.kinase} most tightly:")
    print(ranked[["drug_id", "predicted pKd", "pKd", "seen in training"]].head(10).to_string(index=False))
    unseen = ranked[ranked["seen in training"] == "no"]
    rho = unseen["predicted pKd"].corr(unseen["pKd"], "spearman")
    print(f"\n{args.kinase}'s {len(unseen)} test-fold pairs: Spearman {rho:.2f} between predicted and measured pKd")


if __name__ == "__main__":
    main()
