"""Epoch time and training loss of the same MLP in symmol vs PyTorch, same data, same run.

Two problems (``--dataset``):

* ``zinc250k`` (default): ZINC250k (249,455 molecules) with real computed labels, a 4-task
  regression on RDKit's Crippen logP (``Crippen.MolLogP``), TPSA (``rdMolDescriptors.CalcTPSA``),
  QED (``QED.qed``) and the number of rotatable bonds (``rdMolDescriptors.CalcNumRotatableBonds``),
  targets standardised to zero mean and unit variance; ECFP4 bits (2048) → 1024 ReLU → 4,
  mean squared error, Adam (lr 1e-3), batch 256, 5 epochs. Labels and fingerprints are cached
  in ``bench/.cache/`` (recomputing QED for 250k molecules takes minutes).
* ``tox21``: ECFP4 → 512 ReLU → 12 logits, masked multitask BCE, Adam, batch 128 (7,823 molecules).

Implementations:

* PyTorch dense: each minibatch's fingerprints as a dense float32 tensor into ``nn.Linear``.
* PyTorch EmbeddingBag: on-bit indices into ``nn.EmbeddingBag(mode="sum")`` with
  ``per_sample_weights`` (the sparse formulation written by hand).
* symmol: the same graph declared with symmol layers and compiled by PyTensor on each
  ``--backends`` entry; its first layer is the ``FingerprintDot`` Op.

All start from symmol's initial parameters (copied into the torch modules), see the same
minibatches in the same order and use ``--threads`` threads (``torch.set_num_threads``,
``NUMBA_NUM_THREADS``; OpenBLAS, which serves only the small dense products of symmol's graph,
runs one thread). Epoch time is the median over the epochs
(compilation excluded; each epoch includes reordering the data); the final loss is the last
epoch's mean training loss.

``--device cuda`` runs the PyTorch peers and symmol's ``jax``/``pytorch`` backends on the GPU
(each minibatch is copied to the device inside the timed epoch, as a training loop does) and
writes ``train_speed_cuda.md``.

Reproduce::

    python bench/train_speed.py --data-dir /work/shared/data            # ZINC250k → train_speed.md + .png
    python bench/train_speed.py --dataset tox21 --epochs 5              # → train_speed_tox21.md
    python bench/train_speed.py --device cuda --backends jax pytorch    # → train_speed_cuda.md (needs a GPU)
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
CACHE = REPO / "bench" / ".cache"
ZINC_FILE = Path("screening_libraries") / "zinc250k_rndm_zinc_drugs_clean.smi.gz"
ZINC_TASKS = ("logP", "TPSA", "QED", "n_rotatable_bonds")
TOX21_TASKS = ("NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD", "NR-PPAR-gamma",
               "SR-ARE", "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=["zinc250k", "tox21"], default="zinc250k")
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data"),
                        help="folder holding screening_libraries/zinc250k_rndm_zinc_drugs_clean.smi.gz")
    parser.add_argument("--limit", type=int, default=None, help="use the first N molecules only")
    parser.add_argument("--epochs", type=int, default=None, help="default: 5")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 256 (zinc250k), 128 (tox21)")
    parser.add_argument("--hidden", type=int, default=None, help="default: 1024 (zinc250k), 512 (tox21)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=["numba", "c", "jax"])
    parser.add_argument("--peers", nargs="+", default=["dense", "embeddingbag"], choices=["dense", "embeddingbag"])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cuda: PyTorch peers and symmol's jax/pytorch backends on the GPU")
    parser.add_argument("--out", type=Path, default=None, help="markdown table (default: bench/results/...)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    zinc = args.dataset == "zinc250k"
    args.epochs = args.epochs or 5
    args.batch_size = args.batch_size or (256 if zinc else 128)
    args.hidden = args.hidden or (1024 if zinc else 512)
    if args.device == "cuda" and set(args.backends) - {"jax", "pytorch"}:
        parser.error("--device cuda needs --backends among jax, pytorch")
    if args.out is None:
        stem = "train_speed" if zinc else "train_speed_tox21"
        args.out = RESULTS / (stem + ("_cuda" if args.device == "cuda" else "") + ".md")
    return args


ARGS = parse_args()
for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, str(ARGS.threads))
# The BLAS calls in symmol's graph are skinny (256 x 1024 @ 1024 x 4); threaded OpenBLAS only
# adds synchronisation to them (10-80x slower on a busy machine), so it runs single-threaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from symmol.compile import compile_train_step  # noqa: E402
from symmol.data.fingerprints import FingerprintBatch  # noqa: E402
from symmol.featurizers import MorganFingerprint  # noqa: E402
from symmol.models.mlp import MLPSpec, build_mlp  # noqa: E402
from symmol.nn.layers import get_all_param_values  # noqa: E402
from symmol.nn.objectives import masked_binary_crossentropy_from_logits, masked_squared_error  # noqa: E402
from symmol.nn.updates import adam  # noqa: E402

# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #


def _rdkit_labels(smiles: list[str]) -> np.ndarray:
    """(n, 4) float32: Crippen logP, TPSA, QED, rotatable bonds; NaN rows for unparsable SMILES."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem import QED, Crippen, rdMolDescriptors

    RDLogger.DisableLog("rdApp.*")
    labels = np.full((len(smiles), len(ZINC_TASKS)), np.nan, dtype=np.float32)
    for i, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi)
        if mol is not None:
            labels[i] = (Crippen.MolLogP(mol), rdMolDescriptors.CalcTPSA(mol), QED.qed(mol),
                         rdMolDescriptors.CalcNumRotatableBonds(mol))
    return labels


