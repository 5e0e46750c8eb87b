"""MultiHeadAttentionLayer: against torch.nn.MultiheadAttention with copied weights, across backends, verify_grad."""

from __future__ import annotations

import numpy as np
import pytensor
import pytest
from pytensor.compile.mode import Mode
from pytensor.gradient import verify_grad

from symmol.compile import get_backend_mode
from symmol.nn.layers import InputLayer, MultiHeadAttentionLayer, get_output

PY = Mode(linker="py", optimizer="fast_compile")


def layers(units=8, heads=2, d_q=8, d_k=5, dtype="float32"):
    queries = InputLayer((None, None, d_q), dtype=dtype, name="q")
    keys = InputLayer((None, None, d_k), dtype=dtype, name="k")
    mask = InputLayer((None, None), dtype=dtype, name="mask")
    attention = MultiHeadAttentionLayer(queries, keys, units, heads, np.random.default_rng(0), mask=mask, name="att",
                                        b=lambda shape, rng: rng.normal(size=shape) * 0.1)
    return queries, keys, mask, attention


def inputs(dtype="float32"):
    rng = np.random.default_rng(1)
    x_q = rng.normal(size=(3, 4, 8)).astype(dtype)
    x_k = rng.normal(size=(3, 6, 5)).astype(dtype)
    mask = np.ones((3, 6), dtype=dtype)
    mask[1, 4:] = 0  # the second sequence has four keys, the third two
    mask[2, 2:] = 0
    return x_q, x_k, mask


@pytest.mark.parametrize("backend", ["numba", "c"])
def test_attention_matches_torch_multihead_attention(backend) -> None:
    torch = pytest.importorskip("torch")
    queries, keys, mask, attention = layers()
    fn = pytensor.function([queries.input_var, keys.input_var, mask.input_var],
                           get_output(attention, deterministic=True), mode=get_backend_mode(backend))
    x_q, x_k, m = inputs()
    ours = fn(x_q, x_k, m)
    reference = torch.nn.MultiheadAttention(8, 2, kdim=5, vdim=5, batch_first=True)
    values = {p.name: p.get_value() for p in attention.get_params()}
    with torch.no_grad():
        for part in "qkv":
            getattr(reference, f"{part}_proj_weight").copy_(torch.from_numpy(values[f"att.W_{part}"].T))
        reference.in_proj_bias.copy_(torch.from_numpy(np.concatenate([values[f"att.b_{p}"] for p in "qkv"])))
        reference.out_proj.weight.copy_(torch.from_numpy(values["att.W_o"].T))
        reference.out_proj.bias.copy_(torch.from_numpy(values["att.b_o"]))
        theirs, _ = reference(torch.from_numpy(x_q), torch.from_numpy(x_k), torch.from_numpy(x_k),
                              key_padding_mask=torch.from_numpy(m == 0))
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-5, atol=1e-5)
    # a masked key changes nothing: the third sequence attends to its first two keys only
    changed = x_k.copy()
    changed[2, 3:] = 100.0
    np.testing.assert_allclose(fn(x_q, changed, m)[2], ours[2], rtol=1e-6, atol=1e-6)


def test_attention_gradient() -> None:
    queries, keys, mask, attention = layers(units=4, heads=2, d_q=3, d_k=2, dtype="float64")
    rng = np.random.default_rng(2)
    x_q, x_k = rng.normal(size=(2, 3, 3)), rng.normal(size=(2, 4, 2))
    m = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=np.float64)

    def out(q, k):
        return get_output(attention, inputs={queries: q, keys: k, mask: m}) ** 2

    verify_grad(out, [x_q, x_k], rng=np.random.default_rng(3), mode=PY)


def test_units_must_split_into_heads() -> None:
    x = InputLayer((None, None, 4))
    with pytest.raises(ValueError, match=r"units \(6\) must be a positive multiple of heads \(4\)"):
        MultiHeadAttentionLayer(x, x, 6, 4, np.random.default_rng(0))
