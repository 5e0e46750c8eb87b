"""Graphs with symmol's Ops load from PyTensor's Numba cache in a new process (see ``graph_kernel``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import numpy as np, pytensor, pytensor.tensor as pt
    from symmol.ops.fingerprint import fingerprint_dot
    from symmol.ops.segment import gather_rows, segment_mean
    W = pytensor.shared(np.arange(64 * 4, dtype=np.float32).reshape(64, 4))
    ip, ix, v = pt.lvector(), pt.ivector(), pt.fvector()
    x, ids = pt.fmatrix(), pt.lvector()
    f = pytensor.function([ip, ix, v], fingerprint_dot(ip, ix, v, W) * 2, mode="NUMBA")
    g = pytensor.function([ix], gather_rows(W, ix), mode="NUMBA")
    h = pytensor.function([x, ids], segment_mean(x, ids, 3), mode="NUMBA")
    idx = np.array([1, 5, 7], dtype=np.int32)
    print(f(np.array([0, 2, 3]), idx, np.ones(3, np.float32)).sum(), g(idx).sum(),
          h(np.ones((4, 2), np.float32), np.array([0, 0, 2, 2])).sum())
    # Adam on a fingerprint weight matrix: the fused, in-place FingerprintAdam Op
    from symmol.nn.updates import adam
    Wa = pytensor.shared(np.ones((64, 4), np.float32))
    loss = (fingerprint_dot(ip, ix, v, Wa) ** 2).sum()
    step = pytensor.function([ip, ix, v], loss, updates=adam(pytensor.grad(loss, [Wa]), [Wa], 0.25), mode="NUMBA")
    assert "FingerprintAdam" in str(step.maker.fgraph.toposort())
    print(*[round(float(step(np.array([0, 2, 3]), idx, np.ones(3, np.float32))), 4) for _ in range(2)])
""")


@pytest.mark.slow
def test_cached_graphs_run_in_a_second_process(tmp_path):
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path}"}
    outputs = []
    for _ in range(2):  # the second process loads every graph from the cache
        run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
        outputs.append(run.stdout.strip())
    # rows 1, 5, 7 of W sum to 226; Adam's first step moves the used weights by lr (1 -> 0.75)
    assert outputs[0] == outputs[1] == "452.0 226.0 4.0\n20.0 11.25"
