"""Check the import-layer contract of ``pyproject.toml`` (``[tool.importlinter]``) on the installed layout.

An editable install maps ``symmol.kernels`` to the repository's ``kernels/`` through an import hook,
which import-linter's graph builder does not follow: it would see no ``symmol.kernels`` at all. So
the package is staged as a wheel lays it out (``symmol/`` with ``kernels/`` inside as
``symmol/kernels/``) in a temporary directory, and ``lint-imports`` runs on that copy.

Usage: ``python .ci/check_layers.py`` (exit status 0 when every contract holds).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")


def stage(destination: Path, repo: Path = REPO) -> Path:
    """Copy ``symmol/`` and ``kernels/`` (as ``symmol/kernels/``) under ``destination``; return the package dir."""
    package = destination / "symmol"
    shutil.copytree(repo / "symmol", package, ignore=_IGNORE)
    shutil.copytree(repo / "kernels", package / "kernels", ignore=_IGNORE)
    return package


def lint(staged_root: Path, repo: Path = REPO) -> subprocess.CompletedProcess:
    """Run ``lint-imports`` with ``repo``'s ``pyproject.toml`` on the package staged under ``staged_root``."""
    env = {**os.environ, "PYTHONPATH": str(staged_root)}
    command = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
               "sys.exit(lint_imports_command())", str(repo / "pyproject.toml"), "--no-cache"]
    return subprocess.run(command, cwd=staged_root, env=env, capture_output=True, text=True, check=False)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="symmol-layers-") as tmp:
        stage(Path(tmp))
        result = lint(Path(tmp))
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
