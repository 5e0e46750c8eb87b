"""``symmol train``: fit any registered architecture on labelled data; write a model directory.

The input columns come from the architecture: molecules are the reader's ``smiles`` column
(``--smiles-column``, alias ``--ligand-column``, names it in the file); any other input's column is
an option of its architecture (``--protein-column`` of the drug–target models). Rows a featurizer
rejects are reported and skipped; the rest are split, trained on, and scored.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from symmol.chem.io import read_molecules
from symmol.chem.scaffolds import structure_key
from symmol.cli import train_generation
from symmol.cli.options import (
    add_input_arguments,
    add_model_options,
    chosen_options,
    given_option_names,
    lookups,
    option_flags,
    training_kinds,
)
from symmol.cli.output import strict_json, write_json
from symmol.data.batch import Batch, Featurized
from symmol.estimator import QSARModel
from symmol.evaluation import plots
from symmol.evaluation.calibration import calibration_report
from symmol.evaluation.metrics import task_metrics
from symmol.evaluation.splits import (
    Split,
    count_splits,
    fold_split,
    group_split,
    random_split,
    read_splits_file,
    scaffold_split,
)
from symmol.evaluation.targets import target_matrix
from symmol.generation.registry import GENERATION_TASK
from symmol.models.base import CompiledModel
from symmol.models.default import SMALL_DATA_ROWS, default_architecture
from symmol.models.registry import architecture_of, model_kinds
from symmol.models.store import load_model
from symmol.nn.updates import OPTIMIZERS
from symmol.training.config import AVERAGING, BATCH_ORDERS, LR_SCHEDULES, TrainConfig

__all__ = ["SPLIT_KINDS", "add_arguments", "add_data_arguments", "report_invalid", "run", "split_rows"]

#: ``--split`` choices.
SPLIT_KINDS = ("random", "scaffold", "cold-ligand", "group", "fold")

_TRAIN = TrainConfig()


def _kind_default(setting: str) -> str:
    """Help text of a training setting whose default an architecture may set."""
    own = [f"{kind.name}: {kind.training_defaults[setting]}" for kind in model_kinds()
           if setting in kind.training_defaults]
    return f"default {getattr(_TRAIN, setting)}" + (f" ({', '.join(own)})" if own else "")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol train``'s arguments (architecture options from the model registries)."""
    add_data_arguments(parser, generation=True)
    parser.add_argument("--epochs", type=int, default=None, help=_kind_default("epochs"))
    parser.add_argument("--max-time", type=float, default=None, metavar="S",
                        help=f"--task {GENERATION_TASK}: stop training S wall seconds after the command started "
                             f"(reading and compiling included; at least one batch runs, so with a cold cache the "
                             f"first step's compilation is the floor: `symmol warm-cache --architecture gru`) and "
                             f"save the model")
    parser.add_argument("--resume", action="store_true",
                        help=f"--task {GENERATION_TASK}: continue the run in --out from its checkpoint (same data, "
                             f"split and settings; no minibatch repeated or skipped)")
    parser.add_argument("--patience", type=int, default=None,
                        help=f"0 turns early stopping off; {_kind_default('patience')}")
    parser.add_argument("--batch-size", type=int, default=None, help=_kind_default("batch_size"))
    parser.add_argument("--batch-order", choices=BATCH_ORDERS, default=None,
                        help="random rows, or grouped: the rows of one protein (cell line) of a pair model together, "
                             f"encoded once per minibatch; {_kind_default('batch_order')}")
    parser.add_argument("--ensemble-size", type=int, default=1,
                        help="independently initialised members trained together; predictions are their mean")
    parser.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default=_TRAIN.optimizer)
    parser.add_argument("--lr", type=float, default=_TRAIN.learning_rate)
    parser.add_argument("--lr-schedule", choices=tuple(LR_SCHEDULES), default=None, help=_kind_default("lr_schedule"))
    parser.add_argument("--max-grad-norm", type=float, default=_TRAIN.max_grad_norm,
                        help="clip the global gradient norm")
    parser.add_argument("--weight-decay", type=float, default=None,
                        help=f"L2 coefficient on weight matrices; {_kind_default('weight_decay')}")
    parser.add_argument("--averaging", choices=AVERAGING, default=_TRAIN.averaging,
                        help="average the weights over training steps: exponential moving average or "
                             "stochastic weight averaging; validation and the saved model use the average")
    parser.add_argument("--ema-decay", type=float, default=_TRAIN.ema_decay, help="decay of --averaging ema")
    parser.add_argument("--swa-start", type=float, default=_TRAIN.swa_start,
                        help="fraction of --epochs after which --averaging swa starts averaging")
    parser.add_argument("--bagging", action="store_true",
                        help="train each ensemble member on its own bootstrap resample of the training set")
    parser.add_argument("--backend", choices=("numba", "c"), default="numba")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--plots", action="store_true",
                        help="also write training.png (learning curves) and test_roc.png / test_parity.png "
                             "into the model directory (needs matplotlib: pip install 'symmol[plot]')")
    parser.add_argument("--out", required=True, help="model directory to write")
    fine_tuning = parser.add_argument_group("fine-tuning a pretrained model (symmol pretrain's, or any model)")
    fine_tuning.add_argument("--init-from", default=None, metavar="DIR",
                             help="start from this model: its architecture and options are the defaults, every "
                                  "parameter but the output layer's is copied")
    fine_tuning.add_argument("--freeze", default="none", metavar="{none,encoder,ffn:N}",
                             help="keep the encoder (and the first N head layers) fixed [default none]")
    fine_tuning.add_argument("--lr-encoder", type=float, default=None, dest="encoder_lr", metavar="LR",
                             help="step size of the encoder's parameters (default: --lr)")
    add_model_options(parser, default_architecture=None, kinds=training_kinds())


