"""Epoch time of symmol's message-passing graph network vs the same network in PyTorch, same run.

Data: the bundled 20,000-molecule ZINC sample (``examples/data/zinc20k.smi.gz``) with two real
computed labels, RDKit's Crippen logP and TPSA, standardised. Network
(:func:`symmol.nn.graph.build_graph_network`): atom-type embedding (1024 buckets of the Morgan
atom invariant) → 3 GIN-style message-passing layers with bond-type embeddings (128 units) →
sum readout → 256 ReLU → 2 outputs; mean squared error; Adam (lr 1e-3); minibatches of 128
molecules.

The PyTorch peer is the network written by hand, as one would: ``nn.Embedding``-style
parameter tables indexed with ``h[src]``, messages summed with ``index_add_``, ``nn.Linear``-
style products, ``torch.optim.Adam``. Both start from symmol's initial parameters and see
the same minibatches (precomputed once; each epoch visits them in a new seeded order), with
``--threads`` threads. Epoch time is the median over the epochs (compilation excluded); the
final loss is the last epoch's mean training loss.

Reproduce::

    python bench/graph_speed.py --out bench/results/graph_speed.md
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

from symmol.chem.graph import mol_graph_batch  # noqa: E402
from symmol.chem.io import read_molecules  # noqa: E402
from symmol.compile import get_backend_mode  # noqa: E402
from symmol.nn.graph import GraphInputs, build_graph_network, graph_inputs  # noqa: E402
from symmol.nn.layers import get_all_param_values, get_all_params, get_output  # noqa: E402
from symmol.nn.objectives import masked_squared_error  # noqa: E402
from symmol.nn.updates import adam  # noqa: E402


def load_batches() -> list[tuple[GraphInputs, np.ndarray]]:
    """Minibatches of graph inputs and standardised (logP, TPSA) labels, fixed once."""
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
        batches.append((graph_inputs(mol_graph_batch([mols[i] for i in rows])), y[rows]))
    return batches


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
    return build_graph_network(2, np.random.default_rng(0), units=ARGS.units, depth=ARGS.depth)


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

    def forward(x: GraphInputs) -> torch.Tensor:
        src, dst, bonds = (torch.from_numpy(a) for a in (x.src, x.dst, x.bond_types))
        h = params["atom_embedding.W"][torch.from_numpy(x.atom_types)]
        for i in range(ARGS.depth):
            messages = torch.relu(h[src] + params[f"mp{i}.B"][bonds])
            aggregated = torch.zeros_like(h).index_add_(0, dst, messages)
            h = torch.relu((h + aggregated) @ params[f"mp{i}.W"] + params[f"mp{i}.b"])
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


def main() -> None:
    batches = load_batches()
    n_mols = sum(int(x.n_molecules) for x, _ in batches)
    n_atoms = sum(len(x.atom_types) for x, _ in batches)
    print(f"{n_mols} molecules, {n_atoms / n_mols:.1f} atoms per molecule, {len(batches)} batches", flush=True)
    print("PyTorch by hand", flush=True)
    results = {"PyTorch by hand (index_add_)": bench_torch(batches)}
    for backend in ARGS.backends:
        name = f"symmol ({backend} backend)"
        print(name, flush=True)
        results[name] = bench_symmol(batches, backend)
    peer = results["PyTorch by hand (index_add_)"]
    frame = pd.DataFrame([{"implementation": name, "s/epoch": r["s/epoch"], "final loss": f"{r['final loss']:.5f}",
                           "speed-up vs PyTorch": peer["s/epoch"] / r["s/epoch"],
                           "final loss vs PyTorch": f"{100 * (r['final loss'] / peer['final loss'] - 1):+.3f} %"}
                          for name, r in results.items()])
    text = frame.to_markdown(index=False, floatfmt=".3f")
    print(text)
    if ARGS.out:
        import platform

        import torch

        command = (f"python bench/graph_speed.py --epochs {ARGS.epochs} --threads {ARGS.threads} "
                   f"--backends {' '.join(ARGS.backends)}" + (f" --limit {ARGS.limit}" if ARGS.limit else ""))
        ARGS.out.parent.mkdir(parents=True, exist_ok=True)
        ARGS.out.write_text(
            f"# Training speed: message-passing graph network (depth {ARGS.depth}, {ARGS.units} units), "
            f"ZINC sample, logP + TPSA, Adam, batch {ARGS.batch_size}\n\n"
            f"Command: `{command}`  \n"
            f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}; torch "
            f"{torch.__version__}; {n_mols} molecules ({n_atoms / n_mols:.1f} atoms each); {ARGS.threads} threads; "
            f"median epoch of {ARGS.epochs}; same initial parameters and minibatches for both.\n\n" + text + "\n")


if __name__ == "__main__":
    main()
