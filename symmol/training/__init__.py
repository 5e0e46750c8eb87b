"""Training: settings, the compiled step, the loop and compiling ahead of time.

Settings (:mod:`~symmol.training.config`), the compiled step with weight averaging and bagging
(:mod:`~symmol.training.step`), the loop with early stopping (:mod:`~symmol.training.loop`) and
compiling ahead of time (:mod:`~symmol.training.warm_cache`).
"""

from symmol.training.config import TrainConfig
from symmol.training.loop import TrainHistory, train_model

__all__ = ["TrainConfig", "TrainHistory", "train_model"]