def add_data_arguments(parser: argparse.ArgumentParser, generation: bool = False) -> None:
    """Declare the labelled data, its targets and its split (``train``'s and ``tune``'s).

    ``generation`` adds ``--task generation`` (no target: the rows' molecules are what is learned).
    """
    parser.add_argument("data", help="labelled rows: .csv or .csv.gz" + (
        " (--task generation: molecules, .csv/.smi[.gz])" if generation else ""))
    add_input_arguments(parser)
    parser.add_argument("--target", action="append", required=not generation, dest="targets", metavar="COL",
                        help="target column; repeat for multitask models" + (
                            " (every task but generation)" if generation else ""))
    tasks = ("classification", "regression", *((GENERATION_TASK,) if generation else ()))
    parser.add_argument("--task", choices=tasks, required=True,
                        help=f"{GENERATION_TASK}: learn the distribution of the molecules (a generative "
                             f"--architecture; `symmol generate` samples it)" if generation else None)
    parser.add_argument("--split", choices=SPLIT_KINDS, default="random",
                        help="random rows; scaffold (Bemis-Murcko groups, largest first); cold-ligand (the "
                             "molecules' 2D structures shuffled: a test molecule has no training row); group (the "
                             "values of --group-column shuffled: cold-target with the sequence column, "
                             "cold-cell-line with the cell-line id); fold (the values of --fold-column: "
                             "--test-fold rows test, --val-fold rows validation, e.g. DeepDTA's setting 1)")
    parser.add_argument("--group-column", default=None, metavar="COL", help="the groups of --split group")
    parser.add_argument("--fold-column", default=None, metavar="COL", help="the folds of --split fold")
    parser.add_argument("--test-fold", default="test", help="--split fold: the test rows' value [default test]")
    parser.add_argument("--val-fold", default=None,
                        help="--split fold: the validation rows' value (e.g. train4); default: none")
    parser.add_argument("--splits-file", default=None,
                        help='Chemprop splits.json: [{"train": [...], "val": [...], "test": [...]}] (its first entry)')
    parser.add_argument("--split-sizes", default="0.8,0.1,0.1", help="train,val,test fractions")
    parser.add_argument("--seed", type=int, default=_TRAIN.seed)


