"""``symmol bench``: list or run the side-by-side benchmarks of a source checkout's ``bench/``."""

from __future__ import annotations

import argparse
import ast
import runpy
import sys
from pathlib import Path

import symmol

__all__ = ["add_arguments", "bench_dir", "run"]


def bench_dir() -> Path:
    """Return the ``bench/`` folder beside the installed package (present in a source or editable install)."""
    return Path(symmol.__file__).resolve().parents[1] / "bench"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``symmol bench``'s arguments."""
    parser.add_argument("name", nargs="?", help="benchmark to run (e.g. featurize, similarity); omit to list them")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="options passed to the benchmark (see NAME --help)")


def _summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def run(args: argparse.Namespace) -> int:
    """List the benchmarks, or run one with its own arguments."""
    folder = bench_dir()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no bench/ folder; benchmarks run from a source checkout of symmol")
    scripts = {p.stem: p for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")}
    if args.name is None:
        for name, path in scripts.items():
            print(f"{name:22s} {_summary(path)}")
        return 0
    if args.name not in scripts:
        raise ValueError(f"no benchmark {args.name!r}; choose from {', '.join(scripts)}")
    sys.argv = [str(scripts[args.name]), *args.args]
    runpy.run_path(str(scripts[args.name]), run_name="__main__")
    return 0
