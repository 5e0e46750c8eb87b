"""``symmol generate``: sample SMILES from a trained generative model (language model, VAE) into a CSV.

Every sample is one row, in drawing order: ``smiles``, ``status`` (``ok``, or ``invalid`` with the
reason in ``error``: RDKit rejects it, or no end token within the model's ``max_length``) and
``log_likelihood`` (natural log under the model at temperature 1). With ``--metrics`` the MOSES
metrics of the samples are printed (and, given ``--reference`` and ``--training`` SMILES files, the
reference-set metrics and novelty). ``--interpolate START END`` decodes points between the latent
codes of two molecules instead (models with a latent space).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from symmol.chem.io import read_molecules
from symmol.generation.metrics import GenerationReference, canonical_valid, generation_metrics
from symmol.generation.registry import load_generative_model

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol generate``'s arguments."""
    parser.add_argument("model", help="a generative model directory (`symmol train --task generation`)")
    parser.add_argument("--n", type=int, required=True, help="samples to draw (with --interpolate: points on the line)")
    parser.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (> 0; default 1.0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling noise (same seed, same samples)")
    parser.add_argument("--batch-size", type=int, default=256, help="samples drawn per compiled call")
    parser.add_argument("--metrics", action="store_true", help="print MOSES's metrics of the samples")
    parser.add_argument("--reference", default=None,
                        help="with --metrics: reference molecules (.csv/.smi[.gz]) for FCD, SNN, Frag, Scaf")
    parser.add_argument("--training", default=None, help="with --metrics: training molecules for novelty")
    parser.add_argument("--interpolate", nargs=2, default=None, metavar=("START", "END"),
                        help="a model with a latent space (vae): decode --n points between the codes of two SMILES "
                             "(a column t from 0 to 1) instead of sampling")
    parser.add_argument("--out", required=True, help="output .csv")


def run(args: argparse.Namespace) -> int:
    """Sample, write the CSV, print a summary (and the metrics with ``--metrics``)."""
    if args.n < 1:
        raise ValueError(f"--n must be at least 1, got {args.n}")
    model = load_generative_model(args.model)
    started = time.perf_counter()
    if args.interpolate is not None:
        interpolate = getattr(model, "interpolate", None)
        if interpolate is None:
            raise ValueError(f"{args.model}: a {type(model).__name__} has no latent space to interpolate in "
                             f"(train --architecture vae)")
        samples = interpolate(*args.interpolate, n=args.n)
    else:
        samples = model.sample(args.n, temperature=args.temperature, seed=args.seed, batch_size=args.batch_size)
    seconds = time.perf_counter() - started
    out = Path(args.out)
    samples.to_csv(out, index=False)
    valid = int((samples["status"] == "ok").sum())
    distinct = samples.loc[samples["status"] == "ok", "smiles"].nunique()
    print(f"{len(samples)} samples ({valid} valid, {distinct} distinct valid strings) in {seconds:.1f} s "
          f"({len(samples) / seconds:,.0f} molecules/s) -> {out}")
    if args.metrics:
        reference = (GenerationReference.from_smiles(read_molecules(args.reference)["smiles"].tolist())
                     if args.reference else None)
        training = canonical_valid(read_molecules(args.training)["smiles"].tolist()) if args.training else None
        if not valid:
            print("metrics: none of the samples is valid, so the MOSES metrics are undefined")
            return 0
        metrics = generation_metrics(samples["smiles"].tolist(), reference, training, k=(1000, 10000))
        print(json.dumps(metrics, indent=1))
    return 0
