"""MoleculeNet accuracy: symmol's defaults, GP and ``symmol tune`` against Chemprop 2 and RF-500, same splits.

Data sets from ``--data-dir`` (``../shared/data/moleculenet``): ESOL and FreeSolv (random 80/10/10,
seeds 0, 1, 2: a new split per seed), BBBP, HIV and Tox21 (Bemis–Murcko scaffold split, 80/10/10,
DeepChem's order; one split, the seeds vary the models; Tox21's scaffold split is stricter than
MoleculeNet's random one). Rows RDKit rejects are dropped first; one ``splits.json`` per data set
and seed is written to ``--work`` and handed to every method:

* **symmol MLP** and **symmol D-MPNN**: ``symmol train`` defaults (``--architecture mlp|dmpnn``);
  ``dmpnn``'s defaults are Chemprop 2's recipe (:data:`CHEMPROP_RECIPE`: its atom and bond
  features, ``--readout norm --lr-schedule noam``, batch 64, 50 epochs, best validation epoch kept).
* **symmol D-MPNN (Morgan embedding)**: the D-MPNN's earlier defaults (:data:`MORGAN_EMBEDDING`): a
  learned embedding of the Morgan atom invariants, mean readout, constant rate, 50 epochs with
  early stopping after 8.
* **symmol D-MPNN fine-tuned**: the D-MPNN defaults started from ``--pretrained`` (``symmol pretrain
  ZINC250k --atom-features chemprop --readout norm``: RDKit's 2D descriptors), every layer trained.
* **symmol GP**: ``--architecture gp`` defaults (MinMax kernel on ECFP4 counts; exact up to 10,000
  training molecules per target, a seeded subsample beyond).
* **symmol tune**: ``symmol tune`` over ``mlp,dmpnn,gp`` for ``--tune-budget`` seconds per fit,
  choosing by validation score only; its ``best/metrics.json`` test metric. It starts from each
  architecture's presets (``train``'s defaults, Chemprop's recipe) and, with ``--pretrained``, also
  tries fine-tuning that model (``--init-from``).
* **symmol tune + ensemble**: the same search, then ``--ensemble-size`` (``--tune-ensemble-size``, 5)
  refits the best trial's settings as a deep ensemble, which becomes the chosen model (Chemprop's
  practice after its search). The refit runs after the budget; its time is in the wall seconds.
* **Chemprop 2**: ``chemprop train`` defaults (``bench/peers.py``), 50 epochs.
* **RF-500**: scikit-learn's RandomForest (500 trees) on ECFP4 bits.

Test metric (ROC-AUC: mean over tasks; RMSE in the target's units) mean ± sd over the seeds, wall
seconds per fit (featurization and compilation included).

Every fit is appended to ``bench/results/molnet_runs.csv`` (data set, method, seed, test metric,
seconds, date, command). ``--summary`` composes the data set × method table from the latest fit of
each (data set, method, seed) there, writes it to ``bench/results/molnet_summary.md`` and puts it in
the README between its ``molnet-summary`` markers.

Reproduce (hours on 2 cores for all five sets; ``--datasets`` picks some)::

    python bench/molnet.py --data-dir ../shared/data --out bench/results/molnet.md
    python bench/molnet.py --summary
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import TOX21_TASKS, random_forest_scores  # noqa: E402
from peers import chemprop_fit  # noqa: E402

from symmol.estimator import QSARModel  # noqa: E402
from symmol.evaluation.metrics import task_metrics  # noqa: E402
from symmol.evaluation.splits import Split, random_split, scaffold_split, write_splits_file  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "bench" / "results" / "molnet_runs.csv"
SUMMARY = REPO / "bench" / "results" / "molnet_summary.md"
README_MARKERS = ("<!-- molnet-summary:begin -->", "<!-- molnet-summary:end -->")
METHODS = ("symmol MLP", "symmol D-MPNN", "symmol D-MPNN (Morgan embedding)", "symmol D-MPNN fine-tuned",
           "symmol GP", "symmol tune", "symmol tune + ensemble", "Chemprop 2", "RF-500")
#: Chemprop 2's recipe in symmol (``dmpnn``'s defaults, spelled out): its 72 atom and 14 bond features, norm
#: readout, Noam schedule, batch 64, 50 epochs and the best validation epoch kept (``patience`` >= ``epochs``).
CHEMPROP_RECIPE = {"architecture": "dmpnn", "atom_features": "chemprop", "readout": "norm", "lr_schedule": "noam",
                   "epochs": 50, "patience": 50, "batch_size": 64}
#: The D-MPNN's defaults before they became Chemprop's recipe.
MORGAN_EMBEDDING = {"architecture": "dmpnn", "atom_features": "embedding", "readout": "mean",
                    "lr_schedule": "constant", "epochs": 50, "patience": 8}


@dataclass(frozen=True)
class MolNetSet:
    name: str
    file: str
    smiles_column: str
    targets: tuple[str, ...]
    task: str
    split: str


SETS = {s.name: s for s in (
    MolNetSet("ESOL", "delaney-processed.csv", "smiles", ("measured log solubility in mols per litre",),
              "regression", "random"),
    MolNetSet("FreeSolv", "SAMPL.csv", "smiles", ("expt",), "regression", "random"),
    MolNetSet("BBBP", "BBBP.csv", "smiles", ("p_np",), "classification", "scaffold"),
    MolNetSet("HIV", "HIV.csv", "smiles", ("HIV_active",), "classification", "scaffold"),
    MolNetSet("Tox21", "tox21.csv", "smiles", tuple(TOX21_TASKS), "classification", "scaffold"),
)}


def load(ds: MolNetSet, data_dir: Path, work: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """Write the RDKit-valid rows to ``work`` (the file every method reads); return it, SMILES and targets."""
    table = pd.read_csv(data_dir / "moleculenet" / ds.file)
    featurized = QSARModel(ds.task, progress=False).featurize(table[ds.smiles_column].tolist())
    table = table[np.asarray(featurized.valid)].reset_index(drop=True)
    table = table.rename(columns={ds.smiles_column: "smiles"})[["smiles", *ds.targets]]
    path = work / f"{ds.name}.csv"
    table.to_csv(path, index=False)
    return path, table["smiles"].to_numpy(dtype=object), table[list(ds.targets)].astype(float).to_numpy()


def split_for(ds: MolNetSet, smiles: np.ndarray, seed: int) -> Split:
    return scaffold_split(smiles) if ds.split == "scaffold" else random_split(len(smiles), seed=seed)


def metric_of(ds: MolNetSet) -> str:
    return "roc_auc" if ds.task == "classification" else "rmse"


def fit_symmol(ds: MolNetSet, smiles: np.ndarray, y: np.ndarray, split: Split, seed: int, **options
               ) -> tuple[float, float]:
    start = time.perf_counter()
    model = QSARModel(ds.task, seed=seed, progress=False, **options)
    model.fit(smiles[split.train], y[split.train], smiles[split.val], y[split.val], target_names=ds.targets)
    scores = model.predict_scores(smiles[split.test])
    return task_metrics(ds.task, y[split.test], scores, list(ds.targets))[metric_of(ds)], time.perf_counter() - start


def fit_tune(ds: MolNetSet, path: Path, splits: Path, seed: int, budget: float, work: Path,
             pretrained: Path | None, architectures: str | None = None, ensemble_size: int = 1) -> tuple[float, float]:
    out = work / (f"tune-{ds.name}-{seed}" + (f"-ensemble{ensemble_size}" if ensemble_size > 1 else ""))
    if out.exists():  # a fresh study per run: the budget is this run's
        shutil.rmtree(out)
    command = [sys.executable, "-m", "symmol", "tune", str(path), "--smiles-column", "smiles", "--task", ds.task,
               "--splits-file", str(splits), "--timeout", str(budget), "--seed", str(seed), "--out", str(out)]
    if pretrained is not None:
        command += ["--init-from", str(pretrained)]
    if architectures is not None:
        command += ["--architectures", architectures]
    if ensemble_size > 1:
        command += ["--ensemble-size", str(ensemble_size)]
    for target in ds.targets:
        command += ["--target", target]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    metrics = json.loads((out / "best" / "metrics.json").read_text())
    return metrics["test"][metric_of(ds)], time.perf_counter() - start


def fit_rf(ds: MolNetSet, smiles: np.ndarray, y: np.ndarray, split: Split, seed: int, threads: int
           ) -> tuple[float, float]:
    start = time.perf_counter()
    dense = QSARModel(ds.task, progress=False).featurize(list(smiles)).batch.to_dense()
    scores = random_forest_scores(ds.task, dense[split.train], y[split.train], dense[split.test], seed=seed,
                                  n_jobs=threads)
    return task_metrics(ds.task, y[split.test], scores, list(ds.targets))[metric_of(ds)], time.perf_counter() - start


def run_method(method: str, ds: MolNetSet, path: Path, smiles: np.ndarray, y: np.ndarray, split: Split,
               splits: Path, seed: int, args: argparse.Namespace) -> tuple[float, float]:
    """Test metric and wall seconds of one fit of ``method``."""
    if method == "symmol MLP":
        return fit_symmol(ds, smiles, y, split, seed)
    if method == "symmol D-MPNN":
        return fit_symmol(ds, smiles, y, split, seed, architecture="dmpnn")
    if method == "symmol D-MPNN (Morgan embedding)":
        return fit_symmol(ds, smiles, y, split, seed, **MORGAN_EMBEDDING)
    if method == "symmol D-MPNN fine-tuned":
        if args.pretrained is None:
            raise SystemExit("'symmol D-MPNN fine-tuned' needs --pretrained DIR (symmol pretrain's model)")
        return fit_symmol(ds, smiles, y, split, seed, architecture="dmpnn", init_from=args.pretrained)
    if method == "symmol GP":
        return fit_symmol(ds, smiles, y, split, seed, architecture="gp")
    if method == "symmol tune":
        return fit_tune(ds, path, splits, seed, args.tune_budget, args.work, args.pretrained, args.tune_architectures)
    if method == "symmol tune + ensemble":
        return fit_tune(ds, path, splits, seed, args.tune_budget, args.work, args.pretrained, args.tune_architectures,
                        args.tune_ensemble_size)
    if method == "Chemprop 2":
        value, seconds, _ = chemprop_fit(ds.task, smiles, y, split, ds.targets, metric_of(ds), seed,
                                         threads=args.threads)
        return value, seconds
    return fit_rf(ds, smiles, y, split, seed, args.threads)


def record(ds: MolNetSet, method: str, seed: int, value: float, seconds: float, command: str) -> None:
    """Append one fit to :data:`RUNS`."""
    row = pd.DataFrame([{"data set": ds.name, "split": ds.split, "metric": metric_of(ds), "method": method,
                         "seed": seed, "value": round(value, 6), "seconds": round(seconds, 1),
                         "date": time.strftime("%Y-%m-%d"), "command": command}])
    row.to_csv(RUNS, mode="a", header=not RUNS.exists(), index=False)


def summary_table(runs: pd.DataFrame, column: str = "value") -> str:
    """Markdown: one row per data set, one column per method, mean ± sd over seeds of the latest fits.

    ``column``: ``"value"`` (the test metric) or ``"seconds"`` (wall seconds per fit).
    """
    latest = runs.drop_duplicates(["data set", "method", "seed"], keep="last")
    order = [m for m in METHODS if m in set(latest["method"])]
    rows = []
    for name in [n for n in SETS if n in set(latest["data set"])]:
        part = latest[latest["data set"] == name]
        ds = SETS[name]
        row = {"data set": name, "split": ds.split, "metric": metric_of(ds).upper().replace("_", "-")}
        for method in order:
            values = part.loc[part["method"] == method, column].to_numpy()
            row[method] = ""
            if values.size:
                seeds = "" if values.size == 3 else f" ({values.size} seed{'s' * (values.size > 1)})"
                shown = (f"{values.mean():.0f}" if column == "seconds" else f"{values[0]:.3f}" if values.size == 1
                         else f"{values.mean():.3f} ± {values.std():.3f}")
                row[method] = shown + seeds
        rows.append(row)
    return pd.DataFrame(rows).to_markdown(index=False)


def write_summary() -> str:
    """Write :data:`SUMMARY` and the README's table from :data:`RUNS`; return the table."""
    runs = pd.read_csv(RUNS)
    table = summary_table(runs)
    SUMMARY.write_text(
        "# MoleculeNet: every method on the same splits (latest fit of each data set, method and seed)\n\n"
        "Composed by `python bench/molnet.py --summary` from `molnet_runs.csv`, where each fit of "
        "`bench/molnet.py` is recorded with its date and command. Test metric mean ± sd over seeds 0, 1, 2 "
        "(fewer where stated); ROC-AUC higher is better, RMSE lower. Wall times, environments and notes: "
        "`molnet.md`, `molnet_chemprop_features.md`, `molnet_fine_tuned.md`, `molnet_tox21.md`, "
        "`molnet_hiv.md`, `molnet_tune.md`. *symmol D-MPNN* is `--architecture dmpnn` at its defaults, "
        "Chemprop 2's recipe (named *symmol D-MPNN (Chemprop features)* in the tables written before it "
        "became the default); *symmol D-MPNN (Morgan embedding)* is the earlier default (*symmol D-MPNN* "
        "there).\n\n" + table + "\n\nWall seconds per fit (featurization and compilation included; several "
        "runs shared the 2 cores, so these are not a speed comparison: the per-epoch claims are in "
        "`graph_speed*.md`):\n\n" + summary_table(runs, "seconds") + "\n")
    readme = REPO / "README.md"
    text = readme.read_text()
    begin, end = README_MARKERS
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        readme.write_text(head + begin + "\n" + table + "\n" + end + rest.split(end, 1)[1])
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--datasets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tune-budget", type=float, default=600.0, help="seconds of `symmol tune` per fit")
    parser.add_argument("--tune-architectures", default=None,
                        help="`symmol tune --architectures` (default: tune's own, mlp,dmpnn,gp,rf)")
    parser.add_argument("--tune-ensemble-size", type=int, default=5,
                        help="`symmol tune --ensemble-size` of 'symmol tune + ensemble'")
    parser.add_argument("--pretrained", type=Path, default=None,
                        help="`symmol pretrain` model directory for 'symmol D-MPNN fine-tuned' (all layers trained) "
                             "and for 'symmol tune' (--init-from)")
    parser.add_argument("--work", type=Path, default=REPO / "bench" / ".cache" / "molnet")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads per fit (symmol's Numba pool, Chemprop's torch, RF's jobs); 1 lets two "
                             "runs share the 2 cores without oversubscribing them")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--summary", action="store_true",
                        help=f"only compose {SUMMARY.name} and the README table from {RUNS.name}")
    args = parser.parse_args()
    if args.summary:
        print(write_summary())
        return 0
    methods = ("" if list(args.methods) == list(METHODS)
               else " --methods " + " ".join(f'"{m}"' for m in args.methods))
    command = (f"python bench/molnet.py --datasets {' '.join(args.datasets)} --seeds "
               f"{' '.join(map(str, args.seeds))}{methods}"
               + (f" --tune-budget {args.tune_budget:.0f}" if any(m.startswith("symmol tune") for m in args.methods)
                  else "")
               + (f" --tune-ensemble-size {args.tune_ensemble_size}" if "symmol tune + ensemble" in args.methods
                  else "")
               + (f" --tune-architectures {args.tune_architectures}" if args.tune_architectures else "")
               + (f" --pretrained {args.pretrained}" if args.pretrained else "")
               + (f" --threads {args.threads}" if args.threads != 2 else ""))
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
    numba.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.datasets:
        ds = SETS[name]
        path, smiles, y = load(ds, args.data_dir, args.work)
        results: dict[str, list[tuple[float, float]]] = {m: [] for m in args.methods}
        for seed in args.seeds:
            split = split_for(ds, smiles, seed)
            splits = args.work / f"{ds.name}-{seed}.splits.json"
            write_splits_file(splits, [split])
            for method in args.methods:
                results[method].append(run_method(method, ds, path, smiles, y, split, splits, seed, args))
                value, seconds = results[method][-1]
                record(ds, method, seed, value, seconds, command)
                print(f"{ds.name} seed {seed} {method}: test {metric_of(ds)} {value:.4f} ({seconds:.0f} s)", flush=True)
        row = {"data set": ds.name, "split": ds.split, "metric": metric_of(ds).upper().replace("_", "-"),
               "molecules": len(smiles)}
        for method, values in results.items():
            scores = [v for v, _ in values]
            row[method] = f"{np.mean(scores):.3f} ± {np.std(scores):.3f}"
            row[f"{method} s/fit"] = f"{np.mean([s for _, s in values]):.0f}"
        rows.append(row)
    text = pd.DataFrame(rows).to_markdown(index=False)
    print(text)
    if args.out:
        args.out.write_text(
            "# MoleculeNet: symmol (defaults, GP, tune) vs Chemprop 2 and RF-500 on the same splits\n\n"
            f"Command: `{command}`; {time.strftime('%Y-%m-%d')}, 2-core machine. Test metric mean ± sd over "
            "the seeds (random splits: one split per seed; scaffold splits: one split, the seeds vary the "
            "models); `s/fit`: wall seconds per fit. `symmol tune` chose by validation score within its budget "
            "per fit.\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    sys.exit(main())
