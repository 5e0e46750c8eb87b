"""The recurrence of a gated recurrent unit over a whole sequence, and its backpropagation through time.

Time-major inputs: ``projected`` ``(L, n, 3u)``, the input projections ``x_t W_x + b_x`` of every
step (one matrix product before the recurrence), the recurrent weights ``W_h`` ``(u, 3u)`` and bias
``b_h`` ``(3u,)`` with the gates in the order (r, z, c) as ``torch.nn.GRU``, the initial state ``h0``
``(n, u)`` and a ``mask`` ``(L, n)`` (1 for a real step, 0 for padding, which keeps the state)::

    a = projected[t];  p = h W_h + b_h
    r = sigmoid(a_r + p_r);  z = sigmoid(a_z + p_z);  c = tanh(a_c + r * p_c)
    h_t = m * ((1 - z) * c + z * h) + (1 - m) * h

Rows past the last one with a real step ``t`` are not computed at that step (their state is kept,
their gates and gradients are 0): a batch sorted by decreasing length, as the language model's
training sorts its minibatches, skips the padding's share of every recurrent product, as PyTorch's
packed sequences do. Rows in any order give the same results.

gru_forward
    The states ``H`` ``(L, n, u)`` and the gates ``G`` ``(L, n, 4u)`` (``r``, ``z``, ``c`` and
    ``p_c = (h W_h + b_h)_c`` of every step, kept for the backward pass as ``torch.nn.GRU`` keeps its
    workspace): one ``(n, u) x (u, 3u)`` product per step, the gates in one pass.
gru_backward
    The gradients of a scalar whose gradient with respect to ``H`` is ``dH`` with respect to
    ``projected``, ``W_h``, ``b_h`` and ``h0``, stepping back in time from the stored states and
    gates: the state's gradient flows back through ``W_h^T`` (one product per step) and the weight
    gradient is a single ``(u, L n) x (L n, 3u)`` product at the end.

The products are Numba's ``np.dot`` (the BLAS SciPy ships); the gates' sigmoid and tanh are
:mod:`.activations`' (vectorized arithmetic in float32, NumPy's functions in float64).
Pure Numba: nothing here imports PyTensor.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid, tanh
from .config import jit

__all__ = ["gru_backward", "gru_forward"]


@jit
def _active_rows(mask: np.ndarray, t: int) -> int:
    """Rows up to the last one with a real step ``t``: the rows a step computes (all of them if unsorted)."""
    active = mask.shape[1]
    while active > 0 and mask[t, active - 1] == 0:
        active -= 1
    return active


@jit
def gru_forward(projected: np.ndarray, W_h: np.ndarray, b_h: np.ndarray, h0: np.ndarray,
                mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the states ``(L, n, u)`` and the gates ``(L, n, 4u)`` (see the module docstring)."""
    projected = np.ascontiguousarray(projected)  # a graph may pass a transposed view: loops want unit stride
    steps, n, width = projected.shape
    u = width // 3
    one = np.ones(1, dtype=projected.dtype)[0]
    W = np.ascontiguousarray(W_h)
    states = np.empty((steps, n, u), dtype=projected.dtype)
    gates = np.empty((steps, n, 4 * u), dtype=projected.dtype)
    h = np.ascontiguousarray(h0)
    for t in range(steps):
        active = _active_rows(mask, t)
        out = states[t]
        for i in range(active, n):  # padding after the last real row: the state is kept, no product
            out[i] = h[i]
            gates[t, i] = 0
        if active == 0:
            h = states[t]
            continue
        p = np.dot(h[:active], W)
        a = projected[t]
        for i in range(active):
            m = mask[t, i]
            a_i, p_i, h_i, g_i, out_i = a[i], p[i], h[i], gates[t, i], out[i]
            # one array written per loop, so that LLVM vectorizes it (few run-time alias checks)
            for j in range(u):
                p_c = p_i[2 * u + j] + b_h[2 * u + j]
                r = sigmoid(a_i[j] + p_i[j] + b_h[j])
                g_i[j] = r
                g_i[u + j] = sigmoid(a_i[u + j] + p_i[u + j] + b_h[u + j])
                g_i[2 * u + j] = tanh(a_i[2 * u + j] + r * p_c)
                g_i[3 * u + j] = p_c
            for j in range(u):
                z = g_i[u + j]
                out_i[j] = m * ((one - z) * g_i[2 * u + j] + z * h_i[j]) + (one - m) * h_i[j]
        h = states[t]
    return states, gates


@jit
def gru_backward(projected: np.ndarray, W_h: np.ndarray, b_h: np.ndarray, h0: np.ndarray, mask: np.ndarray,
                 states: np.ndarray, gates: np.ndarray,
                 d_states: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(d_projected (L, n, 3u), dW_h (u, 3u), db_h (3u,), dh0 (n, u))`` (see the module docstring).

    ``projected`` and ``b_h`` are not read (``gates`` holds what the backward pass needs of them).
    """
    d_states = np.ascontiguousarray(d_states)  # a graph may pass a transposed view: loops want unit stride
    steps, n, u = states.shape
    width = 3 * u
    dtype = states.dtype
    one = np.ones(1, dtype=dtype)[0]
    W_t = np.ascontiguousarray(W_h.T)
    rows = steps * n
    previous = np.empty((steps, n, u), dtype=dtype)  # the state each step started from
    previous[0] = h0
    previous[1:] = states[:steps - 1]
    d_projected = np.empty((steps, n, width), dtype=dtype)
    d_p = np.empty((steps, n, width), dtype=dtype)  # gradient of p = h W_h + b_h, every step
    carry = np.zeros((n, u), dtype=dtype)
    direct = np.empty((n, u), dtype=dtype)
    for t in range(steps - 1, -1, -1):
        active = _active_rows(mask, t)
        for i in range(active, n):  # padding after the last real row: the gradient passes to the state before
            d_projected[t, i] = 0
            d_p[t, i] = 0
            for j in range(u):
                direct[i, j] = d_states[t, i, j] + carry[i, j]
        for i in range(active):
            m = mask[t, i]
            g_i, h_i, dh_i, carry_i = gates[t, i], previous[t, i], d_states[t, i], carry[i]
            da_i, dp_i, direct_i = d_projected[t, i], d_p[t, i], direct[i]
            for j in range(u):
                r, z, c, p_c = g_i[j], g_i[u + j], g_i[2 * u + j], g_i[3 * u + j]
                g_new = m * (dh_i[j] + carry_i[j])
                a_c = g_new * (one - z) * (one - c * c)
                da_i[j] = a_c * p_c * r * (one - r)
                da_i[u + j] = g_new * (h_i[j] - c) * z * (one - z)
                da_i[2 * u + j] = a_c
            for j in range(u):
                dp_i[j] = da_i[j]
                dp_i[u + j] = da_i[u + j]
                dp_i[2 * u + j] = da_i[2 * u + j] * g_i[j]
            for j in range(u):
                g = dh_i[j] + carry_i[j]
                direct_i[j] = (one - m) * g + m * g * g_i[u + j]
        carry = direct.copy()
        if active > 0:
            carry[:active] += np.dot(d_p[t, :active], W_t)
    dW = np.dot(previous.reshape((rows, u)).T, d_p.reshape((rows, width)))
    db = np.zeros(width, dtype=dtype)
    flat = d_p.reshape((rows, width))
    for row in range(rows):
        for k in range(width):
            db[k] += flat[row, k]
    return d_projected, dW, db, carry
