"""DeepDTA training speed on DAVIS: symmol against the same model in PyTorch, on the same batches.

The same DAVIS training pairs (every ``train0..train3`` pair of ``--proteins`` targets drawn at random),
DeepDTA's architecture at its published width, Adam at 1e-3, batches of 256, the training targets
standardised as symmol does, and the same initial weights (PyTorch's copied from symmol's model
before training). Each epoch's batches are the same for both: the orders of symmol's training loop
(:func:`symmol.training.loop.epoch_order` with the same seed), either random rows or rows grouped by
protein (``--batch-order grouped``: a batch holds a few proteins' pairs).

* symmol's ``deepdta`` kind, its compiled Numba training step, each distinct ligand and protein of a
  batch encoded once (then gathered per pair), and with ``--no-encode-once``;
* DeepDTA written by hand with ``torch.nn``, encoding per pair as DeepDTA and GraphDTA do
  (PyTorch's default CPU threads).

Reported: seconds per epoch after the first (the first includes compilation, reported apart), the
mean distinct ligands and proteins per batch, and each epoch's mean training loss (standardised
units, the same for both; dropout masks differ, so the losses agree in size, not to the digit).

    python bench/dti_speed.py --data-dir ../shared/data/dti --proteins 40 --epochs 3 --out bench/results/dti_speed.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from symmol import QSARModel
from symmol.models.base import featurize_inputs
from symmol.models.registry import Problem, model_kind
from symmol.training.loop import epoch_order

REPO = Path(__file__).resolve().parents[1]
BATCH = 256
SEED = 0


def davis_pairs(data_dir: Path, n_proteins: int) -> pd.DataFrame:
    """Every DAVIS training pair of ``n_proteins`` targets drawn at random, shuffled, with SMILES and sequences.

    Whole targets, so that a batch grouped by protein holds as many proteins as on the full set
    (about 55 training pairs per target).
    """
    pairs = pd.read_csv(data_dir / "davis" / "davis_affinities.csv")
    ligands = pd.read_csv(data_dir / "davis" / "davis_ligands.csv")[["drug_index", "smiles"]]
    proteins = pd.read_csv(data_dir / "davis" / "davis_proteins.csv")[["target_index", "sequence"]]
    chosen = np.random.default_rng(0).choice(proteins["target_index"].to_numpy(), n_proteins, replace=False)
    table = pairs[(pairs["deepdta_fold"] != "test") & pairs["target_index"].isin(chosen)]
    table = table.merge(ligands, on="drug_index").merge(proteins, on="target_index")
    return table.sample(frac=1.0, random_state=0).reset_index(drop=True)


def symmol_epochs(table: pd.DataFrame, epochs: int, encode_once: bool, batch_order: str) -> dict:
    """Train symmol's DeepDTA for ``epochs`` on ``table``; per-epoch seconds and losses."""
    model = QSARModel("regression", "deepdta", epochs=epochs, patience=0, progress=False, seed=SEED,
                      encode_once=encode_once, batch_order=batch_order)
    model.fit(table[["smiles", "sequence"]], table["pKd"].to_numpy())
    compiled = model.model_
    batch = featurize_inputs(compiled.inputs, table[["smiles", "sequence"]]).batch
    groups = compiled.batch_groups(batch) if batch_order == "grouped" else None
    order = epoch_order(np.random.default_rng(SEED), len(table), groups)
    rows = batch.take(order)
    distinct = [compiled.batch_arrays(rows.slice(s, min(s + BATCH, len(table)))) for s in range(0, len(table), BATCH)]
    seconds = model.history_.epoch_seconds
    return {"first epoch s": seconds[0], "epoch s": float(np.median(seconds[1:])) if len(seconds) > 1 else np.nan,
            "distinct ligands / batch": float(np.mean([a[0].shape[0] for a in distinct])),
            "distinct proteins / batch": float(np.mean([a[2].shape[0] for a in distinct])),
            "losses": [round(x, 4) for x in model.history_.train_loss]}


