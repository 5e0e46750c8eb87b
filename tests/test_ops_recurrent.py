"""The GRU recurrence Op (symmol.kernels.recurrent, symmol.ops.recurrent): a plain loop, torch.nn.GRU, every backend."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from pytensor.gradient import verify_grad

from symmol.compile import get_backend_mode
from symmol.kernels.activations import sigmoid, tanh
from symmol.kernels.config import jit
from symmol.kernels.recurrent import gru_backward, gru_forward
from symmol.ops.recurrent import gru_sequence

PY = Mode(linker="py", optimizer="fast_compile")
BACKENDS = {"perform": lambda: PY, "numba": lambda: get_backend_mode("numba"), "c": lambda: get_backend_mode("c"),
            "pytorch": lambda: get_backend_mode("pytorch"), "jax": lambda: get_backend_mode("jax")}


def case(steps: int, n: int, u: int, dtype: type, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Projections, weights, bias, initial state, a ragged mask and a cotangent."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, steps + 1, n)
    mask = (np.arange(steps)[:, None] < lengths[None, :]).astype(dtype)
    return (rng.standard_normal((steps, n, 3 * u)).astype(dtype), (0.5 * rng.standard_normal((u, 3 * u))).astype(dtype),
            (0.1 * rng.standard_normal(3 * u)).astype(dtype), (0.3 * rng.standard_normal((n, u))).astype(dtype),
            mask, rng.standard_normal((steps, n, u)).astype(dtype))


@jit
def _activations(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s, t = np.empty_like(x), np.empty_like(x)
    for i in range(x.shape[0]):
        s[i] = sigmoid(x[i])
        t[i] = tanh(x[i])
    return s, t


def ulps(got: np.ndarray, exact: np.ndarray) -> float:
    """Largest error in units of the last place of float32 at the exact value."""
    return float(np.max(np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(exact).astype(np.float32))))


def test_float32_sigmoid_and_tanh_are_within_three_ulps_and_float64_is_numpy():
    x = np.concatenate([np.linspace(-80, 80, 400_001), np.linspace(-1, 1, 200_001), [0.0, 1e-30, -1e-7, 0.625]])
    s, t = _activations(x.astype(np.float32))
    exact = x.astype(np.float32).astype(np.float64)
    assert s.dtype == t.dtype == np.float32
    assert ulps(s, 1 / (1 + np.exp(-exact))) <= 3 and ulps(t, np.tanh(exact)) <= 3
    s_far, t_far = _activations(np.float32([-200, -90, 90, 200, 1e30]))
    np.testing.assert_array_equal(t_far, [-1, -1, 1, 1, 1])
    assert 0 <= s_far[0] < 1e-37 and s_far[2] == s_far[3] == 1
    s64, t64 = _activations(x)
    np.testing.assert_allclose(s64, 1.0 / (1.0 + np.exp(-x)), rtol=1e-15, atol=0)
    np.testing.assert_allclose(t64, np.tanh(x), rtol=1e-15, atol=0)


def loop_forward(projected, W_h, b_h, h0, mask) -> np.ndarray:
    """The recurrence one number at a time, in float64."""
    steps, n, _ = projected.shape
    u = h0.shape[1]
    states = np.zeros((steps, n, u))
    h = h0.astype(np.float64)
    for t in range(steps):
        new = np.empty_like(h)
        for i in range(n):
            for j in range(u):
                p = [sum(h[i, k] * W_h[k, g * u + j] for k in range(u)) + b_h[g * u + j] for g in range(3)]
                r = 1 / (1 + np.exp(-(projected[t, i, j] + p[0])))
                z = 1 / (1 + np.exp(-(projected[t, i, u + j] + p[1])))
                c = np.tanh(projected[t, i, 2 * u + j] + r * p[2])
                new[i, j] = mask[t, i] * ((1 - z) * c + z * h[i, j]) + (1 - mask[t, i]) * h[i, j]
        h = new
        states[t] = h
    return states


def test_kernels_match_the_loop_and_their_gradient_matches_finite_differences():
    projected, W_h, b_h, h0, mask, d_states = case(4, 3, 2, np.float64)
    states, gates = gru_forward(projected, W_h, b_h, h0, mask)
    np.testing.assert_allclose(states, loop_forward(projected, W_h, b_h, h0, mask), rtol=1e-12, atol=1e-12)
    u = h0.shape[1]
    previous = np.concatenate([h0[None], states[:-1]])
    p_c = previous @ W_h[:, 2 * u:] + b_h[2 * u:]
    r = 1 / (1 + np.exp(-(projected[..., :u] + previous @ W_h[:, :u] + b_h[:u])))
    real = mask == 1  # padding steps keep the state; their gates are not read
    np.testing.assert_allclose(gates[..., :u][real], r[real], rtol=1e-12)
    np.testing.assert_allclose(gates[..., 3 * u:][real], p_c[real], rtol=1e-12)
    grads = gru_backward(projected, W_h, b_h, h0, mask, states, gates, d_states)
    inputs = [projected, W_h, b_h, h0]
    for which, grad in enumerate(grads):  # central differences of sum(d_states * states), every entry
        numeric = np.zeros_like(inputs[which])
        for index in np.ndindex(numeric.shape):
            shifted = [x.copy() for x in inputs]
            shifted[which][index] += 1e-6
            up = np.sum(d_states * loop_forward(*shifted, mask))
            shifted[which][index] -= 2e-6
            numeric[index] = (up - np.sum(d_states * loop_forward(*shifted, mask))) / 2e-6
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


def test_kernels_match_torch_gru():
    torch = pytest.importorskip("torch")
    projected, W_h, b_h, h0, mask, _ = case(6, 4, 5, np.float32)
    mask[:] = 1  # torch.nn.GRU has no mask
    x = np.random.default_rng(1).standard_normal((4, 6, 3)).astype(np.float32)
    gru = torch.nn.GRU(3, 5, batch_first=True)
    with torch.no_grad():
        gru.weight_hh_l0.copy_(torch.from_numpy(W_h.T.copy()))
        gru.bias_hh_l0.copy_(torch.from_numpy(b_h))
        expected = gru(torch.from_numpy(x), torch.from_numpy(h0)[None])[0].numpy()
        W_x = gru.weight_ih_l0.numpy().T
        b_x = gru.bias_ih_l0.numpy()
    projected = np.ascontiguousarray((x @ W_x + b_x).transpose(1, 0, 2))
    states = gru_forward(projected, W_h, b_h, h0, mask)[0]
    np.testing.assert_allclose(states.transpose(1, 0, 2), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_op_and_its_gradient_agree_on_every_backend(backend):
    if backend in ("pytorch", "jax") and importlib.util.find_spec("torch" if backend == "pytorch" else "jax") is None:
        pytest.skip(f"{backend} is not installed")
    values = case(5, 3, 4, np.float32, seed=2)
    projected, W_h, b_h, h0, mask = (pt.tensor3("p"), pt.matrix("W"), pt.vector("b"), pt.matrix("h0"), pt.matrix("m"))
    states = gru_sequence(projected, W_h, b_h, h0, mask)
    grads = pytensor.grad(pt.sum(states * values[5]), [projected, W_h, b_h, h0])
    f = pytensor.function([projected, W_h, b_h, h0, mask], [states, *grads], mode=BACKENDS[backend]())
    got = [np.asarray(v) for v in f(*values[:5])]
    expected_states, gates = gru_forward(*values[:5])
    expected = [expected_states, *gru_backward(*values[:5], expected_states, gates, values[5])]
    for name, g, e in zip(("states", "d_projected", "dW_h", "db_h", "dh0"), got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=2e-5, err_msg=name)


def test_verify_grad_on_the_reference_and_numba():
    projected, W_h, b_h, h0, mask, _ = case(4, 3, 3, np.float64, seed=3)

    def fn(p, w, b, h):
        return gru_sequence(p, w, b, h, mask)

    rng = np.random.default_rng(4)
    verify_grad(fn, [projected, W_h, b_h, h0], rng=rng, mode=PY)
    verify_grad(fn, [projected, W_h, b_h, h0], rng=rng, mode=get_backend_mode("numba"))


def test_rows_sorted_by_length_skip_the_padding_and_give_the_same_results():
    """Sorted by decreasing length, each step computes only the rows still running: same states and gradients."""
    projected, W_h, b_h, h0, mask, d_states = case(9, 7, 4, np.float64, seed=5)
    order = np.argsort(-mask.sum(axis=0), kind="stable")
    assert (mask.sum(axis=0) < 9).any()  # some rows end early, so later steps skip them
    sorted_inputs = (projected[:, order], W_h, b_h, h0[order], mask[:, order])
    states, gates = gru_forward(*sorted_inputs)
    np.testing.assert_allclose(states, gru_forward(projected, W_h, b_h, h0, mask)[0][:, order], rtol=1e-12)
    np.testing.assert_allclose(states, loop_forward(*sorted_inputs), rtol=1e-12, atol=1e-12)
    d_projected, dW, db, dh0 = gru_backward(*sorted_inputs, states, gates, d_states[:, order])
    unsorted = gru_backward(projected, W_h, b_h, h0, mask, *gru_forward(projected, W_h, b_h, h0, mask), d_states)
    np.testing.assert_allclose(d_projected, unsorted[0][:, order], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dW, unsorted[1], rtol=1e-10)
    np.testing.assert_allclose(db, unsorted[2], rtol=1e-10)
    np.testing.assert_allclose(dh0, unsorted[3][order], rtol=1e-10, atol=1e-12)


def test_op_rejects_bad_ranks_and_a_missing_mask_means_every_step():
    with pytest.raises(TypeError, match="projected must be a float32/float64 3-tensor"):
        gru_sequence(pt.matrix("p"), pt.matrix(), pt.vector(), pt.matrix())
    with pytest.raises(TypeError, match="W_h must have 2 dimensions"):
        gru_sequence(pt.tensor3("p"), pt.vector(), pt.vector(), pt.matrix())
    projected, W_h, b_h, h0, _, _ = case(3, 2, 2, np.float32)
    f = pytensor.function([], gru_sequence(projected, W_h, b_h, h0), mode=get_backend_mode("numba"))
    np.testing.assert_allclose(f(), gru_forward(projected, W_h, b_h, h0, np.ones((3, 2), np.float32))[0], rtol=1e-6)
    W = pt.matrix("W")
    states, gates = gru_sequence(projected, W, b_h, h0).owner.outputs
    with pytest.raises(NotImplementedError, match="workspace"):  # the gates are not differentiable
        pytensor.grad(pt.sum(states) + pt.sum(gates), W)


def test_gru_layer_step_through_the_op_equals_its_cell():
    from symmol.nn.layers import GRULayer, InputLayer

    rng = np.random.default_rng(5)
    layer = GRULayer(InputLayer((None, None, 6)), 7, rng)
    x, h = pt.matrix("x"), pt.matrix("h")
    projected = layer.project(x)
    f = pytensor.function([x, h], [layer.step(projected, h), layer.cell(projected, h)],
                          mode=get_backend_mode("numba"))
    step, cell = f(rng.standard_normal((5, 6)).astype(np.float32), rng.standard_normal((5, 7)).astype(np.float32))
    assert step.shape == (5, 7)
    np.testing.assert_allclose(step, cell, rtol=1e-5, atol=1e-6)
