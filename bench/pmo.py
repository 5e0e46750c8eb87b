"""PMO: symmol's REINVENT (``symmol optimize``) on the RDKit-computable tasks, against PMO's published REINVENT.

PMO (Gao et al., NeurIPS 2022 Datasets & Benchmarks, arXiv:2206.12411) gives each optimiser 10,000
oracle calls per task and scores the area under the curve of the best ten molecules' mean score
against calls (AUC top-10, :func:`symmol.generation.metrics.auc_top_k`). REINVENT ranked first of 25
methods there. This bench runs symmol's policy gradient (:func:`symmol.generation.reinforcement.optimize`,
REINVENT's augmented likelihood, experience replay, identical-scaffold diversity filter) from a SMILES
GRU prior trained on ZINC250k, as PMO's REINVENT prior was, on the oracles of
:mod:`symmol.generation.oracles` (PyTDC's definitions, checked equal to PyTDC), and sets the result
beside PMO's REINVENT column: **published, not rerun** (source below). Each (task, seed) run is
appended to ``bench/results/pmo_runs.csv`` as it finishes; ``--summary`` composes ``pmo.md`` from it.

The prior (``--prior DIR``) is trained first when the directory holds no model::

    symmol train ZINC250K --task generation --architecture gru --max-time PRIOR_SECONDS --seed 0 --out DIR

Commands::

    python bench/pmo.py --tasks qed celecoxib_rediscovery ... --seeds 0 1 2
    python bench/pmo.py --summary
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from symmol.generation.oracles import PMO_TASKS, oracle  # noqa: E402
from symmol.generation.registry import load_generative_model  # noqa: E402
from symmol.generation.reinforcement import ReinforcementSettings, optimize  # noqa: E402
from symmol.generation.scoring import Component, ScoreFunction  # noqa: E402

RESULTS = REPO / "bench" / "results"
RUNS = RESULTS / "pmo_runs.csv"
SUMMARY = RESULTS / "pmo.md"
ZINC = Path("screening_libraries") / "zinc250k_rndm_zinc_drugs_clean.smi.gz"

#: PMO's REINVENT, AUC top-10 mean and sd over 5 seeds: the authors' leaderboard data
#: (``Mol_Opt.xlsx``, sheets "AUC Top-10" and "AUC Top-10 std", column ``reinvent``;
#: github.com/pmo-benchmark/pmo-benchmark.github.io, commit 4627367), truncated to three decimals as
#: the paper's Table 3 prints them (sum over all 23 tasks 14.196). Published, not rerun.
PUBLISHED_REINVENT = {
    "albuterol_similarity": (0.882, 0.006), "amlodipine_mpo": (0.635, 0.035),
    "celecoxib_rediscovery": (0.713, 0.067), "deco_hop": (0.666, 0.044), "fexofenadine_mpo": (0.784, 0.006),
    "isomers_c7h8n2o2": (0.852, 0.036), "isomers_c9h10n2o2pf2cl": (0.642, 0.054), "median1": (0.356, 0.009),
    "median2": (0.276, 0.008), "mestranol_similarity": (0.618, 0.048), "osimertinib_mpo": (0.837, 0.009),
    "perindopril_mpo": (0.537, 0.016), "qed": (0.941, 0.000), "ranolazine_mpo": (0.760, 0.009),
    "scaffold_hop": (0.560, 0.019), "sitagliptin_mpo": (0.021, 0.003), "thiothixene_rediscovery": (0.534, 0.013),
    "troglitazone_rediscovery": (0.441, 0.032), "valsartan_smarts": (0.178, 0.358), "zaleplon_mpo": (0.358, 0.062),
}
SOURCE = ("PMO's REINVENT column (Gao et al. 2022, Table 3; 5 seeds) from the authors' leaderboard data, "
          "`Mol_Opt.xlsx` of github.com/pmo-benchmark/pmo-benchmark.github.io (commit 4627367), three "
          "decimals as printed: **published, not rerun**.")


def ensure_prior(prior: Path, data_dir: Path, seconds: float) -> None:
    """Train the ZINC250k prior into ``prior`` unless a model is there."""
    if (prior / "model.json").exists():
        return
    command = [sys.executable, "-m", "symmol", "train", str(data_dir / ZINC), "--task", "generation",
               "--architecture", "gru", "--max-time", str(seconds), "--seed", "0", "--out", str(prior)]
    print("training the prior:", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def run_task(prior_dir: Path, task: str, seed: int, budget: int) -> dict[str, float]:
    """One PMO run: AUC top-10, the final best-ten mean, calls, steps and wall seconds."""
    prior = load_generative_model(prior_dir)
    task_oracle = oracle(task)
    score = ScoreFunction([Component(task, task_oracle.score_mols)])
    start = time.perf_counter()
    result = optimize(prior, score, ReinforcementSettings(budget=budget, seed=seed))
    summary = result.summary()
    return {"auc_top10": result.auc_top10, "top10": summary["top10_mean"], "calls": summary["calls"],
            "steps": summary["steps"], "seconds": time.perf_counter() - start}


def record(row: dict[str, object]) -> None:
    """Append one run to :data:`RUNS`."""
    pd.DataFrame([row]).to_csv(RUNS, mode="a", header=not RUNS.exists(), index=False)


def summary_table(runs: pd.DataFrame) -> tuple[str, str]:
    """Markdown table (one row per task, latest run per task and seed) and the sums' sentence."""
    latest = runs.drop_duplicates(["task", "seed"], keep="last")
    rows, ours_sum, theirs_sum, complete = [], 0.0, 0.0, []
    for task in [t for t in PMO_TASKS if t in set(latest["task"])]:
        part = latest[latest["task"] == task].sort_values("seed")
        values = part["auc_top10"].to_numpy()
        published, published_sd = PUBLISHED_REINVENT[task]
        rows.append({"task": task, "seeds": len(values),
                     "symmol AUC top-10": f"{values.mean():.3f} ± {values.std():.3f}",
                     "per seed": ", ".join(f"{v:.3f}" for v in values),
                     "REINVENT (PMO, published)": f"{published:.3f} ± {published_sd:.3f}",
                     "best ten at the end": f"{part['top10'].mean():.3f}",
                     "s/run": f"{part['seconds'].mean():.0f}"})
        if len(values) >= 3:
            ours_sum += values.mean()
            theirs_sum += published
            complete.append(task)
    sums = (f"Over the {len(complete)} tasks with three seeds: symmol **{ours_sum:.3f}**, PMO's REINVENT "
            f"**{theirs_sum:.3f}** (sum of the mean AUC top-10).") if complete else "No task has three seeds yet."
    return pd.DataFrame(rows).to_markdown(index=False), sums


