"""``symmol train --task generation``: fit a generative architecture on a molecule file; write a model directory.

The molecules are the file's SMILES column (``--smiles-column``; CSV or SMI, gzipped or not).
Rows RDKit rejects are left out and listed in ``OUT/skipped.csv`` (row, SMILES, reason); the rest
are split at random (``--split-sizes``: train, validation, test). The model learns the training
rows for ``--epochs`` passes or until ``--max-time`` seconds after the command started
(reading, checking and compiling included), then is saved at once (``model.json``,
``params.npz``), so a stopped run leaves a usable model. The whole state of the run is in
``checkpoint.npz`` (rewritten every five minutes and at the stop): ``--resume`` continues it, the
same minibatches in the same order, none repeated or skipped, until ``--epochs`` in all or another
``--max-time``. After the model come ``history.json`` (per epoch: loss, validation loss, tokens/s,
seconds, whether it completed) and ``metrics.json``: the mean cross-entropy per token
(nats) on each split (at most :data:`SCORED_ROWS` rows of each) and the validity, uniqueness and
novelty (against the canonical training SMILES) of :data:`CHECK_SAMPLES` samples at temperature 1.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rdkit import Chem

from symmol.chem.io import read_molecules
from symmol.chem.parse import parse_smiles_list
from symmol.cli.options import chosen_options, training_kinds
from symmol.cli.output import write_json
from symmol.evaluation.splits import random_split
from symmol.generation.metrics import canonical_valid, fraction_unique, novelty
from symmol.generation.registry import GENERATION_TASK, generative_kind, generative_kinds
from symmol.training.config import TrainConfig

__all__ = ["CHECKPOINT", "CHECK_SAMPLES", "DEFAULT_BATCH_SIZE", "DEFAULT_EPOCHS", "SCORED_ROWS", "run"]

#: Passes over the training rows when neither ``--epochs`` nor ``--max-time`` is given.
DEFAULT_EPOCHS = 10
#: Minibatch size when ``--batch-size`` is not given (REINVENT's prior and MOSES's CharRNN: 128).
DEFAULT_BATCH_SIZE = 128
#: Rows of each split scored for ``metrics.json`` (a seeded subsample of larger splits).
SCORED_ROWS = 10_000
#: Rows of the validation split scored after every epoch.
EPOCH_VALIDATION_ROWS = 2_000
#: Samples drawn for the validity, uniqueness and novelty in ``metrics.json``.
CHECK_SAMPLES = 1_000
#: The run's state in the model directory (``--resume`` continues from it).
CHECKPOINT = "checkpoint.npz"
#: Rows parsed per chunk while checking the file (the molecules are not kept).
CHECK_CHUNK = 20_000

_TRAIN = TrainConfig()
#: Settings of supervised training, at their "not given" values; any other value is refused.
_SUPERVISED_ONLY = {"targets": None, "patience": None, "batch_order": None, "ensemble_size": 1,
                    "optimizer": _TRAIN.optimizer, "lr_schedule": None, "weight_decay": None,
                    "max_grad_norm": _TRAIN.max_grad_norm, "averaging": _TRAIN.averaging, "bagging": False,
                    "plots": False, "init_from": None, "freeze": "none", "encoder_lr": None, "splits_file": None,
                    "group_column": None, "fold_column": None, "val_fold": None, "ligands": None, "proteins": None}



def _refuse_supervised_settings(args: argparse.Namespace) -> None:
    given = [name for name, unset in _SUPERVISED_ONLY.items() if getattr(args, name, unset) != unset]
    if args.split != "random":
        given.append("split")
    if given:
        flags = ", ".join("--" + {"targets": "target", "encoder_lr": "lr-encoder", "lr": "lr"}.get(
            name, name.replace("_", "-")) for name in given)
        raise ValueError(f"{flags}: not a setting of --task {GENERATION_TASK} (it learns the molecules of a random "
                         f"split with Adam; see `symmol train --help`)")


def _architecture(args: argparse.Namespace) -> str:
    names = [kind.name for kind in generative_kinds()]
    if args.architecture is None:
        return names[0]
    if args.architecture not in names:
        raise ValueError(f"--architecture {args.architecture} does not generate molecules; --task {GENERATION_TASK} "
                         f"takes {' or '.join(names)}")
    return str(args.architecture)


def check_molecules(smiles: list[object]) -> tuple[np.ndarray, list[str], list[str]]:
    """RDKit's verdict on each SMILES: valid mask ``(n,)`` bool, canonical SMILES of the valid ones, errors.

    Parsed in chunks of :data:`CHECK_CHUNK` (``Chem.MolFromSmiles``), so the molecules of a large
    library are never all in memory. ``errors[i]`` is ``""`` for a valid row.
    """
    valid = np.zeros(len(smiles), dtype=bool)
    canonical: list[str] = []
    errors: list[str] = []
    for first in range(0, len(smiles), CHECK_CHUNK):
        parsed = parse_smiles_list(smiles[first:first + CHECK_CHUNK])
        for offset, (mol, error) in enumerate(zip(parsed.mols, parsed.errors, strict=True)):
            errors.append(error)
            if mol is not None:
                valid[first + offset] = True
                canonical.append(Chem.MolToSmiles(mol))
    return valid, canonical, errors


def _subsample(rows: np.ndarray, size: int, seed: int) -> np.ndarray:
    if rows.size <= size:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, size, replace=False))


def run(args: argparse.Namespace) -> int:
    """Check, split, train, save; then write the history and the metrics and print them."""
    started = time.perf_counter()
    _refuse_supervised_settings(args)
    if args.max_time is not None and not args.max_time > 0:
        raise ValueError(f"--max-time must be positive, got {args.max_time}")
    architecture = _architecture(args)
    kind = generative_kind(architecture)
    options = kind.resolve(chosen_options(args, architecture, training_kinds()))
    fractions = tuple(float(f) for f in args.split_sizes.split(","))
    out = Path(args.out)
    checkpoint = out / CHECKPOINT
    if checkpoint.exists() and not args.resume:
        raise ValueError(f"{out} holds the checkpoint of an earlier run ({checkpoint}): --resume continues it, or "
                         f"choose another --out")
    if args.resume and not checkpoint.exists():
        raise ValueError(f"--resume: no checkpoint in {out} ({CHECKPOINT}); start without --resume")
    table = read_molecules(args.data, smiles_column=args.smiles_column)
    smiles = table["smiles"].tolist()
    valid, canonical, errors = check_molecules(smiles)
    out.mkdir(parents=True, exist_ok=True)
    if not valid.all():
        skipped = np.flatnonzero(~valid)
        pd.DataFrame({"row": skipped, "smiles": [smiles[i] for i in skipped],
                      "error": [errors[i] for i in skipped]}).to_csv(out / "skipped.csv", index=False)
        print(f"skipping {skipped.size} of {len(smiles)} rows RDKit rejects (first: row {skipped[0]}, "
              f"{smiles[skipped[0]]!r}: {errors[skipped[0]]}); all listed in {out / 'skipped.csv'}")
    rows = np.flatnonzero(valid)
    if not rows.size:
        raise ValueError(f"{args.data}: none of the {len(smiles)} rows is a molecule RDKit reads")
    split = random_split(rows.size, fractions, seed=args.seed)
    sets = {name: rows[getattr(split, name)] for name in ("train", "val", "test")}
    text = np.asarray(smiles, dtype=object)
    print(f"{args.data}: {len(smiles)} rows, split train/val/test = "
          f"{'/'.join(str(sets[k].size) for k in ('train', 'val', 'test'))} (random)")
    training = text[sets["train"]].tolist()
    model = kind.model_class.for_training(training, options, seed=args.seed, backend=args.backend)
    epochs = args.epochs if args.epochs is not None else (None if args.max_time is not None else DEFAULT_EPOCHS)
    monitored = text[_subsample(sets["val"], EPOCH_VALIDATION_ROWS, args.seed)].tolist()
    history = model.fit(training, epochs=epochs, max_time=args.max_time,
                        batch_size=args.batch_size or DEFAULT_BATCH_SIZE, learning_rate=args.lr, seed=args.seed,
                        progress=not args.no_progress, started=started, validation=monitored or None,
                        checkpoint=checkpoint)
    model.save(out)
    training_seconds = model.seconds_trained
    write_json(out / "history.json", {"epochs": history, "seconds": training_seconds,
                                      "command_seconds": time.perf_counter() - started})
    metrics = _evaluate(model, text, sets, set(canonical[i] for i in split.train), args.seed)
    metrics["training"] = {"architecture": architecture, **options,
                           "epochs": sum(entry["complete"] for entry in history),
                           "seconds": training_seconds, "tokens_per_s": history[-1]["tokens_per_s"],
                           "skipped_rows": int((~valid).sum())}
    write_json(out / "metrics.json", metrics)
    _print(metrics, history)
    print(f"model written to {out}")
    return 0


def _evaluate(model: Any, text: np.ndarray, sets: dict[str, np.ndarray], training_canonical: set[str],
              seed: int) -> dict[str, Any]:
    """Mean cross-entropy per token on each split; validity, uniqueness and novelty of samples."""
    metrics: dict[str, Any] = {}
    for name, rows in sets.items():
        if rows.size:
            scored = _subsample(rows, SCORED_ROWS, seed)
            metrics[name] = {"loss": model.mean_token_loss(text[scored].tolist()), "rows_scored": int(scored.size)}
    held_out = getattr(model, "held_out_metrics", None)  # e.g. a VAE's reconstruction accuracy
    if held_out is not None and "val" in metrics:
        metrics["val"].update(held_out(text[_subsample(sets["val"], SCORED_ROWS, seed)].tolist(), seed=seed))
    samples = model.sample(CHECK_SAMPLES, seed=seed)
    canonical = canonical_valid(samples["smiles"][samples["status"] == "ok"])
    metrics["samples"] = {"n": CHECK_SAMPLES, "valid": len(canonical) / CHECK_SAMPLES,
                          f"unique@{CHECK_SAMPLES}": fraction_unique(canonical, CHECK_SAMPLES) if canonical else None,
                          "novelty": novelty(canonical, training_canonical) if canonical else None,
                          "temperature": 1.0, "seed": seed}
    return metrics


def _print(metrics: dict[str, Any], history: list[dict[str, float]]) -> None:
    last = history[-1]
    complete = sum(entry["complete"] for entry in history)
    running = "" if last["complete"] else f" and {last['tokens_per_s'] * last['seconds'] / 1e6:.2f}M tokens of the next"
    print(f"trained {complete} epoch(s){running} in {metrics['training']['seconds']:.0f} s of training "
          f"({last['tokens_per_s']:,.0f} tokens/s in the last)")
    print("set      loss (nats per token)")
    for name in ("train", "val", "test"):
        if name in metrics:
            print(f"{name:<8} {metrics[name]['loss']:>10.4f}")
    if "reconstruction_accuracy" in metrics.get("val", {}):
        print(f"val reconstruction accuracy (greedy decoding of the posterior mean): "
              f"{metrics['val']['reconstruction_accuracy']:.3f} of {metrics['val']['rows_reconstructed']} molecules")
    shown = metrics["samples"]
    unique = shown[f"unique@{CHECK_SAMPLES}"]
    print(f"{CHECK_SAMPLES} samples (temperature 1): valid {shown['valid']:.3f}, unique "
          + ("n/a" if unique is None else f"{unique:.3f}") + ", novel "
          + ("n/a" if shown["novelty"] is None else f"{shown['novelty']:.3f}"))
