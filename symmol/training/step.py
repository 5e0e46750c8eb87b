"""One compiled training step of a model, with two variance-reduction devices built in.

* **Weight averaging** (``TrainConfig.averaging``): every trainable parameter ``p`` gets a
  shared copy ``p̄`` updated inside the compiled step after the optimizer's update,
  ``p̄ ← p̄ + α_t (p − p̄)``, with ``α_t`` a shared scalar set by the loop before each step.
  ``"ema"``: ``α_t = 1 − min(d, (1 + t)/(10 + t))`` (Polyak averaging with
  TensorFlow's ``ExponentialMovingAverage(num_updates=t)`` warm-up); ``"swa"``: ``α_t = 1``
  before ``swa_start`` (``p̄`` follows ``p``), then ``1/(k + 1)`` for the ``k``-th averaged
  step, the uniform average of the iterates (Izmailov et al., UAI 2018, arXiv:1803.05407;
  Polyak & Juditsky, SIAM J. Control Optim. 1992). Validation, early stopping and the saved
  model use ``p̄``.
* **Bagging** (``TrainConfig.bagging``): ensemble member ``m`` sees each training row with the
  weight it has in its own bootstrap resample (multinomial counts, Breiman 1996), so members
  differ in their data as a random forest's trees do, while all of them still run as parallel
  branches of one compiled step on the same minibatches.

Both go through the public step builder (:func:`symmol.compile.compile_train_step`: its
``row_weights`` and ``update_hook``); without them the step is exactly that builder's standard graph.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt

from symmol.compile import compile_train_step
from symmol.models.base import CompiledModel
from symmol.nn.updates import get_optimizer
from symmol.training.config import LR_SCHEDULES, PER_STEP_SCHEDULES, TrainConfig
from symmol.training.transfer import encoder_parameter_names

__all__ = ["TrainStep", "average_rate", "bootstrap_weights", "swa_first_epoch"]


class TrainStep:
    """One compiled optimisation step of a (possibly ensemble) model.

    ``step(arrays, targets, row_weights)``, with ``arrays = model.batch_arrays(batch)``, runs
    dropout-on forward and backward passes, applies the optimizer's updates to every member
    and, when ``averaging`` is on, updates the averaged copies with the rate in
    :attr:`average_rate`; it returns the members' mean loss. ``row_weights`` is
    ``(n_rows, n_members)`` float32 (member ``m``'s weight of each row), read with bagging only.

    Parameters
    ----------
    model
        The network; its members are stepped together (objective = sum of member losses).
    config
        Optimizer, learning-rate schedule, weight decay, clipping, averaging and bagging settings.
    steps_per_epoch
        Minibatches per epoch (schedules stepped per minibatch need it).
    """

    def __init__(self, model: CompiledModel, config: TrainConfig, steps_per_epoch: int = 1):
        self.schedule = LR_SCHEDULES[config.lr_schedule](config.learning_rate, config.epochs, steps_per_epoch)
        #: Whether the schedule advances per minibatch (else per epoch).
        self.schedule_per_step = config.lr_schedule in PER_STEP_SCHEDULES
        #: Shared averaged copy of each trainable parameter (empty without averaging).
        self.averages: dict = {}
        self.average_rate = pytensor.shared(np.float32(1.0), name="average_rate")
        self.weighted = config.bagging
        #: Update scale of each encoder parameter (``encoder_lr / learning_rate``), by name; empty without.
        self.encoder_scale: dict[str, float] = {}
        if config.encoder_lr is not None:
            scale = config.encoder_lr / config.learning_rate
            self.encoder_scale = {name: scale for name in encoder_parameter_names(model)}
        self.averaging = config.averaging != "none"
        self.function = compile_train_step(
            model.members, model.loss_function(), get_optimizer(config.optimizer), self.schedule.learning_rate,
            backend=model.backend, weight_decay=config.weight_decay, max_grad_norm=config.max_grad_norm,
            input_layers=model.input_layers, row_weights=self.weighted,
            update_hook=self._hook if (self.averaging or self.encoder_scale) else None)

    def _hook(self, updates: dict, params: list) -> None:
        """Scale the encoder's steps (``encoder_lr``), then update the weight averages."""
        for p in params:
            scale = self.encoder_scale.get(str(p.name))
            if scale is not None:
                updates[p] = p + pt.cast(scale, p.dtype) * (updates[p] - p)
        if self.averaging:
            self._average(updates, params)

    def _average(self, updates: dict, params: list) -> None:
        """Add ``p̄ ← p̄ + α (p_new − p̄)`` for every trainable parameter to the step's updates."""
        for p in params:
            average = pytensor.shared(p.get_value(borrow=False), name=f"{p.name}.average")
            updates[average] = average + pt.cast(self.average_rate, p.dtype) * (updates[p] - average)
            self.averages[p] = average

    def __call__(self, arrays: tuple, targets: np.ndarray, row_weights: np.ndarray) -> float:
        """Step every member once on a minibatch; return the members' mean training loss.

        ``arrays`` are the model's input arrays (:meth:`~symmol.models.base.CompiledModel.batch_arrays`),
        ``targets`` the ``(n_rows, n_targets)`` float32 labels; ``row_weights`` (bootstrap counts,
        :func:`bootstrap_weights`) are passed only with bagging.
        """
        if self.weighted:
            return float(self.function(*arrays, targets, row_weights))
        return float(self.function(*arrays, targets))

    def swap_in_averages(self) -> dict | None:
        """Put the averaged weights into the model; returns the current weights to restore, or None."""
        if not self.averages:
            return None
        current = {}
        for param, average in self.averages.items():
            current[param] = param.get_value(borrow=False)
            param.set_value(average.get_value(borrow=False))
        return current

    @staticmethod
    def restore(saved: dict[Any, np.ndarray] | None) -> None:
        """Undo :meth:`swap_in_averages`."""
        for param, value in (saved or {}).items():
            param.set_value(value)


def average_rate(config: TrainConfig, epoch: int, step: int, n_averaged: int) -> float:
    """Return the averaging rate ``α`` of global step ``step`` (0-based) in epoch ``epoch``.

    ``n_averaged`` is the number of steps already in the SWA average.
    """
    if config.averaging == "ema":
        return 1.0 - min(config.ema_decay, (1.0 + step) / (10.0 + step))
    if config.averaging == "swa" and epoch >= swa_first_epoch(config):
        return 1.0 / (n_averaged + 1)
    return 1.0


def swa_first_epoch(config: TrainConfig) -> int:
    """0-based epoch whose first step starts the SWA average: ``floor(swa_start · epochs)``."""
    return int(math.floor(config.swa_start * config.epochs))


def bootstrap_weights(n_rows: int, n_members: int, seed: int) -> np.ndarray:
    """Draw ``(n_rows, n_members)`` float32 bootstrap counts.

    Member ``m`` draws ``n_rows`` rows with replacement using ``numpy.random.default_rng(seed + m)``.
    """
    weights = np.empty((n_rows, n_members), dtype=np.float32)
    for m in range(n_members):
        draws = np.random.default_rng(seed + m).integers(0, n_rows, n_rows)
        weights[:, m] = np.bincount(draws, minlength=n_rows)
    return weights
