"""Optimisation settings of a training run (stored in ``model.json`` under ``"training"``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from symmol.nn import schedules
from symmol.nn.updates import get_optimizer

__all__ = ["AVERAGING", "BATCH_ORDERS", "LR_SCHEDULES", "PER_STEP_SCHEDULES", "TrainConfig", "noam_schedule"]


def noam_schedule(max_lr: float, epochs: int, steps_per_epoch: int, warmup_epochs: int = 2,
                  factor: float = 10.0) -> schedules.Schedule:
    """Chemprop's Noam-like schedule, stepped per minibatch.

    Linear from ``max_lr / factor`` to ``max_lr`` over ``warmup_epochs`` epochs, then exponential
    decay reaching ``max_lr / factor`` at the last step of ``epochs`` (Chemprop 2's
    ``build_NoamLike_LRSched`` with its defaults init 1e-4, max 1e-3, final 1e-4: ``--lr 1e-3``).
    """
    warmup = max(1, warmup_epochs * steps_per_epoch)
    decay_steps = max(1, epochs * steps_per_epoch - warmup)
    decay = schedules.ExponentialDecay(max_lr, (1.0 / factor) ** (1.0 / decay_steps))
    return schedules.LinearWarmup(max_lr, warmup, start_factor=1.0 / factor, after=decay)


#: ``--lr-schedule`` name → ``(learning_rate, epochs, steps_per_epoch) → Schedule``.
LR_SCHEDULES = {
    "constant": lambda lr, epochs, steps: schedules.Constant(lr),
    "cosine": lambda lr, epochs, steps: schedules.CosineDecay(lr, epochs),
    "exponential": lambda lr, epochs, steps: schedules.ExponentialDecay(lr, 0.95),
    "noam": noam_schedule,
}
#: Schedules stepped after every minibatch (the others after every epoch).
PER_STEP_SCHEDULES = frozenset({"noam"})
#: Weight-averaging modes (:mod:`symmol.training.step`).
AVERAGING = ("none", "ema", "swa")
#: Orders of the training rows in an epoch (``TrainConfig.batch_order``).
BATCH_ORDERS = ("random", "grouped")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Attributes
    ----------
    epochs
        Maximum number of passes over the training set.
    patience
        Stop after this many epochs without improvement of the validation metric and
        restore the best epoch's parameters; ``0`` disables early stopping (exactly
        ``epochs`` epochs, last parameters kept).
    batch_size
        Molecules per optimisation step.
    optimizer
        ``"sgd"``, ``"momentum"``, ``"adam"``, ``"adamw"``, ``"rmsprop"`` or ``"adagrad"``
        (:mod:`symmol.nn.updates`, each matching ``torch.optim``).
    learning_rate
        Initial step size.
    lr_schedule
        ``"constant"``, ``"cosine"`` (to 0 over ``epochs``), ``"exponential"`` (×0.95 per
        epoch) or ``"noam"`` (Chemprop's per-minibatch warm-up then decay, :func:`noam_schedule`,
        with ``learning_rate`` as its peak); the rate lives in a shared variable, so changing it
        never recompiles.
    max_grad_norm
        Clip the global gradient norm to this value (``torch.nn.utils.clip_grad_norm_``);
        ``None``: no clipping.
    weight_decay
        L2 coefficient on weight matrices (``regularizable`` parameters).
    averaging
        ``"none"``, ``"ema"`` (exponential moving average of the weights over steps) or
        ``"swa"`` (uniform average of the weights over the steps from ``swa_start`` on);
        validation, early stopping and the final model use the averaged weights.
    ema_decay
        Decay ``d`` of ``"ema"``, in (0, 1).
    swa_start
        First averaged epoch of ``"swa"``, as a fraction of ``epochs`` in [0, 1): averaging
        starts with the first step of epoch ``floor(swa_start · epochs)`` (0-based).
    bagging
        Train each ensemble member on its own bootstrap resample of the training set
        (row weights = multinomial counts drawn with ``seed + member``).
    seed
        Seed of the minibatch order (and of the bootstrap resamples).
    progress
        Show a progress bar.
    encoder_lr
        Step size of the encoder's parameters when fine-tuning (:mod:`symmol.training.transfer`):
        their updates are scaled by ``encoder_lr / learning_rate``, under any schedule; ``None``
        (default) trains them like the rest.
    batch_order
        ``"random"``: each epoch visits the rows in a new random order. ``"grouped"``: rows that
        share an entity stay together (the groups the model gives,
        :meth:`~symmol.models.base.CompiledModel.batch_groups`: the protein of a drug–target pair),
        the groups in a new random order each epoch and the rows within a group shuffled; a
        minibatch then holds a few entities, which a model that encodes each distinct entity once
        encodes a few times instead of once per pair.
    """

    epochs: int = 40
    patience: int = 8
    batch_size: int = 64
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    max_grad_norm: float | None = None
    weight_decay: float = 3e-4
    averaging: str = "none"
    ema_decay: float = 0.99
    swa_start: float = 0.5
    bagging: bool = False
    seed: int = 0
    progress: bool = True
    encoder_lr: float | None = None
    batch_order: str = "random"

    def __post_init__(self) -> None:
        # plain Python values (numpy scalars from a parameter grid would break model.json)
        for name, low in (("epochs", 1), ("patience", 0), ("batch_size", 1), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            if value < low:
                raise ValueError(f"{name} must be >= {low}, got {value}")
            object.__setattr__(self, name, int(value))
        for name in ("learning_rate", "weight_decay", "ema_decay", "swa_start"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if self.max_grad_norm is not None:
            object.__setattr__(self, "max_grad_norm", float(self.max_grad_norm))
        if self.encoder_lr is not None:
            object.__setattr__(self, "encoder_lr", float(self.encoder_lr))
            if not self.encoder_lr > 0:
                raise ValueError(f"encoder_lr must be > 0, got {self.encoder_lr}")
        object.__setattr__(self, "bagging", bool(self.bagging))
        self._check_choices()
        if not self.learning_rate > 0:
            raise ValueError(f"learning rate must be > 0, got {self.learning_rate}")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be > 0, got {self.max_grad_norm}")
        if not 0 < self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in (0, 1), got {self.ema_decay}")
        if not 0 <= self.swa_start < 1:
            raise ValueError(f"swa_start must be in [0, 1), got {self.swa_start}")

    def _check_choices(self) -> None:
        """Raise ``ValueError`` for a setting outside its closed set (optimizer, schedule, averaging, order)."""
        get_optimizer(self.optimizer)
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}; choose from {sorted(LR_SCHEDULES)}")
        if self.averaging not in AVERAGING:
            raise ValueError(f"unknown averaging {self.averaging!r}; choose from {list(AVERAGING)}")
        if self.batch_order not in BATCH_ORDERS:
            raise ValueError(f"batch_order must be one of {list(BATCH_ORDERS)}, got {self.batch_order!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict (stored in ``model.json`` under ``"training"``)."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, settings: dict[str, Any], **overrides: Any) -> TrainConfig:
        """Build settings from :meth:`to_dict` (keys this version does not know are ignored), then ``overrides``."""
        known = {k: v for k, v in settings.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, **overrides})
