"""Error bars a chemist can act on: σ from a GP and a deep ensemble, calibrated, with conformal intervals.

ESOL (bundled), random 80/10/10 split. Two models, each trained on the training rows and calibrated
on the validation rows (``QSARModel.fit`` does that when it is given them):

* a Gaussian process on ECFP4 counts (σ: its posterior predictive standard deviation);
* a deep ensemble of five D-MPNNs on Chemprop's atom and bond features (σ: the spread over members).

For each, on the test molecules: how well σ ranks the errors (Spearman), how far the raw and the
z-scaled σ are from calibrated (miscalibration area: 0 is perfect), and how many measured values the
90 % conformal intervals contain (they are built to contain 90 %).

Run: ``python examples/uncertainty.py [--epochs 30] [--ensemble-size 5]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from symmol import QSARModel
from symmol.chem.io import read_molecules
from symmol.evaluation.splits import random_split
from symmol.evaluation.uncertainty import interval_metrics, miscalibration_area, spearman_error_sigma

HERE = Path(__file__).resolve().parent
TARGET = "measured log solubility in mols per litre"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "esol.csv")
    parser.add_argument("--epochs", type=int, default=30, help="D-MPNN ensemble epochs")
    parser.add_argument("--ensemble-size", type=int, default=5)
    args = parser.parse_args()

    table = read_molecules(args.data, smiles_column="smiles")
    smiles, logs = table["smiles"].to_numpy(), table[TARGET].to_numpy(dtype=float)
    split = random_split(len(table), seed=0)
    print(f"{len(table)} molecules; train/val/test {split.train.size}/{split.val.size}/{split.test.size}")
    models = {
        "GP": QSARModel("regression", architecture="gp", progress=False),
        f"D-MPNN ensemble of {args.ensemble_size}": QSARModel(
            "regression", architecture="dmpnn", atom_features="chemprop", readout="norm", lr_schedule="noam",
            batch_size=64, epochs=args.epochs, patience=args.epochs, ensemble_size=args.ensemble_size,
            progress=False),
    }
    measured = logs[split.test]
    for name, model in models.items():
        model.fit(smiles[split.train], logs[split.train], smiles[split.val], logs[split.val], target_names=[TARGET])
        # conformal 90 % intervals from the calibration fitted on the validation rows
        frame = model.predict_frame(smiles[split.test], calibration="conformal", coverage=0.9)
        mean, std = frame[TARGET].to_numpy(float), frame[f"{TARGET}_std"].to_numpy(float)
        interval = interval_metrics(measured, frame[f"{TARGET}_lower"].to_numpy(float),
                                    frame[f"{TARGET}_upper"].to_numpy(float))
        scaled = model.predict_frame(smiles[split.test], calibration="zscaling")[f"{TARGET}_std"].to_numpy(float)
        rmse = np.sqrt(np.mean((mean - measured) ** 2))
        print(f"{name}: test RMSE {rmse:.3f}; Spearman(|error|, sd) {spearman_error_sigma(measured, mean, std):.2f}; "
              f"miscalibration area raw {miscalibration_area(measured, mean, std):.3f}, z-scaled "
              f"{miscalibration_area(measured, mean, scaled):.3f}; 90% conformal intervals hold "
              f"{interval['coverage']:.0%} (mean width {interval['width']:.2f} log units)")


if __name__ == "__main__":
    main()
