"""Learning-rate schedules held in a shared variable: change the rate without recompiling.

A schedule owns a shared scalar :attr:`Schedule.learning_rate`; pass it to an update rule of
:mod:`symmol.nn.updates` as ``learning_rate`` and call :meth:`Schedule.step` from the
training loop (once per epoch or per minibatch, as ``torch.optim.lr_scheduler``). The
compiled function reads the shared value at every call.

Closed forms, with ``t`` the number of :meth:`~Schedule.step` calls so far and ``lr₀`` the
base rate; each matches the ``torch.optim.lr_scheduler`` class named:

=====================  ===========================================  ===================
schedule               ``lr(t)``                                    torch
=====================  ===========================================  ===================
:class:`StepDecay`     ``lr₀ · γ^⌊t / step_size⌋``                    ``StepLR``
:class:`ExponentialDecay`  ``lr₀ · γ^t``                                ``ExponentialLR``
:class:`CosineDecay`   ``η + (lr₀ − η)(1 + cos(π·min(t, T)/T))/2``      ``CosineAnnealingLR``
:class:`LinearWarmup`  ``lr₀ · (f + (1 − f)·min(t, W)/W)``             ``LinearLR(end_factor=1)``
=====================  ===========================================  ===================

Example
-------
>>> schedule = CosineDecay(1e-3, total_steps=100)
>>> updates = adam(grads, params, learning_rate=schedule.learning_rate)
>>> for epoch in range(100):
...     train_one_epoch()
...     schedule.step()
"""

from __future__ import annotations

import math

import numpy as np
import pytensor
from pytensor.tensor.sharedvar import TensorSharedVariable


class Schedule:
    """Base class: a shared learning rate set to :meth:`value` ``(t)`` by :meth:`step`.

    Parameters
    ----------
    base_lr
        Rate at ``t = 0`` (before warm-up factors), > 0.
    dtype
        dtype of the shared scalar; use the parameters' dtype (``float32`` for symmol models).

    Raises
    ------
    ValueError
        ``base_lr`` not > 0.
    """

    def __init__(self, base_lr: float, dtype: str = "float32"):
        if not base_lr > 0:
            raise ValueError(f"base learning rate must be > 0, got {base_lr}")
        self.base_lr = float(base_lr)
        self.t = 0
        self.learning_rate: TensorSharedVariable = pytensor.shared(
            np.asarray(self.value(0), dtype=dtype), name=f"{type(self).__name__}.learning_rate")

    def value(self, t: int) -> float:
        """Learning rate after ``t`` calls of :meth:`step`."""
        raise NotImplementedError

    def step(self) -> float:
        """Advance ``t`` by one, store the new rate in the shared variable and return it."""
        self.t += 1
        return self.set_step(self.t)

    def set_step(self, t: int) -> float:
        """Jump to step ``t`` (e.g. when resuming) and return the rate."""
        if t < 0:
            raise ValueError(f"step must be >= 0, got {t}")
        self.t = int(t)
        rate = self.value(self.t)
        self.learning_rate.set_value(np.asarray(rate, dtype=self.learning_rate.dtype))
        return rate


class Constant(Schedule):
    """``lr(t) = lr₀``: a shared rate changed by hand with ``learning_rate.set_value``."""

    def value(self, t: int) -> float:
        """Return ``base_lr`` whatever ``t``."""
        return self.base_lr


class StepDecay(Schedule):
    """``lr₀ · γ^⌊t / step_size⌋`` (``torch.optim.lr_scheduler.StepLR``)."""

    def __init__(self, base_lr: float, step_size: int, gamma: float = 0.1, dtype: str = "float32"):
        if step_size < 1:
            raise ValueError(f"step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(base_lr, dtype)

    def value(self, t: int) -> float:
        """Return ``base_lr * gamma ** (t // step_size)``."""
        return self.base_lr * self.gamma ** (t // self.step_size)


class ExponentialDecay(Schedule):
    """``lr₀ · γ^t`` (``torch.optim.lr_scheduler.ExponentialLR``)."""

    def __init__(self, base_lr: float, gamma: float, dtype: str = "float32"):
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma}")
        self.gamma = float(gamma)
        super().__init__(base_lr, dtype)

    def value(self, t: int) -> float:
        """Return ``base_lr * gamma ** t``."""
        return self.base_lr * self.gamma ** t


class CosineDecay(Schedule):
    """Cosine annealing from ``lr₀`` to ``min_lr`` over ``total_steps``, then constant.

    Loshchilov & Hutter, ICLR 2017, arXiv:1608.03983 (without restarts);
    ``torch.optim.lr_scheduler.CosineAnnealingLR(T_max=total_steps, eta_min=min_lr)`` for
    ``t ≤ total_steps``.
    """

    def __init__(self, base_lr: float, total_steps: int, min_lr: float = 0.0, dtype: str = "float32"):
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1, got {total_steps}")
        if not 0 <= min_lr <= base_lr:
            raise ValueError(f"min_lr must be in [0, base_lr], got {min_lr}")
        self.total_steps, self.min_lr = int(total_steps), float(min_lr)
        super().__init__(base_lr, dtype)

    def value(self, t: int) -> float:
        """Return the cosine-annealed rate at step ``t``; ``min_lr`` from ``total_steps`` on."""
        progress = min(t, self.total_steps) / self.total_steps
        return self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2


class LinearWarmup(Schedule):
    """Linear warm-up from ``start_factor · lr₀`` to ``lr₀`` over ``warmup_steps``, then ``after``.

    ``torch.optim.lr_scheduler.LinearLR(start_factor, end_factor=1, total_iters=warmup_steps)``
    when ``after`` is None; otherwise ``after`` (a schedule with the same ``base_lr``) takes
    over at ``t = warmup_steps`` with its own clock starting at 0 (``SequentialLR``).
    """

    def __init__(self, base_lr: float, warmup_steps: int, start_factor: float = 0.1,
                 after: Schedule | None = None, dtype: str = "float32"):
        if warmup_steps < 1:
            raise ValueError(f"warmup_steps must be >= 1, got {warmup_steps}")
        if not 0 < start_factor <= 1:
            raise ValueError(f"start_factor must be in (0, 1], got {start_factor}")
        self.warmup_steps, self.start_factor, self.after = int(warmup_steps), float(start_factor), after
        super().__init__(base_lr, dtype)

    def value(self, t: int) -> float:
        """Return the warm-up rate at step ``t``, or ``after``'s rate at ``t - warmup_steps`` once warmed up.

        Without ``after`` the rate stays at ``base_lr`` after the warm-up.
        """
        if t >= self.warmup_steps and self.after is not None:
            return self.after.value(t - self.warmup_steps)
        fraction = min(t, self.warmup_steps) / self.warmup_steps
        return self.base_lr * (self.start_factor + (1 - self.start_factor) * fraction)
