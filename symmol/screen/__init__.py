"""Screening: score compound libraries with trained models, streaming, in parallel, resumably.

:mod:`~symmol.screen.scoring` turns one chunk into result rows (reading the inputs each model
declares), :mod:`~symmol.screen.filters` adds RDKit medicinal-chemistry filters,
:mod:`~symmol.screen.worker` is what runs on workers, :mod:`~symmol.screen.executors` where,
:mod:`~symmol.screen.state` keeps the resumable state and :mod:`~symmol.screen.coordinator` runs it all.
"""

from symmol.screen.coordinator import ScreenSummary, output_format, screen_library, top_path
from symmol.screen.scoring import ScreenScorer, score_chunk

__all__ = ["ScreenScorer", "ScreenSummary", "output_format", "score_chunk", "screen_library", "top_path"]
