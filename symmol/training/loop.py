"""The training loop: minibatches, epochs, early stopping on a validation metric.

The compiled step (weight averaging, bagging) is :class:`symmol.training.step.TrainStep`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from symmol.compile.heap import retained_heap
from symmol.data.batch import Batch
from symmol.evaluation.metrics import task_metrics
from symmol.models.base import CompiledModel
from symmol.models.registry import architecture_of
from symmol.training.config import TrainConfig
from symmol.training.step import TrainStep, average_rate, bootstrap_weights, swa_first_epoch

__all__ = ["TrainHistory", "epoch_order", "standardise_targets", "train_model", "validation_score"]


@dataclass
class TrainHistory:
    """Per-epoch record: mean training loss, validation score (higher is better) and wall seconds.

    ``epoch_seconds[0]`` counts from the start of :func:`train_model`, so it includes compiling the
    training step (and, with validation data, the prediction function): the wait for a first epoch.
    """

    train_loss: list[float] = field(default_factory=list)
    val_score: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    monitor: str = ""
    #: What a directly fitted kind reports about its fit (:meth:`CompiledModel.fit_directly`); empty otherwise.
    fit_summary: dict = field(default_factory=dict)


def validation_score(task: str, metrics: dict) -> tuple[str, float]:
    """Return the early-stopping score: mean ROC-AUC (classification) or −RMSE (regression)."""
    if task == "classification":
        return "roc_auc", metrics["roc_auc"]
    return "-rmse", -metrics["rmse"]


def standardise_targets(model: CompiledModel, targets: np.ndarray) -> np.ndarray:
    """Targets in the units the network is trained on (z-scores for regression)."""
    if model.task == "regression" and model.spec.target_mean:
        return ((targets - np.asarray(model.spec.target_mean)) / np.asarray(model.spec.target_std)).astype(np.float32)
    return targets.astype(np.float32)


def _check_data(model: CompiledModel, train: Batch, train_y: np.ndarray, val: Batch | None,
                val_y: np.ndarray | None) -> None:
    model.check_batch(train)
    if len(train) == 0:
        raise ValueError("the training set is empty")
    if len(train) != len(train_y):
        raise ValueError(f"{len(train)} training rows but {len(train_y)} target rows")
    if train_y.ndim != 2 or train_y.shape[1] != len(model.targets):
        raise ValueError(f"targets must be (n_rows, {len(model.targets)}), got {train_y.shape}")
    if val is not None:
        shape = None if val_y is None else np.shape(val_y)
        if shape != (len(val), len(model.targets)):
            raise ValueError(f"validation targets must be ({len(val)}, {len(model.targets)}), one row per "
                             f"validation row, got {'None' if shape is None else shape}")


def epoch_order(rng: np.random.Generator, n_rows: int, groups: np.ndarray | None = None) -> np.ndarray:
    """Return one epoch's order of the training rows: a permutation, or the groups' rows together.

    With ``groups`` (``(n_rows,)`` int labels 0..G-1), the groups come in a random order and the
    rows within each group in a random order (``TrainConfig.batch_order == "grouped"``).

    Returns
    -------
    (n_rows,) int64
    """
    order = rng.permutation(n_rows)
    if groups is None:
        return order
    rank = rng.permutation(int(groups.max()) + 1)[groups[order]]
    return order[np.argsort(rank, kind="stable")]


class _Loop:
    """The state of one :func:`train_model` run: the step, the minibatch order, early stopping."""

    def __init__(self, model: CompiledModel, train: Batch, train_y: np.ndarray, config: TrainConfig):
        self.model, self.train, self.config = model, train, config
        self.step = TrainStep(model, config, steps_per_epoch=math.ceil(len(train) / config.batch_size))
        self.y = standardise_targets(model, train_y)
        n_members = len(model.members)
        self.weights = (bootstrap_weights(len(train), n_members, config.seed) if config.bagging
                        else np.ones((len(train), n_members), dtype=np.float32))
        self.rng = np.random.default_rng(config.seed)
        self.groups: np.ndarray | None = None
        if config.batch_order == "grouped":
            self.groups = model.batch_groups(train)
            if self.groups is None:
                raise ValueError(f"batch_order 'grouped': a {architecture_of(model).name} model has no entity to "
                                 "group its rows by (pair models group by their protein or cell line)")
        self.global_step = self.n_averaged = 0
        self.best_score, self.waited = -math.inf, 0
        #: Parameter values of the best validation epoch so far (None before the first improvement).
        self.best_values: dict[str, np.ndarray] | None = None

    def order(self) -> np.ndarray:
        """Return this epoch's row order (:func:`epoch_order`)."""
        return epoch_order(self.rng, len(self.train), self.groups)

    def epoch(self, epoch: int) -> float:
        """One pass over the shuffled training set; the mean loss."""
        config, step = self.config, self.step
        order = self.order()
        rows, y, w = self.train.take(order), self.y[order], self.weights[order]
        losses, sizes = [], []
        for start in range(0, len(order), config.batch_size):
            stop = min(start + config.batch_size, len(order))
            if step.averages:
                step.average_rate.set_value(np.float32(average_rate(config, epoch, self.global_step,
                                                                    self.n_averaged)))
                self.n_averaged += config.averaging == "swa" and epoch >= swa_first_epoch(config)
            losses.append(step(self.model.batch_arrays(rows.slice(start, stop)), y[start:stop], w[start:stop]))
            sizes.append(stop - start)
            self.global_step += 1
            if step.schedule_per_step:
                step.schedule.step()
        if not step.schedule_per_step:
            step.schedule.step()
        loss = float(np.average(losses, weights=sizes))
        if not math.isfinite(loss):
            raise RuntimeError(f"training diverged at epoch {epoch + 1} (loss {loss}); lower the learning rate")
        return loss

    def validate(self, epoch: int, val: Batch, val_y: np.ndarray, history: TrainHistory) -> float:
        """Score the (averaged) weights on the validation set; keep the best epoch's weights."""
        saved = self.step.swap_in_averages()
        metrics = task_metrics(self.model.task, val_y, self.model.predict_batch(val), self.model.targets)
        history.monitor, score = validation_score(self.model.task, metrics)
        history.val_score.append(score)
        if math.isfinite(score):  # undefined (e.g. one class in every validation task): no signal either way
            if score > self.best_score:
                self.best_score, self.best_values, self.waited = score, self.model.get_param_values(), 0
                history.best_epoch = epoch
            else:
                self.waited += 1
        self.step.restore(saved)
        return score


