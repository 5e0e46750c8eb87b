"""Loss functions on symbolic tensors, with missing labels (NaN) masked out."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.tensor.variable import TensorVariable


def _observed(targets: TensorVariable) -> tuple[TensorVariable, TensorVariable]:
    mask = pt.invert(pt.isnan(targets))
    clean = pt.switch(mask, targets, np.asarray(0, dtype=targets.dtype))
    return mask.astype(targets.dtype), clean


def masked_binary_crossentropy_from_logits(logits: TensorVariable, targets: TensorVariable) -> TensorVariable:
    """Mean binary cross-entropy over observed labels, computed stably from logits.

    Parameters
    ----------
    logits
        ``(n_rows, n_tasks)`` float: pre-sigmoid scores.
    targets
        ``(n_rows, n_tasks)`` float in {0, 1}; NaN marks a missing label, which contributes
        nothing to the loss or its gradient.

    Returns
    -------
    Scalar: ``sum(mask * (softplus(z) - y z)) / max(sum(mask), 1)``.
    """
    mask, y = _observed(targets)
    per_label = pt.softplus(logits) - y * logits
    return pt.sum(per_label * mask) / pt.maximum(pt.sum(mask), np.asarray(1, dtype=targets.dtype))


def masked_squared_error(predictions: TensorVariable, targets: TensorVariable) -> TensorVariable:
    """Mean squared error over observed targets (NaN targets masked out).

    Shapes ``(n_rows, n_tasks)``; returns a scalar.
    """
    mask, y = _observed(targets)
    return pt.sum(pt.sqr(predictions - y) * mask) / pt.maximum(
        pt.sum(mask), np.asarray(1, dtype=targets.dtype))


def l2_penalty(params: list) -> TensorVariable:
    """Sum of squares of all entries of ``params`` (for weight decay on regularizable weights)."""
    return pt.add(*[pt.sum(pt.sqr(p)) for p in params]) if params else pt.constant(np.float32(0.0))