def resolve_architecture(args: argparse.Namespace, n_rows: int | None) -> str:
    """Return the architecture to fit: ``--architecture``, else the ``--init-from`` model's, else the default.

    The default (:func:`~symmol.models.default.default_architecture`) depends on the data file's
    ``n_rows`` (``None``: not read yet) and on the architecture options given.

    Raises
    ------
    ValueError
        When no architecture is named and the options given belong to different ones.
    """
    if args.architecture is not None:
        return str(args.architecture)
    if args.init_from:
        return architecture_of(load_model(args.init_from)).name
    given = given_option_names(args)
    architecture = default_architecture(n_rows, given)
    if architecture is None:
        raise ValueError(f"{option_flags(given)}: no one architecture takes all of these; name one with "
                         f"--architecture")
    return architecture


def _estimator(args: argparse.Namespace) -> QSARModel:
    architecture = resolve_architecture(args, None)
    return QSARModel(args.task, architecture, ensemble_size=args.ensemble_size, backend=args.backend,
                     epochs=args.epochs, patience=args.patience, batch_size=args.batch_size,
                     optimizer=args.optimizer, learning_rate=args.lr, lr_schedule=args.lr_schedule,
                     max_grad_norm=args.max_grad_norm, weight_decay=args.weight_decay, averaging=args.averaging,
                     ema_decay=args.ema_decay, swa_start=args.swa_start, bagging=args.bagging, seed=args.seed,
                     progress=not args.no_progress, encoder_lr=args.encoder_lr, init_from=args.init_from,
                     freeze=args.freeze, batch_order=args.batch_order,
                     **chosen_options(args, architecture, training_kinds()))


def split_rows(args: argparse.Namespace, table: pd.DataFrame, valid_rows: np.ndarray, index: int = 0
               ) -> dict[str, np.ndarray]:
    """Row numbers (into ``table``) of the train, val and test sets, among ``valid_rows``.

    ``index`` picks the entry of ``--splits-file``.
    """
    if args.splits_file:
        split = read_splits_file(args.splits_file, len(table), index)
        return {k: np.intersect1d(getattr(split, k), valid_rows) for k in ("train", "val", "test")}
    fractions = tuple(float(f) for f in args.split_sizes.split(","))
    if args.split in ("scaffold", "cold-ligand") and "smiles" not in table.columns:
        raise ValueError(f"--split {args.split} needs a SMILES column")
    for kind, flag in (("group", "group_column"), ("fold", "fold_column")):
        column = getattr(args, flag, None)
        if args.split == kind and (column is None or column not in table.columns):
            raise ValueError(f"--split {kind} needs --{flag.replace('_', '-')} naming a column of {args.data}"
                             + (f" (no column {column!r})" if column is not None else ""))
    valid = table.iloc[valid_rows]
    local: Split
    if args.split == "scaffold":
        local = scaffold_split(valid["smiles"].tolist(), fractions)
    elif args.split == "cold-ligand":
        local = group_split([structure_key(s) for s in valid["smiles"]], fractions, seed=args.seed)
    elif args.split == "group":
        local = group_split(valid[args.group_column].tolist(), fractions, seed=args.seed)
    elif args.split == "fold":
        local = fold_split(valid[args.fold_column].tolist(), args.test_fold, args.val_fold)
    else:
        local = random_split(valid_rows.size, fractions, seed=args.seed)
    return {k: valid_rows[getattr(local, k)] for k in ("train", "val", "test")}


def report_invalid(table: pd.DataFrame, featurized: Featurized) -> np.ndarray:
    """Print how many rows the featurizers reject or change (and the first); return the valid row numbers."""
    valid = featurized.valid
    n_invalid = int((~valid).sum())
    if n_invalid:
        first = int(np.flatnonzero(~valid)[0])
        shown = f", {table['smiles'].iloc[first]!r}" if "smiles" in table.columns else ""
        print(f"skipping {n_invalid} of {len(table)} rows the featurizers reject "
              f"(first: row {first}{shown}: {featurized.errors[first]})")
    changed = [row for row, note in enumerate(featurized.notes or []) if note and valid[row]]
    if changed:
        print(f"{len(changed)} of {len(table)} rows changed to fit the model's inputs "
              f"(first: row {changed[0]}: {featurized.notes[changed[0]]})")  # type: ignore[index]
    return np.flatnonzero(valid)


