"""CSR fingerprint batch times dense weight matrix, and its two gradients.

A batch of ``n_rows`` fingerprints is held in CSR form: row ``i`` has the
on-bits ``indices[indptr[i]:indptr[i + 1]]`` with weights
``values[indptr[i]:indptr[i + 1]]`` (1.0 for bit fingerprints, counts for count
fingerprints). With ``W`` of shape ``(n_bits, n_hidden)`` the first affine map of
a fingerprint model is ``X @ W`` where ``X`` is the dense ``(n_rows, n_bits)``
matrix of the batch. A fingerprint has ~50 of 2048 bits on, so the sparse
product does ~40x less work than the dense one.

Kernels
-------
csr_dense_matmul
    ``X @ W`` -> ``(n_rows, n_hidden)``.
csr_t_dense_matmul
    ``X.T @ G`` -> ``(n_bits, n_hidden)``: the gradient wrt ``W``.
csr_dense_matmul_into
    ``X @ W`` into a given output, unvalidated (the parallel core of ``csr_dense_matmul``).
csr_t_adam_update
    one Adam step on ``W`` with the gradient ``X.T @ G``, fused (``X.T @ G`` is never
    stored) and in place; ``csr_t_adam_step`` is its unvalidated parallel core.
csr_row_dot
    ``dvalues[k] = G[row(k)] . W[indices[k]]`` -> ``(nnz,)``: the gradient
    wrt ``values``.
csr_take_rows
    the rows of a CSR batch in a given order (the shuffle of every training epoch).

All kernels accept float32 or float64 arrays and any integer dtype for
``indptr``/``indices`` (int32 and int64 in practice). Duplicate indices inside a
row are allowed and summed, as in ``scipy.sparse``. Every kernel validates the
CSR structure in a cheap O(n_rows + nnz) serial pass before the parallel loop
and raises ``ValueError`` on malformed input, so an out-of-range index never
reaches an unchecked memory access. The exceptions are the two cores
``csr_dense_matmul_into`` and ``csr_t_adam_step``, which run behind C entry points
that cannot raise (:mod:`symmol.ops.entry_points`): their callers validate first.
Their pointer-argument bodies (``*_pointers``, wrapped in ``numba.cfunc`` there) live
here, beside the kernels they call, so that Numba's on-disk cache of the cfunc, which
is invalidated by the defining file's timestamp, is invalidated with the kernels.

Pure Numba: nothing here imports PyTensor.
"""

from __future__ import annotations

import numpy as np
from numba import carray, prange

from .config import jit, parallel_jit

__all__ = [
    "add_scaled_rows",
    "check_csr",
    "csc_transpose",
    "csr_dense_matmul",
    "csr_dense_matmul_into",
    "csr_dense_matmul_pointers",
    "csr_t_adam_step",
    "csr_t_adam_step_pointers",
    "csr_t_adam_update",
    "csr_row_dot",
    "csr_t_dense_matmul",
    "csr_take_rows",
]

#: Below this length ``_pairwise_dot`` sums sequentially instead of halving.
_PAIRWISE_BLOCK = 16


@jit
def check_csr(indptr: np.ndarray, indices: np.ndarray, nnz_values: int, n_cols: int) -> None:
    """Validate a CSR structure; raise ``ValueError`` if it is malformed.

    Parameters
    ----------
    indptr : ndarray of int, shape (n_rows + 1,)
        Row pointers: non-decreasing, ``indptr[0] == 0`` and
        ``indptr[-1] == len(indices)``.
    indices : ndarray of int, shape (nnz,)
        Column (bit) indices, each in ``[0, n_cols)``.
    nnz_values : int
        Length of the matching ``values`` array (must equal ``nnz``); pass
        ``len(indices)`` when there is no ``values`` array.
    n_cols : int
        Number of columns (bits) of the sparse matrix.

    Raises
    ------
    ValueError
        If any of the conditions above does not hold.
    """
    nnz = indices.shape[0]
    if indptr.shape[0] < 1:
        raise ValueError("indptr must have at least one entry (n_rows + 1 >= 1)")
    if nnz_values != nnz:
        raise ValueError("values and indices must have the same length")
    if indptr[0] != 0:
        raise ValueError("indptr[0] must be 0")
    if indptr[indptr.shape[0] - 1] != nnz:
        raise ValueError("indptr[-1] must equal len(indices)")
    for i in range(indptr.shape[0] - 1):
        if indptr[i + 1] < indptr[i]:
            raise ValueError("indptr must be non-decreasing")
    for k in range(nnz):
        if indices[k] < 0 or indices[k] >= n_cols:
            raise ValueError("indices out of range [0, n_cols)")


