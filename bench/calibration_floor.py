"""The miscalibration area a perfectly calibrated model scores on a small test set (the metric's noise floor).

Draws a model whose σ is exactly right (``y = μ + σ·z``, ``z ~ N(0, 1)``, σ log-uniform over a decade),
calibrates split-conformal intervals on ``n_calibration`` rows and scores the area between expected and
observed coverage on ``n_test`` rows, with :func:`symmol.evaluation.calibration.conformal_miscalibration_area`
and the Gaussian :func:`symmol.evaluation.uncertainty.miscalibration_area` that ``bench/uncertainty.py``
reports. Any estimator's area on a split of that size carries at least this noise.

    python bench/calibration_floor.py --sizes 64:65 113:113 --draws 2000 --out bench/results/calibration_floor.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from symmol.evaluation.calibration import conformal_miscalibration_area
from symmol.evaluation.uncertainty import miscalibration_area


def floor(n_calibration: int, n_test: int, draws: int, seed: int) -> dict[str, np.ndarray]:
    """Areas of ``draws`` perfectly calibrated models: ``{"conformal": (draws,), "gaussian": (draws,)}``."""
    rng = np.random.default_rng(seed)
    areas: dict[str, list[float]] = {"conformal": [], "gaussian": []}
    for _ in range(draws):
        scores = np.sort(np.abs(rng.standard_normal(n_calibration)))  # |y - μ| / σ on the calibration rows
        std_test = 10.0 ** rng.uniform(-0.5, 0.5, n_test)
        mean = np.zeros(n_test)
        y = std_test * rng.standard_normal(n_test)
        areas["conformal"].append(conformal_miscalibration_area(y, mean, std_test, scores))
        areas["gaussian"].append(miscalibration_area(y, mean, std_test))
    return {name: np.array(values) for name, values in areas.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["64:65", "113:113"],
                        help="calibration:test row counts (FreeSolv's and ESOL's 80/10/10 splits by default)")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    lines = ["# The miscalibration area of a perfectly calibrated model (noise floor)", "",
             f"Command: `python bench/calibration_floor.py --sizes {' '.join(args.sizes)} --draws {args.draws} "
             f"--seed {args.seed}`. Each draw: a model whose σ is exact; conformal intervals calibrated on the "
             "calibration rows; areas on the test rows. Mean, median and 90th percentile over the draws.", "",
             "| calibration rows | test rows | conformal area: mean | median | 90th pct | Gaussian area: mean | "
             "median | 90th pct | P(conformal area > 0.05) |",
             "|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for size in args.sizes:
        n_calibration, n_test = (int(part) for part in size.split(":"))
        areas = floor(n_calibration, n_test, args.draws, args.seed)
        conformal, gaussian = areas["conformal"], areas["gaussian"]
        lines.append(f"| {n_calibration} | {n_test} | {conformal.mean():.3f} | {np.median(conformal):.3f} | "
                     f"{np.quantile(conformal, 0.9):.3f} | {gaussian.mean():.3f} | {np.median(gaussian):.3f} | "
                     f"{np.quantile(gaussian, 0.9):.3f} | {(conformal > 0.05).mean():.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