def _zinc_labels(smiles: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Labels of all molecules, computed once in parallel (all cores), and which rows are valid."""
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    chunks = [smiles[i:i + 2000] for i in range(0, len(smiles), 2000)]
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        parts = list(tqdm(pool.map(_rdkit_labels, chunks), total=len(chunks), desc="RDKit labels", unit="chunk"))
    labels = np.concatenate(parts) if parts else np.zeros((0, len(ZINC_TASKS)), np.float32)
    return labels, ~np.isnan(labels).any(axis=1)


def load_zinc() -> tuple[FingerprintBatch, np.ndarray]:
    """ECFP4 bits and standardised labels of ZINC250k (cached in ``bench/.cache``)."""
    path = ARGS.data_dir / ZINC_FILE
    limit = ARGS.limit or 0
    cache = CACHE / f"zinc250k_ecfp4_2048_labels_{limit or 'all'}.npz"
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        fps = FingerprintBatch(data["indptr"], data["indices"], data["values"], int(data["fp_size"]))
        labels = data["labels"]
    else:
        table = pd.read_csv(path, header=None, names=["smiles"], usecols=[0], sep=r"\s+")
        smiles = table["smiles"].tolist()[: limit or None]
        labels, ok = _zinc_labels(smiles)
        featurized = MorganFingerprint(2, 2048).from_smiles(smiles)
        keep = np.flatnonzero(ok & featurized.valid)
        fps, labels = featurized.batch.take(keep), labels[keep]
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(cache, indptr=fps.indptr, indices=fps.indices, values=fps.values, fp_size=fps.fp_size,
                 labels=labels)
    y = ((labels - labels.mean(axis=0)) / labels.std(axis=0)).astype(np.float32)
    return fps, y


def load_tox21() -> tuple[FingerprintBatch, np.ndarray]:
    from symmol.chem.io import read_molecules

    table = read_molecules(REPO / "examples" / "data" / "tox21.csv", smiles_column="smiles")
    if ARGS.limit:
        table = table.iloc[: ARGS.limit]
    featurized = MorganFingerprint(2, 2048).from_smiles(table["smiles"].tolist())
    keep = np.flatnonzero(featurized.valid)
    y = table[list(TOX21_TASKS)].astype(float).to_numpy(np.float32)[keep]
    return featurized.batch.take(keep), y


# --------------------------------------------------------------------------- #
# Training loops
# --------------------------------------------------------------------------- #


def epoch_order(n: int, epoch: int) -> np.ndarray:
    return np.random.default_rng(epoch).permutation(n)


def run_epochs(train_batch, fps: FingerprintBatch, y: np.ndarray) -> dict:
    """Run ``ARGS.epochs`` epochs of ``train_batch(batch_fps, batch_y) -> loss``; times and losses."""
    times, epoch_losses, curve = [], [], []
    for epoch in range(ARGS.epochs):
        t0 = time.perf_counter()
        order = epoch_order(len(fps), epoch)
        epoch_fp, epoch_y = fps.take(order), y[order]
        losses = []
        for start in range(0, len(order), ARGS.batch_size):
            stop = min(start + ARGS.batch_size, len(order))
            losses.append(train_batch(epoch_fp.slice(start, stop), epoch_y[start:stop]))
        times.append(time.perf_counter() - t0)
        epoch_losses.append(float(np.mean(losses)))
        curve.extend(losses)
        print(f"    epoch {epoch + 1}: {times[-1]:.2f} s, loss {epoch_losses[-1]:.5f}", flush=True)
    return {"s/epoch": float(np.median(times)), "epoch_losses": epoch_losses, "curve": np.asarray(curve)}


def build_symmol():
    zinc = ARGS.dataset == "zinc250k"
    spec = MLPSpec(targets=ZINC_TASKS if zinc else TOX21_TASKS, task="regression" if zinc else "classification",
                   hidden=(ARGS.hidden,), dropout=0.0)
    _, members = build_mlp(spec)
    return members, (masked_squared_error if zinc else masked_binary_crossentropy_from_logits)


def bench_symmol(fps, y, backend: str) -> dict:
    members, loss_fn = build_symmol()
    t0 = time.perf_counter()
    step = compile_train_step(members, loss_fn, adam, 1e-3, backend=backend, device=ARGS.device)
    print(f"    compiled in {time.perf_counter() - t0:.1f} s", flush=True)

    def train_batch(b: FingerprintBatch, target: np.ndarray) -> float:
        return float(step(b.indptr, b.indices, b.values, target))

    return run_epochs(train_batch, fps, y)


def bench_torch(fps, y, kind: str) -> dict:
    import torch

    torch.set_num_threads(ARGS.threads)
    device = torch.device(ARGS.device)
    members, _ = build_symmol()  # symmol's initial parameters, copied below
    init = get_all_param_values(members[0])
    W0, b0 = (torch.from_numpy(init[f"hidden0.{p}"].copy()) for p in ("W", "b"))
    W1, b1 = (torch.from_numpy(init[f"output.{p}"].copy()) for p in ("W", "b"))
    if kind == "dense":
        first = torch.nn.Linear(fps.fp_size, ARGS.hidden)
        with torch.no_grad():
            first.weight.copy_(W0.T)
            first.bias.copy_(b0)

        def hidden(b: FingerprintBatch):
            x = torch.zeros(len(b), fps.fp_size, device=device)
            rows = torch.from_numpy(np.repeat(np.arange(len(b)), np.diff(b.indptr))).to(device)
            x[rows, torch.from_numpy(b.indices.astype(np.int64)).to(device)] = torch.from_numpy(b.values).to(device)
            return first(x)
    else:
        first = torch.nn.EmbeddingBag(fps.fp_size, ARGS.hidden, mode="sum")
        with torch.no_grad():
            first.weight.copy_(W0)
        bias = torch.nn.Parameter(b0.clone())
        first.register_parameter("extra_bias", bias)

        def hidden(b: FingerprintBatch):
            return first(torch.from_numpy(b.indices.astype(np.int64)).to(device),
                         torch.from_numpy(b.indptr[:-1]).to(device),
                         per_sample_weights=torch.from_numpy(b.values).to(device)) + bias
    out = torch.nn.Linear(ARGS.hidden, y.shape[1])
    with torch.no_grad():
        out.weight.copy_(W1.T)
        out.bias.copy_(b1)
    first.to(device)  # moves the registered extra_bias too (the same Parameter object as `bias`)
    out.to(device)
    optimizer = torch.optim.Adam(list(first.parameters()) + list(out.parameters()), lr=1e-3)
    zinc = ARGS.dataset == "zinc250k"

    def train_batch(b: FingerprintBatch, target: np.ndarray) -> float:
        target = torch.from_numpy(target).to(device)
        mask = ~torch.isnan(target)
        prediction = out(torch.relu(hidden(b)))
        if zinc:
            loss = torch.nn.functional.mse_loss(prediction, target)
        else:
            per = torch.nn.functional.binary_cross_entropy_with_logits(
                prediction, torch.nan_to_num(target), reduction="none")
            loss = (per * mask).sum() / mask.sum().clamp(min=1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return run_epochs(train_batch, fps, y)


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #


def plot(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_steps, ax_epochs) = plt.subplots(1, 2, figsize=(11, 4))
    window = 50
    for name, result in results.items():
        curve = result["curve"]
        smooth = np.convolve(curve, np.ones(window) / window, mode="valid") if len(curve) > window else curve
        ax_steps.plot(np.arange(len(smooth)) + min(window, len(curve)), smooth, label=name, lw=1)
        ax_epochs.plot(np.arange(1, len(result["epoch_losses"]) + 1), result["epoch_losses"], marker="o", label=name)
    ax_steps.set(xlabel="minibatch", ylabel=f"training loss ({window}-step mean)", yscale="log")
    ax_epochs.set(xlabel="epoch", ylabel="mean training loss", yscale="log")
    ax_epochs.legend(fontsize=8)
    fig.suptitle(f"{ARGS.dataset}: ECFP4 2048 → {ARGS.hidden} → {len(ZINC_TASKS)}, Adam 1e-3, batch {ARGS.batch_size}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    fps, y = load_zinc() if ARGS.dataset == "zinc250k" else load_tox21()
    print(f"{len(fps)} molecules, {fps.nnz / len(fps):.1f} on-bits per molecule, {y.shape[1]} tasks", flush=True)
    results: dict[str, dict] = {}
    labels = {"dense": "PyTorch nn.Linear (dense)", "embeddingbag": "PyTorch nn.EmbeddingBag"}
    for kind in ARGS.peers:
        print(labels[kind], flush=True)
        results[labels[kind]] = bench_torch(fps, y, kind)
    for backend in ARGS.backends:
        name = f"symmol ({backend} backend)"
        print(name, flush=True)
        results[name] = bench_symmol(fps, y, backend)
    rows = [{"implementation": name, "s/epoch": r["s/epoch"], "final loss": f"{r['epoch_losses'][-1]:.5f}"}
            for name, r in results.items()]
    frame = pd.DataFrame(rows)
    if "dense" in ARGS.peers:
        dense = results[labels["dense"]]
        frame["speed-up vs dense"] = dense["s/epoch"] / frame["s/epoch"]
        relative = np.array([r["epoch_losses"][-1] for r in results.values()]) / dense["epoch_losses"][-1] - 1
        frame["final loss vs dense"] = [f"{100 * r:+.3f} %" for r in relative]
    if "embeddingbag" in ARGS.peers:
        frame["speed-up vs EmbeddingBag"] = results[labels["embeddingbag"]]["s/epoch"] / frame["s/epoch"]
    text = frame.to_markdown(index=False, floatfmt=".3f")
    print(text)
    if ARGS.no_write:
        return
    import platform

    import torch

    RESULTS.mkdir(parents=True, exist_ok=True)
    command = ("python bench/train_speed.py" + (" --dataset tox21" if ARGS.dataset == "tox21" else "")
               + (f" --limit {ARGS.limit}" if ARGS.limit else "") + f" --threads {ARGS.threads} --epochs {ARGS.epochs}"
               + f" --backends {' '.join(ARGS.backends)}" + (" --device cuda" if ARGS.device == "cuda" else ""))
    title = (f"ZINC250k, 4-task regression (Crippen logP, TPSA, QED, rotatable bonds), ECFP4 2048 → {ARGS.hidden} → 4"
             if ARGS.dataset == "zinc250k" else f"Tox21, ECFP4 2048 → {ARGS.hidden} → 12")
    machine = f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}; torch {torch.__version__}"
    if ARGS.device == "cuda":
        machine += f"; GPU {torch.cuda.get_device_name(0)}"
    body = (f"# Training speed: {title}, Adam 1e-3, batch {ARGS.batch_size}\n\n"
            f"Command: `{command}`  \n"
            f"Machine: {machine}; "
            f"{len(fps)} molecules; {ARGS.threads} threads; median epoch of {ARGS.epochs}; same initial parameters "
            "and minibatch order for all.\n\n" + text + "\n")
    if ARGS.dataset == "zinc250k":
        png = ARGS.out.with_name(ARGS.out.stem + "_zinc.png") if ARGS.out.stem.startswith("train_speed") else \
            ARGS.out.with_suffix(".png")
        plot(results, png)
        body += f"\nLoss curves: ![]({png.name})\n"
    ARGS.out.write_text(body)
    print(f"wrote {ARGS.out}")


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    main()