def _fit_directly(model: CompiledModel, train: Batch, train_y: np.ndarray, val: Batch | None,
                  val_y: np.ndarray | None, config: TrainConfig, started: float) -> TrainHistory:
    """Fit a kind with its own procedure (:attr:`CompiledModel.FITS_DIRECTLY`): one "epoch", no loss curve.

    The history's ``train_loss`` is NaN (there is no minibatch loss); the validation score is recorded.
    """
    history = TrainHistory(train_loss=[math.nan], best_epoch=0)
    history.fit_summary = model.fit_directly(train, standardise_targets(model, train_y))
    if val is not None and val_y is not None:
        metrics = task_metrics(model.task, val_y, model.predict_batch(val), model.targets)
        history.monitor, score = validation_score(model.task, metrics)
        history.val_score.append(score)
    history.epoch_seconds.append(time.perf_counter() - started)
    model.train_config = config.to_dict()
    return history


def train_model(model: CompiledModel, train: Batch, train_y: np.ndarray, val: Batch | None = None,
                val_y: np.ndarray | None = None, config: TrainConfig = TrainConfig(),
                on_validation: Callable[[int, float], None] | None = None) -> TrainHistory:
    """Train ``model`` in place with one compiled step function (or its own fit, see below).

    A kind with :attr:`~symmol.models.base.CompiledModel.FITS_DIRECTLY` (a Gaussian process) is
    fitted by :meth:`~symmol.models.base.CompiledModel.fit_directly` instead; ``config``'s
    optimisation settings do not apply to it.

    Parameters
    ----------
    model
        Any :class:`~symmol.models.base.CompiledModel`.
    train, val
        Batches of the training / validation rows, as ``model.featurize`` gives them.
    train_y, val_y
        ``(n_rows, n_targets)`` float targets in original units; NaN = missing label.
    config
        Optimisation settings. Without validation data, early stopping is off.
    on_validation
        Called with ``(epoch, score)`` after each validation (0-based epoch; the score of
        :func:`validation_score`, higher is better); it may raise to stop training, e.g. a
        hyperparameter search pruning the trial.

    Returns
    -------
    TrainHistory

    Raises
    ------
    ValueError
        For an empty training set or targets that do not fit the batches or the model.
    RuntimeError
        If the loss diverges.
    """
    started = time.perf_counter()
    if val is not None and len(val) == 0:
        val = None
    _check_data(model, train, train_y, val, val_y)
    if model.FITS_DIRECTLY:
        history = _fit_directly(model, train, train_y, val, val_y, config, started)
        if on_validation is not None and history.val_score:
            on_validation(0, history.val_score[0])
        return history
    model.fit_preprocessing(train)
    loop = _Loop(model, train, train_y, config)
    history = TrainHistory()
    early_stopping = config.patience > 0 and val is not None
    bar = tqdm(range(config.epochs), desc="train", unit="epoch", disable=not config.progress, leave=False)
    for epoch in bar:
        with retained_heap():  # the steps' large arrays stay mapped between steps
            history.train_loss.append(loop.epoch(epoch))
        postfix = {"loss": f"{history.train_loss[-1]:.4f}"}
        if val is not None:
            score = loop.validate(epoch, val, val_y, history)  # type: ignore[arg-type]
            postfix[f"val_{history.monitor}"] = f"{score:.4f}"
            if on_validation is not None:
                on_validation(epoch, score)
        now = time.perf_counter()
        history.epoch_seconds.append(now - started)
        started = now
        bar.set_postfix(postfix)
        if early_stopping and loop.waited >= config.patience:
            break
    if early_stopping and loop.best_values is not None:
        model.set_param_values(loop.best_values)
    else:
        loop.step.swap_in_averages()
        history.best_epoch = len(history.train_loss) - 1
    model.train_config = config.to_dict()
    return history
