"""Hyperparameter search on ESOL with ``symmol.tuning``: MLP, D-MPNN and Gaussian process, one study.

The same search as ``symmol tune examples/data/esol.csv --smiles-column smiles --target "measured log
solubility in mols per litre" --task regression --out DIR``, written against the Python API: a fixed
random 80/10/10 split, trials scored on the validation rows only, the chosen model's test RMSE
reported once at the end and compared with the Gaussian process at its defaults. Rerunning with the
same ``--out`` continues the study.

Run: ``python examples/tune.py [--n-trials 12] [--out esol-study]``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from symmol import QSARModel
from symmol.chem.io import read_molecules
from symmol.evaluation.splits import random_split
from symmol.evaluation.targets import target_matrix
from symmol.tuning import TuneData, TuneSettings, tune

HERE = Path(__file__).resolve().parent
TARGET = "measured log solubility in mols per litre"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "esol.csv")
    parser.add_argument("--n-trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--architectures", default="mlp,dmpnn,gp,rf")
    parser.add_argument("--out", type=Path, default=None, help="study directory (default: a temporary one)")
    args = parser.parse_args()

    table = read_molecules(args.data, smiles_column="smiles")
    y = target_matrix(table, [TARGET], "regression", source=str(args.data))
    split = random_split(len(table), seed=0)
    data = TuneData(table, y, split.train, split.val, split.test, "regression", (TARGET,))
    print(f"{len(table)} molecules; train/val/test {split.train.size}/{split.val.size}/{split.test.size}")

    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch) / "study"
        settings = TuneSettings(tuple(args.architectures.split(",")), out, n_trials=args.n_trials, epochs=args.epochs)
        result = tune(data, settings)
        print(f"{result['n_finished']} trials; best {result['best_params']}")
        metrics = result["metrics"]
        print(f"tuned: val RMSE {metrics['val']['rmse']:.3f}; test RMSE {metrics['test']['rmse']:.3f}")

    smiles, logs = table["smiles"].to_numpy(), y[:, 0]
    baseline = QSARModel("regression", architecture="gp", progress=False).fit(smiles[split.train], logs[split.train])
    predicted = baseline.predict(smiles[split.test])
    print(f"GP defaults: test RMSE {np.sqrt(np.mean((predicted - logs[split.test]) ** 2)):.3f}")


if __name__ == "__main__":
    main()
