"""Entry-point discovery shared by the featurizer and model registries.

Kinds defined outside the package register through entry points (``symmol.featurizers``,
``symmol.models``), so spawned worker processes and Dask workers find them too.
"""

from __future__ import annotations

import sys
from importlib import metadata

__all__ = ["EntryPointScanner"]


class EntryPointScanner:
    """The entry points of one group not seen before, scanned only when they may have changed.

    The installed distributions are scanned again when ``sys.path`` changed since the last scan, or
    on request (a registry's lookup of an unknown name), so a plug-in installed while Python runs is
    found too; otherwise a scan is skipped (it reads every distribution's metadata: ~7 ms).

    Parameters
    ----------
    group
        Entry-point group, e.g. ``"symmol.featurizers"``.
    """

    def __init__(self, group: str):
        self.group = group
        self._seen: set[tuple[str, str]] = set()
        self._scanned_path: tuple[str, ...] | None = None

    def new_entry_points(self, rescan: bool = False) -> list[metadata.EntryPoint]:
        """Return the entry points of the group that earlier calls did not return."""
        path = tuple(sys.path)
        if path == self._scanned_path and not rescan:
            return []
        self._scanned_path = path
        fresh = [entry for entry in metadata.entry_points(group=self.group)
                 if (entry.name, entry.value) not in self._seen]
        self._seen.update((entry.name, entry.value) for entry in fresh)
        return fresh
