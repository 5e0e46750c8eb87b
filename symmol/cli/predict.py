"""``symmol predict``: predictions for a molecule file (one output row per input row)."""

from __future__ import annotations

from functools import partial

from symmol.cli import screen

HELP = "predict target values for molecules (.csv/.smi/.sdf[.gz]) with a trained model"

add_arguments = partial(screen.add_arguments, with_top=False, default_jobs=1)
run = screen.run
