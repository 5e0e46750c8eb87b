"""A Gaussian process on ESOL: predictions with error bars, and how often the error bars hold.

SMILES → ECFP4 counts (symmol's Numba kernel) → exact GP with the MinMax kernel, its outputscale,
noise and mean fitted by maximising the marginal likelihood (a compiled PyTensor function) →
test predictions with a predictive standard deviation. A GP's uncertainty is only worth using if it
is calibrated: the script reports the share of test molecules whose measured value lies within
1 and 2 predicted standard deviations (a Gaussian would give 68 % and 95 %), and the test RMSE of the
molecules the GP is most and least sure about.

Run: ``python examples/gaussian_process.py [--data examples/data/esol.csv]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from symmol import QSARModel
from symmol.chem.io import read_molecules
from symmol.evaluation.splits import random_split

HERE = Path(__file__).resolve().parent
TARGET = "measured log solubility in mols per litre"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "esol.csv")
    args = parser.parse_args()

    table = read_molecules(args.data, smiles_column="smiles")
    smiles, logs = table["smiles"].to_numpy(), table[TARGET].to_numpy(dtype=float)
    split = random_split(len(table), seed=0)
    model = QSARModel("regression", architecture="gp", progress=False)
    model.fit(smiles[split.train], logs[split.train], target_names=[TARGET])
    fit = model.history_.fit_summary["targets"][TARGET]
    print(f"GP on {fit['n_fitted']} molecules: outputscale {fit['outputscale']:.3f}, noise {fit['noise']:.4f} "
          f"(standardised units), log marginal likelihood {fit['log_marginal_likelihood']:.1f}")

    # predictions and their standard deviation, in log10(mol/L)
    predicted = model.predict_frame(smiles[split.test])
    mean, std = predicted[TARGET].to_numpy(), predicted[f"{TARGET}_std"].to_numpy()
    error = np.abs(mean - logs[split.test])
    print(f"test RMSE {np.sqrt(np.mean(error**2)):.3f} on {split.test.size} molecules")
    print(f"within 1 sd: {np.mean(error <= std):.0%}; within 2 sd: {np.mean(error <= 2 * std):.0%}")
    order = np.argsort(std)
    third = len(order) // 3
    for name, rows in (("most sure third", order[:third]), ("least sure third", order[-third:])):
        print(f"{name}: mean sd {std[rows].mean():.2f}, RMSE {np.sqrt(np.mean(error[rows] ** 2)):.3f}")


if __name__ == "__main__":
    main()
