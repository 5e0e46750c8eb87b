"""1-D convolution (symmol.kernels.conv, symmol.ops.conv) against plain loops, PyTorch, all backends, verify_grad."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from pytensor.gradient import verify_grad

from symmol.compile import get_backend_mode
from symmol.kernels.conv import conv1d_forward, conv1d_grad_input, conv1d_grad_weights
from symmol.ops.conv import conv1d
from symmol.ops.conv import conv1d_grad_input as conv1d_grad_input_op
from symmol.ops.conv import conv1d_grad_weights as conv1d_grad_weights_op

PY = Mode(linker="py", optimizer="fast_compile")


def naive_forward(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """The definition, one output number at a time, in float64."""
    n, width, c = x.shape
    k, _, o = W.shape
    y = np.zeros((n, width - k + 1, o))
    for i in range(n):
        for pos in range(width - k + 1):
            for out in range(o):
                y[i, pos, out] = sum(float(x[i, pos + t, ch]) * float(W[t, ch, out])
                                     for t in range(k) for ch in range(c))
    return y


def tap_forward(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Sum over taps of shifted products (float64): the definition, vectorised over samples and positions."""
    k, width_out = W.shape[0], x.shape[1] - W.shape[0] + 1
    return sum(np.einsum("nlc,co->nlo", x[:, t:t + width_out].astype(np.float64), W[t].astype(np.float64))
               for t in range(k))


def tap_grad_input(dy: np.ndarray, W: np.ndarray) -> np.ndarray:
    n, width_out, _ = dy.shape
    k, c, _ = W.shape
    dx = np.zeros((n, width_out + k - 1, c))
    for t in range(k):
        dx[:, t:t + width_out] += np.einsum("nlo,co->nlc", dy.astype(np.float64), W[t].astype(np.float64))
    return dx


def tap_grad_weights(x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    k = x.shape[1] - dy.shape[1] + 1
    width_out = dy.shape[1]
    return np.stack([np.einsum("nlc,nlo->co", x[:, t:t + width_out].astype(np.float64), dy.astype(np.float64))
                     for t in range(k)])


# (n, width, c, o, k): both strategies of the kernels (c >= o: per-tap products; c < o: patches), several
# blocks of samples (the 4 MiB blocks hold 16 and 8 samples of the last two), a filter as wide as the input.
SHAPES = [(3, 9, 4, 2, 3), (3, 9, 2, 5, 3), (2, 4, 3, 3, 4), (4, 7, 5, 6, 1), (40, 1000, 64, 16, 8),
          (20, 1000, 16, 32, 8)]


def case(shape, dtype, seed=0):
    n, width, c, o, k = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, width, c)).astype(dtype)
    W = rng.standard_normal((k, c, o)).astype(dtype)
    dy = rng.standard_normal((n, width - k + 1, o)).astype(dtype)
    return x, W, dy


def assert_close(got, expected, dtype):
    scale = max(1.0, float(np.abs(expected).max()))
    tol = 2e-6 if dtype == np.float32 else 1e-12
    assert got.dtype == dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * scale)


