"""Uncertainty: how well each estimator's σ ranks and matches the errors, before and after calibration.

Data sets and splits are ``bench/molnet.py``'s (ESOL and FreeSolv: random 80/10/10, a new split per
seed; BBBP: scaffold split, the seeds vary the models). Per data set, seed and estimator, the model
is trained on the training rows, calibrated on the validation rows (symmol's calibrators, the same
for every estimator) and scored on the test rows:

* **symmol MLP ensemble**: ``symmol train --ensemble-size 5`` defaults (ECFP4 MLP); σ over members;
  **, bagging**: each member trained on its own bootstrap resample (``--bagging``).
* **symmol D-MPNN ensemble**: Chemprop's recipe in symmol (``bench/molnet.py``'s ``CHEMPROP_RECIPE``),
  ``--ensemble-size 5``; σ over members.
* **symmol D-MPNN MVE**: the same recipe, one model with a mean–variance head (``--loss mve``); σ its
  predicted standard deviation.
* **symmol MLP MC dropout**: ``symmol train`` defaults (dropout 0.3); σ over 30 dropout samples
  (``--uncertainty dropout``).
* **symmol GP**: ``--architecture gp``; σ the posterior predictive standard deviation.
* **Chemprop 2 ensemble**: five ``chemprop train`` fits (seeds ``10·seed + k``), σ over them, which is
  Chemprop's ``ensemble`` uncertainty estimator.

Regression columns: test RMSE; Spearman(|error|, σ); miscalibration area of Gaussian intervals
before and after z-scaling and of the conformal intervals at every level (the stored scores);
ENCE after z-scaling; conformal 90 % interval coverage and mean width. Classification (BBBP): test
ROC-AUC; ECE of the raw, Platt- and isotonic-calibrated probabilities; conformal 90 % label-set
coverage and mean size. Means ± sd over the seeds.

Each fit's validation and test predictions are kept in ``--work`` (``.npz``), so a rerun with more
estimators or columns refits only what is missing (``--refit`` refits everything).

Reproduce::

    python bench/uncertainty.py --data-dir ../shared/data --out bench/results/uncertainty.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from molnet import CHEMPROP_RECIPE, SETS, MolNetSet, load, metric_of, split_for  # noqa: E402
from peers import chemprop_predictions  # noqa: E402

from symmol.estimator import QSARModel  # noqa: E402
from symmol.evaluation.calibration import Calibration, calibration_report  # noqa: E402
from symmol.evaluation.metrics import task_metrics  # noqa: E402
from symmol.evaluation.splits import Split  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ENSEMBLE = 5
#: (val scores, val σ, test scores, test σ) of one estimator; σ None for classification.
Predictions = tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]


def symmol_predictions(uncertainty: str | None = None, **options: object
                       ) -> Callable[[MolNetSet, np.ndarray, np.ndarray, Split, int], Predictions]:
    def fit(ds: MolNetSet, smiles: np.ndarray, y: np.ndarray, split: Split, seed: int) -> Predictions:
        model = QSARModel(ds.task, seed=seed, progress=False, **options)  # type: ignore[arg-type]
        model.fit(smiles[split.train], y[split.train], smiles[split.val], y[split.val], target_names=ds.targets)
        compiled = model.model_
        out = []
        for rows in (split.val, split.test):
            batch = model.featurize(smiles[rows]).batch
            scores, std = compiled.predict_with_spread(batch, uncertainty)
            out += [scores.astype(np.float64), None if ds.task == "classification" else std]
        return out[0], out[1], out[2], out[3]
    return fit


def chemprop_ensemble(ds: MolNetSet, smiles: np.ndarray, y: np.ndarray, split: Split, seed: int) -> Predictions:
    members = [chemprop_predictions(ds.task, smiles, y, split, ds.targets, 10 * seed + k, predict=("val", "test"))[0]
               for k in range(ENSEMBLE)]
    val, test = (np.stack([m[i] for m in members]).astype(np.float64) for i in (0, 1))
    if ds.task == "classification":
        return val.mean(0), None, test.mean(0), None
    return val.mean(0), val.std(0), test.mean(0), test.std(0)


ESTIMATORS: dict[str, Callable[..., Predictions]] = {
    "symmol MLP ensemble": symmol_predictions(ensemble_size=ENSEMBLE),
    "symmol MLP ensemble, bagging": symmol_predictions(ensemble_size=ENSEMBLE, bagging=True),
    "symmol D-MPNN ensemble": symmol_predictions(ensemble_size=ENSEMBLE, **CHEMPROP_RECIPE),
    "symmol D-MPNN MVE": symmol_predictions(loss="mve", **CHEMPROP_RECIPE),
    "symmol MLP MC dropout": symmol_predictions("dropout"),
    "symmol GP": symmol_predictions(architecture="gp"),
    "Chemprop 2 ensemble": chemprop_ensemble,
}


def save_predictions(path: Path, found: Predictions) -> None:
    arrays = dict(zip(("val_scores", "val_std", "test_scores", "test_std"), found, strict=True))
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})


def load_predictions(path: Path) -> Predictions:
    with np.load(path) as stored:
        get = {k: stored[k] if k in stored else None for k in ("val_scores", "val_std", "test_scores", "test_std")}
    assert get["val_scores"] is not None and get["test_scores"] is not None
    return get["val_scores"], get["val_std"], get["test_scores"], get["test_std"]


def evaluate(ds: MolNetSet, y: np.ndarray, split: Split, found: Predictions) -> dict[str, float]:
    """One row of the table: accuracy and uncertainty metrics of one fit."""
    val_scores, val_std, test_scores, test_std = found
    calibration = Calibration.fit(ds.task, ds.targets, y[split.val], val_scores, val_std,
                                  None if val_std is None else "σ")
    report = calibration_report(calibration, y[split.test], test_scores, test_std, coverage=0.9)
    row = {metric_of(ds): task_metrics(ds.task, y[split.test], test_scores, list(ds.targets))[metric_of(ds)]}
    if ds.task == "classification":
        row |= {"ECE raw": report["uncalibrated"]["ece"], "ECE Platt": report["platt"]["ece"],
                "ECE isotonic": report["isotonic"]["ece"],
                "set coverage": report["conformal"]["set_coverage"], "set size": report["conformal"]["set_size"]}
    else:
        row |= {"Spearman": report["uncalibrated"]["spearman"],
                "miscal. area": report["uncalibrated"]["miscalibration_area"],
                "miscal. area (z)": report["zscaling"]["miscalibration_area"],
                "miscal. area (conformal)": report["conformal"]["miscalibration_area"],
                "ENCE (z)": report["zscaling"]["ence"],
                "coverage 90%": report["conformal"]["coverage"], "width 90%": report["conformal"]["width"]}
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--datasets", nargs="+", default=["ESOL", "FreeSolv", "BBBP"], choices=list(SETS))
    parser.add_argument("--estimators", nargs="+", default=list(ESTIMATORS), choices=list(ESTIMATORS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--work", type=Path, default=REPO / "bench" / ".cache" / "uncertainty")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--refit", action="store_true", help="refit even where --work holds a fit's predictions")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.datasets:
        ds = SETS[name]
        _, smiles, y = load(ds, args.data_dir, args.work)
        for estimator in args.estimators:
            runs = []
            for seed in args.seeds:
                split = split_for(ds, smiles, seed)
                start = time.perf_counter()
                cache = args.work / f"{ds.name}-{estimator}-{seed}.npz".replace(" ", "_").replace(",", "")
                if cache.exists() and not args.refit:
                    found = load_predictions(cache)
                else:
                    found = ESTIMATORS[estimator](ds, smiles, y, split, seed)
                    save_predictions(cache, found)
                runs.append(evaluate(ds, y, split, found))
                shown = ", ".join(f"{k} {v:.3f}" for k, v in runs[-1].items())
                print(f"{ds.name} seed {seed} {estimator} ({time.perf_counter() - start:.0f} s): {shown}", flush=True)
            row: dict[str, str] = {"data set": ds.name, "estimator": estimator}
            for key in runs[0]:
                values = np.array([r[key] for r in runs])
                row[key.upper() if key in ("rmse", "roc_auc") else key] = f"{values.mean():.3f} ± {values.std():.3f}"
            rows.append(row)
    tables = []
    for task in ("regression", "classification"):
        part = [r for r in rows if SETS[r["data set"]].task == task]
        if part:
            tables.append(pd.DataFrame(part).dropna(axis=1, how="all").to_markdown(index=False))
    text = "\n\n".join(tables)
    print(text)
    if args.out:
        command = (f"python bench/uncertainty.py --datasets {' '.join(args.datasets)} --estimators "
                   + " ".join(f'"{e}"' for e in args.estimators) + f" --seeds {' '.join(map(str, args.seeds))}")
        args.out.write_text(
            "# Uncertainty: σ ranking and calibration, symmol's estimators and Chemprop 2's ensemble\n\n"
            f"Command: `{command}`; {time.strftime('%Y-%m-%d')}, 2-core machine. Calibrated on the validation "
            "rows, scored on the test rows; mean ± sd over the seeds. Nominal coverage 90 %.\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    sys.exit(main())