def run(args: argparse.Namespace) -> int:
    """Train, evaluate on every split, write the model directory, metrics, history (and plots).

    A ``--splits-file`` with several entries trains one replicate per entry into
    ``OUT/replicate_<i>/`` (each an ordinary model directory) and writes ``OUT/metrics.json``: the
    mean over the replicates under ``train``/``val``/``test``, their standard deviation under
    ``sd`` and each replicate's metrics under ``replicates`` (Chemprop's behaviour).
    """
    if args.task == GENERATION_TASK:
        return train_generation.run(args)
    if not args.targets:
        raise ValueError(f"--task {args.task} needs --target COL (the column to learn)")
    if args.max_time is not None or args.resume:
        raise ValueError(f"{'--max-time' if args.max_time is not None else '--resume'} applies to --task "
                         f"{GENERATION_TASK}; train --task {args.task} with --epochs and --patience")
    if args.plots and not plots.available():
        raise RuntimeError("--plots needs matplotlib: pip install 'symmol[plot]'")
    _estimator(args).train_config()  # bad training settings fail before the data is read
    table = read_molecules(args.data, smiles_column=args.smiles_column, lookups=lookups(args))
    if args.architecture is None and not args.init_from:
        args.architecture = resolve_architecture(args, len(table))
        size = "fewer than" if len(table) < SMALL_DATA_ROWS else "at least"
        print(f"architecture {args.architecture}: the default for a file of {len(table)} rows ({size} "
              f"{SMALL_DATA_ROWS}; --architecture names another)")
    y = target_matrix(table, args.targets, args.task, source=str(args.data))
    featurized = _estimator(args).featurize(table)
    valid_rows = report_invalid(table, featurized)
    n_replicates = count_splits(args.splits_file) if args.splits_file else 1
    out = Path(args.out)
    if n_replicates == 1:
        _train_one(args, table, y, featurized, split_rows(args, table, valid_rows), out)
        return 0
    replicates = []
    for index in range(n_replicates):
        print(f"replicate {index} (splits file entry {index}):")
        sets = split_rows(args, table, valid_rows, index)
        replicates.append(_train_one(args, table, y, featurized, sets, out / f"replicate_{index}"))
    summary = _replicate_summary(replicates)
    write_json(out / "metrics.json", summary)
    print(f"mean ± sd over {n_replicates} replicates:")
    for name in ("train", "val", "test"):
        if name in summary:
            shown = ", ".join(f"{k} {summary[name][k]:.4f} ± {summary['sd'][name][k]:.4f}"
                              for k in summary[name] if k != "per_task")
            print(f"  {name}: {shown}")
    print(f"summary written to {out / 'metrics.json'}")
    return 0