def test_tap_reference_is_the_definition():
    x, W, dy = case((2, 6, 3, 2, 3), np.float64)
    np.testing.assert_allclose(tap_forward(x, W), naive_forward(x, W), rtol=1e-12, atol=1e-12)
    # the gradients are the adjoints of the forward map: <conv(x, W), dy> = <x, grad_input(dy, W)> = <W, grad_weights>
    inner = float(np.sum(naive_forward(x, W) * dy))
    assert inner == pytest.approx(float(np.sum(x * tap_grad_input(dy, W))), rel=1e-12)
    assert inner == pytest.approx(float(np.sum(W * tap_grad_weights(x, dy))), rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_kernels_match_the_tap_reference(shape, dtype):
    x, W, dy = case(shape, dtype)
    assert_close(conv1d_forward(x, W), tap_forward(x, W), dtype)
    assert_close(conv1d_grad_input(dy, W), tap_grad_input(dy, W), dtype)
    assert_close(conv1d_grad_weights(x, dy), tap_grad_weights(x, dy), dtype)


def test_kernels_take_strided_inputs_and_empty_batches():
    x, W, dy = case((3, 9, 4, 2, 3), np.float32)
    x_t = np.ascontiguousarray(x.transpose(0, 2, 1)).transpose(0, 2, 1)  # channels-first memory, NWC view
    assert not x_t.flags.c_contiguous
    np.testing.assert_array_equal(conv1d_forward(x_t, W), conv1d_forward(x, W))
    np.testing.assert_array_equal(conv1d_grad_weights(x_t, dy[:, ::1]), conv1d_grad_weights(x, dy))
    np.testing.assert_array_equal(conv1d_grad_input(dy, W[:, :, ::-1][:, :, ::-1]), conv1d_grad_input(dy, W))
    assert conv1d_forward(x[:0], W).shape == (0, 7, 2)
    assert conv1d_grad_input(dy[:0], W).shape == (0, 9, 4)
    np.testing.assert_array_equal(conv1d_grad_weights(x[:0], dy[:0]), np.zeros((3, 4, 2), np.float32))


def test_kernels_reject_mismatched_shapes():
    x, W, dy = case((3, 9, 4, 2, 3), np.float32)
    with pytest.raises(ValueError, match="input channels"):
        conv1d_forward(x, W[:, :3])
    with pytest.raises(ValueError, match="narrower than the filter"):
        conv1d_forward(x[:, :2], W)
    with pytest.raises(ValueError, match="output channels"):
        conv1d_grad_input(dy, W[:, :, :1])
    with pytest.raises(ValueError, match="same number of samples"):
        conv1d_grad_weights(x, dy[:2])
    with pytest.raises(ValueError, match="wider than x"):
        conv1d_grad_weights(x[:, :5], dy)


def test_kernels_match_torch_conv1d():
    torch = pytest.importorskip("torch")
    x, W, dy = case((5, 30, 6, 4, 5), np.float32)
    x_torch = torch.from_numpy(x.transpose(0, 2, 1).copy()).requires_grad_()
    W_torch = torch.from_numpy(W.transpose(2, 1, 0).copy()).requires_grad_()  # (o, c, k)
    y = torch.nn.functional.conv1d(x_torch, W_torch)
    y.backward(torch.from_numpy(dy.transpose(0, 2, 1).copy()))
    np.testing.assert_allclose(conv1d_forward(x, W), y.detach().numpy().transpose(0, 2, 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(conv1d_grad_input(dy, W), x_torch.grad.numpy().transpose(0, 2, 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(conv1d_grad_weights(x, dy), W_torch.grad.numpy().transpose(2, 1, 0), rtol=1e-5,
                               atol=1e-5)


BACKENDS = {"perform": lambda: PY, "numba": lambda: get_backend_mode("numba"), "c": lambda: get_backend_mode("c"),
            "pytorch": lambda: get_backend_mode("pytorch"), "jax": lambda: get_backend_mode("jax")}


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("shape", [(3, 9, 4, 2, 3), (3, 9, 2, 5, 3)])
def test_op_and_its_gradients_agree_on_every_backend(backend, shape):
    if backend in ("pytorch", "jax") and importlib.util.find_spec("torch" if backend == "pytorch" else "jax") is None:
        pytest.skip(f"{backend} is not installed")
    x_value, W_value, dy_value = case(shape, np.float32)
    x, W = pt.tensor3("x", dtype="float32"), pt.tensor3("W", dtype="float32")
    y = conv1d(x, W)
    cost = pt.sum(y * dy_value)
    dx, dW = pytensor.grad(cost, [x, W])
    f = pytensor.function([x, W], [y, dx, dW], mode=BACKENDS[backend]())
    got_y, got_dx, got_dW = f(x_value, W_value)
    assert_close(np.asarray(got_y), tap_forward(x_value, W_value), np.float32)
    assert_close(np.asarray(got_dx), tap_grad_input(dy_value, W_value), np.float32)
    assert_close(np.asarray(got_dW), tap_grad_weights(x_value, dy_value), np.float32)


@pytest.mark.parametrize("shape", [(2, 7, 3, 2, 3), (2, 6, 2, 3, 2)])
def test_verify_grad_of_the_op_and_of_both_gradients(shape):
    x, W, dy = case(shape, np.float64, seed=3)
    rng = np.random.default_rng(4)
    verify_grad(conv1d, [x, W], rng=rng, mode=PY)
    verify_grad(conv1d_grad_input_op, [dy, W], rng=rng, mode=PY)
    verify_grad(conv1d_grad_weights_op, [x, dy], rng=rng, mode=PY)
    verify_grad(conv1d, [x, W], rng=rng, mode=get_backend_mode("numba"))


def test_op_upcasts_mixed_dtypes_and_rejects_bad_ranks():
    y = conv1d(pt.tensor3("x", dtype="float64"), pt.tensor3("W", dtype="float32"))
    assert y.type.dtype == "float64"
    assert y.type.shape == (None, None, None)
    assert conv1d(pt.tensor3("x", shape=(4, 10, 3)), pt.tensor3("W", shape=(3, 3, 2))).type.shape == (4, 8, 2)
    with pytest.raises(TypeError, match="ndim 3"):
        conv1d(pt.matrix("x"), pt.tensor3("W"))
    with pytest.raises(TypeError, match="float32 or float64"):
        conv1d(pt.tensor3("x", dtype="int64"), pt.tensor3("W", dtype="int64"))


@pytest.mark.parametrize("backend", ["perform", "numba"])
def test_op_errors_name_the_mismatch(backend):
    x, W = pt.tensor3("x", dtype="float32"), pt.tensor3("W", dtype="float32")
    f = pytensor.function([x, W], conv1d(x, W), mode=BACKENDS[backend]())
    values, filters, _ = case((3, 9, 4, 2, 3), np.float32)
    with pytest.raises(ValueError, match="channels"):
        f(values, filters[:, :3])
    with pytest.raises(ValueError, match="narrower than the filter"):
        f(values[:, :2], filters)


# --------------------------------------------------------------------------- #
# convolution of embedded tokens: a lookup per tap
# --------------------------------------------------------------------------- #


def token_case(n=3, width=11, n_tokens=6, c=4, k=3, o=5, seed=0):
    """Tokens (with every id used), an embedding, filters and a cotangent, float64."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, n_tokens, (n, width)).astype(np.int32)
    tokens[0, :n_tokens] = np.arange(n_tokens)
    E = rng.standard_normal((n_tokens, c))
    W = rng.standard_normal((k, c, o))
    dy = rng.standard_normal((n, width - k + 1, o))
    return tokens, E, W, dy


def naive_token_grad_table(tokens, dy, n_tokens):
    """``dtable[t, v] = sum of dy[i, l] over the windows whose tap t reads token v``, one position at a time."""
    n, width_out, o = dy.shape
    k = tokens.shape[1] - width_out + 1
    out = np.zeros((k, n_tokens, o))
    for i in range(n):
        for pos in range(width_out):
            for t in range(k):
                out[t, tokens[i, pos + t]] += dy[i, pos]
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_token_kernels_are_the_convolution_of_the_embedded_tokens(dtype):
    from symmol.kernels.conv import token_conv1d_forward, token_conv1d_grad_table

    tokens, E, W, dy = token_case()
    taps = np.einsum("vc,tco->tvo", E, W).astype(dtype)
    assert_close(token_conv1d_forward(tokens, taps), naive_forward(E[tokens], W), dtype)
    got = token_conv1d_grad_table(tokens, dy.astype(dtype), E.shape[0])
    assert_close(got, naive_token_grad_table(tokens, dy, E.shape[0]), dtype)
    # the chain rule through the tables gives the convolution's own gradients
    np.testing.assert_allclose(np.einsum("vc,tvo->tco", E, naive_token_grad_table(tokens, dy, 6)),
                               tap_grad_weights(E[tokens], dy), rtol=1e-12)
    with pytest.raises(ValueError, match="out of range"):
        token_conv1d_forward(np.where(tokens == 5, 6, tokens).astype(np.int32), taps)
    with pytest.raises(ValueError, match="narrower"):
        token_conv1d_forward(tokens[:, :2], taps)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_token_ops_agree_on_every_backend(backend):
    from symmol.ops.conv import token_conv1d

    if backend in ("pytorch", "jax") and importlib.util.find_spec("torch" if backend == "pytorch" else "jax") is None:
        pytest.skip(f"{backend} is not installed")
    tokens_value, E, W, dy_value = token_case(seed=1)
    taps_value = np.einsum("vc,tco->tvo", E, W)
    tokens, taps = pt.imatrix("tokens"), pt.tensor3("taps")
    y = token_conv1d(tokens, taps)
    (dtaps,) = pytensor.grad(pt.sum(y * dy_value), [taps])
    f = pytensor.function([tokens, taps], [y, dtaps], mode=BACKENDS[backend]())
    got_y, got_dtaps = f(tokens_value, taps_value)
    np.testing.assert_allclose(np.asarray(got_y), naive_forward(E[tokens_value], W), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(got_dtaps), naive_token_grad_table(tokens_value, dy_value, 6), rtol=1e-12)


def test_verify_grad_of_the_token_ops():
    from symmol.ops.conv import token_conv1d, token_conv1d_grad_table

    tokens, E, W, dy = token_case(n=2, width=7, n_tokens=4, c=3, k=3, o=2, seed=5)
    taps = np.einsum("vc,tco->tvo", E, W)
    rng = np.random.default_rng(6)
    for mode in (PY, get_backend_mode("numba")):
        verify_grad(lambda table: token_conv1d(tokens, table), [taps], rng=rng, mode=mode)
        verify_grad(lambda g: token_conv1d_grad_table(tokens, g, 4), [dy], rng=rng, mode=mode)


@pytest.mark.parametrize("backend", ["numba", "c", "jax"])
def test_embedding_then_convolution_is_rewritten_into_token_ops(backend):
    """An embedding feeding a convolution (DeepDTA's first layer) compiles to a lookup per tap, with the
    values and both gradients of the plain graph and of the NumPy definition."""
    from symmol.nn.layers import Conv1DLayer, EmbeddingLayer, InputLayer, get_output
    from symmol.ops.rewrites import (
        local_lookup_before_conv,
        local_lookup_conv_weight_gradient,
        local_segment_sum_of_conv_input_gradient,
    )

    if backend == "jax" and importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed")
    tokens_value, _, _, _ = token_case(n=4, width=13, n_tokens=7, seed=2)
    rng = np.random.default_rng(0)
    tokens = InputLayer((None, 13), dtype="int32")
    embedding = EmbeddingLayer(tokens, 7, 4, rng, channels_first=True)
    conv = Conv1DLayer(embedding, 5, 3, rng, pad="valid", nonlinearity="identity")
    ids = pt.imatrix("ids")
    y = get_output(conv, ids)  # (n, 5, width_out)
    C = rng.standard_normal((4, 5, 11)).astype(np.float32)
    loss = pt.sum(pt.sin(y) * C)
    # under JAX the forward only: its jit needs constant shapes, which the lookup's gradient reshapes lack
    outputs = [y] if backend == "jax" else [y, *pytensor.grad(loss, [embedding.W, conv.W])]
    mode = get_backend_mode(backend)
    f = pytensor.function([ids], outputs, mode=mode)
    names = {local_lookup_before_conv.__name__, local_lookup_conv_weight_gradient.__name__,
             local_segment_sum_of_conv_input_gradient.__name__}
    plain = pytensor.function([ids], outputs, mode=mode.excluding(*names))
    ops = {type(node.op).__name__ for node in f.maker.fgraph.toposort()}
    if backend == "jax":  # accelerator backends keep their own convolution
        assert "TokenConv1D" not in ops
    else:
        assert {"TokenConv1D", "TokenConv1DGradTable"} <= ops and not ops & {"Conv1D", "Conv1DGradWeights"}
    assert "Conv1D" in {type(node.op).__name__ for node in plain.maker.fgraph.toposort()}

    E, W, b = (p.get_value().astype(np.float64) for p in (embedding.W, conv.W, conv.b))
    y_ref = naive_forward(E[tokens_value], W) + b  # (n, width_out, o)
    dy = np.cos(y_ref) * C.transpose(0, 2, 1)
    dE = np.zeros_like(E)
    np.add.at(dE, tokens_value, tap_grad_input(dy, W))
    for got in (f(tokens_value), plain(tokens_value)):
        np.testing.assert_allclose(np.asarray(got[0]), y_ref.transpose(0, 2, 1), rtol=2e-5, atol=2e-5)
        if backend == "jax":
            continue
        np.testing.assert_allclose(np.asarray(got[1]), dE, rtol=2e-4, atol=2e-4)
        np.testing.assert_allclose(np.asarray(got[2]), tap_grad_weights(E[tokens_value], dy), rtol=2e-4, atol=2e-4)
