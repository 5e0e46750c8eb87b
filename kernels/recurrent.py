"""The recurrence of a gated recurrent unit over a whole sequence, and its backpropagation through time.

Time-major inputs: ``projected`` ``(L, n, 3u)``, the input projections ``x_t W_x + b_x`` of every
step (one matrix product before the recurrence), the recurrent weights ``W_h`` ``(u, 3u)`` and bias
``b_h`` ``(3u,)`` with the gates in the order (r, z, c) as ``torch.nn.GRU``, the initial state ``h0``
``(n, u)`` and a ``mask`` ``(L, n)`` (1 for a real step, 0 for padding, which keeps the state)::

    a = projected[t];  p = h W_h + b_h
    r = sigmoid(a_r + p_r);  z = sigmoid(a_z + p_z);  c = tanh(a_c + r * p_c)
    h_t = m * ((1 - z) * c + z * h) + (1 - m) * h

gru_forward
    The states ``H`` ``(L, n, u)``: one ``(n, u) x (u, 3u)`` product per step, the gates in one pass.
gru_backward
    The gradients of a scalar whose gradient with respect to ``H`` is ``dH`` with respect to
    ``projected``, ``W_h``, ``b_h`` and ``h0``, stepping back in time; each step recomputes its gates
    from the stored state (one product), the state's gradient flows back through ``W_h^T`` (one
    product) and the weight gradient is a single ``(u, L n) x (L n, 3u)`` product at the end.

The products are Numba's ``np.dot`` (the BLAS SciPy ships). float32 and float64.
Pure Numba: nothing here imports PyTensor.
"""

from __future__ import annotations

import numpy as np

from .config import jit

__all__ = ["gru_backward", "gru_forward"]


@jit
def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


@jit
def gru_forward(projected: np.ndarray, W_h: np.ndarray, b_h: np.ndarray, h0: np.ndarray,
                mask: np.ndarray) -> np.ndarray:
    """Return the states ``(L, n, u)`` of the recurrence (see the module docstring)."""
    steps, n, width = projected.shape
    u = width // 3
    W = np.ascontiguousarray(W_h)
    states = np.empty((steps, n, u), dtype=projected.dtype)
    h = np.ascontiguousarray(h0)
    for t in range(steps):
        p = np.dot(h, W)
        a = projected[t]
        out = states[t]
        for i in range(n):
            m = mask[t, i]
            for j in range(u):
                r = _sigmoid(a[i, j] + p[i, j] + b_h[j])
                z = _sigmoid(a[i, u + j] + p[i, u + j] + b_h[u + j])
                c = np.tanh(a[i, 2 * u + j] + r * (p[i, 2 * u + j] + b_h[2 * u + j]))
                out[i, j] = m * ((1 - z) * c + z * h[i, j]) + (1 - m) * h[i, j]
        h = states[t]
    return states


@jit
def gru_backward(projected: np.ndarray, W_h: np.ndarray, b_h: np.ndarray, h0: np.ndarray, mask: np.ndarray,
                 states: np.ndarray, d_states: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(d_projected (L, n, 3u), dW_h (u, 3u), db_h (3u,), dh0 (n, u))`` (see the module docstring)."""
    steps, n, width = projected.shape
    u = width // 3
    dtype = projected.dtype
    W = np.ascontiguousarray(W_h)
    W_t = np.ascontiguousarray(W.T)
    h_first = np.ascontiguousarray(h0)
    d_projected = np.empty((steps, n, width), dtype=dtype)
    d_p = np.empty((steps, n, width), dtype=dtype)  # gradient of p = h W_h + b_h, every step
    previous = np.empty((steps, n, u), dtype=dtype)  # the state each step started from
    carry = np.zeros((n, u), dtype=dtype)
    direct = np.empty((n, u), dtype=dtype)
    for t in range(steps - 1, -1, -1):
        h = states[t - 1] if t > 0 else h_first
        previous[t] = h
        p = np.dot(h, W)
        a = projected[t]
        for i in range(n):
            m = mask[t, i]
            for j in range(u):
                p_c = p[i, 2 * u + j] + b_h[2 * u + j]
                r = _sigmoid(a[i, j] + p[i, j] + b_h[j])
                z = _sigmoid(a[i, u + j] + p[i, u + j] + b_h[u + j])
                c = np.tanh(a[i, 2 * u + j] + r * p_c)
                g = d_states[t, i, j] + carry[i, j]
                g_new = m * g
                direct[i, j] = (1 - m) * g + g_new * z
                a_c = g_new * (1 - z) * (1 - c * c)
                a_r = a_c * p_c * r * (1 - r)
                a_z = g_new * (h[i, j] - c) * z * (1 - z)
                d_projected[t, i, j] = a_r
                d_projected[t, i, u + j] = a_z
                d_projected[t, i, 2 * u + j] = a_c
                d_p[t, i, j] = a_r
                d_p[t, i, u + j] = a_z
                d_p[t, i, 2 * u + j] = a_c * r
        carry = direct + np.dot(d_p[t], W_t)
    rows = steps * n
    dW = np.dot(np.ascontiguousarray(previous.reshape((rows, u)).T), d_p.reshape((rows, width)))
    db = np.zeros(width, dtype=dtype)
    flat = d_p.reshape((rows, width))
    for row in range(rows):
        for k in range(width):
            db[k] += flat[row, k]
    return d_projected, dW, db, carry
