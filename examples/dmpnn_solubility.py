"""Aqueous solubility (ESOL) with Chemprop's D-MPNN, declared with symmol's symbolic layers.

SMILES → molecular graphs (RDKit's Morgan atom invariants and bond types, read by symmol's Numba
SMILES reader) → directed bond messages on the gather/segment-sum Ops → mean readout → dense head
→ compiled training step (Adam as an update dict) → test RMSE on a random 80/10/10 split, the
epoch with the best validation RMSE kept.

``symmol train esol.csv --architecture dmpnn --atom-features embedding --readout mean --lr-schedule
constant`` and ``QSARModel(architecture="dmpnn", atom_features="embedding", readout="mean",
lr_schedule="constant")`` train the same network (``dmpnn``'s defaults are Chemprop 2's features,
norm readout and Noam schedule); this script shows what they compile.

Run: ``python examples/dmpnn_solubility.py [--data examples/data/esol.csv] [--epochs 40]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt

from symmol.chem.io import read_molecules
from symmol.evaluation.metrics import regression_metrics
from symmol.evaluation.splits import random_split
from symmol.featurizers.molgraph import MolGraphFeaturizer
from symmol.models.graph_network import build_graph_network
from symmol.nn.layers import get_all_param_values, get_all_params, get_output, set_all_param_values
from symmol.nn.objectives import masked_squared_error
from symmol.nn.updates import adam

HERE = Path(__file__).resolve().parent
TARGET = "measured log solubility in mols per litre"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "esol.csv")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    # 1. Molecules as graphs; rows RDKit rejects are reported and left out.
    table = read_molecules(args.data, smiles_column="smiles")
    featurized = MolGraphFeaturizer().from_smiles(table["smiles"].tolist())
    keep = np.flatnonzero(featurized.valid)
    graphs = featurized.batch.take(keep)
    y = table[[TARGET]].to_numpy(np.float32)[keep]
    split = random_split(len(keep), seed=0)
    mean, std = y[split.train].mean(), y[split.train].std()
    print(f"{len(table)} molecules, {len(table) - keep.size} rejected by RDKit; "
          f"train/val/test {split.train.size}/{split.val.size}/{split.test.size}")

    # 2. The network: D-MPNN (300 units, depth 3) → mean readout → Dense(300) → Dense(1).
    net = build_graph_network(1, np.random.default_rng(0), units=300, depth=3, readout="mean", hidden=300,
                              message_passing="dmpnn")
    inputs = [layer.input_var for layer in net.inputs]  # atom_types, src, dst, bond_types, atom_molecule, n
    targets = pt.matrix("targets", dtype="float32")
    loss = masked_squared_error(get_output(net.output), targets)
    params = get_all_params(net.output, trainable=True)
    train_step = pytensor.function([*inputs, targets], loss, updates=adam(loss, params, 1e-3))
    predict = pytensor.function(inputs, get_output(net.output, deterministic=True))

    def rmse(rows: np.ndarray) -> float:
        scores = predict(*graphs.take(rows).graph_inputs()) * std + mean
        return regression_metrics(y[rows], scores, [TARGET])["rmse"]

    # 3. Minibatch training; keep the parameters of the best validation epoch.
    rng = np.random.default_rng(0)
    y_scaled = (y - mean) / std
    best = (np.inf, None)
    for epoch in range(args.epochs):
        order = rng.permutation(split.train)
        losses = [train_step(*graphs.take(rows).graph_inputs(), y_scaled[rows])
                  for rows in np.array_split(order, max(1, len(order) // args.batch_size))]
        val = rmse(split.val)
        if val < best[0]:
            best = (val, get_all_param_values(net.output))
        print(f"epoch {epoch + 1:3d}: train loss {np.mean(losses):.4f}, val RMSE {val:.3f}")
    set_all_param_values(net.output, best[1])
    print(f"best val RMSE {best[0]:.3f}; test RMSE {rmse(split.test):.3f} (log10 mol/L)")


if __name__ == "__main__":
    main()
