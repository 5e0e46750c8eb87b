"""1-D convolution (cross-correlation) in the NWC layout as BLAS matrix products.

With ``x`` of shape ``(n, width, c)`` (C-contiguous, channels last) a block of samples is one
``(rows, c)`` matrix and every kernel tap ``t`` a product of its rows shifted by ``t`` with the
``(c, o)`` filter ``W[t]``; the ``k - 1`` rows of each sample whose window runs into the next
sample are computed and dropped (``k - 1`` of ``width``). When the input has fewer channels than
the output (the products would be thin), the ``k`` rows of a window, ``k * c`` consecutive
numbers, are copied into a patch matrix (``im2col``) instead and multiplied once with the filters
read as a ``(k * c, o)`` matrix. Which way is faster depends on the shapes; ``c >= o`` choosing
the taps held for each of DeepDTA's layers (``bench/results/dti_speed.md``).

conv1d_forward
    ``y[i, l, o] = sum_{t, c} x[i, l + t, c] * W[t, c, o]``, shape ``(n, width - k + 1, o)``.
conv1d_grad_input
    ``dx[i, p, c] = sum_{t, o} dy[i, p - t, o] * W[t, c, o]`` (terms with ``0 <= p - t < width_out``),
    shape ``(n, width_out + k - 1, c)``: the forward convolution of ``dy`` zero-padded by ``k - 1``
    with the flipped, transposed filters.
conv1d_grad_weights
    ``dW[t, c, o] = sum_{i, l} x[i, l + t, c] * dy[i, l, o]``, shape ``(width - width_out + 1, c, o)``.

token_conv1d_forward
    ``y[i, l, o] = sum_t table[t, tokens[i, l + t], o]``: :func:`conv1d_forward` of the embedded
    tokens ``x = E[tokens]`` with ``table[t] = E @ W[t]`` (a lookup per tap instead of a product).
token_conv1d_grad_table
    ``dtable[t, v, o] = sum_{i, l: tokens[i, l + t] = v} dy[i, l, o]``, its gradient wrt the table.

Samples are processed in blocks of about :data:`BLOCK_BYTES` so that a block stays in cache while
its products run; the products are Numba's ``np.dot``, which calls the (multi-threaded) BLAS that
SciPy ships. The three functions are each other's gradients (see :mod:`symmol.ops.conv`).
float32 and float64; inputs of any strides (copied to C order first when they are not).

Pure Numba: nothing here imports PyTensor.
"""

from __future__ import annotations

import numpy as np

from .config import jit
from .segment import check_indices

__all__ = ["BLOCK_BYTES", "conv1d_forward", "conv1d_grad_input", "conv1d_grad_weights", "token_conv1d_forward",
           "token_conv1d_grad_table"]

#: Target size of one block of input rows or patches: a few MiB stays in the last-level cache of a
#: small machine while a DeepDTA protein layer (1,000 positions x 128 channels, 0.5 MB per sample)
#: still makes products of thousands of rows.
BLOCK_BYTES = 4 << 20


