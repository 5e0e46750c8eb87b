"""Screening: score compound libraries with trained models, streaming, in parallel, resumably.

:mod:`~symmol.screen.scoring` turns one chunk into result rows, :mod:`~symmol.screen.filters`
adds RDKit medicinal-chemistry filters, :mod:`~symmol.screen.worker` is what runs on workers
and :mod:`~symmol.screen.run` coordinates chunks, resume state and output files.
"""

from symmol.screen.run import ScreenSummary, output_format, screen_library, top_path
from symmol.screen.scoring import ScreenScorer, score_chunk

__all__ = ["ScreenScorer", "ScreenSummary", "output_format", "score_chunk", "screen_library",
           "top_path"]
