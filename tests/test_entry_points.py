"""Parallel kernels behind native entry points (symmol.ops.entry_points), called from Numba graphs."""

from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from pytensor.compile.mode import get_mode
from test_ops_fingerprint import random_csr

from symmol.ops import entry_points
from symmol.ops.adam import adam_step_formulas, fingerprint_adam
from symmol.ops.fingerprint import fingerprint_dot

NUMBA = get_mode("NUMBA")
N_BITS = 64


def dense(indptr, indices, values, n_bits):
    X = np.zeros((len(indptr) - 1, n_bits))
    for i in range(len(indptr) - 1):
        for k in range(indptr[i], indptr[i + 1]):
            X[i, indices[k]] += values[k]
    return X


def test_only_the_training_dtypes_have_entry_points():
    assert entry_points.has_entry_point("int64", "int32", "float32")
    assert entry_points.has_entry_point("int64", "int32", "float64")
    assert not entry_points.has_entry_point("int32", "int32", "float32")
    assert not entry_points.has_entry_point("int64", "int64", "float32")



def test_cfunc_bodies_live_beside_the_kernels_they_call():
    """Numba invalidates a cached cfunc by its defining file's timestamp: defined anywhere but
    beside the kernels, an edited kernel would keep running its old cached build."""
    from symmol.kernels import sparse

    for body in entry_points._BODIES.values():
        assert body.__code__.co_filename == sparse.__file__

DEFERRED = """
import llvmlite.binding as llvm
from symmol.ops import entry_points
with entry_points.deferred() as noted:
    typ = entry_points.entry_point("fingerprint_adam", "float64")
assert noted == {("fingerprint_adam", "float64")}, noted
assert typ.symbol == entry_points.symbol_name("fingerprint_adam", "float64")
assert not llvm.address_of_symbol(typ.symbol)  # named only: nothing compiled or registered
assert entry_points.entry_point("fingerprint_adam", "float64") == typ  # outside: compiled and registered
assert llvm.address_of_symbol(typ.symbol)
with entry_points.deferred() as noted:
    entry_points.entry_point("fingerprint_adam", "float64")
assert not noted  # registered already: nothing to defer
print("ok")
"""


def test_a_deferred_entry_point_is_named_then_registered_on_demand():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", DEFERRED], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fingerprint_dot_through_the_entry_point(dtype):
    rng = np.random.default_rng(0)
    indptr, indices, values = random_csr(rng, n_bits=N_BITS)
    values = values.astype(dtype)
    Wt = pt.matrix("Wt", dtype=dtype)  # W passed transposed: a non-contiguous view inside the graph
    ip, ix, v = pt.lvector("indptr"), pt.ivector("indices"), pt.vector("values", dtype=dtype)
    f = pytensor.function([ip, ix, v, Wt], fingerprint_dot(ip, ix, v, Wt.T), mode=NUMBA)
    assert llvm.address_of_symbol(entry_points.symbol_name("fingerprint_dot", dtype))  # registered
    W = rng.standard_normal((N_BITS, 9)).astype(dtype)
    got = f(indptr, indices.astype(np.int32), values, np.ascontiguousarray(W.T))
    want = dense(indptr, indices, values, N_BITS) @ W
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-5)
    with pytest.raises(ValueError):  # validated in the graph before the entry point runs
        f(indptr, np.full(indices.size, N_BITS, np.int32), values, np.ascontiguousarray(W.T))


@pytest.mark.parametrize("layout", ["C", "F"])
def test_fingerprint_adam_in_place_through_the_entry_point(layout):
    """In-place step on W, m, v; Fortran-ordered storage is updated through a contiguous copy."""
    rng = np.random.default_rng(1)
    indptr, indices, values = random_csr(rng, n_bits=N_BITS)
    G = rng.standard_normal((len(indptr) - 1, 5))
    W = rng.standard_normal((N_BITS, 5))
    m = 0.1 * rng.standard_normal(W.shape)
    v = 0.1 * rng.random(W.shape) + 0.01
    scalars = [np.float64(x) for x in (1e-2 / (1 - 0.9**3), np.sqrt(1 - 0.999**3), 0.9, 0.999, 1e-8)]
    want = adam_step_formulas(W, dense(indptr, indices, values, N_BITS).T @ G, m, v, *scalars)

    ip, ix, vals, Gv = pt.lvector(), pt.ivector(), pt.dvector(), pt.dmatrix()
    Wv, mv, vv = pt.dmatrix(), pt.dmatrix(), pt.dmatrix()
    outs = fingerprint_adam(ip, ix, vals, Gv, Wv, mv, vv, *scalars)
    f = pytensor.function([ip, ix, vals, Gv] + [pytensor.In(x, mutable=True) for x in (Wv, mv, vv)], outs,
                          mode=NUMBA)
    assert all(node.op.inplace for node in f.maker.fgraph.apply_nodes if "Adam" in type(node.op).__name__)
    state = [np.array(x, order=layout) for x in (W, m, v)]
    got = f(indptr, indices.astype(np.int32), values, G, *state)
    for storage, out, w in zip(state, got, want, strict=True):
        np.testing.assert_allclose(out, w, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(storage, w, rtol=1e-12, atol=1e-14)  # the storage itself moved


def test_strided_inputs_are_copied_and_kept_until_the_kernel_has_read_them():
    """A gradient arriving as a column slice (a concatenation's, as in a two-input model) is copied for
    the entry point; the copy must outlive the call. Large enough for the allocator to hand it back to
    the system when freed, so a copy freed early reads garbage (or faults) instead of passing by luck."""
    rng = np.random.default_rng(2)
    n_rows, n_bits, width = 4000, 512, 64
    counts = rng.integers(0, 30, n_rows)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    indices = rng.integers(0, n_bits, int(indptr[-1])).astype(np.int32)
    values = np.ones(indices.size)
    G_wide = rng.standard_normal((n_rows, 2 * width))
    W = rng.standard_normal((n_bits, width))
    m, v = np.zeros_like(W), np.full_like(W, 1e-2)
    scalars = [np.float64(x) for x in (1e-3, np.sqrt(1 - 0.999), 0.9, 0.999, 1e-8)]
    X = dense(indptr, indices, values, n_bits)
    want = adam_step_formulas(W, X.T @ G_wide[:, :width], m, v, *scalars)
    ip, ix, vals, Gv, Wv, mv, vv = pt.lvector(), pt.ivector(), pt.dvector(), *(pt.dmatrix() for _ in range(4))
    adam = pytensor.function([ip, ix, vals, Gv, Wv, mv, vv],
                             fingerprint_adam(ip, ix, vals, Gv[:, :width], Wv, mv, vv, *scalars), mode=NUMBA)
    dot = pytensor.function([ip, ix, vals, Wv], fingerprint_dot(ip, ix, vals, Wv[:, :width]), mode=NUMBA)
    W_wide = rng.standard_normal((n_bits, 2 * width))
    for _ in range(3):
        for out, w in zip(adam(indptr, indices, values, G_wide, W, m, v), want, strict=True):
            np.testing.assert_allclose(out, w, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(dot(indptr, indices, values, W_wide), X @ W_wide[:, :width], rtol=1e-10)
