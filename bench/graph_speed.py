"""Epoch time of symmol's message-passing graph network vs the same network in PyTorch, same run.

Data: the bundled 20,000-molecule ZINC sample (``examples/data/zinc20k.smi.gz``) with two real
computed labels, RDKit's Crippen logP and TPSA, standardised. Network
(:func:`symmol.models.graph_network.build_graph_network`): atom-type embedding (1024 buckets of the Morgan
atom invariant) → 3 GIN-style message-passing layers with bond-type embeddings (128 units) →
sum readout → 256 ReLU → 2 outputs; mean squared error; Adam (lr 1e-3); minibatches of 128
molecules.

The PyTorch peer is the network written by hand, as one would: ``nn.Embedding``-style
parameter tables indexed with ``h[src]``, messages summed with ``index_add_``, ``nn.Linear``-
style products, ``torch.optim.Adam``. Both start from symmol's initial parameters and see
the same minibatches (precomputed once; each epoch visits them in a new seeded order), with
``--threads`` threads. Epoch time is the median over the epochs (compilation excluded); the
final loss is the last epoch's mean training loss.

``--message-passing dmpnn`` swaps the GIN layers for Chemprop's directed bond messages
(:class:`symmol.nn.layers.DirectedMessagePassingLayer`, ``depth`` steps), written by hand in
PyTorch the same way. ``--chemprop`` adds Chemprop itself (v2, Lightning) as the peer users
would pick: ``BondMessagePassing(d_h=units, depth)``, sum aggregation, ``RegressionFFN``
with one hidden layer of 256, batch norm off, on the same molecules, labels and batch size,
with Chemprop's own 72 atom and 14 bond features (featurized once: ``dataset.cache``) and
its Noam learning-rate schedule. Its parameters and minibatch order are its own, so its loss
is shown but not compared.

``--atom-features chemprop`` gives symmol's network (and the PyTorch one) Chemprop's 72 atom and 14
bond features instead of the embedding, as ``symmol train --atom-features chemprop`` does: the
inputs are then the same as Chemprop's, and ``--units 300 --batch-size 64`` is Chemprop's width.

Reproduce::

    python bench/graph_speed.py --out bench/results/graph_speed.md
    python bench/graph_speed.py --message-passing dmpnn --chemprop --out bench/results/graph_speed_dmpnn.md
    python bench/graph_speed.py --message-passing dmpnn --chemprop --atom-features chemprop --units 300 \
        --batch-size 64 --out bench/results/graph_speed_dmpnn_chemprop_features.md
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", type=Path, default=REPO / "examples" / "data" / "zinc20k.smi.gz")
    parser.add_argument("--limit", type=int, default=None, help="use the first N molecules only")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=["numba"])
    parser.add_argument("--message-passing", choices=("gin", "dmpnn"), default="gin")
    parser.add_argument("--chemprop", action="store_true", help="add Chemprop (v2) as a peer")
    parser.add_argument("--atom-features", choices=("embedding", "chemprop"), default="embedding")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    return parser.parse_args()


ARGS = parse_args()
for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, str(ARGS.threads))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in train_speed.py: the products are small

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402
from rdkit import Chem, RDLogger  # noqa: E402
from rdkit.Chem import Crippen, rdMolDescriptors  # noqa: E402

from symmol.chem.io import read_molecules  # noqa: E402
from symmol.chem.mol_arrays import mol_graph_batch  # noqa: E402
from symmol.compile import get_backend_mode  # noqa: E402
from symmol.data.molgraph import GraphInputs  # noqa: E402
from symmol.featurizers.chemprop_features import atom_feature_matrix, bond_feature_matrix  # noqa: E402
from symmol.featurizers.molgraph import MolGraphFeaturizer  # noqa: E402
from symmol.models.graph_network import build_graph_network  # noqa: E402
from symmol.nn.layers import get_all_param_values, get_all_params, get_output  # noqa: E402
from symmol.nn.objectives import masked_squared_error  # noqa: E402
from symmol.nn.updates import adam  # noqa: E402


def load_data() -> tuple[list[str], np.ndarray, list[tuple[GraphInputs, np.ndarray]]]:
    """SMILES, standardised (logP, TPSA) labels and the minibatches of graph inputs, fixed once."""
    RDLogger.DisableLog("rdApp.*")
    table = read_molecules(ARGS.library)
    smiles = table["smiles"].tolist()[: ARGS.limit or None]
    mols = [m for m in (Chem.MolFromSmiles(s) for s in smiles) if m is not None]
    labels = np.array([[Crippen.MolLogP(m), rdMolDescriptors.CalcTPSA(m)] for m in mols])
    y = ((labels - labels.mean(axis=0)) / labels.std(axis=0)).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(mols))
    batches = []
    for start in range(0, len(order), ARGS.batch_size):
        rows = order[start:start + ARGS.batch_size]
        if ARGS.atom_features == "chemprop":
            graph = MolGraphFeaturizer(chemprop_features=True).from_mols([mols[i] for i in rows])
            bonds = bond_feature_matrix(graph)
            inputs = graph.graph_inputs()._replace(atom_types=atom_feature_matrix(graph),
                                                   bond_types=np.concatenate([bonds, bonds]))
        else:
            inputs = mol_graph_batch([mols[i] for i in rows]).graph_inputs()
        batches.append((inputs, y[rows]))
    return [Chem.MolToSmiles(m) for m in mols], y, batches


def run_epochs(train_batch, batches) -> dict:
    times, epoch_losses = [], []
    for epoch in range(ARGS.epochs):
        t0 = time.perf_counter()
        losses = [train_batch(*batches[i]) for i in np.random.default_rng(epoch).permutation(len(batches))]
        times.append(time.perf_counter() - t0)
        epoch_losses.append(float(np.mean(losses)))
        print(f"    epoch {epoch + 1}: {times[-1]:.2f} s, loss {epoch_losses[-1]:.5f}", flush=True)
    return {"s/epoch": float(np.median(times)), "final loss": epoch_losses[-1]}


def build():
    return build_graph_network(2, np.random.default_rng(0), units=ARGS.units, depth=ARGS.depth,
                               message_passing=ARGS.message_passing, atom_features=ARGS.atom_features)


def bench_symmol(batches, backend: str) -> dict:
    net = build()
    targets = pt.matrix("targets", dtype="float32")
    loss = masked_squared_error(get_output(net.output), targets)
    params = get_all_params(net.output, trainable=True)
    updates = adam(pytensor.grad(loss, params), params, 1e-3)
    t0 = time.perf_counter()
    step = pytensor.function([layer.input_var for layer in net.inputs] + [targets], loss, updates=updates,
                             mode=get_backend_mode(backend))
    state = {shared: shared.get_value() for shared in updates}  # parameters, Adam's moments and step
    step(*batches[0][0], batches[0][1])  # Numba compiles on the first call; then the state is restored
    for shared, value in state.items():
        shared.set_value(value)
    print(f"    compiled in {time.perf_counter() - t0:.1f} s", flush=True)
    return run_epochs(lambda x, y: float(step(*x, y)), batches)


def bench_torch(batches) -> dict:
    import torch

    torch.set_num_threads(ARGS.threads)
    init = {name: torch.from_numpy(value.copy()) for name, value in get_all_param_values(build().output).items()}
    params = {name: torch.nn.Parameter(value) for name, value in init.items()}
    optimizer = torch.optim.Adam(list(params.values()), lr=1e-3)

    def bond_term(B: torch.Tensor, bonds: torch.Tensor) -> torch.Tensor:
        return bonds @ B if bonds.ndim == 2 else B[bonds]

    def gin(h: torch.Tensor, src, dst, bonds) -> torch.Tensor:
        if "atom_projection.W" in params:
            h = h @ params["atom_projection.W"] + params["atom_projection.b"]
        for i in range(ARGS.depth):
            messages = torch.relu(h[src] + bond_term(params[f"mp{i}.B"], bonds))
            aggregated = torch.zeros_like(h).index_add_(0, dst, messages)
            h = torch.relu((h + aggregated) @ params[f"mp{i}.W"] + params[f"mp{i}.b"])
        return h

    def dmpnn(x: torch.Tensor, src, dst, bonds) -> torch.Tensor:
        half = src.shape[0] // 2
        reverse = torch.cat([torch.arange(half, 2 * half), torch.arange(0, half)])
        z = x[src] @ params["dmpnn.W_i"] + bond_term(params["dmpnn.B"], bonds)  # Chemprop: steps add to z
        h = torch.relu(z)
        for _ in range(ARGS.depth - 1):
            into_atoms = torch.zeros(x.shape[0], h.shape[1]).index_add_(0, dst, h)
            h = torch.relu(z + (into_atoms[src] - h[reverse]) @ params["dmpnn.W_h"])
        atom_messages = torch.zeros(x.shape[0], h.shape[1]).index_add_(0, dst, h)
        return torch.relu(x @ params["dmpnn.W_o"] + atom_messages @ params["dmpnn.W_m"] + params["dmpnn.b"])

    def forward(x: GraphInputs) -> torch.Tensor:
        src, dst, bonds = (torch.from_numpy(a) for a in (x.src, x.dst, x.bond_types))
        atoms = torch.from_numpy(x.atom_types)
        h = atoms if atoms.ndim == 2 else params["atom_embedding.W"][atoms]
        h = (dmpnn if ARGS.message_passing == "dmpnn" else gin)(h, src, dst, bonds)
        pooled = torch.zeros(int(x.n_molecules), h.shape[1]).index_add_(0, torch.from_numpy(x.atom_molecule), h)
        hidden = torch.relu(pooled @ params["readout_dense.W"] + params["readout_dense.b"])
        return hidden @ params["output.W"] + params["output.b"]

    def train_batch(x: GraphInputs, y: np.ndarray) -> float:
        loss = torch.nn.functional.mse_loss(forward(x), torch.from_numpy(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return run_epochs(train_batch, batches)


def bench_chemprop(smiles: list[str], y: np.ndarray) -> dict:
    """Chemprop v2's own D-MPNN on the same molecules and labels (see the module docstring)."""
    import lightning.pytorch as pl
    import torch
    from chemprop import data, featurizers, models, nn

    torch.set_num_threads(ARGS.threads)
    points = [data.MoleculeDatapoint.from_smi(s, row) for s, row in zip(smiles, y.astype(float), strict=True)]
    dataset = data.MoleculeDataset(points, featurizers.SimpleMoleculeMolGraphFeaturizer())
    dataset.cache = True  # featurize once, as symmol's minibatches are
    loader = data.build_dataloader(dataset, batch_size=ARGS.batch_size, num_workers=0, seed=0)
    model = models.MPNN(nn.BondMessagePassing(d_h=ARGS.units, depth=ARGS.depth), nn.SumAggregation(),
                        nn.RegressionFFN(n_tasks=2, input_dim=ARGS.units, hidden_dim=256, n_layers=1))
    times: list[float] = []
    losses: list[float] = []

    class Timer(pl.Callback):
        def on_train_epoch_start(self, trainer, module):
            self.t0, self.batch_losses = time.perf_counter(), []

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            self.batch_losses.append(float(outputs["loss"]) if isinstance(outputs, dict) else float(outputs))

        def on_train_epoch_end(self, trainer, module):
            times.append(time.perf_counter() - self.t0)
            losses.append(float(np.mean(self.batch_losses)))
            print(f"    epoch {len(times)}: {times[-1]:.2f} s, loss {losses[-1]:.5f}", flush=True)

    trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=1, max_epochs=ARGS.epochs,
                         callbacks=[Timer()])
    trainer.fit(model, loader)
    return {"s/epoch": float(np.median(times)), "final loss": losses[-1]}


