"""Active learning on MolPAL's docking pools and on HIV: the share of the top 1 % found after 6 % evaluated.

Pools from ``--data-dir``: Enamine 10k and 50k (``active_learning/``), AutoDock Vina scores against
PDB 4UNN, lower is better (the 50k pool's one failed docking, 0.0, is excluded with
``--failed-value 0``); HIV (``moleculenet/HIV.csv``), ``HIV_active`` (1: confirmed or moderately
active in the DTP AIDS antiviral screen), higher is better: its top 1 % with ties is every active
(3.5 % of the pool), so the curve is the fraction of the actives found. Protocol: a seeded random
1 % initial batch, then five rounds of 1 % chosen by the acquisition function (6 % evaluated), the
surrogate retrained from scratch each round
(``symmol active``'s defaults: an ensemble of five ECFP4 MLPs, 50 epochs); top 1 % = every molecule
scoring at least as well as the ``⌊0.01 n⌋``-th best, ties included. Seeds 0, 1, 2; mean ± sd of the
fraction of the top found after each round, and the wall seconds per campaign.

Reproduce::

    python bench/active_learning.py --data-dir ../shared/data --pools Enamine10k Enamine50k \
        --out bench/results/active_learning.md
    python bench/active_learning.py --data-dir ../shared/data --pools HIV --out bench/results/active_learning_hiv.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from symmol.active_learning import ACQUISITIONS, CampaignSettings, run_campaign

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Pool:
    file: str
    oracle_column: str
    objective: str
    failed_values: tuple[float, ...] = ()


POOLS = {"Enamine10k": Pool("active_learning/Enamine10k_scores.csv.gz", "score", "minimize", (0.0,)),
         "Enamine50k": Pool("active_learning/Enamine50k_scores.csv.gz", "score", "minimize", (0.0,)),
         "HIV": Pool("moleculenet/HIV.csv", "HIV_active", "maximize")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--pools", nargs="+", default=list(POOLS), choices=list(POOLS))
    parser.add_argument("--acquisitions", nargs="+", default=["greedy", "ucb", "random"], choices=ACQUISITIONS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--work", type=Path, default=REPO / "bench" / ".cache" / "active_learning")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows, curves = [], []
    for pool in args.pools:
        spec = POOLS[pool]
        table = pd.read_csv(args.data_dir / spec.file)
        for acquisition in args.acquisitions:
            found, seconds = [], []
            for seed in args.seeds:
                settings = CampaignSettings(spec.oracle_column, spec.objective, initial=0.01, acquire_size=0.01,
                                            rounds=5, acquisition=acquisition, failed_values=spec.failed_values,
                                            seed=seed)
                start = time.perf_counter()
                result = run_campaign(table, settings, args.work / f"{pool}-{acquisition}-{seed}", progress=False)
                seconds.append(time.perf_counter() - start)
                found.append(result.curve["fraction_top_found"].to_numpy())
                curves.append(result.curve.assign(pool=pool, acquisition=acquisition, seed=seed))
                print(f"{pool} {acquisition} seed {seed}: top 1% found {found[-1][-1]:.1%} after "
                      f"{result.curve['fraction_evaluated'].iloc[-1]:.1%} ({seconds[-1]:.0f} s)", flush=True)
            values = np.array(found)
            row = {"pool": pool, "acquisition": acquisition, "top molecules": int(result.n_top)}
            for i, fraction in enumerate(result.curve["fraction_evaluated"]):
                row[f"{fraction:.0%} evaluated"] = f"{values[:, i].mean():.1%} ± {values[:, i].std():.1%}"
            row["s/campaign"] = f"{np.mean(seconds):.0f}"
            rows.append(row)
    text = pd.DataFrame(rows).to_markdown(index=False)
    print(text)
    if args.out:
        pd.concat(curves, ignore_index=True).to_csv(args.out.with_suffix(".csv"), index=False)
        command = (f"python bench/active_learning.py --pools {' '.join(args.pools)} --acquisitions "
                   f"{' '.join(args.acquisitions)} --seeds {' '.join(map(str, args.seeds))}")
        args.out.write_text(
            f"# Active learning on {', '.join(args.pools)}: fraction of the top 1 % found\n\n"
            f"Command: `{command}`; {time.strftime('%Y-%m-%d')}, 2-core machine. Surrogate: an ensemble of five "
            "ECFP4 MLPs (`symmol active` defaults), retrained each round; 1 % initial random batch, 1 % per "
            "round. Mean ± sd over the seeds; per-round curves in the `.csv` beside this file.\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    sys.exit(main())
