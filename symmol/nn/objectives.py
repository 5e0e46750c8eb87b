"""Loss functions on symbolic tensors, with missing labels (NaN) masked out and optional row weights."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable

__all__ = ["MVE_VARIANCE_FLOOR", "l2_penalty", "masked_binary_crossentropy_from_logits", "masked_gaussian_nll",
           "masked_squared_error", "mve_variance"]

#: Added to the softplus of the variance output (standardised units) so the NLL stays finite.
MVE_VARIANCE_FLOOR = np.float32(1e-6)


def _observed(targets: TensorVariable) -> tuple[TensorVariable, TensorVariable]:
    mask = pt.invert(pt.isnan(targets))
    clean = pt.switch(mask, targets, np.asarray(0, dtype=targets.dtype))
    return mask.astype(targets.dtype), clean


def _masked_mean(per_label: TensorVariable, mask: TensorVariable, weights: TensorVariable | None,
                 dtype: str) -> TensorVariable:
    """``Σ w_i m_ij ℓ_ij / max(Σ w_i m_ij, 1)`` (``w = 1`` when ``weights`` is None)."""
    if weights is not None:
        mask = mask * weights[:, None]
    return pt.sum(per_label * mask) / pt.maximum(pt.sum(mask), np.asarray(1, dtype=dtype))


def masked_binary_crossentropy_from_logits(logits: TensorVariable, targets: TensorVariable,
                                           weights: TensorVariable | None = None) -> TensorVariable:
    """Mean binary cross-entropy over observed labels, computed stably from logits.

    Parameters
    ----------
    logits
        ``(n_rows, n_tasks)`` float: pre-sigmoid scores.
    targets
        ``(n_rows, n_tasks)`` float in {0, 1}; NaN marks a missing label, which contributes
        nothing to the loss or its gradient.
    weights
        Optional ``(n_rows,)`` non-negative row weights (e.g. bootstrap counts); each row's
        labels count ``weights[i]`` times.

    Returns
    -------
    Scalar: ``sum(w mask (softplus(z) - y z)) / max(sum(w mask), 1)``.
    """
    mask, y = _observed(targets)
    return _masked_mean(pt.softplus(logits) - y * logits, mask, weights, targets.dtype)


def masked_squared_error(predictions: TensorVariable, targets: TensorVariable,
                         weights: TensorVariable | None = None) -> TensorVariable:
    """Mean squared error over observed targets (NaN targets masked out), optionally row-weighted.

    Shapes ``(n_rows, n_tasks)`` (``weights``: ``(n_rows,)``); returns a scalar
    ``sum(w mask (p - y)^2) / max(sum(w mask), 1)``.
    """
    mask, y = _observed(targets)
    return _masked_mean(pt.sqr(predictions - y), mask, weights, targets.dtype)


def mve_variance(outputs: TensorVariable, n_targets: int) -> TensorVariable:
    """Return the variance half of a mean–variance head: ``softplus(outputs[:, n_targets:]) + floor``."""
    return pt.softplus(outputs[:, n_targets:]) + MVE_VARIANCE_FLOOR


def masked_gaussian_nll(outputs: TensorVariable, targets: TensorVariable,
                        weights: TensorVariable | None = None) -> TensorVariable:
    """Mean Gaussian negative log-likelihood of a mean–variance head over observed targets.

    Mean–variance estimation (Nix & Weigend, ICNN 1994, doi:10.1109/ICNN.1994.374138; Chemprop's
    ``mve`` loss): ``outputs`` is ``(n_rows, 2 n_tasks)``, the means then the raw variances
    (:func:`mve_variance`); ``targets`` ``(n_rows, n_tasks)`` with NaN masked out. Per label
    ``½ log σ² + (y − μ)² / 2σ²`` (the constant ``½ log 2π`` left out); returns the (row-weighted)
    mean over observed labels.
    """
    n = targets.shape[1]
    mask, y = _observed(targets)
    variance = pt.softplus(outputs[:, n:]) + MVE_VARIANCE_FLOOR
    per_label = np.float32(0.5) * (pt.log(variance) + pt.sqr(outputs[:, :n] - y) / variance)
    return _masked_mean(per_label, mask, weights, targets.dtype)


def l2_penalty(params: list) -> TensorVariable:
    """Sum of squares of all entries of ``params`` (for weight decay on regularizable weights)."""
    return pt.add(*[pt.sum(pt.sqr(p)) for p in params]) if params else pt.constant(np.float32(0.0))