@jit
def add_scaled_rows(
    acc: np.ndarray, M: np.ndarray, rows: np.ndarray, weights: np.ndarray, start: int, stop: int
) -> None:
    """``acc += weights[p] * M[rows[p]]`` for ``p`` in ``start..stop-1``, in that order.

    Four source rows per sweep over ``acc`` (the element-wise sums keep their order, so the
    result is bitwise that of one row at a time); ``acc`` is loaded and stored a quarter as
    often, which makes the forward product faster (``bench/results/design_measurements.md``).

    Parameters
    ----------
    acc : ndarray of float, shape (n,)
        Accumulator, updated in place.
    M : ndarray of float, shape (n_rows_M, n)
        Source rows.
    rows : ndarray of int, shape (>= stop,)
        Row of ``M`` of each term.
    weights : ndarray of float, shape (>= stop,)
        Weight of each term (cast to ``acc``'s dtype by the arithmetic).
    start, stop : int
        Range of terms.
    """
    n = acc.shape[0]
    p = start
    while p + 4 <= stop:
        x0 = weights[p]
        x1 = weights[p + 1]
        x2 = weights[p + 2]
        x3 = weights[p + 3]
        m0 = M[rows[p]]
        m1 = M[rows[p + 1]]
        m2 = M[rows[p + 2]]
        m3 = M[rows[p + 3]]
        for j in range(n):
            acc[j] = (((acc[j] + x0 * m0[j]) + x1 * m1[j]) + x2 * m2[j]) + x3 * m3[j]
        p += 4
    while p < stop:
        x = weights[p]
        m = M[rows[p]]
        for j in range(n):
            acc[j] += x * m[j]
        p += 1


@jit
def csr_dense_matmul(
    indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, W: np.ndarray
) -> np.ndarray:
    """Sparse-times-dense product ``X @ W`` of a CSR batch and a weight matrix.

    ``out[i] = sum(values[k] * W[indices[k]] for k in row i)``; parallel over
    rows (each thread owns whole output rows, so there are no races).

    Parameters
    ----------
    indptr : ndarray of int, shape (n_rows + 1,)
        CSR row pointers.
    indices : ndarray of int, shape (nnz,)
        On-bit indices, each in ``[0, n_bits)``.
    values : ndarray of float, shape (nnz,)
        Weights of the on-bits (1.0 for bits, counts for count fingerprints).
    W : ndarray of float32 or float64, shape (n_bits, n_hidden)
        Dense weight matrix.

    Returns
    -------
    out : ndarray, shape (n_rows, n_hidden), dtype of ``W``
        The product; empty rows give zero rows.

    Raises
    ------
    ValueError
        If the CSR structure is malformed (see :func:`check_csr`).
    """
    check_csr(indptr, indices, values.shape[0], W.shape[0])
    out = np.empty((indptr.shape[0] - 1, W.shape[1]), dtype=W.dtype)
    csr_dense_matmul_into(indptr, indices, values, W, out)
    return out


@parallel_jit
def csr_dense_matmul_into(
    indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, W: np.ndarray, out: np.ndarray
) -> None:
    """:func:`csr_dense_matmul` into ``out`` (shape (n_rows, n_hidden)), without validation.

    The caller has validated the CSR structure against ``W`` (:func:`check_csr`) and the
    shape of ``out``; nothing here raises.
    """
    n_hidden = W.shape[1]
    for i in prange(indptr.shape[0] - 1):
        row = out[i]
        for j in range(n_hidden):
            row[j] = 0
        add_scaled_rows(row, W, indices, values, indptr[i], indptr[i + 1])


