"""Provenance of the files symmol writes: library versions, streamed checksums, atomic writes.

Model directories (:mod:`symmol.models.store`), fingerprint indexes (:mod:`symmol.similarity.index`)
and screening state (:mod:`symmol.screen.state`) record what wrote them and replace files
atomically, so that a reader never sees a half-written file and a changed file is detected.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path

from symmol._version import __version__

__all__ = ["atomic_write_bytes", "atomic_write_json", "sha256_file", "versions"]

#: Distributions whose versions decide what a saved file contains.
RECORDED_PACKAGES = ("rdkit", "numpy", "numba", "pytensor")
_BLOCK = 1 << 22


def versions(packages: tuple[str, ...] = RECORDED_PACKAGES) -> dict[str, str]:
    """``{"symmol": …, <package>: …, "python": …}`` for the installed ``packages``.

    A package that is not installed is recorded as ``"not installed"``.
    """
    found = {"symmol": __version__}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["python"] = platform.python_version()
    return found


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 4 MiB blocks (memory does not grow with the file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: str | Path, data: bytes, durable: bool = True) -> None:
    """Replace ``path`` by ``data`` atomically: a reader sees the old file or the new one, never a part.

    Parameters
    ----------
    path
        The file to write; its directory must exist.
    data
        The new contents.
    durable
        ``fsync`` the data before the rename, so the new file survives a power loss once this returns.

    Raises
    ------
    OSError
        If the temporary file cannot be written or renamed (disk full, permission denied); the
        original file is then unchanged and the temporary file removed.
    """
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, document: object, durable: bool = True) -> None:
    """:func:`atomic_write_bytes` of ``document`` as indented JSON with a final newline."""
    atomic_write_bytes(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"), durable)
