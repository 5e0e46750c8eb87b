"""The training loop: minibatches, epochs, early stopping on a validation metric.

Besides the plain loop, two variance-reduction devices are built into the compiled step:

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytensor
import pytensor.tensor as pt
from tqdm.auto import tqdm

from symmol.compile import _compile, compile_train_step
from symmol.metrics import task_metrics
from symmol.models.base import CompiledModel
from symmol.nn import schedules
from symmol.nn.layers import get_all_params, get_output, get_state_updates
from symmol.nn.objectives import l2_penalty, masked_binary_crossentropy_from_logits, masked_squared_error
from symmol.nn.updates import DECOUPLED_WEIGHT_DECAY, get_optimizer, total_norm_constraint

LR_SCHEDULES = {
    "constant": lambda lr, epochs: schedules.Constant(lr),
    "cosine": lambda lr, epochs: schedules.CosineDecay(lr, epochs),
    "exponential": lambda lr, epochs: schedules.ExponentialDecay(lr, 0.95),
}
#: Weight-averaging modes (see the module docstring).
AVERAGING = ("none", "ema", "swa")


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
        object.__setattr__(self, "bagging", bool(self.bagging))
        if not self.learning_rate > 0:
            raise ValueError(f"learning rate must be > 0, got {self.learning_rate}")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        get_optimizer(self.optimizer)
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}; choose from {sorted(LR_SCHEDULES)}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"max_grad_norm must be > 0, got {self.max_grad_norm}")
        if self.averaging not in AVERAGING:
            raise ValueError(f"unknown averaging {self.averaging!r}; choose from {list(AVERAGING)}")
        if not 0 < self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in (0, 1), got {self.ema_decay}")
        if not 0 <= self.swa_start < 1:
            raise ValueError(f"swa_start must be in [0, 1), got {self.swa_start}")

    def to_dict(self) -> dict:
        """The settings as a JSON-ready dict (stored in ``model.json`` under ``"training"``)."""
        return dict(self.__dict__)


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


def weighted_masked_loss(task: str, outputs, targets, row_weights):
    """Mean per-label loss over observed labels, each row counted ``row_weights`` times.

    Parameters
    ----------
    task
        ``"classification"`` (binary cross-entropy from logits) or ``"regression"`` (squared error).
    outputs, targets
        ``(n_rows, n_tasks)`` symbolic; NaN targets are missing and contribute nothing.
    row_weights
        ``(n_rows,)`` symbolic non-negative weights (bootstrap counts; all ones = the plain
        masked mean of :mod:`symmol.nn.objectives`).

    Returns
    -------
    Scalar ``Σ w_i m_ij ℓ_ij / max(Σ w_i m_ij, 1)``.
    """
    observed = pt.invert(pt.isnan(targets))
    y = pt.switch(observed, targets, np.float32(0.0))
    if task == "classification":
        per_label = pt.softplus(outputs) - y * outputs
    else:
        per_label = pt.sqr(outputs - y)
    weight = observed.astype("float32") * row_weights[:, None]
    return pt.sum(per_label * weight) / pt.maximum(pt.sum(weight), np.float32(1.0))


class TrainStep:
    """One compiled optimisation step of a (possibly ensemble) model.

    Without bagging and averaging this is :func:`symmol.compile.compile_train_step`'s graph
    (``row_weights`` is then ignored: all ones). Otherwise,
    calling ``step(arrays, targets, row_weights)``, with ``arrays = model.batch_arrays(batch)``
    (``indptr, indices, values`` of a fingerprint batch), runs dropout-on forward
    and backward passes, applies the optimizer's updates to every member and, when
    ``averaging`` is on, updates the averaged copies ``p̄ ← p̄ + α (p_new − p̄)`` with the
    rate in :attr:`average_rate`; it returns the members' mean loss. ``row_weights`` is
    ``(n_rows, n_members)`` float32 (member ``m``'s weight of each row).

    Parameters
    ----------
    model
        The network; its members are stepped together (objective = sum of member losses).
    config
        Optimizer, learning-rate schedule, weight decay, clipping and averaging settings.
    """

    def __init__(self, model: CompiledModel, config: TrainConfig):
        members = model.members
        self.schedule = LR_SCHEDULES[config.lr_schedule](config.learning_rate, config.epochs)
        #: Shared averaged copy of each trainable parameter (empty without averaging).
        self.averages: dict = {}
        self.average_rate = pytensor.shared(np.float32(1.0), name="average_rate")
        self.weighted = config.bagging or config.averaging != "none"
        if not self.weighted:  # the standard graph of symmol.compile (warm_cache, fused steps)
            loss_fn = (masked_binary_crossentropy_from_logits if model.task == "classification"
                       else masked_squared_error)
            self.function = compile_train_step(members, loss_fn, get_optimizer(config.optimizer),
                                               self.schedule.learning_rate, backend=model.backend,
                                               weight_decay=config.weight_decay,
                                               max_grad_norm=config.max_grad_norm, inputs=model.input_vars())
            return
        targets = pt.matrix("targets", dtype="float32")
        row_weights = pt.matrix("row_weights", dtype="float32")
        losses = [weighted_masked_loss(model.task, get_output(member, deterministic=False), targets,
                                       row_weights[:, m]) for m, member in enumerate(members)]
        objective = pt.add(*losses) if len(losses) > 1 else losses[0]
        params = [p for member in members for p in get_all_params(member, trainable=True)]
        decayed = [p for member in members for p in get_all_params(member, regularizable=True)]
        optimizer = get_optimizer(config.optimizer)
        kwargs: dict = {}
        if optimizer in DECOUPLED_WEIGHT_DECAY:
            kwargs = {"weight_decay": config.weight_decay, "decayed": decayed}
        elif config.weight_decay:
            objective = objective + np.float32(config.weight_decay / 2) * l2_penalty(decayed)
        gradients = pytensor.gradient.grad(objective, params)
        if config.max_grad_norm is not None:
            gradients = total_norm_constraint(gradients, config.max_grad_norm)
        updates = optimizer(gradients, params, self.schedule.learning_rate, **kwargs)
        if config.averaging != "none":
            for p in params:
                average = pytensor.shared(p.get_value(borrow=False), name=f"{p.name}.average")
                updates[average] = average + pt.cast(self.average_rate, p.dtype) * (updates[p] - average)
                self.averages[p] = average
        for member in members:
            updates.update(get_state_updates(member))  # dropout RNG
        self.function = _compile([*model.input_vars(), targets, row_weights],
                                 pt.add(*losses) / np.float32(len(losses)) if len(losses) > 1 else losses[0],
                                 model.backend, "cpu", "train_step", updates)

    def __call__(self, arrays: tuple, targets: np.ndarray, row_weights: np.ndarray) -> float:
        if not self.weighted:  # all weights are 1: the unweighted graph
            return float(self.function(*arrays, targets))
        return float(self.function(*arrays, targets, row_weights))

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
    def restore(saved: dict | None) -> None:
        """Undo :meth:`swap_in_averages`."""
        for param, value in (saved or {}).items():
            param.set_value(value)


def average_rate(config: TrainConfig, epoch: int, step: int, n_averaged: int) -> float:
    """The averaging rate ``α`` of global step ``step`` (0-based) in epoch ``epoch``.

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
    """``(n_rows, n_members)`` float32 bootstrap counts: member ``m`` draws ``n_rows`` rows
    with replacement using ``numpy.random.default_rng(seed + m)``."""
    weights = np.empty((n_rows, n_members), dtype=np.float32)
    for m in range(n_members):
        draws = np.random.default_rng(seed + m).integers(0, n_rows, n_rows)
        weights[:, m] = np.bincount(draws, minlength=n_rows)
    return weights


def standardise_targets(model: CompiledModel, targets: np.ndarray) -> np.ndarray:
    """Targets in the units the network is trained on (z-scores for regression)."""
    if model.task == "regression" and model.spec.target_mean:
        return ((targets - np.asarray(model.spec.target_mean)) / np.asarray(model.spec.target_std)).astype(np.float32)
    return targets.astype(np.float32)


def train_model(model: CompiledModel, train_fp, train_y: np.ndarray, val_fp=None, val_y: np.ndarray | None = None,
                config: TrainConfig = TrainConfig()) -> TrainHistory:
    """Train ``model`` in place with one compiled step function.

    Parameters
    ----------
    model
        A :class:`~symmol.models.mlp.FingerprintMLP` or :class:`~symmol.models.graph.GraphModel`.
    train_fp, val_fp
        Features of the training / validation molecules: a
        :class:`~symmol.fingerprints.FingerprintBatch` for an MLP, a
        :class:`~symmol.chem.graph.MolGraphBatch` for a graph network.
    train_y, val_y
        ``(n_rows, n_targets)`` float targets in original units; NaN = missing label.
    config
        Optimisation settings. Without validation data, early stopping is off.

    Returns
    -------
    TrainHistory
    """
    model.check_features(train_fp)
    if len(train_fp) == 0:
        raise ValueError("the training set is empty")
    if len(train_fp) != len(train_y):
        raise ValueError(f"{len(train_fp)} training molecules but {len(train_y)} target rows")
    if train_y.ndim != 2 or train_y.shape[1] != len(model.targets):
        raise ValueError(f"targets must be (n_rows, {len(model.targets)}), got {train_y.shape}")
    if val_fp is not None and len(val_fp):
        shape = None if val_y is None else np.shape(val_y)
        if shape != (len(val_fp), len(model.targets)):
            raise ValueError(f"validation targets must be ({len(val_fp)}, {len(model.targets)}), one row per "
                             f"validation molecule, got {'None' if shape is None else shape}")
    step = TrainStep(model, config)
    y_train = standardise_targets(model, train_y)
    n_members = len(model.members)
    weights = (bootstrap_weights(len(train_fp), n_members, config.seed) if config.bagging
               else np.ones((len(train_fp), n_members), dtype=np.float32))
    rng = np.random.default_rng(config.seed)
    history = TrainHistory()
    early_stopping = config.patience > 0 and val_fp is not None and len(val_fp) > 0
    best_score, best_values, waited = -math.inf, None, 0
    global_step, n_averaged = 0, 0
    bar = tqdm(range(config.epochs), desc="train", unit="epoch", disable=not config.progress, leave=False)
    for epoch in bar:
        order = rng.permutation(len(train_fp))
        epoch_fp, epoch_y, epoch_w = train_fp.take(order), y_train[order], weights[order]
        losses, sizes = [], []
        for start in range(0, len(order), config.batch_size):
            stop = min(start + config.batch_size, len(order))
            batch = epoch_fp.slice(start, stop)
            if step.averages:
                step.average_rate.set_value(np.float32(average_rate(config, epoch, global_step, n_averaged)))
                n_averaged += config.averaging == "swa" and epoch >= swa_first_epoch(config)
            losses.append(step(model.batch_arrays(batch), epoch_y[start:stop], epoch_w[start:stop]))
            sizes.append(stop - start)
            global_step += 1
        history.train_loss.append(float(np.average(losses, weights=sizes)))
        step.schedule.step()
        if not math.isfinite(history.train_loss[-1]):
            raise RuntimeError(f"training diverged at epoch {epoch + 1} (loss {history.train_loss[-1]}); "
                               "lower the learning rate")
        postfix = {"loss": f"{history.train_loss[-1]:.4f}"}
        if val_fp is not None and len(val_fp) > 0:
            saved = step.swap_in_averages()
            metrics = task_metrics(model.task, val_y, model.predict_features(val_fp), model.targets)
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
            step.restore(saved)
        bar.set_postfix(postfix)
        if early_stopping and waited >= config.patience:
            break
    if early_stopping and best_values is not None:
        model.set_param_values(best_values)
    else:
        step.swap_in_averages()
        history.best_epoch = len(history.train_loss) - 1
    model.train_config = config.to_dict()
    return history