@jit
def csc_transpose(
    indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, n_bits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSC form of a (validated) CSR batch by a stable counting sort, O(nnz + n_bits).

    Parameters
    ----------
    indptr : ndarray of int, shape (n_rows + 1,)
        CSR row pointers.
    indices : ndarray of int, shape (nnz,)
        On-bit indices, each in ``[0, n_bits)`` (not checked here: call :func:`check_csr`).
    values : ndarray of float, shape (nnz,)
        Weights of the on-bits.
    n_bits : int
        Number of columns (bits).

    Returns
    -------
    colptr : ndarray of int64, shape (n_bits + 1,)
        Bit ``b`` is on in the rows ``src_row[colptr[b]:colptr[b + 1]]``.
    src_row : ndarray of int64, shape (nnz,)
        Row of each entry, increasing within a bit.
    src_val : ndarray, shape (nnz,), dtype of ``values``
        Value of each entry.
    """
    n_rows = indptr.shape[0] - 1
    nnz = indices.shape[0]
    colptr = np.zeros(n_bits + 1, dtype=np.int64)
    for k in range(nnz):
        colptr[indices[k] + 1] += 1
    for b in range(n_bits):
        colptr[b + 1] += colptr[b]
    fill = colptr[:n_bits].copy()
    src_row = np.empty(nnz, dtype=np.int64)
    src_val = np.empty(nnz, dtype=values.dtype)
    for i in range(n_rows):
        for k in range(indptr[i], indptr[i + 1]):
            b = indices[k]
            p = fill[b]
            src_row[p] = i
            src_val[p] = values[k]
            fill[b] = p + 1
    return colptr, src_row, src_val


@parallel_jit
def csr_t_dense_matmul(
    indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, G: np.ndarray, n_bits: int
) -> np.ndarray:
    """Transposed product ``X.T @ G``: the gradient of ``X @ W`` wrt ``W``.

    ``dW[b] = sum(values[k] * G[row(k)] for k with indices[k] == b)``.

    Race-free parallelism: a serial O(nnz + n_bits) counting sort first builds
    the CSC form of ``X`` (for every bit, the rows and values where it is on,
    in row order), then a parallel loop over bits gives every thread whole,
    disjoint rows of ``dW``. Measured on 2 threads, float32, 2048 bits, ~45
    nnz per row, this beats splitting the hidden columns into one block per
    thread by ~1.5-2x (batch 128, 512 hidden: ~180 us vs ~320 us).

    Parameters
    ----------
    indptr : ndarray of int, shape (n_rows + 1,)
        CSR row pointers.
    indices : ndarray of int, shape (nnz,)
        On-bit indices, each in ``[0, n_bits)``.
    values : ndarray of float, shape (nnz,)
        Weights of the on-bits.
    G : ndarray of float32 or float64, shape (n_rows, n_hidden)
        Cotangent of the forward output.
    n_bits : int
        Number of rows of ``dW`` (number of fingerprint bits).

    Returns
    -------
    dW : ndarray, shape (n_bits, n_hidden), dtype of ``G``
        Dense gradient; bits that are never on give zero rows.

    Raises
    ------
    ValueError
        If the CSR structure is malformed, ``n_bits`` is negative or ``G``
        does not have ``len(indptr) - 1`` rows.
    """
    n_rows = indptr.shape[0] - 1
    n_hidden = G.shape[1]
    if n_bits < 0:
        raise ValueError("n_bits must be non-negative")
    if G.shape[0] != n_rows:
        raise ValueError("G must have len(indptr) - 1 rows")
    check_csr(indptr, indices, values.shape[0], n_bits)
    colptr, src_row, src_val = csc_transpose(indptr, indices, values, n_bits)
    dW = np.empty((n_bits, n_hidden), dtype=G.dtype)
    for b in prange(n_bits):
        dst = dW[b]
        for j in range(n_hidden):
            dst[j] = 0
        add_scaled_rows(dst, G, src_row, src_val, colptr[b], colptr[b + 1])
    return dW


@jit
def _pairwise_dot(g: np.ndarray, w: np.ndarray, tmp: np.ndarray, zero: float) -> float:
    """Dot product ``g . w`` by pairwise (tree) summation.

    Every level adds the upper half of a buffer onto its lower half: the
    element-wise loops vectorise under strict IEEE semantics (no fast-math
    reassociation needed), so the result is reproducible bit for bit across
    CPUs, and pairwise summation is more accurate than a running sum.

    Parameters
    ----------
    g, w : ndarray of float, shape (n,)
        The two vectors.
    tmp : ndarray of float, shape (>= n,)
        Scratch buffer (overwritten); its dtype is the accumulation dtype.
    zero : float scalar
        Zero of the accumulation dtype (the value for ``n == 0``).

    Returns
    -------
    float
        The dot product.
    """
    n = g.shape[0]
    if n <= _PAIRWISE_BLOCK:
        s = zero
        for j in range(n):
            s += g[j] * w[j]
        return s
    half = n // 2
    off = n - half
    g_lo = g[:half]
    g_hi = g[off:n]
    w_lo = w[:half]
    w_hi = w[off:n]
    for j in range(half):
        tmp[j] = g_lo[j] * w_lo[j] + g_hi[j] * w_hi[j]
    if off != half:
        tmp[half] = g[half] * w[half]
    n = off
    while n > _PAIRWISE_BLOCK:
        half = n // 2
        off = n - half
        lo = tmp[:half]
        hi = tmp[off:n]
        for j in range(half):
            lo[j] += hi[j]
        n = off
    s = zero
    for j in range(n):
        s += tmp[j]
    return s


@parallel_jit
def csr_row_dot(
    indptr: np.ndarray, indices: np.ndarray, G: np.ndarray, W: np.ndarray
) -> np.ndarray:
    """Row-wise dots ``dvalues[k] = G[row(k)] . W[indices[k]]``.

    The gradient of ``X @ W`` wrt the CSR ``values``; parallel over rows
    (each thread owns the ``dvalues`` entries of its rows). Each dot product
    uses pairwise summation (see ``_pairwise_dot``), which vectorises without
    fast-math and is ~3-5x faster than a running sum.

    Parameters
    ----------
    indptr : ndarray of int, shape (n_rows + 1,)
        CSR row pointers.
    indices : ndarray of int, shape (nnz,)
        On-bit indices, each in ``[0, n_bits)``.
    G : ndarray of float32 or float64, shape (n_rows, n_hidden)
        Cotangent of the forward output.
    W : ndarray of float32 or float64, shape (n_bits, n_hidden)
        Dense weight matrix.

    Returns
    -------
    dvalues : ndarray, shape (nnz,), dtype of ``G``
        One dot product per stored entry.

    Raises
    ------
    ValueError
        If the CSR structure is malformed or the shapes of ``G`` and ``W``
        do not match it.
    """
    n_rows = indptr.shape[0] - 1
    nnz = indices.shape[0]
    n_hidden = G.shape[1]
    if G.shape[0] != n_rows:
        raise ValueError("G must have len(indptr) - 1 rows")
    if W.shape[1] != n_hidden:
        raise ValueError("G and W must have the same number of columns")
    check_csr(indptr, indices, nnz, W.shape[0])
    out = np.empty(nnz, dtype=G.dtype)
    zero = np.zeros(1, dtype=G.dtype)[0]
    for i in prange(n_rows):
        g = G[i]
        tmp = np.empty(n_hidden, dtype=G.dtype)
        for k in range(indptr[i], indptr[i + 1]):
            out[k] = _pairwise_dot(g, W[indices[k]], tmp, zero)
    return out


@jit
def csr_t_adam_update(
    indptr: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    G: np.ndarray,
    W: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    step_size: float,
    bias_correction2_sqrt: float,
    beta1: float,
    beta2: float,
    epsilon: float,
) -> None:
    """One Adam step on ``W`` with the gradient ``g = X.T @ G``, in place, without storing ``g``.

    Exactly the dense ``torch.optim.Adam`` step (every row of ``W`` moves, also the rows of
    bits that are off in the batch, whose ``g`` is 0), with the arithmetic of
    :func:`symmol.nn.updates.adam`, element by element::

        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g**2
        W <- W - (step_size * m) / (sqrt(v) / bias_correction2_sqrt + epsilon)

    with ``step_size = lr / (1 - beta1**t)`` and ``bias_correction2_sqrt = sqrt(1 - beta2**t)``.
    ``g`` is summed row by row of ``W`` into a scratch row in the order of
    :func:`csr_t_dense_matmul` (bitwise the same gradient) and used at once: the
    ``(n_bits, n_hidden)`` gradient is never zeroed, written or read back. Parallel over
    the rows of ``W`` (disjoint, race free).

    Parameters
    ----------
    indptr : ndarray of int, shape (n_rows + 1,)
        CSR row pointers.
    indices : ndarray of int, shape (nnz,)
        On-bit indices, each in ``[0, n_bits)``.
    values : ndarray of float, shape (nnz,)
        Weights of the on-bits.
    G : ndarray of float32 or float64, shape (n_rows, n_hidden)
        Cotangent of ``X @ W``.
    W, m, v : ndarray, shape (n_bits, n_hidden), dtype of ``G``
        Weights and Adam's first and second moments; updated in place.
    step_size, bias_correction2_sqrt, beta1, beta2, epsilon : float
        Adam's scalars (see above), of ``G``'s dtype (Python floats compute in float64).

    Raises
    ------
    ValueError
        If the CSR structure is malformed or the shapes do not match.
    """
    n_rows = indptr.shape[0] - 1
    n_bits = W.shape[0]
    n_hidden = W.shape[1]
    if G.shape[0] != n_rows:
        raise ValueError("G must have len(indptr) - 1 rows")
    if G.shape[1] != n_hidden:
        raise ValueError("G and W must have the same number of columns")
    if m.shape[0] != n_bits or m.shape[1] != n_hidden or v.shape[0] != n_bits or v.shape[1] != n_hidden:
        raise ValueError("m and v must have the shape of W")
    check_csr(indptr, indices, values.shape[0], n_bits)
    csr_t_adam_step(indptr, indices, values, G, W, m, v, step_size, bias_correction2_sqrt, beta1, beta2,
                    epsilon)


@parallel_jit
def csr_t_adam_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    G: np.ndarray,
    W: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    step_size: float,
    bias_correction2_sqrt: float,
    beta1: float,
    beta2: float,
    epsilon: float,
) -> None:
    """Run :func:`csr_t_adam_update` without validation; nothing here raises.

    The caller has checked the CSR structure and the shapes, as :func:`csr_t_adam_update` does.
    """
    n_bits = W.shape[0]
    n_hidden = W.shape[1]
    colptr, src_row, src_val = csc_transpose(indptr, indices, values, n_bits)
    unit = np.zeros(1, dtype=G.dtype)  # 1 in G's dtype (np.zeros is compiled below anyway; np.ones is not)
    unit[0] = 1
    one = unit[0]
    c1 = one - beta1
    c2 = one - beta2
    for b in prange(n_bits):
        g = np.zeros(n_hidden, dtype=G.dtype)
        add_scaled_rows(g, G, src_row, src_val, colptr[b], colptr[b + 1])
        w_b = W[b]
        m_b = m[b]
        v_b = v[b]
        for j in range(n_hidden):
            m_j = beta1 * m_b[j] + c1 * g[j]
            v_j = beta2 * v_b[j] + c2 * (g[j] * g[j])
            m_b[j] = m_j
            v_b[j] = v_j
            w_b[j] = w_b[j] - (step_size * m_j) / (np.sqrt(v_j) / bias_correction2_sqrt + epsilon)


@parallel_jit
def csr_take_rows(
    indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Take the CSR rows ``rows`` (in that order, repeats allowed) as a new CSR batch.

    Parameters
    ----------
    indptr : ndarray of int, shape (n_rows + 1,)
        CSR row pointers (non-decreasing, ``indptr[0] == 0``).
    indices : ndarray of int, shape (nnz,)
    values : ndarray, shape (nnz,)
    rows : ndarray of int, shape (n_out,)
        Rows to take, each in ``[0, n_rows)``.

    Returns
    -------
    out_indptr : ndarray of int64, shape (n_out + 1,)
    out_indices : ndarray, shape (out_nnz,), dtype of ``indices``
    out_values : ndarray, shape (out_nnz,), dtype of ``values``
        ``out_indices[out_indptr[r]:out_indptr[r + 1]] == indices[indptr[rows[r]]:indptr[rows[r] + 1]]``,
        likewise for values. Parallel over output rows (disjoint slices).

    Raises
    ------
    ValueError
        If a row is out of range, or the ``indptr`` entries of a taken row are decreasing or
        outside ``[0, nnz]`` (only the taken rows are checked: O(n_out)).
    """
    n_rows = indptr.shape[0] - 1
    n_out = rows.shape[0]
    nnz = indices.shape[0]
    if values.shape[0] != nnz:
        raise ValueError("csr_take_rows: indices and values differ in length")
    out_indptr = np.empty(n_out + 1, dtype=np.int64)
    out_indptr[0] = 0
    for r in range(n_out):
        row = rows[r]
        if row < 0 or row >= n_rows:
            raise ValueError("csr_take_rows: a row index is out of range")
        lo, hi = indptr[row], indptr[row + 1]
        if lo < 0 or hi < lo or hi > nnz:
            raise ValueError("csr_take_rows: indptr of a taken row is not within [0, nnz] and non-decreasing")
        out_indptr[r + 1] = out_indptr[r] + (hi - lo)
    out_indices = np.empty(out_indptr[n_out], dtype=indices.dtype)
    out_values = np.empty(out_indptr[n_out], dtype=values.dtype)
    for r in prange(n_out):
        src = indptr[rows[r]]
        dst = out_indptr[r]
        for k in range(out_indptr[r + 1] - dst):
            out_indices[dst + k] = indices[src + k]
            out_values[dst + k] = values[src + k]
    return out_indptr, out_indices, out_values


def csr_dense_matmul_pointers(indptr_p, n_rows, indices_p, values_p, nnz, W_p, n_bits, n_hidden, out_p):
    """:func:`csr_dense_matmul_into` on raw pointers and lengths: the body of a C entry point.

    Compiled by :func:`symmol.ops.entry_points.entry_point` as a ``numba.cfunc``; the caller
    has validated the CSR structure and the shapes.
    """
    csr_dense_matmul_into(carray(indptr_p, (n_rows + 1,)), carray(indices_p, (nnz,)), carray(values_p, (nnz,)),
                          carray(W_p, (n_bits, n_hidden)), carray(out_p, (n_rows, n_hidden)))


def csr_t_adam_step_pointers(indptr_p, n_rows, indices_p, values_p, nnz, G_p, W_p, m_p, v_p, n_bits, n_hidden,
                             step_size, bias_correction2_sqrt, beta1, beta2, epsilon):
    """Run :func:`csr_t_adam_step` on raw pointers and lengths.

    The body of a C entry point (see :func:`csr_dense_matmul_pointers`).
    """
    csr_t_adam_step(carray(indptr_p, (n_rows + 1,)), carray(indices_p, (nnz,)), carray(values_p, (nnz,)),
                    carray(G_p, (n_rows, n_hidden)), carray(W_p, (n_bits, n_hidden)), carray(m_p, (n_bits, n_hidden)),
                    carray(v_p, (n_bits, n_hidden)), step_size, bias_correction2_sqrt, beta1, beta2, epsilon)
