"""``symmol`` command line: one module per subcommand, each with ``add_arguments`` and ``run``.

Only the module of the command being run is imported (``symmol --help`` imports none), so the
help and the start of every command stay fast. Expected failures (bad or damaged input files, bad
options, corrupt model or index files, a full disk, a permission denied) end with one line on stderr and
exit status 2, an interruption (Ctrl-C) with one line and status 130; ``--debug`` shows the traceback
instead.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
from collections.abc import Sequence

from symmol._version import __version__

__all__ = ["COMMANDS", "build_parser", "main"]

#: Command → (module, one-line help).
COMMANDS = {
    "train": ("symmol.cli.train", "train a model (fingerprint MLP, D-MPNN, GIN, Gaussian process or a plug-in kind) "
                                  "on labelled data and report train/val/test metrics"),
    "predict": ("symmol.cli.predict", "predict target values for molecules (.csv/.smi/.sdf[.gz]) with trained models"),
    "screen": ("symmol.cli.screen", "score every molecule of a library (.csv/.smi/.sdf[.gz]) with trained models, "
                                    "keeping the top K"),
    "calibrate": ("symmol.cli.calibrate", "fit a trained model's uncertainty and probability calibrators on labelled "
                                          "rows (z-scaling, conformal, Platt, isotonic) and store them with it"),
    "explain": ("symmol.cli.explain", "explain a model's predictions: per-atom weights (masking or gradient x "
                                      "input), drawings and the fragments that push the scores up or down"),
    "active": ("symmol.cli.active", "active learning: simulate a campaign on a labelled pool (hit-recovery curve, "
                                    "resumable) or propose the next batch from measured labels"),
    "tune": ("symmol.cli.tune", "search architectures and hyperparameters with Optuna (resumable, parallel) and keep "
                                "the best model"),
    "pretrain": ("symmol.cli.pretrain", "pretrain a model on an unlabelled library to predict RDKit's 2D descriptors "
                                        "(resumable), for `symmol train --init-from`"),
    "generate": ("symmol.cli.generate", "sample SMILES from a trained language model (status, error and "
                                        "log-likelihood per sample; MOSES metrics with --metrics)"),
    "optimize": ("symmol.cli.optimize", "steer a trained language model toward a score (REINVENT's augmented-"
                                        "likelihood policy gradient, experience replay, a scaffold diversity filter)"),
    "featurize": ("symmol.cli.featurize", "compute fingerprints (ECFP/FCFP/atom pairs/torsions/MACCS) or RDKit 2D "
                                          "descriptors into a .npy array"),
    "index": ("symmol.cli.index", "build a memory-mapped fingerprint index of a molecule library for `symmol search`"),
    "search": ("symmol.cli.search", "similarity search of a fingerprint index: the K nearest or all above a threshold"),
    "warm-cache": ("symmol.cli.warm_cache", "compile the standard models and kernels ahead of time into the on-disk "
                                            "caches (after installing, in a container image)"),
    "bench": ("symmol.cli.bench", "list or run the benchmarks in bench/ (symmol vs RDKit, FPSim2, scikit-learn, "
                                  "PyTorch...)"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the parser; only ``command``'s own arguments are declared (its module imported)."""
    parser = argparse.ArgumentParser(
        prog="symmol",
        description="Symbolic, compiled machine learning for drug discovery: fingerprints, "
                    "PyTensor models, training and screening.",
    )
    parser.add_argument("--version", action="version", version=f"symmol {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(sub)
            sub.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``symmol`` console script; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"symmol {args.command}: interrupted; every finished chunk is kept (`symmol screen ... --resume` "
              "continues a screen)", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:
        if args.debug:
            raise
        print(f"symmol {args.command}: error: {_describe(exc)}", file=sys.stderr)
        return 2


#: What to do about the operating system's errors that users meet.
_OS_HINTS = {errno.ENOSPC: "the disk is full: free space, then rerun (a screen continues with --resume)",
             errno.EDQUOT: "the disk quota is used up: free space, then rerun (a screen continues with --resume)",
             errno.EACCES: "permission denied: choose a location you may write to, or fix its permissions",
             errno.EROFS: "the file system is read-only: choose another output location"}


def _describe(exc: BaseException) -> str:
    """One line for an expected error: its message, and for an OS error the file and what to do."""
    if isinstance(exc, OSError) and exc.errno in _OS_HINTS:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{_OS_HINTS[exc.errno]} ({exc.strerror})"
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