def write_summary() -> str:
    runs = pd.read_csv(RUNS)
    table, sums = summary_table(runs)
    prior = runs["prior"].iloc[-1]
    commands = "\n".join(f"- `{c}`" for c in dict.fromkeys(runs["command"]))
    text = (f"# PMO: symmol's REINVENT against PMO's published REINVENT\n\nComposed by `python bench/pmo.py "
            f"--summary` from `pmo_runs.csv`. Runs:\n{commands}\n\nPrior: {prior}. 10,000 oracle calls per run "
            "(distinct valid molecules), AUC top-10 as PMO computes it (mean of the best ten against calls, read "
            "every 100 calls, trapezoids, over 10,000); mean ± sd over seeds. " + SOURCE + "\n\n"
            + table + "\n\n" + sums + "\n")
    SUMMARY.write_text(text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--prior", type=Path, default=REPO / "bench" / ".cache" / "pmo" / "prior",
                        help="a SMILES GRU model directory; trained on ZINC250k first when it holds no model")
    parser.add_argument("--prior-seconds", type=float, default=7200.0,
                        help="`symmol train --max-time` of the prior when it has to be trained")
    parser.add_argument("--tasks", nargs="+", default=list(PMO_TASKS), choices=PMO_TASKS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=10_000, help="oracle calls per run (PMO: 10,000)")
    parser.add_argument("--summary", action="store_true", help=f"only compose {SUMMARY.name} from {RUNS.name}")
    args = parser.parse_args()
    if args.summary:
        print(write_summary())
        return 0
    command = (f"python bench/pmo.py --tasks {' '.join(args.tasks)} --seeds {' '.join(map(str, args.seeds))}"
               + (f" --budget {args.budget}" if args.budget != 10_000 else ""))
    ensure_prior(args.prior, args.data_dir, args.prior_seconds)
    prior_note = _prior_note(args.prior)
    for seed in args.seeds:
        for task in args.tasks:
            result = run_task(args.prior, task, seed, args.budget)
            record({"task": task, "seed": seed, **{k: round(float(v), 6) for k, v in result.items()},
                    "budget": args.budget, "prior": prior_note, "date": time.strftime("%Y-%m-%d"),
                    "command": command})
            print(f"{task} seed {seed}: AUC top-10 {result['auc_top10']:.4f} (best ten {result['top10']:.3f}, "
                  f"{result['calls']:.0f} calls, {result['seconds']:.0f} s); PMO's REINVENT "
                  f"{PUBLISHED_REINVENT[task][0]:.3f}", flush=True)
    print(write_summary())
    return 0


def _prior_note(prior: Path) -> str:
    """One line on the prior: its shape, training time and sample validity (from its own files)."""
    spec = json.loads((prior / "model.json").read_text())["spec"]
    history = json.loads((prior / "history.json").read_text())
    metrics_path = prior / "metrics.json"
    samples = json.loads(metrics_path.read_text()).get("samples", {}) if metrics_path.exists() else {}
    shape = f"{spec['layers']} GRU layers of {spec['units']}, embedding {spec['embedding']}"
    epochs = sum(entry["complete"] for entry in history["epochs"])
    return (f"SMILES GRU ({shape}) trained on ZINC250k for {history['seconds']:.0f} s ({epochs} complete epochs)"
            + (f", validity {samples['valid']:.3f} of {samples['n']} samples" if "valid" in samples else ""))


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