def torch_epochs(table: pd.DataFrame, epochs: int, batch_order: str) -> dict:
    """DeepDTA by hand in PyTorch, per-pair encoding, symmol's initial weights and batches; per-epoch seconds."""
    import torch
    from torch import nn

    y_raw = table[["pKd"]].to_numpy(np.float64)
    mean, std = float(y_raw.mean()), float(y_raw.std())
    problem = Problem(targets=("pKd",), task="regression", target_mean=(mean,), target_std=(std,), seed=SEED)
    reference = model_kind("deepdta").make_model(problem, {})  # symmol's model before training: the same weights
    batch = featurize_inputs(reference.inputs, table[["smiles", "sequence"]]).batch
    ligand_ids = torch.from_numpy(batch["smiles"].padded(100)[0]).long()
    protein_ids = torch.from_numpy(batch["protein"].padded(1000)[0]).long()
    y = torch.from_numpy(((y_raw - mean) / std).astype(np.float32))
    values = reference.get_param_values()

    class Encoder(nn.Module):
        def __init__(self, prefix: str):
            super().__init__()
            self.embedding = nn.Embedding.from_pretrained(torch.from_numpy(values[f"{prefix}_embedding.W"]),
                                                          freeze=False)
            self.convs = nn.ModuleList()
            for i in range(3):
                weight = values[f"{prefix}_conv{i}.W"]  # (k, in, out)
                conv = nn.Conv1d(weight.shape[1], weight.shape[2], weight.shape[0])
                conv.weight.data = torch.from_numpy(weight.transpose(2, 1, 0).copy())
                conv.bias.data = torch.from_numpy(values[f"{prefix}_conv{i}.b"].copy())
                self.convs.append(conv)

        def forward(self, tokens):
            h = self.embedding(tokens).transpose(1, 2)
            for conv in self.convs:
                h = torch.relu(conv(h))
            return h.max(dim=2).values

    def linear(name: str) -> nn.Linear:
        weight = values[f"{name}.W"]
        layer = nn.Linear(weight.shape[0], weight.shape[1])
        layer.weight.data, layer.bias.data = torch.from_numpy(weight.T.copy()), torch.from_numpy(values[f"{name}.b"])
        return layer

    class DeepDTA(nn.Module):
        def __init__(self):
            super().__init__()
            self.ligand, self.protein = Encoder("ligand"), Encoder("protein")
            self.head = nn.Sequential(linear("dense0"), nn.ReLU(), nn.Dropout(0.1), linear("dense1"), nn.ReLU(),
                                      nn.Dropout(0.1), linear("dense2"), nn.ReLU(), linear("output"))

        def forward(self, ligand_tokens, protein_tokens):
            return self.head(torch.cat([self.ligand(ligand_tokens), self.protein(protein_tokens)], dim=1))

    torch.manual_seed(SEED)
    model = DeepDTA()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    groups = reference.batch_groups(batch) if batch_order == "grouped" else None
    rng = np.random.default_rng(SEED)
    seconds, losses_per_epoch = [], []
    for _ in range(epochs):
        order = torch.from_numpy(epoch_order(rng, len(table), groups))
        start, losses = time.perf_counter(), []
        for s in range(0, len(table), BATCH):
            rows = order[s:s + BATCH]
            optimizer.zero_grad()
            batch_loss = ((model(ligand_ids[rows], protein_ids[rows]) - y[rows]) ** 2).mean()
            batch_loss.backward()
            optimizer.step()
            losses.append(batch_loss.item() * len(rows))
        seconds.append(time.perf_counter() - start)
        losses_per_epoch.append(round(float(np.sum(losses) / len(table)), 4))
    return {"first epoch s": seconds[0], "epoch s": float(np.median(seconds[1:])) if len(seconds) > 1 else np.nan,
            "distinct ligands / batch": float(BATCH), "distinct proteins / batch": float(BATCH),
            "losses": losses_per_epoch, "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "dti")
    parser.add_argument("--proteins", type=int, default=40, help="DAVIS targets whose training pairs are used")
    parser.add_argument("--pairs", type=int, default=None,
                        help="keep this many of the shuffled pairs (with every target, random batches then hold "
                             "as many distinct proteins as on the full training set)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-orders", nargs="+", default=["grouped", "random"], choices=("grouped", "random"))
    parser.add_argument("--skip-per-pair", action="store_true", help="leave out symmol --no-encode-once")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    table = davis_pairs(args.data_dir, args.proteins)
    if args.pairs is not None:
        table = table.iloc[:args.pairs].reset_index(drop=True)
    rows = []
    for order in args.batch_orders:
        runs = [("symmol deepdta, encode once", lambda o=order: symmol_epochs(table, args.epochs, True, o))]
        if not args.skip_per_pair:
            runs.append(("symmol deepdta, per pair", lambda o=order: symmol_epochs(table, args.epochs, False, o)))
        runs.append(("PyTorch by hand, per pair", lambda o=order: torch_epochs(table, args.epochs, o)))
        for name, measure in runs:
            rows.append({"batches": order, "model": name, **measure()})
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows).round(3)
    options = " ".join([f"--proteins {args.proteins}", *([f"--pairs {args.pairs}"] if args.pairs else []),
                        f"--epochs {args.epochs}", "--batch-orders", *args.batch_orders,
                        *(["--skip-per-pair"] if args.skip_per_pair else [])])
    text = "\n\n".join([
        "# DeepDTA training speed on DAVIS: symmol against PyTorch",
        f"Command: `python bench/dti_speed.py {options}`; "
        f"{time.strftime('%Y-%m-%d')}, 2-core machine, nothing else running. {len(table)} DAVIS training pairs "
        f"of {table['target_index'].nunique()} targets, "
        f"batches of {BATCH}, DeepDTA's published width, the same initial weights and batches for both.",
        frame.to_markdown(index=False),
    ]) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
