"""The training loop: minibatches, epochs, early stopping on a validation metric."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from symmol.compile import compile_train_step
from symmol.fingerprints import FingerprintBatch
from symmol.metrics import task_metrics
from symmol.models.mlp import FingerprintMLP
from symmol.nn import schedules
from symmol.nn.objectives import masked_binary_crossentropy_from_logits, masked_squared_error
from symmol.nn.updates import get_optimizer

LR_SCHEDULES = {
    "constant": lambda lr, epochs: schedules.Constant(lr),
    "cosine": lambda lr, epochs: schedules.CosineDecay(lr, epochs),
    "exponential": lambda lr, epochs: schedules.ExponentialDecay(lr, 0.95),
}


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
        ``"constant"``, ``"cosine"`` (to 0 over ``epochs``) or ``"exponential"`` (×0.95 per
        epoch); the rate lives in a shared variable, so changing it never recompiles.
    max_grad_norm
        Clip the global gradient norm to this value (``torch.nn.utils.clip_grad_norm_``);
        ``None``: no clipping.
    weight_decay
        L2 coefficient on weight matrices (``regularizable`` parameters).
    seed
        Seed of the minibatch order.
    progress
        Show a progress bar.
    """

    epochs: int = 40
    patience: int = 8
    batch_size: int = 64
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    max_grad_norm: float | None = None
    weight_decay: float = 3e-4
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.patience < 0:
            raise ValueError(f"patience must be >= 0, got {self.patience}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning rate must be > 0, got {self.learning_rate}")
        get_optimizer(self.optimizer)
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}; choose from {sorted(LR_SCHEDULES)}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be > 0, got {self.max_grad_norm}")


@dataclass
class TrainHistory:
    """Per-epoch record: mean training loss and validation score (higher is better)."""

    train_loss: list[float] = field(default_factory=list)
    val_score: list[float] = field(default_factory=list)
    best_epoch: int = -1
    monitor: str = ""


def validation_score(task: str, metrics: dict) -> tuple[str, float]:
    """The early-stopping score: mean ROC-AUC (classification) or −RMSE (regression)."""
    if task == "classification":
        return "roc_auc", metrics["roc_auc"]
    return "-rmse", -metrics["rmse"]


def _loss_fn(task: str):
    return masked_binary_crossentropy_from_logits if task == "classification" else masked_squared_error


def standardise_targets(model: FingerprintMLP, targets: np.ndarray) -> np.ndarray:
    """Targets in the units the network is trained on (z-scores for regression)."""
    if model.task == "regression" and model.spec.target_mean:
        return ((targets - np.asarray(model.spec.target_mean)) / np.asarray(model.spec.target_std)).astype(np.float32)
    return targets.astype(np.float32)


def train_model(model: FingerprintMLP, train_fp: FingerprintBatch, train_y: np.ndarray,
                val_fp: FingerprintBatch | None = None, val_y: np.ndarray | None = None,
                config: TrainConfig = TrainConfig()) -> TrainHistory:
    """Train ``model`` in place with one compiled step function.

    Parameters
    ----------
    train_fp, val_fp
        Fingerprints of the training / validation molecules.
    train_y, val_y
        ``(n_rows, n_targets)`` float targets in original units; NaN = missing label.
    config
        Optimisation settings. Without validation data, early stopping is off.

    Returns
    -------
    TrainHistory
    """
    if len(train_fp) == 0:
        raise ValueError("the training set is empty")
    if len(train_fp) != len(train_y):
        raise ValueError(f"{len(train_fp)} training fingerprints but {len(train_y)} target rows")
    if train_y.ndim != 2 or train_y.shape[1] != len(model.targets):
        raise ValueError(f"targets must be (n_rows, {len(model.targets)}), got {train_y.shape}")
    schedule = LR_SCHEDULES[config.lr_schedule](config.learning_rate, config.epochs)
    step = compile_train_step(model.members, _loss_fn(model.task), get_optimizer(config.optimizer),
                              schedule.learning_rate, backend=model.backend, weight_decay=config.weight_decay,
                              max_grad_norm=config.max_grad_norm)
    y_train = standardise_targets(model, train_y)
    rng = np.random.default_rng(config.seed)
    history = TrainHistory()
    early_stopping = config.patience > 0 and val_fp is not None and len(val_fp) > 0
    best_score, best_values, waited = -math.inf, None, 0
    bar = tqdm(range(config.epochs), desc="train", unit="epoch", disable=not config.progress, leave=False)
    for epoch in bar:
        order = rng.permutation(len(train_fp))
        epoch_fp, epoch_y = train_fp.take(order), y_train[order]
        losses, weights = [], []
        for start in range(0, len(order), config.batch_size):
            stop = min(start + config.batch_size, len(order))
            batch = epoch_fp.slice(start, stop)
            losses.append(float(step(batch.indptr, batch.indices, batch.values, epoch_y[start:stop])))
            weights.append(stop - start)
        history.train_loss.append(float(np.average(losses, weights=weights)))
        schedule.step()
        if not math.isfinite(history.train_loss[-1]):
            raise RuntimeError(f"training diverged at epoch {epoch + 1} (loss {history.train_loss[-1]}); "
                               "lower the learning rate")
        postfix = {"loss": f"{history.train_loss[-1]:.4f}"}
        if val_fp is not None and len(val_fp) > 0:
            metrics = task_metrics(model.task, val_y, model.predict_fingerprints(val_fp), model.targets)
            history.monitor, score = validation_score(model.task, metrics)
            history.val_score.append(score)
            postfix[f"val_{history.monitor}"] = f"{score:.4f}"
            if not math.isfinite(score):
                pass  # undefined (e.g. one class in every validation task): not a signal either way
            elif score > best_score:
                best_score, best_values, waited = score, model.get_param_values(), 0
                history.best_epoch = epoch
            else:
                waited += 1
        bar.set_postfix(postfix)
        if early_stopping and waited >= config.patience:
            break
    if early_stopping and best_values is not None:
        model.set_param_values(best_values)
    else:
        history.best_epoch = len(history.train_loss) - 1
    return history
