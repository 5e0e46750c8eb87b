"""``symmol warm-cache``: compile ahead of time (after installing, in a container image, on each Dask worker)."""

from __future__ import annotations

import argparse

from symmol.cli.options import training_kinds
from symmol.generation.registry import generative_kinds, warm_generative_kind
from symmol.training.warm_cache import warm_cache

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol warm-cache``'s arguments."""
    parser.add_argument("--architecture", nargs="+", default=["mlp"],
                        choices=[k.name for k in training_kinds()],
                        help="architectures to compile (default mlp)")
    parser.add_argument("--backend", nargs="+", default=["numba"], choices=("numba", "c"),
                        help="backends to compile (default numba)")
    parser.add_argument("--task", nargs="+", default=["classification", "regression"],
                        choices=("classification", "regression"))


def run(args: argparse.Namespace) -> int:
    """Compile each architecture's training step and predict (or sampling) functions, and the featurizers' kernels."""
    generative = {kind.name for kind in generative_kinds()}
    supervised = [name for name in args.architecture if name not in generative]
    for name, seconds in warm_cache(supervised, args.backend, args.task).items():
        print(f"{name}: compiled and cached in {seconds:.1f} s")
    for name in args.architecture:
        if name in generative:
            for backend in args.backend:
                print(f"{name}/{backend}: compiled and cached in {warm_generative_kind(name, backend):.1f} s")
    return 0
