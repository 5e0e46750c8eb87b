"""DeepDTA training speed on DAVIS: symmol (entities encoded once, or per pair) against the same model in PyTorch.

The same DAVIS training pairs (the first ``--pairs`` of ``train0..train3`` in a fixed shuffled order),
the same batches of 256 in the same order, DeepDTA's architecture at its published width for both:
symmol's ``deepdta`` kind (its compiled Numba training step; each distinct ligand and protein of a
batch encoded once, then with ``--no-encode-once``) and DeepDTA written by hand with ``torch.nn``
(per-pair encoding, as DeepDTA and GraphDTA do; Adam at 1e-3; PyTorch's default CPU threads).
Reported: seconds per epoch after the first (the first includes compilation, reported apart), the
mean distinct ligands and proteins per batch, and the last epoch's training loss (mean squared error
in standardised units for symmol, pKd² for PyTorch; the two start from different random weights, so
the losses are comparable in size, not equal).

    python bench/dti_speed.py --data-dir ../shared/data/dti --pairs 2048 --epochs 3 --out bench/results/dti_speed.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from symmol import QSARModel
from symmol.models.base import featurize_inputs

REPO = Path(__file__).resolve().parents[1]
BATCH = 256


def davis_pairs(data_dir: Path, n_pairs: int) -> pd.DataFrame:
    """The first ``n_pairs`` DAVIS training pairs in a fixed shuffled order, with SMILES and sequences."""
    pairs = pd.read_csv(data_dir / "davis" / "davis_affinities.csv")
    ligands = pd.read_csv(data_dir / "davis" / "davis_ligands.csv")[["drug_index", "smiles"]]
    proteins = pd.read_csv(data_dir / "davis" / "davis_proteins.csv")[["target_index", "sequence"]]
    table = pairs[pairs["deepdta_fold"] != "test"].merge(ligands, on="drug_index").merge(proteins, on="target_index")
    return table.sample(frac=1.0, random_state=0).head(n_pairs).reset_index(drop=True)


def symmol_epochs(table: pd.DataFrame, epochs: int, encode_once: bool) -> dict:
    """Train symmol's DeepDTA for ``epochs`` on ``table`` (order fixed by the seed); per-epoch seconds."""
    model = QSARModel("regression", "deepdta", epochs=epochs, patience=0, progress=False, seed=0,
                      encode_once=encode_once)
    model.fit(table[["smiles", "sequence"]], table["pKd"].to_numpy())
    compiled = model.model_
    batch = featurize_inputs(compiled.inputs, table[["smiles", "sequence"]]).batch
    distinct = [compiled.batch_arrays(batch.slice(s, min(s + BATCH, len(table)))) for s in range(0, len(table), BATCH)]
    seconds = model.history_.epoch_seconds
    return {"first epoch s": seconds[0], "epoch s": float(np.median(seconds[1:])) if len(seconds) > 1 else np.nan,
            "distinct ligands / batch": float(np.mean([a[0].shape[0] for a in distinct])),
            "distinct proteins / batch": float(np.mean([a[2].shape[0] for a in distinct])),
            "last loss": model.history_.train_loss[-1]}


def torch_epochs(table: pd.DataFrame, epochs: int) -> dict:
    """DeepDTA by hand in PyTorch, per-pair encoding, the same batches; per-epoch seconds."""
    import torch
    from torch import nn

    from symmol.featurizers.protein import ProteinSequence
    from symmol.featurizers.tokens import DEEPDTA_SMILES_CHARACTERS, SmilesTokens

    ligand = SmilesTokens(vocabulary=DEEPDTA_SMILES_CHARACTERS, tokenizer="character", max_length=100)
    protein = ProteinSequence(max_length=1000)
    ligand_ids = torch.from_numpy(ligand.featurize(table["smiles"].tolist()).batch.padded(100)[0]).long()
    protein_ids = torch.from_numpy(protein.featurize(table["sequence"].tolist()).batch.padded(1000)[0]).long()
    y = torch.from_numpy(table[["pKd"]].to_numpy(np.float32))

    class Encoder(nn.Module):
        def __init__(self, vocabulary: int, width: int):
            super().__init__()
            self.embedding = nn.Embedding(vocabulary, 128)
            self.convs = nn.ModuleList([nn.Conv1d(128, 32, width), nn.Conv1d(32, 64, width), nn.Conv1d(64, 96, width)])

        def forward(self, tokens):
            h = self.embedding(tokens).transpose(1, 2)
            for conv in self.convs:
                h = torch.relu(conv(h))
            return h.max(dim=2).values

    class DeepDTA(nn.Module):
        def __init__(self):
            super().__init__()
            self.ligand, self.protein = Encoder(ligand.vocabulary_size, 4), Encoder(protein.vocabulary_size, 8)
            self.head = nn.Sequential(nn.Linear(192, 1024), nn.ReLU(), nn.Dropout(0.1), nn.Linear(1024, 1024),
                                      nn.ReLU(), nn.Dropout(0.1), nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 1))

        def forward(self, ligand_tokens, protein_tokens):
            return self.head(torch.cat([self.ligand(ligand_tokens), self.protein(protein_tokens)], dim=1))

    torch.manual_seed(0)
    model = DeepDTA()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    seconds, loss = [], float("nan")
    for _ in range(epochs):
        start, losses = time.perf_counter(), []
        for s in range(0, len(table), BATCH):
            optimizer.zero_grad()
            batch_loss = ((model(ligand_ids[s:s + BATCH], protein_ids[s:s + BATCH]) - y[s:s + BATCH]) ** 2).mean()
            batch_loss.backward()
            optimizer.step()
            losses.append(float(batch_loss))
        seconds.append(time.perf_counter() - start)
        loss = float(np.mean(losses))
    return {"first epoch s": seconds[0], "epoch s": float(np.median(seconds[1:])) if len(seconds) > 1 else np.nan,
            "distinct ligands / batch": float(BATCH), "distinct proteins / batch": float(BATCH), "last loss": loss,
            "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "dti")
    parser.add_argument("--pairs", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    table = davis_pairs(args.data_dir, args.pairs)
    rows = []
    for name, measure in (("symmol deepdta, encode once", lambda: symmol_epochs(table, args.epochs, True)),
                          ("symmol deepdta, per pair", lambda: symmol_epochs(table, args.epochs, False)),
                          ("PyTorch by hand, per pair", lambda: torch_epochs(table, args.epochs))):
        rows.append({"model": name, **measure()})
        print(rows[-1], flush=True)
    frame = pd.DataFrame(rows).round(3)
    text = "\n\n".join([
        "# DeepDTA training speed on DAVIS: symmol against PyTorch",
        f"Command: `python bench/dti_speed.py --pairs {args.pairs} --epochs {args.epochs}`; "
        f"{time.strftime('%Y-%m-%d')}, 2-core machine, nothing else running. {args.pairs} DAVIS training pairs, "
        f"batches of {BATCH}, DeepDTA's published width.",
        frame.to_markdown(index=False),
    ]) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
