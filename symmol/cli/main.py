"""``symmol`` command line: one module per subcommand, each with ``add_arguments`` and ``run``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from symmol import __version__
from symmol.cli import bench, featurize, index, predict, screen, search, train

SUBCOMMANDS = {
    "train": train,
    "predict": predict,
    "screen": screen,
    "featurize": featurize,
    "index": index,
    "search": search,
    "bench": bench,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symmol",
        description="Symbolic, compiled machine learning for drug discovery: fingerprints, "
                    "PyTensor models, training and screening.",
    )
    parser.add_argument("--version", action="version", version=f"symmol {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``symmol`` console script; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"symmol {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
