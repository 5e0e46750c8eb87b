"""Screening throughput and memory: the common tutorial pipeline vs ``symmol screen``.

The tutorial pipeline (one process) is what most virtual-screening notebooks do: read SMILES
in chunks, ``Chem.MolFromSmiles`` → ``GetMorganGenerator(radius=2, fpSize=2048)``
``.GetFingerprintAsNumPy`` → stack into a NumPy matrix → a PyTorch MLP with the *same weights*
as the symmol model (2048 → 512 → 12, ReLU, sigmoid) → write a CSV. ``symmol screen`` runs the
same model end to end (SMILES to written results, interpreter start included) with ``--n-jobs 2``,
as threads of one process (``--scheduler threads``) and as worker processes (``--scheduler local``).

Libraries: the shared ZINC250k file, and a ~1 M row library made by concatenating the shared
ZINC250k, MOSES test and ChEMBL 50k files until it has ``--big-rows`` rows (written once to
``--cache-dir``). Peak RSS is the largest sum, over the screening process and its children,
of resident memory sampled every 50 ms.

Reproduce (after ``bash examples/quickstart.sh``, whose Tox21 model is used)::

    python bench/screen.py --data-dir ../shared/data --out bench/results/screen.md
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

REPO = Path(__file__).resolve().parents[1]
ZINC = "screening_libraries/zinc250k_rndm_zinc_drugs_clean.smi.gz"
MOSES = "screening_libraries/moses_test.csv.gz"
CHEMBL = "screening_libraries/chembl31_valid_50k.smi.gz"


def run_measured(command: list[str]) -> tuple[float, float, str]:
    """Run ``command``; return (seconds, peak summed RSS of its process tree in MB, stdout)."""
    peak = 0.0
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                total = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
                peak = max(peak, total / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr[-3000:]}")
    return seconds, peak, stdout


def tutorial_pipeline(model_dir: Path, library: Path, out: Path, chunk_size: int) -> int:
    """RDKit parse → Morgan → NumPy → PyTorch MLP, one process; returns the number of rows."""
    import torch
    from rdkit import Chem, RDLogger
    from rdkit.Chem import rdFingerprintGenerator

    RDLogger.DisableLog("rdApp.*")
    torch.set_num_threads(1)
    with np.load(model_dir / "params.npz") as params:
        weights = {k: torch.from_numpy(params[k]) for k in params.files}
    dense = sorted((k for k in weights if k.endswith(".W")), key=lambda k: (k.startswith("output"), len(k), k))
    layers = [(weights[k], weights[k[:-2] + ".b"]) for k in dense]
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    rows = 0
    with gzip.open(library, "rt") as handle, open(out, "w") as sink:
        sink.write("row,smiles,score\n")
        lines = []
        for line in [*handle, None]:
            if line is not None:
                lines.append(line.split()[0] if line.strip() else "")
                if len(lines) < chunk_size:
                    continue
            mols = [Chem.MolFromSmiles(s) for s in lines]
            fps = np.zeros((len(lines), 2048), dtype=np.float32)
            for i, mol in enumerate(mols):
                if mol is not None:
                    fps[i] = generator.GetFingerprintAsNumPy(mol)
            with torch.no_grad():
                x = torch.from_numpy(fps)
                for j, (w, b) in enumerate(layers):
                    x = x @ w + b
                    if j < len(layers) - 1:
                        x = torch.relu(x)
                scores = torch.sigmoid(x[:, 0]).numpy()
            pd.DataFrame({"row": np.arange(rows, rows + len(lines)), "smiles": lines, "score": scores}).to_csv(
                sink, header=False, index=False, float_format="%.6g")
            rows += len(lines)
            lines = []
    return rows


def build_big_library(data_dir: Path, path: Path, n_rows: int) -> Path:
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    from symmol.chem.io import read_molecules  # header-less MOSES CSV and .smi alike

    pool = [s for name in (ZINC, MOSES, CHEMBL) for s in read_molecules(data_dir / name)["smiles"].tolist() if s]
    with gzip.open(path, "wt", compresslevel=3) as handle:
        written = 0
        while written < n_rows:
            take = pool[: n_rows - written]
            handle.write("\n".join(take) + "\n")
            written += len(take)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", type=Path, default=REPO / "runs" / "quickstart" / "tox21_model")
    parser.add_argument("--cache-dir", type=Path, default=REPO / "bench" / ".cache")
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=20_000)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--schedulers", nargs="+", default=["threads", "local"], choices=["threads", "local"],
                        help="symmol screen --scheduler values to measure (threads of one process, local processes)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    zinc = args.data_dir / ZINC
    work = args.cache_dir / "screen"
    work.mkdir(parents=True, exist_ok=True)
    results = []

    t0 = time.perf_counter()
    n = tutorial_pipeline(args.model, zinc, work / "tutorial.csv", args.chunk_size)
    tutorial_s = time.perf_counter() - t0
    results.append({"pipeline": "tutorial (RDKit → NumPy → PyTorch, 1 process)", "library": "ZINC250k",
                    "rows": n, "seconds": tutorial_s, "molecules/s": n / tutorial_s, "peak RSS MB": float("nan")})
    symmol = [sys.executable, "-m", "symmol", "screen", str(args.model)]
    libraries = [("ZINC250k", zinc)]
    if not args.skip_big:
        libraries.append((f"{args.big_rows:,} rows", build_big_library(
            args.data_dir, args.cache_dir / f"library_{args.big_rows}.smi.gz", args.big_rows)))
    for label, library in libraries:
        for scheduler in args.schedulers:
            seconds, peak, stdout = run_measured(
                [*symmol, str(library), "--out", str(work / "symmol.csv.gz"), "--top", "100", "--n-jobs",
                 str(args.n_jobs), "--scheduler", scheduler, "--chunk-size", str(args.chunk_size), "--no-progress"])
            rows = int(stdout.split()[0])
            results.append({"pipeline": f"symmol screen --n-jobs {args.n_jobs} --scheduler {scheduler}",
                            "library": label, "rows": rows, "seconds": seconds, "molecules/s": rows / seconds,
                            "peak RSS MB": peak})
            print(results[-1], flush=True)
    table = pd.DataFrame(results)
    table["× tutorial"] = table["molecules/s"] / (n / tutorial_s)
    text = table.to_markdown(index=False, floatfmt=",.1f")
    print(text)
    zinc_rows = [r for r in results[1:] if r["library"] == "ZINC250k"]
    best = max(zinc_rows, key=lambda r: r["molecules/s"])
    targets = ["", "## Targets of issue 6 (this run)", "", "| target | measured | met |", "|---|---|---|",
               f"| ZINC250k end to end >= 22,000 molecules/s | {best['molecules/s']:,.0f}/s ({best['pipeline']}) "
               f"| {'yes' if best['molecules/s'] >= 22000 else 'no'} |",
               f"| >= 4x the tutorial pipeline | {best['molecules/s'] / (n / tutorial_s):.2f}x "
               f"| {'yes' if best['molecules/s'] >= 4 * n / tutorial_s else 'no'} |"]
    for scheduler in args.schedulers:
        by_library = {r["library"]: r for r in results[1:] if r["pipeline"].endswith(f"--scheduler {scheduler}")}
        if len(by_library) > 1:
            small, big = by_library["ZINC250k"]["peak RSS MB"], by_library[libraries[1][0]]["peak RSS MB"]
            met = big <= 1.2 * small and big < 1500
            targets.append(f"| --scheduler {scheduler}: peak RSS {libraries[1][0]} <= 1.2x ZINC250k and < 1.5 GB "
                           f"| {big:,.0f} MB vs {small:,.0f} MB ({big / small:.2f}x) | {'yes' if met else 'no'} |")
    text += "\n" + "\n".join(targets) + "\n"
    if args.out:
        args.out.write_text(
            "# Screening: tutorial pipeline vs `symmol screen`\n\n"
            "Command: `python bench/screen.py --data-dir ../shared/data --out bench/results/screen.md` "
            "(model: the quickstart's Tox21 ECFP4 MLP, 2048 → 512 → 12). End to end: SMILES file to written "
            "results, every row accounted for; symmol's time includes starting its interpreter. Machine: 2 cores, "
            f"load average {os.getloadavg()[0]:.1f} at the end.\n\n" + text + "\n")

if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    main()