@jit
def _block_size(n: int, per_sample: int) -> int:
    """Return the samples per block: as many as fit :data:`BLOCK_BYTES` at ``per_sample`` bytes, 1 to ``n``."""
    return max(1, min(n, BLOCK_BYTES // max(1, per_sample)))


@jit
def _patches(x: np.ndarray, start: int, count: int, k: int, cols: np.ndarray) -> None:
    """Fill ``cols[b * width_out + l] = x[start + b, l:l + k].ravel()`` for ``b < count``."""
    width, c = x.shape[1], x.shape[2]
    width_out = width - k + 1
    for b in range(count):
        flat = x[start + b].ravel()
        for pos in range(width_out):
            cols[b * width_out + pos, :] = flat[pos * c:(pos + k) * c]


@jit
def _forward_taps(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """:func:`conv1d_forward` as ``k`` products per block of samples (``x`` C-contiguous)."""
    n, width, c = x.shape
    k, _, o = W.shape
    width_out = width - k + 1
    y = np.empty((n, width_out, o), dtype=x.dtype)
    block = _block_size(n, width * c * x.itemsize)
    for start in range(0, n, block):
        count = min(block, n - start)
        rows = x[start:start + count].reshape((count * width, c))
        used = count * width - (k - 1)
        acc = np.dot(rows[:used], W[0])
        for t in range(1, k):
            acc += np.dot(rows[t:t + used], W[t])
        for b in range(count):
            y[start + b] = acc[b * width:b * width + width_out]
    return y


@jit
def _forward_patches(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """:func:`conv1d_forward` as one product of each block's patch matrix (``x`` C-contiguous)."""
    n, width, c = x.shape
    k, _, o = W.shape
    width_out = width - k + 1
    filters = W.reshape((k * c, o))
    y = np.empty((n, width_out, o), dtype=x.dtype)
    block = _block_size(n, width_out * k * c * x.itemsize)
    cols = np.empty((block * width_out, k * c), dtype=x.dtype)
    for start in range(0, n, block):
        count = min(block, n - start)
        _patches(x, start, count, k, cols)
        y[start:start + count] = np.dot(cols[:count * width_out], filters).reshape((count, width_out, o))
    return y


@jit
def conv1d_forward(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Correlate NWC input with the filters (valid), as ``torch.nn.functional.conv1d`` (stride 1, no padding).

    Parameters
    ----------
    x : ndarray of float32 or float64, shape (n, width, c)
    W : ndarray of the same dtype, shape (k, c, o)
        ``W[t]`` multiplies the window's ``t``-th position (PyTorch's weight is ``W.transpose(2, 1, 0)``).

    Returns
    -------
    ndarray, shape (n, width - k + 1, o)
        ``y[i, l, o] = sum_{t, c} x[i, l + t, c] * W[t, c, o]``.

    Raises
    ------
    ValueError
        If the channel counts differ or ``width < k``.
    """
    n, width, c = x.shape
    k, w_channels, o = W.shape
    if w_channels != c:
        raise ValueError("conv1d: W.shape[1] must equal the input channels x.shape[2]")
    width_out = width - k + 1
    if width_out < 1 or k < 1:
        raise ValueError("conv1d: the input is narrower than the filter")
    xc = np.ascontiguousarray(x)
    filters = np.ascontiguousarray(W)
    if c >= o:
        return _forward_taps(xc, filters)
    return _forward_patches(xc, filters)


@jit
def conv1d_grad_input(dy: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Gradient of :func:`conv1d_forward` wrt ``x``: ``dy`` spread back over the windows.

    Parameters
    ----------
    dy : ndarray of float32 or float64, shape (n, width_out, o)
    W : ndarray of the same dtype, shape (k, c, o)

    Returns
    -------
    ndarray, shape (n, width_out + k - 1, c)
        ``dx[i, p, c] = sum_{t, o} dy[i, p - t, o] * W[t, c, o]`` over ``0 <= p - t < width_out``.

    Raises
    ------
    ValueError
        If ``dy.shape[2] != W.shape[2]``.
    """
    n, width_out, o = dy.shape
    k, c, w_out_channels = W.shape
    if w_out_channels != o:
        raise ValueError("conv1d_grad_input: W.shape[2] must equal the output channels dy.shape[2]")
    padded = np.zeros((n, width_out + 2 * (k - 1), o), dtype=dy.dtype)
    padded[:, k - 1:k - 1 + width_out] = dy
    return conv1d_forward(padded, np.ascontiguousarray(W[::-1].transpose(0, 2, 1)))


@jit
def conv1d_grad_weights(x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Gradient of :func:`conv1d_forward` wrt ``W``, the filter width read from the two widths.

    Parameters
    ----------
    x : ndarray of float32 or float64, shape (n, width, c)
    dy : ndarray of the same dtype, shape (n, width_out, o)

    Returns
    -------
    ndarray, shape (width - width_out + 1, c, o)
        ``dW[t, c, o] = sum_{i, l} x[i, l + t, c] * dy[i, l, o]``.

    Raises
    ------
    ValueError
        If the sample counts differ or ``width_out > width``.
    """
    n, width, c = x.shape
    n_dy, width_out, o = dy.shape
    if n_dy != n:
        raise ValueError("conv1d_grad_weights: x and dy must have the same number of samples")
    k = width - width_out + 1
    if k < 1 or width_out < 1:
        raise ValueError("conv1d_grad_weights: dy is wider than x")
    xc = np.ascontiguousarray(x)
    dyc = np.ascontiguousarray(dy)
    if c >= o:
        return _grad_weights_taps(xc, dyc, k)
    return _grad_weights_patches(xc, dyc, k)


@jit
def _grad_weights_taps(x: np.ndarray, dy: np.ndarray, k: int) -> np.ndarray:
    """:func:`conv1d_grad_weights` as ``k`` products per block (``dy`` spread to ``width`` rows per sample)."""
    n, width, c = x.shape
    width_out, o = dy.shape[1], dy.shape[2]
    dW = np.zeros((k, c, o), dtype=x.dtype)
    block = _block_size(n, width * c * x.itemsize)
    spread = np.zeros((block * width, o), dtype=x.dtype)  # rows past width_out stay zero
    for start in range(0, n, block):
        count = min(block, n - start)
        for b in range(count):
            spread[b * width:b * width + width_out] = dy[start + b]
        rows = x[start:start + count].reshape((count * width, c))
        used = count * width - (k - 1)
        for t in range(k):
            dW[t] += np.dot(rows[t:t + used].T, spread[:used])
    return dW


@jit
def _grad_weights_patches(x: np.ndarray, dy: np.ndarray, k: int) -> np.ndarray:
    """:func:`conv1d_grad_weights` as one product of each block's transposed patch matrix with ``dy``."""
    n, width, c = x.shape
    width_out, o = dy.shape[1], dy.shape[2]
    dW = np.zeros((k * c, o), dtype=x.dtype)
    block = _block_size(n, width_out * k * c * x.itemsize)
    cols = np.empty((block * width_out, k * c), dtype=x.dtype)
    for start in range(0, n, block):
        count = min(block, n - start)
        _patches(x, start, count, k, cols)
        dW += np.dot(cols[:count * width_out].T, dy[start:start + count].reshape((count * width_out, o)))
    return dW.reshape((k, c, o))


@jit
def _check_token_windows(tokens: np.ndarray, k: int, n_tokens: int) -> int:
    """Return ``width - k + 1`` after checking every token is in ``[0, n_tokens)`` and ``k <= width``."""
    if k < 1 or tokens.shape[1] < k:
        raise ValueError("token_conv1d: the sequence is narrower than the filter")
    check_indices(np.ascontiguousarray(tokens).ravel(), n_tokens)
    return tokens.shape[1] - k + 1


@jit
def token_conv1d_forward(tokens: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Correlate embedded tokens with filters (valid), reading per-tap tables of the embedding times the filters.

    Parameters
    ----------
    tokens : ndarray of int, shape (n, width)
        Token ids in ``[0, n_tokens)``.
    table : ndarray of float32 or float64, shape (k, n_tokens, o)
        ``table[t] = E @ W[t]`` for an embedding ``E`` ``(n_tokens, c)`` and filters ``W`` ``(k, c, o)``.

    Returns
    -------
    ndarray, shape (n, width - k + 1, o)
        ``y[i, l, o] = sum_t table[t, tokens[i, l + t], o]``, equal to
        ``conv1d_forward(E[tokens], W)`` (up to rounding).

    Raises
    ------
    ValueError
        If a token is out of range or ``width < k``.
    """
    k, n_tokens, o = table.shape
    width_out = _check_token_windows(tokens, k, n_tokens)
    n = tokens.shape[0]
    y = np.zeros((n, width_out, o), dtype=table.dtype)
    for i in range(n):
        for pos in range(width_out):
            out = y[i, pos]
            for t in range(k):
                row = table[t, tokens[i, pos + t]]
                for j in range(o):
                    out[j] += row[j]
    return y


@jit
def token_conv1d_grad_table(tokens: np.ndarray, dy: np.ndarray, n_tokens: int) -> np.ndarray:
    """Gradient of :func:`token_conv1d_forward` wrt the table: ``dy`` added into each tap's token rows.

    Parameters
    ----------
    tokens : ndarray of int, shape (n, width)
        Token ids in ``[0, n_tokens)``.
    dy : ndarray of float32 or float64, shape (n, width_out, o)
        ``width_out <= width``; the filter width is ``k = width - width_out + 1``.
    n_tokens : int
        Rows of each tap's table.

    Returns
    -------
    ndarray, shape (k, n_tokens, o)
        ``dtable[t, v, o] = sum_{i, l: tokens[i, l + t] = v} dy[i, l, o]``.

    Raises
    ------
    ValueError
        If a token is out of range, the sample counts differ or ``dy`` is wider than ``tokens``.
    """
    n, width = tokens.shape
    if dy.shape[0] != n:
        raise ValueError("token_conv1d_grad_table: tokens and dy must have the same number of samples")
    width_out, o = dy.shape[1], dy.shape[2]
    k = width - width_out + 1
    if width_out < 1:
        raise ValueError("token_conv1d_grad_table: dy must have at least one position")
    _check_token_windows(tokens, k, n_tokens)
    dtable = np.zeros((k, n_tokens, o), dtype=dy.dtype)
    for i in range(n):
        for pos in range(width_out):
            g = dy[i, pos]
            for t in range(k):
                row = dtable[t, tokens[i, pos + t]]
                for j in range(o):
                    row[j] += g[j]
    return dtable
