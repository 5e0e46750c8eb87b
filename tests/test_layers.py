"""Layers (symmol.nn.layers) against torch CPU reference forward passes with the same weights, and NumPy."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import Mode
from pytensor.gradient import verify_grad

from symmol.compile import get_backend_mode
from symmol.nn.init import GlorotUniform, HeUniform, fans
from symmol.nn.layers import (
    BatchNormLayer,
    ConcatLayer,
    Conv1DLayer,
    DenseLayer,
    DropoutLayer,
    EmbeddingLayer,
    FingerprintDenseLayer,
    FingerprintInputLayer,
    GlobalPoolLayer,
    GRULayer,
    InputLayer,
    LayerNormLayer,
    get_all_layers,
    get_all_param_values,
    get_all_params,
    get_output,
    get_rng_updates,
    get_state_updates,
    residual_block,
    set_all_param_values,
)

PY = Mode(linker="py", optimizer="fast_run")
RTOL, ATOL = 1e-5, 1e-5


@pytest.fixture
def torch():
    """The torch reference; only the tests that compare against it need (and skip without) torch."""
    return pytest.importorskip("torch")


def t(a):
    """NumPy array as a torch tensor (for tests that requested the ``torch`` fixture)."""
    return pytest.importorskip("torch").from_numpy(np.ascontiguousarray(a))


def compile_fn(inputs, outputs, backend=None, **kwargs):
    mode = PY if backend is None else get_backend_mode(backend)
    return pytensor.function(inputs, outputs, mode=mode, **kwargs)


@pytest.mark.parametrize("backend", ["numba", "c"])
def test_conv1d_masked_pooling_and_embedding_match_torch(backend, torch):
    rng = np.random.default_rng(0)
    ids_in = InputLayer((None, None), dtype="int64", name="ids")
    mask_in = InputLayer((None, None), name="mask")
    emb = EmbeddingLayer(ids_in, vocab_size=11, units=6, rng=rng, channels_first=True)
    conv = Conv1DLayer(emb, 5, 3, rng, pad="same", nonlinearity="relu")
    conv_valid = Conv1DLayer(conv, 4, 2, rng, pad="valid", nonlinearity="identity")
    pooled_max = GlobalPoolLayer(conv, "max", mask=mask_in)
    pooled_mean = GlobalPoolLayer(conv, "mean", mask=mask_in)
    outs = [get_output(layer) for layer in (conv_valid, pooled_max, pooled_mean)]
    f = compile_fn([ids_in.input_var, mask_in.input_var], outs, backend)
    ids = rng.integers(0, 11, size=(3, 7))
    lengths = np.array([7, 4, 1])
    mask = (np.arange(7)[None, :] < lengths[:, None]).astype(np.float32)
    got_valid, got_max, got_mean = f(ids, mask)

    with torch.no_grad():
        e = torch.nn.functional.embedding(t(ids), t(emb.W.get_value())).permute(0, 2, 1)
        c1 = torch.relu(torch.nn.functional.conv1d(e, t(conv.W.get_value().transpose(2, 1, 0)),
                                                   t(conv.b.get_value()), padding=1))
        c2 = torch.nn.functional.conv1d(c1, t(conv_valid.W.get_value().transpose(2, 1, 0)),
                                        t(conv_valid.b.get_value()))
    np.testing.assert_allclose(got_valid, c2.numpy(), RTOL, ATOL)
    c1 = c1.numpy()
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(got_max[i], c1[i, :, :n].max(axis=1), RTOL, ATOL)
        np.testing.assert_allclose(got_mean[i], c1[i, :, :n].mean(axis=1), RTOL, ATOL)


def test_batchnorm_train_eval_and_running_stats_match_torch(torch):
    rng = np.random.default_rng(1)
    x_in = InputLayer((None, 4))
    bn = BatchNormLayer(x_in, rng, momentum=0.2)
    bn.gamma.set_value(rng.uniform(0.5, 2, 4).astype(np.float32))
    bn.beta.set_value(rng.standard_normal(4).astype(np.float32))
    train_out = get_output(bn)
    updates = get_state_updates(bn)
    assert set(updates) == {bn.running_mean, bn.running_var}
    train = compile_fn([x_in.input_var], train_out, "numba", updates=updates)
    predict = compile_fn([x_in.input_var], get_output(bn, deterministic=True), "numba")
    assert get_state_updates(bn) == {}  # deterministic graphs record no state updates
    ref = torch.nn.BatchNorm1d(4, momentum=0.2)
    with torch.no_grad():
        ref.weight.copy_(t(bn.gamma.get_value()))
        ref.bias.copy_(t(bn.beta.get_value()))
    for step in range(3):
        x = (rng.standard_normal((8, 4)) * 3 + step).astype(np.float32)
        ref.train()
        np.testing.assert_allclose(train(x), ref(t(x)).detach().numpy(), 1e-4, 1e-4)
        np.testing.assert_allclose(bn.running_mean.get_value(), ref.running_mean.numpy(), RTOL, ATOL)
        np.testing.assert_allclose(bn.running_var.get_value(), ref.running_var.numpy(), 1e-5, 1e-5)
        ref.eval()
        np.testing.assert_allclose(predict(x), ref(t(x)).detach().numpy(), 1e-4, 1e-4)
    assert bn.running_mean not in get_all_params(bn, trainable=True)
    assert bn.gamma in get_all_params(bn, trainable=True)


def test_batchnorm_ncw_and_layernorm_match_torch(torch):
    rng = np.random.default_rng(2)
    x_in = InputLayer((None, 3, None), units=3)
    bn = BatchNormLayer(x_in, rng)
    v_in = InputLayer((None, 5))
    ln = LayerNormLayer(v_in, rng)
    ln.gamma.set_value(rng.uniform(0.5, 2, 5).astype(np.float32))
    f = compile_fn([x_in.input_var, v_in.input_var], [get_output(bn), get_output(ln)], "c")
    x = rng.standard_normal((4, 3, 6)).astype(np.float32)
    v = rng.standard_normal((7, 5)).astype(np.float32)
    got_bn, got_ln = f(x, v)
    ref_ln = torch.nn.LayerNorm(5)
    with torch.no_grad():
        ref_ln.weight.copy_(t(ln.gamma.get_value()))
    np.testing.assert_allclose(got_bn, torch.nn.BatchNorm1d(3)(t(x)).detach().numpy(), 1e-4, 1e-4)
    np.testing.assert_allclose(got_ln, ref_ln(t(v)).detach().numpy(), 1e-5, 1e-5)


def test_gru_with_mask_matches_torch(torch):
    rng = np.random.default_rng(3)
    x_in = InputLayer((None, None, 4))
    mask_in = InputLayer((None, None), name="mask")
    gru_all = GRULayer(x_in, 6, rng, b=lambda shape, r: r.uniform(-0.5, 0.5, shape))
    gru_final = GRULayer(x_in, 6, rng, mask=mask_in, only_return_final=True)
    for name in ("W_x", "W_h", "b_x", "b_h"):
        getattr(gru_final, name).set_value(getattr(gru_all, name).get_value())
    f = compile_fn([x_in.input_var, mask_in.input_var], [get_output(gru_all), get_output(gru_final)], "numba")
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    lengths = [5, 3, 1]
    mask = (np.arange(5)[None, :] < np.array(lengths)[:, None]).astype(np.float32)
    got_all, got_final = f(x, mask)
    ref = torch.nn.GRU(4, 6, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(t(gru_all.W_x.get_value().T))
        ref.weight_hh_l0.copy_(t(gru_all.W_h.get_value().T))
        ref.bias_ih_l0.copy_(t(gru_all.b_x.get_value()))
        ref.bias_hh_l0.copy_(t(gru_all.b_h.get_value()))
        expected_all = ref(t(x))[0].numpy()
    np.testing.assert_allclose(got_all, expected_all, RTOL, ATOL)
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(got_final[i], expected_all[i, n - 1], RTOL, ATOL)


def test_gradients_of_conv_batchnorm_gru():
    rng = np.random.default_rng(4)

    def build(layer_fn, shape):
        x_in = InputLayer(shape, dtype="float64", units=shape[1] if shape[2] is None else shape[2])
        layer = layer_fn(x_in)

        def fn(x):
            return get_output(layer, inputs=x)
        return fn

    x_seq = rng.standard_normal((2, 3, 5))
    conv = build(lambda i: Conv1DLayer(i, 2, 3, rng, nonlinearity="tanh"), (None, 3, None))
    bn = build(lambda i: BatchNormLayer(i, rng), (None, 3, None))
    gru = build(lambda i: GRULayer(i, 3, rng), (None, None, 5))
    for fn in (conv, bn, gru):  # float64 inputs, float32 weights: the graph runs in float64
        verify_grad(fn, [x_seq], rng=rng, mode=PY, abs_tol=1e-4, rel_tol=1e-4)


def test_dropout_residual_graph_and_state_updates():
    rng = np.random.default_rng(5)
    x_in = InputLayer((None, 8))
    h = DenseLayer(x_in, 8, rng)
    block = residual_block(h, rng, name="res")
    out = DropoutLayer(block, 0.5, seed=1)
    layers = get_all_layers(out)
    assert layers[0] is x_in and layers[-1] is out
    assert len(get_all_params(out, trainable=True)) == 6
    assert len(get_all_params(out, regularizable=True)) == 3
    train_out = get_output(out)
    assert set(get_state_updates(out)) == {out.rng} == set(get_rng_updates(out))
    x = rng.standard_normal((4, 8)).astype(np.float32)
    f = compile_fn([x_in.input_var], train_out, "numba", updates=get_state_updates(out))
    a, b = f(x), f(x)
    assert not np.array_equal(a, b)  # a new mask per call
    predict = compile_fn([x_in.input_var], get_output(out, deterministic=True), "numba")
    W = [p.get_value() for p in get_all_params(out, trainable=True)]
    hidden = np.maximum(x @ W[0] + W[1], 0)
    branch = np.maximum(hidden @ W[2] + W[3], 0) @ W[4] + W[5]
    np.testing.assert_allclose(predict(x), np.maximum(hidden + branch, 0), RTOL, ATOL)
    kept = a != 0
    np.testing.assert_allclose(a[kept], 2 * predict(x)[kept], RTOL, ATOL)


def test_embedding_rejects_out_of_range_ids():
    ids_in = InputLayer((None,), dtype="int32")
    emb = EmbeddingLayer(ids_in, 5, 3, np.random.default_rng(0))
    f = compile_fn([ids_in.input_var], get_output(emb), "numba")
    np.testing.assert_array_equal(f(np.array([4, 0], dtype=np.int32)), emb.W.get_value()[[4, 0]])
    with pytest.raises(ValueError, match="out of range"):
        f(np.array([5], dtype=np.int32))
    assert pt.as_tensor_variable(get_output(emb)).ndim == 2


def test_conv_weight_init_uses_torch_fans(torch):
    """Glorot/He over a (k, in, out) conv weight: fan_in = in·k, fan_out = out·k, as torch.nn.init."""
    assert fans((5, 64, 32)) == (320, 160) and fans((64, 32)) == (64, 32) and fans((7,)) == (7, 7)
    conv = Conv1DLayer(InputLayer((None, 64, None), units=64), 32, 5, np.random.default_rng(0))
    W = conv.W.get_value()
    weight = torch.empty(32, 64, 5)  # torch's Conv1d layout (out, in, k)
    torch_bound = np.sqrt(6.0 / sum(torch.nn.init._calculate_fan_in_and_fan_out(weight)))
    assert torch_bound == pytest.approx(np.sqrt(6.0 / (320 + 160)))
    assert 0.9 * torch_bound < np.abs(W).max() <= torch_bound
    he = HeUniform()((5, 64, 32), np.random.default_rng(0))
    assert np.abs(he).max() <= np.sqrt(2.0) * np.sqrt(3.0 / 320)
    assert np.abs(GlorotUniform()((64, 32), np.random.default_rng(0))).max() <= np.sqrt(6.0 / 96)


def test_shape_errors_instead_of_silent_results():
    rng = np.random.default_rng(5)
    x_in = InputLayer((None, 3), units=3)
    bn = BatchNormLayer(x_in, rng)
    train = compile_fn([x_in.input_var], get_output(bn), "numba", updates=get_state_updates(bn))
    with pytest.raises(AssertionError, match="more than one value per feature"):
        train(np.array([[5.0, -2.0, 7.0]], np.float32))
    np.testing.assert_array_equal(bn.running_var.get_value(), np.ones(3, np.float32))

    seq_in = InputLayer((None, 4, None), units=4)
    conv = Conv1DLayer(seq_in, 3, 5, rng, pad="valid")
    f = compile_fn([seq_in.input_var], get_output(conv), "numba")
    assert f(np.ones((1, 4, 5), np.float32)).shape == (1, 3, 1)
    with pytest.raises(AssertionError, match="narrower than the filter"):
        f(np.ones((1, 4, 4), np.float32))

    x3 = InputLayer((None, None, 4), units=4)
    mask_in = InputLayer((None, None), name="mask")
    gru = GRULayer(x3, 6, rng, mask=mask_in)
    f = compile_fn([x3.input_var, mask_in.input_var], get_output(gru), "numba")
    with pytest.raises(AssertionError, match="mask must be"):
        f(np.ones((2, 5, 4), np.float32), np.ones((2, 3), np.float32))


def test_param_names_must_be_unique_to_save_and_get_output_replaces_any_layer():
    rng = np.random.default_rng(6)
    x_in = InputLayer((None, 4), units=4)
    hidden = DenseLayer(x_in, 3, rng)
    top = DenseLayer(hidden, 2, rng, nonlinearity="identity")
    with pytest.raises(ValueError, match=r"parameter names \['DenseLayer.W', 'DenseLayer.b'\] repeat"):
        get_all_param_values(top)
    with pytest.raises(ValueError, match="repeat"):
        set_all_param_values(top, {})

    h = pt.matrix("h")
    f = compile_fn([h], get_output(top, inputs={hidden: h}))
    h_value = rng.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(f(h_value), h_value @ top.W.get_value() + top.b.get_value(), rtol=1e-6)
    with pytest.raises(ValueError, match="not in the network"):
        get_output(top, inputs={InputLayer((None, 4), units=4, name="stranger"): h})


def test_get_output_replacing_a_layer_builds_nothing_upstream_of_it():
    rng = np.random.default_rng(7)
    x_in = InputLayer((None, 4), units=4)
    hidden = DenseLayer(DropoutLayer(x_in, p=0.5, seed=0), 3, rng)
    top = DenseLayer(hidden, 2, rng, nonlinearity="identity")
    h = pt.matrix("h")
    out = get_output(top, inputs={hidden: h})
    f = compile_fn([h], out, updates=get_state_updates(top))  # no dropout RNG update of the unused input
    h_value = rng.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_allclose(f(h_value), h_value @ top.W.get_value() + top.b.get_value(), rtol=1e-6)


def test_concat_layer_matches_numpy_values_shape_and_gradient():
    rng = np.random.default_rng(8)
    a_in, b_in = InputLayer((None, 3), dtype="float64", name="a"), InputLayer((None, 2), dtype="float64", name="b")
    cat = ConcatLayer([a_in, b_in])
    assert cat.units == 5 and ConcatLayer([a_in, b_in], axis=-1).units == 5
    assert ConcatLayer([a_in, a_in], axis=0).units == 3  # rows stacked: the width stays
    assert DenseLayer(cat, 4, rng).W.get_value().shape == (5, 4)  # a DenseLayer can follow
    with pytest.raises(ValueError, match="at least one"):
        ConcatLayer([])

    out = get_output(cat)
    C = pt.matrix("C", dtype="float64")
    grads = pytensor.gradient.grad((C * out).sum(), [a_in.input_var, b_in.input_var])
    f = compile_fn([a_in.input_var, b_in.input_var, C], [out, *grads])
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    c = rng.standard_normal((4, 5))
    got, grad_a, grad_b = f(a, b, c)
    assert got.shape == (4, 5)
    np.testing.assert_array_equal(got, np.concatenate([a, b], axis=1))
    np.testing.assert_array_equal(grad_a, c[:, :3])
    np.testing.assert_array_equal(grad_b, c[:, 3:])
    verify_grad(lambda x, y: pt.tanh(get_output(cat, inputs={a_in: x, b_in: y})), [a, b], rng=rng, mode=PY)

    rows = compile_fn([a_in.input_var], get_output(ConcatLayer([a_in, a_in], axis=0)))
    np.testing.assert_array_equal(rows(a), np.concatenate([a, a], axis=0))
    ncw_a, ncw_b = InputLayer((None, 3, None), units=3), InputLayer((None, 2, None), units=2)
    channels = ConcatLayer([ncw_a, ncw_b], axis=1)
    assert channels.units == 5
    x, y = rng.standard_normal((2, 3, 7)).astype(np.float32), rng.standard_normal((2, 2, 7)).astype(np.float32)
    got = compile_fn([ncw_a.input_var, ncw_b.input_var], get_output(channels))(x, y)
    np.testing.assert_array_equal(got, np.concatenate([x, y], axis=1))


def test_concat_of_fingerprint_and_dense_inputs_compiles_with_numba():
    """Fingerprint MLP branch and numeric descriptors joined by ConcatLayer, then a DenseLayer (NUMBA)."""
    rng = np.random.default_rng(9)
    fp = FingerprintInputLayer(32, name="fp")
    hidden = FingerprintDenseLayer(fp, 6, rng, nonlinearity="relu", name="fp_dense")
    descriptors = InputLayer((None, 3), name="descriptors")
    joined = ConcatLayer([hidden, descriptors], name="joined")
    out = DenseLayer(joined, 2, rng, nonlinearity="identity", name="out")
    assert joined.units == 9 and out.W.get_value().shape == (9, 2)
    f = pytensor.function([*fp.input_var, descriptors.input_var], get_output(out, deterministic=True),
                          mode="NUMBA")
    assert "FingerprintDot" in {type(node.op).__name__ for node in f.maker.fgraph.apply_nodes}

    indptr = np.array([0, 3, 3, 7, 9], dtype=np.int64)  # row 1 has no bit on
    indices = rng.integers(0, 32, 9).astype(np.int32)
    values = rng.integers(1, 4, 9).astype(np.float32)  # counts
    x = rng.standard_normal((4, 3)).astype(np.float32)
    X = np.zeros((4, 32))
    for i in range(4):
        np.add.at(X[i], indices[indptr[i]:indptr[i + 1]], values[indptr[i]:indptr[i + 1]])
    h = np.maximum(X @ hidden.W.get_value() + hidden.b.get_value(), 0)
    expected = np.concatenate([h, x], axis=1) @ out.W.get_value() + out.b.get_value()
    got = f(indptr, indices, values, x)
    assert got.shape == (4, 2) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
