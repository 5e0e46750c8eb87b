"""Stable input shapes for the JAX and PyTorch backends: CSR batches padded to a few bucketed sizes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from symmol.compile.backends import device_context

__all__ = ["DeviceFunction", "csr_bucket_size", "pad_csr"]

#: Pads the arrays of one input layer (``None``: passed through).
Padder = Callable[..., tuple[np.ndarray, ...]] | None


def csr_bucket_size(nnz: int) -> int:
    """Smallest size ≥ ``nnz`` of the form ``m * 2**k`` with ``8 <= m <= 16`` (at most 12.5 % more).

    JAX and ``torch.compile`` specialise a compiled function on its input shapes, and the
    number of on-bits of a minibatch differs from batch to batch: unpadded, every training
    step of the ``jax`` backend would trace and compile anew. Padded to these sizes, a
    ZINC250k epoch (batches of 256, ~11,500 on-bits each) sees two or three shapes.
    """
    if nnz <= 16:
        return 16
    shift = nnz.bit_length() - 4
    return -(-nnz >> shift) << shift


def pad_csr(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pad a CSR batch to :func:`csr_bucket_size` entries without changing ``X``.

    The padding entries are bit 0 with value 0, appended to the last row: they add
    ``0 * W[0]`` to its output and nothing to any gradient. A batch without rows is returned
    unchanged.
    """
    indptr, indices, values = np.asarray(indptr), np.asarray(indices), np.asarray(values)
    nnz = indices.shape[0]
    size = csr_bucket_size(nnz)
    if indptr.shape[0] < 2 or size == nnz:
        return indptr, indices, values
    indptr = np.array(indptr, copy=True)
    indptr[-1] = size
    return (indptr, np.concatenate([indices, np.zeros(size - nnz, indices.dtype)]),
            np.concatenate([values, np.zeros(size - nnz, values.dtype)]))


class DeviceFunction:
    """A compiled PyTensor function of the ``jax``/``pytorch`` backends, called with stable shapes.

    Each input layer's arguments pass through its padder (:func:`pad_csr` for fingerprint
    inputs), so that the number of on-bits takes few distinct values, and ``function`` is called
    inside ``jax.default_device`` / ``torch.device``. Other attributes are the wrapped
    :class:`pytensor.compile.function.types.Function`'s.

    Parameters
    ----------
    function
        The compiled function.
    backend, device
        Where it runs.
    groups
        ``(n_arguments, padder)`` per input layer, in call order; arguments after the groups
        (targets, row weights) pass through.
    """

    def __init__(self, function: Any, backend: str, device: str, groups: Sequence[tuple[int, Padder]]):
        self.function, self.backend, self.device = function, backend, device
        self.groups = list(groups)

    def __call__(self, *args: Any) -> Any:
        """Pad each input layer's arguments with its padder, then call the function on the device.

        Returns what the compiled function returns for the padded arguments.
        """
        padded: list[Any] = []
        position = 0
        for n_args, padder in self.groups:
            group = args[position:position + n_args]
            padded.extend(padder(*group) if padder is not None else group)
            position += n_args
        padded.extend(args[position:])
        with device_context(self.backend, self.device):
            return self.function(*padded)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.function, name)
