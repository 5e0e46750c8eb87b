"""symmol's D-MPNN (`symmol train --architecture dmpnn`) vs Chemprop 2 on the same molecules and split.

Both sides train the model users get by default, on the data sets and splits of
``bench/accuracy.py`` (RDKit-valid rows; ESOL random 80/10/10 with seed 0, BBBP and Tox21
Bemis–Murcko scaffold splits, DeepChem's order), and are scored on the same test rows with
``symmol.evaluation.metrics.task_metrics`` (ROC-AUC: mean over tasks; RMSE in log10 mol/L).

* **symmol**: ``QSARModel(task, architecture="dmpnn", epochs=50)``, i.e. ``symmol train
  --architecture dmpnn --epochs 50`` with every other option at its default: directed bond messages
  (300 units, depth 3) over a learned embedding of RDKit's Morgan atom invariants and bond types,
  mean readout, one dense layer of 300, Adam 1e-3, batch 64, L2 3e-4, early stopping on the
  validation metric (patience 8, best epoch restored). Regression targets are standardised.
* **Chemprop 2** as ``chemprop train`` runs it by default: ``BondMessagePassing`` (d_h 300,
  depth 3) on its 72 atom and 14 bond features, ``NormAggregation``, one FFN layer of 300, Noam
  schedule (1e-4 → 1e-3 → 1e-4, 2 warm-up epochs), batch 64, 50 epochs, the checkpoint with the best
  validation loss kept; targets standardised for regression. Featurized once (``dataset.cache``).

Both run on ``--threads`` threads (Numba / torch) with seeds ``--seeds`` (symmol: parameter
init and minibatch order; Chemprop: ``lightning.seed_everything`` and the loader seed). Wall
time per fit includes featurization and, for symmol, compilation (PyTensor's cache is warm
after the first fit of a data set, as for any user's second run).

Reproduce::

    python bench/graph_accuracy.py --out bench/results/graph_accuracy.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO / "examples" / "data",
                        help="folder with tox21.csv, bbbp.csv, esol.csv")
    parser.add_argument("--datasets", nargs="+", default=["ESOL", "BBBP"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    return parser.parse_args()


ARGS = parse_args()
for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, str(ARGS.threads))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import DATASETS, Dataset, LoadedDataset, load_dataset  # noqa: E402
from peers import chemprop_fit  # noqa: E402

from symmol.estimator import QSARModel  # noqa: E402
from symmol.evaluation.metrics import task_metrics  # noqa: E402


def fit_symmol(ds: Dataset, data: LoadedDataset, seed: int) -> tuple[float, float, int]:
    """Test metric, wall seconds and epochs run of one ``symmol train --architecture dmpnn`` fit."""
    split = data.split
    t0 = time.perf_counter()
    model = QSARModel(ds.task, architecture="dmpnn", epochs=ARGS.epochs, seed=seed, progress=False)
    model.fit(data.smiles[split.train], data.y[split.train], data.smiles[split.val], data.y[split.val],
              target_names=ds.targets)
    scores = model.predict_scores(data.smiles[split.test])
    seconds = time.perf_counter() - t0
    return (task_metrics(ds.task, data.y[split.test], scores, ds.targets)[data.metric], seconds,
            len(model.history_.train_loss))


def fit_chemprop(ds: Dataset, data: LoadedDataset, seed: int) -> tuple[float, float, int]:
    """Test metric, wall seconds and epochs run of one Chemprop 2 fit with ``chemprop train``'s defaults."""
    return chemprop_fit(ds.task, data.smiles, data.y, data.split, ds.targets, data.metric, seed, ARGS.epochs,
                        ARGS.threads)


def main() -> None:
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    rows = []
    for ds in DATASETS:
        if ds.name not in ARGS.datasets:
            continue
        data = load_dataset(ds, ARGS.data_dir)
        results: dict[str, list[tuple[float, float, int]]] = {"symmol": [], "chemprop": []}
        for seed in ARGS.seeds:
            for name, fit in (("symmol", fit_symmol), ("chemprop", fit_chemprop)):
                results[name].append(fit(ds, data, seed))
                value, seconds, epochs = results[name][-1]
                print(f"{ds.name} seed {seed} {name}: test {data.metric} {value:.4f}, {seconds:.1f} s, "
                      f"{epochs} epochs", flush=True)
        higher_better = data.metric == "roc_auc"
        mean = {name: float(np.mean([v for v, _, _ in r])) for name, r in results.items()}
        seconds = {name: float(np.mean([s for _, s, _ in r])) for name, r in results.items()}
        epochs = {name: float(np.mean([e for _, _, e in r])) for name, r in results.items()}
        per_epoch = {name: float(np.mean([s / e for _, s, e in r])) for name, r in results.items()}
        split = data.split
        rows.append({
            "dataset": ds.name, "split": ds.split, "metric": data.metric.upper().replace("_", "-"),
            "n train/val/test": f"{split.train.size}/{split.val.size}/{split.test.size}",
            "symmol D-MPNN": mean["symmol"], "symmol sd": float(np.std([v for v, _, _ in results["symmol"]])),
            "Chemprop 2": mean["chemprop"], "Chemprop sd": float(np.std([v for v, _, _ in results["chemprop"]])),
            "symmol better": bool(mean["symmol"] > mean["chemprop"] if higher_better
                                  else mean["symmol"] < mean["chemprop"]),
            "symmol s/fit": seconds["symmol"], "Chemprop s/fit": seconds["chemprop"],
            "speed-up per fit": seconds["chemprop"] / seconds["symmol"],
            "epochs symmol/Chemprop": f"{epochs['symmol']:.1f}/{epochs['chemprop']:.1f}",
            "speed-up per epoch": per_epoch["chemprop"] / per_epoch["symmol"],
        })
    text = pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f")
    print(text)
    if ARGS.out:
        import platform

        import chemprop
        import torch

        command = (f"python bench/graph_accuracy.py --datasets {' '.join(ARGS.datasets)} --seeds "
                   f"{' '.join(map(str, ARGS.seeds))} --epochs {ARGS.epochs} --threads {ARGS.threads}")
        ARGS.out.parent.mkdir(parents=True, exist_ok=True)
        ARGS.out.write_text(
            "# Accuracy and time: symmol D-MPNN vs Chemprop 2, defaults of each, same molecules and splits\n\n"
            f"Command: `{command}`  \n"
            f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}; chemprop "
            f"{chemprop.__version__}, torch {torch.__version__}; {ARGS.threads} threads. Test metric: mean "
            f"over seeds {', '.join(map(str, ARGS.seeds))} (`sd`: standard deviation over the seeds); `s/fit`: wall "
            "seconds per fit, featurization and compilation included; `speed-up per fit`: Chemprop s/fit over "
            "symmol s/fit; `epochs`: mean epochs run (symmol stops early, Chemprop runs all and keeps the best "
            "checkpoint); `speed-up per epoch`: the same ratio of seconds per epoch run.\n\n" + text + "\n")


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    main()
