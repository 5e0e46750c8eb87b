"""Epoch time of the same MLP in symmol vs PyTorch, same data, same run.

Model: ECFP4 (2048 bits) → 512 ReLU → 12 logits, masked multitask BCE, Adam (lr 1e-3),
batch 128, on Tox21 (7,823 parsable molecules, 12 tasks with missing labels). Peers:

* PyTorch dense: the fingerprint matrix as a dense float32 tensor into ``nn.Linear``.
* PyTorch EmbeddingBag: on-bit indices into ``nn.EmbeddingBag(mode="sum")`` (the sparse
  formulation written by hand).
* symmol: the same graph declared with symmol layers, compiled by PyTensor (numba and c
  backends), whose first layer is symmol's ``FingerprintDot`` Op.

All use ``--threads`` threads (torch.set_num_threads, NUMBA_NUM_THREADS). Each measurement is
the median epoch time over ``--epochs`` epochs after one warm-up epoch (compilation excluded).

Reproduce::

    python bench/train_speed.py --out bench/results/train_speed.md
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO / "examples" / "data" / "tox21.csv")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=["numba", "c"])
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args()


ARGS = parse_args()
os.environ.setdefault("NUMBA_NUM_THREADS", str(ARGS.threads))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from symmol.chem.io import read_molecules  # noqa: E402
from symmol.compile import compile_train_step  # noqa: E402
from symmol.featurize import MorganFingerprint  # noqa: E402
from symmol.models.mlp import MLPSpec, build_mlp  # noqa: E402
from symmol.nn.objectives import masked_binary_crossentropy_from_logits  # noqa: E402
from symmol.nn.updates import adam  # noqa: E402

TOX21_TASKS = ["NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD", "NR-PPAR-gamma",
               "SR-ARE", "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53"]


def timed_epochs(run_epoch, epochs: int) -> tuple[float, float]:
    """Median seconds per epoch after a warm-up epoch, and the last epoch's mean loss."""
    run_epoch()
    times, loss = [], float("nan")
    for _ in range(epochs):
        t0 = time.perf_counter()
        loss = run_epoch()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), loss


def batches(n: int, batch_size: int, epoch_seed: int):
    order = np.random.default_rng(epoch_seed).permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def bench_symmol(fps, y, backend: str) -> tuple[float, float]:
    spec = MLPSpec(targets=tuple(TOX21_TASKS), task="classification", hidden=(ARGS.hidden,), dropout=0.0)
    _, members = build_mlp(spec)
    step = compile_train_step(members, masked_binary_crossentropy_from_logits, adam, 1e-3, backend=backend)
    epoch = [0]

    def run_epoch():
        epoch[0] += 1
        losses = []
        for rows in batches(len(fps), ARGS.batch_size, epoch[0]):
            b = fps.take(rows)
            losses.append(step(b.indptr, b.indices, b.values, y[rows]))
        return float(np.mean(losses))

    return timed_epochs(run_epoch, ARGS.epochs)


def bench_torch(fps, y, kind: str) -> tuple[float, float]:
    import torch

    torch.set_num_threads(ARGS.threads)
    torch.manual_seed(0)
    n_out = y.shape[1]
    if kind == "dense":
        first = torch.nn.Linear(fps.fp_size, ARGS.hidden)
        X = torch.from_numpy(fps.to_dense(np.float32))

        def hidden(rows):
            return first(X[rows])
    else:
        first = torch.nn.EmbeddingBag(fps.fp_size, ARGS.hidden, mode="sum")
        bias = torch.nn.Parameter(torch.zeros(ARGS.hidden))
        first.register_parameter("extra_bias", bias)

        def hidden(rows):
            b = fps.take(rows)  # the same CSR gather symmol does per batch
            indices = torch.from_numpy(b.indices.astype(np.int64))
            offsets = torch.from_numpy(b.indptr[:-1])
            return first(indices, offsets) + bias
    out = torch.nn.Linear(ARGS.hidden, n_out)
    params = list(first.parameters()) + list(out.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)
    Y = torch.from_numpy(y)
    epoch = [0]

    def run_epoch():
        epoch[0] += 1
        losses = []
        for rows in batches(len(fps), ARGS.batch_size, epoch[0]):
            target = Y[rows]
            mask = ~torch.isnan(target)
            logits = out(torch.relu(hidden(rows)))
            per = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, torch.nan_to_num(target), reduction="none")
            loss = (per * mask).sum() / mask.sum().clamp(min=1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return float(np.mean(losses))

    return timed_epochs(run_epoch, ARGS.epochs)


def main() -> None:
    table = read_molecules(ARGS.data, smiles_column="smiles")
    featurized = MorganFingerprint(2, 2048).from_smiles(table["smiles"].tolist())
    keep = np.flatnonzero(featurized.valid)
    fps = featurized.fingerprints.take(keep)
    y = table[TOX21_TASKS].astype(float).to_numpy(np.float32)[keep]
    print(f"{len(fps)} molecules, {fps.nnz / len(fps):.1f} on-bits per molecule on average")

    rows = []
    for kind in ("dense", "embeddingbag"):
        seconds, loss = bench_torch(fps, y, kind)
        rows.append({"implementation": f"PyTorch {'nn.Linear (dense)' if kind == 'dense' else 'nn.EmbeddingBag'}",
                     "s/epoch": seconds, "final loss": loss})
        print(rows[-1])
    for backend in ARGS.backends:
        seconds, loss = bench_symmol(fps, y, backend)
        rows.append({"implementation": f"symmol ({backend} backend)", "s/epoch": seconds, "final loss": loss})
        print(rows[-1])
    frame = pd.DataFrame(rows)
    dense = frame.loc[0, "s/epoch"]
    bag = frame.loc[1, "s/epoch"]
    frame["speed-up vs dense"] = dense / frame["s/epoch"]
    frame["speed-up vs EmbeddingBag"] = bag / frame["s/epoch"]
    text = frame.to_markdown(index=False, floatfmt=".3f")
    print(text)
    if ARGS.out:
        import platform

        import torch

        ARGS.out.parent.mkdir(parents=True, exist_ok=True)
        ARGS.out.write_text(
            "# Training speed: ECFP4 → 512 → 12 MLP, Adam, batch 128, Tox21\n\n"
            f"Command: `python bench/train_speed.py --threads {ARGS.threads} --epochs {ARGS.epochs}`  \n"
            f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}; "
            f"torch {torch.__version__}; {len(fps)} molecules; median of {ARGS.epochs} epochs after warm-up.\n\n"
            + text + "\n")


if __name__ == "__main__":
    main()
