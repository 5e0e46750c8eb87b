"""``symmol predict``: predictions for a molecule file (one output row per input row)."""

from __future__ import annotations

from functools import partial

from symmol.cli import screen

__all__ = ["add_arguments", "run"]


#: ``symmol screen``'s arguments without ``--top``, one job by default.
add_arguments = partial(screen.add_arguments, with_top=False, default_jobs=1)
#: Same as ``symmol screen``.
run = screen.run
