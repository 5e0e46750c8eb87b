"""``symmol train``: fit an ECFP → MLP or a D-MPNN/GIN graph network on labelled molecules; write a model directory."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
from pathlib import Path

HELP = "train a fingerprint MLP or a graph network on labelled molecules (CSV) and report train/val/test metrics"


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.split(",") if w.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden expects comma-separated integers, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"--hidden expects positive widths, got {text!r}")
    return widths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="labelled molecules: .csv or .csv.gz")
    parser.add_argument("--smiles-column", default=None, help="column with SMILES (default: auto-detect)")
    parser.add_argument("--target", action="append", required=True, dest="targets", metavar="COL",
                        help="target column; repeat for multitask models")
    parser.add_argument("--task", choices=("classification", "regression"), required=True)
    parser.add_argument("--split", choices=("random", "scaffold"), default="random")
    parser.add_argument("--splits-file", default=None,
                        help='Chemprop splits.json: [{"train": [...], "val": [...], "test": [...]}]')
    parser.add_argument("--split-sizes", default="0.8,0.1,0.1", help="train,val,test fractions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--patience", type=int, default=8, help="0 turns early stopping off")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--architecture", choices=("mlp", "dmpnn", "gin"), default="mlp",
                        help="mlp: ECFP -> MLP; dmpnn: Chemprop's directed message passing on the molecular "
                             "graph; gin: atom message passing (GIN)")
    parser.add_argument("--depth", type=int, default=3, help="message-passing steps (dmpnn, gin)")
    parser.add_argument("--message-units", type=int, default=300,
                        help="width of atom embeddings and messages (dmpnn, gin; Chemprop's d_h)")
    parser.add_argument("--readout", choices=("mean", "sum", "max"), default="mean",
                        help="pooling of atoms into the molecule vector (dmpnn, gin)")
    parser.add_argument("--hidden", type=_widths, default=None,
                        help="hidden widths, e.g. 512 or 1024,256 (graph networks: the head after the readout); "
                             "default 512 (mlp), 300 (dmpnn, gin)")
    parser.add_argument("--dropout", type=float, default=None, help="default 0.3 (mlp), 0.0 (dmpnn, gin)")
    parser.add_argument("--ensemble-size", type=int, default=1,
                        help="independently initialised members trained together; predictions are their mean")
    parser.add_argument("--activation", choices=("relu", "gelu", "sigmoid", "tanh"), default="relu")
    parser.add_argument("--optimizer", choices=("sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad"),
                        default="adam")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lr-schedule", choices=("constant", "cosine", "exponential"), default="constant")
    parser.add_argument("--max-grad-norm", type=float, default=None, help="clip the global gradient norm")
    parser.add_argument("--weight-decay", type=float, default=3e-4,
                        help="L2 coefficient on weight matrices")
    parser.add_argument("--averaging", choices=("none", "ema", "swa"), default="none",
                        help="average the weights over training steps: exponential moving average or "
                             "stochastic weight averaging; validation and the saved model use the average")
    parser.add_argument("--ema-decay", type=float, default=0.99, help="decay of --averaging ema")
    parser.add_argument("--swa-start", type=float, default=0.5,
                        help="fraction of --epochs after which --averaging swa starts averaging")
    parser.add_argument("--bagging", action="store_true",
                        help="train each ensemble member on its own bootstrap resample of the training set")
    parser.add_argument("--radius", type=int, default=2)
    parser.add_argument("--fp-size", type=int, default=2048)
    parser.add_argument("--counts", action="store_true", help="count fingerprint instead of bits")
    parser.add_argument("--backend", choices=("numba", "c"), default="numba")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--plots", action="store_true",
                        help="also write training.png (learning curves) and test_roc.png / test_parity.png "
                             "into the model directory (needs matplotlib: pip install 'symmol[plot]')")
    parser.add_argument("--out", required=True, help="model directory to write")


def _clean_json(value):
    """NaN/inf → null, recursively, so the files are strict JSON."""
    if isinstance(value, dict):
        return {k: _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from symmol.chem.io import read_molecules
    from symmol.estimator import QSARModel
    from symmol.metrics import task_metrics
    from symmol.splits import random_split, read_splits_file, scaffold_split
    from symmol.targets import target_matrix
    from symmol.train import TrainConfig
    if args.plots and importlib.util.find_spec("matplotlib") is None:
        raise RuntimeError("--plots needs matplotlib: pip install 'symmol[plot]'")
    _check_architecture_options(args)
    table = read_molecules(args.data, smiles_column=args.smiles_column)
    y = target_matrix(table, args.targets, args.task, source=str(args.data))
    model = QSARModel(args.task, hidden=args.hidden, dropout=args.dropout, radius=args.radius,
                      fp_size=args.fp_size, counts=args.counts, activation=args.activation,
                      ensemble_size=args.ensemble_size, backend=args.backend, architecture=args.architecture,
                      depth=args.depth, units=args.message_units, readout=args.readout,
                      config=TrainConfig(epochs=args.epochs, patience=args.patience, batch_size=args.batch_size,
                                         optimizer=args.optimizer, learning_rate=args.lr,
                                         lr_schedule=args.lr_schedule, max_grad_norm=args.max_grad_norm,
                                         weight_decay=args.weight_decay, averaging=args.averaging,
                                         ema_decay=args.ema_decay, swa_start=args.swa_start,
                                         bagging=args.bagging, seed=args.seed,
                                         progress=not args.no_progress))
    featurized = model.featurize(table["smiles"].tolist())
    valid_rows = np.flatnonzero(featurized.valid)
    n_invalid = len(table) - valid_rows.size
    if n_invalid:
        first = int(np.flatnonzero(~featurized.valid)[0])
        print(f"skipping {n_invalid} of {len(table)} rows RDKit rejects "
              f"(first: row {first}, {table['smiles'][first]!r}: {featurized.errors[first]})")
    fractions = tuple(float(f) for f in args.split_sizes.split(","))
    if args.splits_file:
        split = read_splits_file(args.splits_file, len(table))
        sets = {k: np.intersect1d(getattr(split, k), valid_rows) for k in ("train", "val", "test")}
    else:
        smiles_valid = table["smiles"].to_numpy()[valid_rows]
        local = (scaffold_split(smiles_valid, fractions) if args.split == "scaffold"
                 else random_split(valid_rows.size, fractions, seed=args.seed))
        sets = {k: valid_rows[getattr(local, k)] for k in ("train", "val", "test")}
    how = "splits file" if args.splits_file else args.split
    sizes = "/".join(str(sets[k].size) for k in ("train", "val", "test"))
    print(f"{args.data}: {len(table)} rows, split train/val/test = {sizes} ({how})")
    features = featurized.features
    model.fit_features(features.take(sets["train"]), y[sets["train"]], features.take(sets["val"]),
                       y[sets["val"]], target_names=args.targets,
                       ad_fingerprints=model.ad_fingerprints(table["smiles"].to_numpy()[sets["train"]]))
    fitted = model.model_
    metrics, scores = {}, {}
    for name, rows in sets.items():
        if rows.size:
            scores[name] = fitted.predict_features(features.take(rows))
            metrics[name] = task_metrics(args.task, y[rows], scores[name], args.targets)
    out = Path(args.out)
    model.save(out)
    (out / "metrics.json").write_text(json.dumps(_clean_json(metrics), indent=2) + "\n")
    history = model.history_
    record = _clean_json({"train_loss": history.train_loss, "val_score": history.val_score,
                          "monitor": history.monitor, "best_epoch": history.best_epoch})
    (out / "history.json").write_text(json.dumps(record))
    _print_metrics(args.task, metrics, history.best_epoch)
    print(f"model written to {out}")
    if args.plots:
        from symmol.plots import save_training_figures

        shown = "test" if "test" in scores else "val"
        rows = sets[shown]
        paths = save_training_figures(out, record, args.task, y[rows],
                                      scores.get(shown, np.empty((0, len(args.targets)))), args.targets, shown)
        print("figures: " + ", ".join(str(p) for p in paths))
    return 0


#: Options that apply to one kind of model only, with their defaults.
_MLP_ONLY = {"radius": 2, "fp_size": 2048, "counts": False}
_GRAPH_ONLY = {"depth": 3, "message_units": 300, "readout": "mean"}


def _check_architecture_options(args: argparse.Namespace) -> None:
    """Refuse options the chosen ``--architecture`` would silently ignore."""
    ignored = _GRAPH_ONLY if args.architecture == "mlp" else _MLP_ONLY
    changed = [f"--{name.replace('_', '-')}" for name, default in ignored.items() if getattr(args, name) != default]
    if changed:
        kind = "graph networks (--architecture dmpnn|gin)" if args.architecture == "mlp" else "--architecture mlp"
        raise ValueError(f"{', '.join(changed)} applies to {kind} only, not --architecture {args.architecture}")


def _print_metrics(task: str, metrics: dict, best_epoch: int) -> None:
    keys = ("roc_auc", "pr_auc") if task == "classification" else ("rmse", "mae", "r2")
    print(f"best epoch: {best_epoch + 1}")
    print(f"{'set':<6}" + "".join(f"{k:>10}" for k in keys))
    for name, m in metrics.items():
        print(f"{name:<6}" + "".join(f"{m[k]:>10.4f}" for k in keys))
    if "test" in metrics and len(metrics["test"]["per_task"]) > 1:
        print("test per task:")
        for task_name, m in metrics["test"]["per_task"].items():
            print(f"  {task_name:<16}" + "".join(f"{m[k]:>10.4f}" for k in keys))