def main() -> None:
    smiles, y, batches = load_data()
    n_mols = sum(int(x.n_molecules) for x, _ in batches)
    n_atoms = sum(len(x.atom_types) for x, _ in batches)
    print(f"{n_mols} molecules, {n_atoms / n_mols:.1f} atoms per molecule, {len(batches)} batches", flush=True)
    print("PyTorch by hand", flush=True)
    results = {"PyTorch by hand (index_add_)": bench_torch(batches)}
    if ARGS.chemprop:
        print("Chemprop", flush=True)
        results["Chemprop 2 (Lightning, own features and init)"] = bench_chemprop(smiles, y)
    for backend in ARGS.backends:
        name = f"symmol ({backend} backend)"
        print(name, flush=True)
        results[name] = bench_symmol(batches, backend)
    peer = results["PyTorch by hand (index_add_)"]
    frame = pd.DataFrame([{"implementation": name, "s/epoch": r["s/epoch"], "final loss": f"{r['final loss']:.5f}",
                           "speed-up vs PyTorch": peer["s/epoch"] / r["s/epoch"],
                           "final loss vs PyTorch": ("n/a (other model)" if name.startswith("Chemprop") else
                                                     f"{100 * (r['final loss'] / peer['final loss'] - 1):+.3f} %")}
                          for name, r in results.items()])
    text = frame.to_markdown(index=False, floatfmt=".3f")
    print(text)
    if ARGS.out:
        import platform

        import torch

        command = (f"python bench/graph_speed.py --epochs {ARGS.epochs} --threads {ARGS.threads} "
                   f"--backends {' '.join(ARGS.backends)} --message-passing {ARGS.message_passing}"
                   + (" --chemprop" if ARGS.chemprop else "") + (f" --limit {ARGS.limit}" if ARGS.limit else "")
                   + f" --atom-features {ARGS.atom_features} --units {ARGS.units} --batch-size {ARGS.batch_size}")
        ARGS.out.parent.mkdir(parents=True, exist_ok=True)
        kind = "D-MPNN (directed bond messages)" if ARGS.message_passing == "dmpnn" else "GIN-style"
        ARGS.out.write_text(
            f"# Training speed: {kind} message-passing network (depth {ARGS.depth}, {ARGS.units} units), "
            f"ZINC sample, logP + TPSA, Adam, batch {ARGS.batch_size}\n\n"
            f"Command: `{command}`  \n"
            f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}; torch "
            f"{torch.__version__}; {n_mols} molecules ({n_atoms / n_mols:.1f} atoms each); {ARGS.threads} threads; "
            f"median epoch of {ARGS.epochs}; same initial parameters and minibatches for both.\n\n" + text + "\n")


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    main()
