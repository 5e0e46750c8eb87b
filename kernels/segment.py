"""Segment reductions and row gathers: the pooling kernels of graph networks.

A *segment id* vector ``segment_ids`` of shape ``(n_rows,)`` assigns every row of
``x`` (atoms, messages, tokens) to one of ``n_segments`` groups (molecules,
atoms). The reductions return one row per segment:

segment_sum
    ``out[s] = sum(x[i] for i with segment_ids[i] == s)``.
segment_mean
    ``out[s] = segment_sum / count[s]`` (0 for empty segments).
segment_max
    ``out[s, j] = max(x[i, j] ...)`` and the row that attains it (``argmax``);
    empty segments give 0 and argmax -1; ties go to the lowest row index.
segment_max_grad
    scatter of the cotangent of ``segment_max`` to the ``argmax`` rows.
gather_rows
    ``out[k] = W[idx[k]]`` (an embedding lookup); its gradient is
    ``segment_sum`` of the cotangent with ``idx`` as segment ids.
used_rows
    distinct rows referenced by an index vector and the inverse map (row-sparse gradients).

Segment ids need not be sorted; when they are (the usual layout of batched
graphs), the reductions run in parallel over segments, otherwise serially.
Every kernel checks ids/indices are in range in a serial O(n_rows) pass first
and raises ``ValueError`` otherwise, so no bad index reaches memory.

Pure Numba: nothing here imports PyTensor.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .config import jit, parallel_jit

__all__ = [
    "check_indices",
    "segment_counts",
    "gather_rows",
    "segment_max",
    "segment_max_grad",
    "segment_mean",
    "segment_sum",
    "used_rows",
]


@jit
def check_indices(ids: np.ndarray, n: int) -> bool:
    """Check every entry of ``ids`` is in ``[0, n)``; return whether ``ids`` is non-decreasing.

    Parameters
    ----------
    ids : ndarray of int, shape (n_rows,)
        Segment ids or row indices.
    n : int
        Exclusive upper bound (number of segments or rows of the gathered matrix).

    Raises
    ------
    ValueError
        If ``n`` is negative or an id is out of range.
    """
    if n < 0:
        raise ValueError("the number of segments/rows must be non-negative")
    is_sorted = True
    for i in range(ids.shape[0]):
        s = ids[i]
        if s < 0 or s >= n:
            raise ValueError("segment id / index out of range [0, n)")
        if i > 0 and s < ids[i - 1]:
            is_sorted = False
    return is_sorted


@jit
def _segment_ptr(ids: np.ndarray, n_segments: int) -> np.ndarray:
    """CSR-like pointers ``ptr`` (n_segments + 1,) int64: rows of segment s are ptr[s]:ptr[s+1] (sorted ids)."""
    ptr = np.zeros(n_segments + 1, dtype=np.int64)
    for i in range(ids.shape[0]):
        ptr[ids[i] + 1] += 1
    for s in range(n_segments):
        ptr[s + 1] += ptr[s]
    return ptr


@parallel_jit
def segment_sum(x: np.ndarray, segment_ids: np.ndarray, n_segments: int) -> np.ndarray:
    """Sum the rows of ``x`` per segment.

    Parameters
    ----------
    x : ndarray of float32/float64, shape (n_rows, n_features)
    segment_ids : ndarray of int, shape (n_rows,)
        Segment of each row, in ``[0, n_segments)``; any order.
    n_segments : int

    Returns
    -------
    out : ndarray, shape (n_segments, n_features), dtype of ``x``
        Zero rows for empty segments.

    Raises
    ------
    ValueError
        If ``len(segment_ids) != len(x)`` or an id is out of range.
    """
    if segment_ids.shape[0] != x.shape[0]:
        raise ValueError("segment_ids must have one entry per row of x")
    is_sorted = check_indices(segment_ids, n_segments)
    d = x.shape[1]
    out = np.zeros((n_segments, d), dtype=x.dtype)
    if is_sorted:
        ptr = _segment_ptr(segment_ids, n_segments)
        for s in prange(n_segments):
            row = out[s]
            for i in range(ptr[s], ptr[s + 1]):
                xi = x[i]
                for j in range(d):
                    row[j] += xi[j]
    else:
        for i in range(x.shape[0]):
            row = out[segment_ids[i]]
            xi = x[i]
            for j in range(d):
                row[j] += xi[j]
    return out


@jit
def segment_counts(segment_ids: np.ndarray, n_segments: int) -> np.ndarray:
    """Count the rows per segment, shape (n_segments,) int64 (ids assumed checked)."""
    counts = np.zeros(n_segments, dtype=np.int64)
    for i in range(segment_ids.shape[0]):
        counts[segment_ids[i]] += 1
    return counts


@jit
def segment_mean(x: np.ndarray, segment_ids: np.ndarray, n_segments: int) -> np.ndarray:
    """Mean of the rows of ``x`` per segment; 0 for empty segments.

    Same arguments, output and errors as :func:`segment_sum`.
    """
    out = segment_sum(x, segment_ids, n_segments)
    counts = segment_counts(segment_ids, n_segments)
    for s in range(n_segments):
        if counts[s] > 1:
            inv = 1.0 / counts[s]
            for j in range(out.shape[1]):
                out[s, j] *= inv
    return out


@parallel_jit
def segment_max(x: np.ndarray, segment_ids: np.ndarray, n_segments: int) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise maximum of the rows of ``x`` per segment, and where it is attained.

    Parameters
    ----------
    x : ndarray of float32/float64, shape (n_rows, n_features)
    segment_ids : ndarray of int, shape (n_rows,)
        Segment of each row, in ``[0, n_segments)``; any order.
    n_segments : int

    Returns
    -------
    out : ndarray, shape (n_segments, n_features), dtype of ``x``
        Maxima; 0 for empty segments (results with NaN inputs are unspecified).
    argmax : ndarray of int64, shape (n_segments, n_features)
        Row of ``x`` attaining each maximum, the lowest such row on ties; -1 for empty segments.

    Raises
    ------
    ValueError
        If ``len(segment_ids) != len(x)`` or an id is out of range.
    """
    if segment_ids.shape[0] != x.shape[0]:
        raise ValueError("segment_ids must have one entry per row of x")
    is_sorted = check_indices(segment_ids, n_segments)
    d = x.shape[1]
    out = np.zeros((n_segments, d), dtype=x.dtype)
    argmax = np.full((n_segments, d), -1, dtype=np.int64)
    if is_sorted:
        ptr = _segment_ptr(segment_ids, n_segments)
        for s in prange(n_segments):
            for i in range(ptr[s], ptr[s + 1]):
                for j in range(d):
                    if argmax[s, j] < 0 or x[i, j] > out[s, j]:
                        out[s, j] = x[i, j]
                        argmax[s, j] = i
    else:
        for i in range(x.shape[0]):
            s = segment_ids[i]
            for j in range(d):
                if argmax[s, j] < 0 or x[i, j] > out[s, j]:
                    out[s, j] = x[i, j]
                    argmax[s, j] = i
    return out, argmax