def _replicate_summary(replicates: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and sd (population, ddof 0) over replicates of every top-level metric, per set."""
    summary: dict[str, Any] = {"sd": {}, "replicates": replicates}
    for name in ("train", "val", "test"):
        present = [r[name] for r in replicates if name in r]
        if not present:
            continue
        keys = [k for k, v in present[0].items() if isinstance(v, float | int)]
        values = {k: np.array([m[k] for m in present], dtype=float) for k in keys}
        summary[name] = {k: float(np.mean(v)) for k, v in values.items()}
        summary["sd"][name] = {k: float(np.std(v)) for k, v in values.items()}
    return {k: summary[k] for k in ("train", "val", "test", "sd", "replicates") if k in summary}


def _train_one(args: argparse.Namespace, table: pd.DataFrame, y: np.ndarray, featurized: Featurized,
               sets: dict[str, np.ndarray], out: Path) -> dict[str, Any]:
    """Train one model on ``sets``, write its directory (metrics, history, plots); return its metrics."""
    estimator = _estimator(args)
    how = "splits file" if args.splits_file else args.split
    print(f"{args.data}: {len(table)} rows, split train/val/test = "
          f"{'/'.join(str(sets[k].size) for k in ('train', 'val', 'test'))} ({how})")
    batch = featurized.batch
    estimator.fit_featurized(batch.take(sets["train"]), y[sets["train"]], batch.take(sets["val"]), y[sets["val"]],
                             target_names=args.targets)
    model = estimator.model_
    scores = {name: model.predict_batch(batch.take(rows)) for name, rows in sets.items() if rows.size}
    metrics = {name: task_metrics(args.task, y[sets[name]], s, args.targets, ranking=True)
               for name, s in scores.items()}
    if model.calibration is not None and "test" in scores:
        metrics["test"]["uncertainty"] = _uncertainty_report(model, batch.take(sets["test"]), y[sets["test"]],
                                                             scores["test"])
    estimator.save(out)
    write_json(out / "metrics.json", metrics)
    history = estimator.history_
    record = strict_json({"train_loss": history.train_loss, "val_score": history.val_score,
                          "monitor": history.monitor, "best_epoch": history.best_epoch,
                          "epoch_seconds": history.epoch_seconds, **({"fit": history.fit_summary}
                                                                         if history.fit_summary else {})})
    (out / "history.json").write_text(json.dumps(record))
    if getattr(estimator, "initialized_", None):
        print(f"fine-tuned from {args.init_from}: {len(estimator.initialized_)} parameters copied, "
              f"freeze {args.freeze}")
    _print_metrics(args.task, metrics, history.best_epoch)
    for note in history.fit_summary.get("notes", []):
        print(note)
    print(f"model written to {out}")
    if args.plots:
        shown = "test" if "test" in scores else "val"
        spread = (model.predict_with_spread(batch.take(sets[shown]))[1]
                  if model.task == "regression" and sets[shown].size else None)
        paths = plots.save_training_figures(out, record, args.task, y[sets[shown]],
                                            scores.get(shown, np.empty((0, len(args.targets)))), args.targets, shown,
                                            spread)
        print("figures: " + ", ".join(str(p) for p in paths))
    return metrics


def _uncertainty_report(model: CompiledModel, test: Batch, y: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """Test-set uncertainty metrics of the model's stored calibration (fitted on the validation set)."""
    calibration = model.calibration
    assert calibration is not None
    std = None if calibration.uncertainty is None else model.predict_with_spread(test, calibration.uncertainty)[1]
    return calibration_report(calibration, y, scores, std)


def _print_uncertainty(report: dict[str, Any]) -> None:
    shown = []
    if "conformal" in report and "coverage" in report["conformal"]:
        found = report["conformal"]
        shown.append(f"conformal {report['coverage']:.0%} intervals cover {found['coverage']:.3f} "
                     f"(mean width {found['width']:.3g})")
    elif "conformal" in report and "set_coverage" in report["conformal"]:
        found = report["conformal"]
        shown.append(f"conformal {report['coverage']:.0%} label sets cover {found['set_coverage']:.3f} "
                     f"(mean size {found['set_size']:.2f})")
    for method in ("uncalibrated", "zscaling", "platt", "isotonic"):
        found = report.get(method, {})
        for key in ("miscalibration_area", "ece"):
            if key in found:
                shown.append(f"{key.replace('_', ' ')} {found[key]:.3f} ({method})")
    if "uncalibrated" in report and "spearman" in report["uncalibrated"]:
        shown.append(f"Spearman(|error|, σ) {report['uncalibrated']['spearman']:.3f}")
    if shown:
        print("test uncertainty: " + "; ".join(shown))


def _print_metrics(task: str, metrics: dict, best_epoch: int) -> None:
    keys = ("roc_auc", "pr_auc") if task == "classification" else ("rmse", "mae", "r2")
    print(f"best epoch: {best_epoch + 1}")
    print(f"{'set':<6}" + "".join(f"{k:>10}" for k in keys))
    for name, m in metrics.items():
        print(f"{name:<6}" + "".join(f"{m[k]:>10.4f}" for k in keys))
    if "test" in metrics and "uncertainty" in metrics["test"]:
        _print_uncertainty(metrics["test"]["uncertainty"])
    if "test" in metrics and len(metrics["test"]["per_task"]) > 1:
        print("test per task:")
        for task_name, m in metrics["test"]["per_task"].items():
            print(f"  {task_name:<16}" + "".join(f"{m[k]:>10.4f}" for k in keys))
