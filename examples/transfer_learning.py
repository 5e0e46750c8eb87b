"""Transfer learning on small data: pretrain a D-MPNN on ZINC descriptors, fine-tune it on 100 ESOL molecules.

1. ``symmol.pretraining.pretrain`` trains a D-MPNN (Chemprop's atom and bond features) to predict all
   of RDKit's 2D descriptors of the bundled 20,000 ZINC molecules (the same as
   ``symmol pretrain examples/data/zinc20k.smi.gz --atom-features chemprop --out DIR``).
2. On ESOL, with only ``--n-train`` labelled training molecules (a small-data regime), the same
   architecture is trained from scratch and fine-tuned from the pretrained model
   (``init_from``, the whole network trained, the encoder at a tenth of the step size), each with the
   same split and seeds; the test RMSE over the remaining molecules is printed for both.

Run: ``python examples/transfer_learning.py [--limit 20000] [--pretrain-epochs 5] [--n-train 100]``
(a few minutes on 2 cores; the pretrained model is kept in ``--out`` and reused).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from symmol import QSARModel
from symmol.chem.io import read_molecules
from symmol.evaluation.targets import target_matrix
from symmol.pretraining import pretrain
from symmol.training import TrainConfig

HERE = Path(__file__).resolve().parent
TARGET = "measured log solubility in mols per litre"
ARCHITECTURE = {"atom_features": "chemprop", "readout": "norm"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, default=HERE / "data" / "zinc20k.smi.gz")
    parser.add_argument("--limit", type=int, default=20000, help="library molecules to pretrain on")
    parser.add_argument("--pretrain-epochs", type=int, default=5)
    parser.add_argument("--n-train", type=int, default=100, help="labelled ESOL training molecules")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="pretrained model directory (default: temporary)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch) / "pretrained"
        result = pretrain(args.library, out, "dmpnn", options=ARCHITECTURE,
                          config=TrainConfig(epochs=args.pretrain_epochs, patience=0, progress=False),
                          limit=args.limit, n_jobs=2)
        print(f"pretrained on {result.n_molecules} molecules x {result.n_descriptors} descriptors: validation "
              f"RMSE {result.val_rmse[-1]:.3f} sd after {result.epochs_done} epochs ({result.seconds:.0f} s)")

        table = read_molecules(HERE / "data" / "esol.csv", smiles_column="smiles")
        smiles = table["smiles"].to_numpy()
        y = target_matrix(table, [TARGET], "regression")
        scores: dict[str, list[float]] = {"scratch": [], "fine-tuned": []}
        for seed in range(args.seeds):
            order = np.random.default_rng(seed).permutation(len(smiles))
            train, val, test = order[:args.n_train], order[args.n_train:2 * args.n_train], order[2 * args.n_train:]
            settings = {"epochs": args.epochs, "patience": 15, "seed": seed, "progress": False}
            runs = {"scratch": QSARModel("regression", "dmpnn", **settings, **ARCHITECTURE),
                    "fine-tuned": QSARModel("regression", "dmpnn", **settings, init_from=out, encoder_lr=1e-4)}
            for name, model in runs.items():
                model.fit(smiles[train], y[train], smiles[val], y[val], target_names=[TARGET])
                rmse = float(np.sqrt(np.mean((model.predict(smiles[test]).reshape(-1) - y[test, 0]) ** 2)))
                scores[name].append(rmse)
        print(f"ESOL with {args.n_train} training molecules, test on {len(test)}, {args.seeds} seeds:")
        for name, values in scores.items():
            print(f"  {name}: test RMSE {np.mean(values):.3f} ± {np.std(values):.3f}")


if __name__ == "__main__":
    main()
