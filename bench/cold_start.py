"""Cold start: the first answer of a fresh install (empty Numba and PyTensor caches), the next, and after warm-cache.

"Cold" means an empty ``NUMBA_CACHE_DIR`` and PyTensor ``base_compiledir`` (fresh temporary directories,
so no cache file under the package is used either); "second run" a second process with the same
directories (which holds compiled kernels only where the first run compiled them).
Each figure is the median wall time of ``--repeats`` fresh processes (each command cold in its own new
directories, so none profits from another's compilation). Measured: the import of the CLI command's
modules, the first ``symmol train --architecture mlp`` on Tox21 with one epoch (and that epoch alone,
compilation of the training step included, from ``history.json``), the first ``symmol screen`` of the
bundled 20,000 ZINC molecules (``--scheduler threads --ad``, with the model just trained), and the first
``symmol predict`` of 10 molecules; then ``symmol warm-cache`` and the same commands after it. The
compile tiers are at their default (``SYMMOL_COMPILE`` unset, :mod:`symmol.kernels.tiering`): a cold
run fingerprints with RDKit and computes the applicability domain by a NumPy product until compiling
the kernels would have paid.

    python bench/cold_start.py --repeats 3 --out bench/results/cold_start.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "examples" / "data"
TOX21 = ["NR-AR", "NR-AR-LBD", "NR-AhR", "NR-Aromatase", "NR-ER", "NR-ER-LBD", "NR-PPAR-gamma", "SR-ARE",
         "SR-ATAD5", "SR-HSE", "SR-MMP", "SR-p53"]


def _env(cache: Path) -> dict[str, str]:
    """A user's environment with its own cache directories (and the default compile tiers: no ``SYMMOL_COMPILE``)."""
    env = {key: value for key, value in os.environ.items() if key != "SYMMOL_COMPILE"}
    return {**env, "NUMBA_CACHE_DIR": str(cache / "numba"), "PYTENSOR_FLAGS": f"base_compiledir={cache / 'pytensor'}"}


def _symmol(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "symmol", *args], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _commands(work: Path) -> dict[str, list[str]]:
    queries = work / "queries.smi"
    queries.write_text("".join(line for line in (DATA / "esol.csv").read_text().splitlines(True)[1:11]
                               for line in [line.rsplit(",", 1)[-1].strip() + "\n"]))
    train = ["train", str(DATA / "tox21.csv"), "--task", "classification", "--split", "scaffold", "--epochs", "1",
             "--patience", "0", "--no-progress", *[f"--target={t}" for t in TOX21], "--out", str(work / "model")]
    return {
        "train": train,
        "screen": ["screen", str(work / "model"), str(DATA / "zinc20k.smi.gz"), "--out", str(work / "s.csv.gz"),
                   "--n-jobs", "2", "--scheduler", "threads", "--ad", "--no-progress"],
        "predict": ["predict", str(work / "model"), str(queries), "--out", str(work / "p.csv"), "--no-progress"],
    }


def _import_seconds(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import symmol.cli.train, symmol.cli.screen"], env=env, check=True)
    return time.perf_counter() - start


def measure(repeats: int) -> dict[str, dict[str, list[float]]]:
    """Wall seconds per command: ``cold``, ``warm`` (second process), and after ``warm-cache``.

    Each command is cold in its own new cache directories (``train`` first: ``screen`` and ``predict``
    use its model); ``first epoch`` is the first training epoch as ``history.json`` records it
    (the training step's compilation included).
    """
    times: dict[str, dict[str, list[float]]] = {}

    def record(name: str, column: str, seconds: float) -> None:
        times.setdefault(name, {}).setdefault(column, []).append(seconds)

    def first_epoch(work: Path) -> float:
        return json.loads((work / "model" / "history.json").read_text())["epoch_seconds"][0]

    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="symmol-cold-") as tmp:
            work = Path(tmp)
            commands = _commands(work)
            record("import", "cold", _import_seconds(_env(work / "cache-import")))
            for name in ("train", "screen", "predict"):
                env = _env(work / f"cache-{name}")
                record(name, "cold", _symmol(commands[name], env))
                if name == "train":
                    record("first epoch", "cold", first_epoch(work))
                record(name, "second run", _symmol(commands[name], env))
                if name == "train":
                    record("first epoch", "second run", first_epoch(work))
        with tempfile.TemporaryDirectory(prefix="symmol-cold-") as tmp:
            work = Path(tmp)
            commands = _commands(work)
            env = _env(work / "cache")
            record("warm-cache", "cold", _symmol(["warm-cache"], env))
            for name in ("train", "screen", "predict"):
                record(name, "after warm-cache", _symmol(commands[name], env))
                if name == "train":
                    record("first epoch", "after warm-cache", first_epoch(work))
    return times


def report(times: dict[str, dict[str, list[float]]], repeats: int) -> str:
    load = os.getloadavg()[0]
    lines = ["# Cold start: a fresh install's first answer", "",
             f"Command: `python bench/cold_start.py --repeats {repeats}`; median wall seconds of {repeats} fresh "
             f"processes (min–max); 2-core machine, load average {load:.1f} at the end. Cold: empty Numba and "
             "PyTensor cache directories, new for each command; second run: the next process with the same "
             "directories; after warm-cache: a first run after `symmol warm-cache` in new directories (shared by "
             "the three commands).", "",
             "| step | cold | second run | after warm-cache |", "|---|---:|---:|---:|"]
    names = {"import": "import of the CLI's train and screen modules",
             "train": "`symmol train` Tox21, `--architecture mlp`, 1 epoch (reading, featurizing, compiling, "
                      "evaluating)",
             "first epoch": "its first epoch (`history.json`: the training step's compilation and one pass)",
             "screen": "`symmol screen` 20,000 ZINC molecules (`--scheduler threads --ad`)",
             "predict": "`symmol predict` 10 molecules", "warm-cache": "`symmol warm-cache`"}
    for key, label in names.items():
        cells = []
        for column in ("cold", "second run", "after warm-cache"):
            values = times.get(key, {}).get(column)
            cells.append(f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})" if values else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    text = report(measure(args.repeats), args.repeats)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
