"""Run-time checks of CSR batches and index vectors for the Ops' NumPy reference paths (``perform``).

The Numba and C paths check the same conditions in their own code
(:func:`symmol.kernels.sparse.check_csr`, the C support code of the Ops); the JAX and PyTorch
dispatch does not check (see :mod:`symmol.ops.jax_dispatch`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

__all__ = ["check_csr", "check_index_range", "scipy_csr"]


def check_csr(op_name: str, indptr: np.ndarray, indices: np.ndarray, n_values: int, n_cols: int) -> None:
    """Validate a CSR structure in NumPy.

    Parameters
    ----------
    op_name : str
        Name of the Op, for the error message.
    indptr : int array, shape (n_rows + 1,)
        Row pointers: must start at 0, end at ``len(indices)`` and not decrease.
    indices : int array, shape (nnz,)
        Column of each stored entry, in ``[0, n_cols)``.
    n_values : int
        Length of the values vector (must equal ``nnz``).
    n_cols : int
        Number of columns (``n_bits``).

    Raises
    ------
    ValueError
        On the first condition that fails.
    """
    nnz = indices.shape[0]
    if indptr.shape[0] < 1:
        raise ValueError(f"{op_name}: indptr must have at least one entry")
    if n_values != nnz:
        raise ValueError(
            f"{op_name}: values and indices must have the same length, got {n_values} and {nnz}"
        )
    if indptr[0] != 0 or indptr[-1] != nnz:
        raise ValueError(
            f"{op_name}: indptr must start at 0 and end at len(indices)={nnz}, "
            f"got {indptr[0]} and {indptr[-1]}"
        )
    if np.any(indptr[1:] < indptr[:-1]):
        raise ValueError(f"{op_name}: indptr must be non-decreasing")
    if nnz and (indices.min() < 0 or indices.max() >= n_cols):
        raise ValueError(f"{op_name}: indices out of range [0, {n_cols})")


def scipy_csr(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, n_cols: int) -> scipy.sparse.csr_matrix:
    """Return the ``scipy.sparse.csr_matrix`` of shape ``(len(indptr) - 1, n_cols)`` of a CSR batch.

    The batch must have been checked by :func:`check_csr`.
    """
    n_rows = indptr.shape[0] - 1
    return scipy.sparse.csr_matrix((values, indices, indptr), shape=(n_rows, n_cols))


def check_index_range(op_name: str, idx: np.ndarray, n: int, what: str) -> None:
    """Check that every entry of ``idx`` is in ``[0, n)``.

    Parameters
    ----------
    op_name : str
        Name of the Op, for the error message.
    idx : int array, shape (k,)
        Row or segment ids.
    n : int
        Exclusive upper bound.
    what : str
        Name of ``idx`` in the message.

    Raises
    ------
    ValueError
        Naming the first entry out of range.
    """
    bad = np.flatnonzero((idx < 0) | (idx >= n))
    if bad.size:
        k = int(bad[0])
        raise ValueError(f"{op_name}: {what}[{k}] = {int(idx[k])} is out of range [0, {n})")