@jit
def segment_max_grad(g: np.ndarray, argmax: np.ndarray, n_rows: int) -> np.ndarray:
    """Gradient of :func:`segment_max` wrt ``x``: ``dx[argmax[s, j], j] += g[s, j]``.

    Parameters
    ----------
    g : ndarray of float, shape (n_segments, n_features)
        Cotangent of the maxima.
    argmax : ndarray of int64, shape (n_segments, n_features)
        Second output of :func:`segment_max` (-1 entries are skipped).
    n_rows : int
        Number of rows of ``x``.

    Returns
    -------
    dx : ndarray, shape (n_rows, n_features), dtype of ``g``

    Raises
    ------
    ValueError
        If shapes differ or an argmax entry is out of range.
    """
    if g.shape[0] != argmax.shape[0] or g.shape[1] != argmax.shape[1]:
        raise ValueError("g and argmax must have the same shape")
    if n_rows < 0:
        raise ValueError("n_rows must be non-negative")
    dx = np.zeros((n_rows, g.shape[1]), dtype=g.dtype)
    for s in range(g.shape[0]):
        for j in range(g.shape[1]):
            a = argmax[s, j]
            if a >= n_rows:
                raise ValueError("argmax entry out of range [-1, n_rows)")
            if a >= 0:
                dx[a, j] += g[s, j]
    return dx


@parallel_jit
def gather_rows(W: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows of ``W`` at ``idx``: ``out[k] = W[idx[k]]``.

    Parameters
    ----------
    W : ndarray, shape (n_rows, n_features)
    idx : ndarray of int, shape (n_out,)
        Row indices in ``[0, n_rows)`` (negative indices are rejected, not wrapped).

    Returns
    -------
    out : ndarray, shape (n_out, n_features), dtype of ``W``

    Raises
    ------
    ValueError
        If an index is out of range.
    """
    check_indices(idx, W.shape[0])
    d = W.shape[1]
    out = np.empty((idx.shape[0], d), dtype=W.dtype)
    for k in prange(idx.shape[0]):
        src = W[idx[k]]
        dst = out[k]
        for j in range(d):
            dst[j] = src[j]
    return out


@jit
def used_rows(idx: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows referenced by ``idx`` and each entry's position among them.

    Parameters
    ----------
    idx : ndarray of int, shape (n,)
        Row indices in ``[0, n_rows)``.
    n_rows : int

    Returns
    -------
    rows : ndarray of int64, shape (n_used,)
        Sorted distinct values of ``idx``.
    inverse : ndarray of int64, shape (n,)
        ``rows[inverse] == idx``.

    Raises
    ------
    ValueError
        If an index is out of range.
    """
    check_indices(idx, n_rows)
    position = np.full(n_rows, -1, dtype=np.int64)
    for k in range(idx.shape[0]):
        position[idx[k]] = 0
    n_used = 0
    for r in range(n_rows):
        if position[r] == 0:
            position[r] = n_used
            n_used += 1
    rows = np.empty(n_used, dtype=np.int64)
    for r in range(n_rows):
        if position[r] >= 0:
            rows[position[r]] = r
    inverse = np.empty(idx.shape[0], dtype=np.int64)
    for k in range(idx.shape[0]):
        inverse[k] = position[idx[k]]
    return rows, inverse
