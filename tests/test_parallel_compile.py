"""Cold compilation in two processes (:mod:`symmol.compile.parallel`).

Each case runs in a fresh process with empty Numba and PyTensor caches, as a fresh install does:
the forked child's half of a fingerprint MLP's training step must come back as cache loads (its type
guesses right for every node), the step must compute exactly what PyTensor's own ``NumbaLinker``
computes, and a ``kill -9`` of the parent must take the child with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symmol.compile.backends import get_backend_mode
from symmol.compile.parallel import ParallelNumbaLinker, parallel_compile_enabled, paused_gc

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc/self/stat").exists(),
                                reason="forks and reads /proc (Linux)")

#: One training step of a fingerprint MLP on the warm-up molecules; prints the step's loss and parameters,
#: and, with the parallel linker, how the child's nodes were obtained by this process.
STEP = """
import json, sys, time
import numpy as np, pandas as pd
from symmol.compile.parallel import SplitCompile
from symmol.models.registry import Problem, model_kind
from symmol.nn.layers import get_all_params
from symmol.training.config import TrainConfig
from symmol.training.step import TrainStep
from symmol.training.warm_cache import WARM_UP_SMILES

import symmol.compile.parallel
symmol.compile.parallel.CHILD_WAIT_SHARE = 100.0  # a slow shared machine must not end the child early here

if "--no-fork" in sys.argv:  # a fork that fails: this process compiles everything (entry points first)
    import os

    def refuse():
        raise OSError("fork refused")

    os.fork = refuse
table = pd.DataFrame({"smiles": list(WARM_UP_SMILES)})
model = model_kind("mlp").make_model(Problem(("a", "b"), "classification"), {}, "numba")
batch = model.featurize(table).batch
step = TrainStep(model, TrainConfig(epochs=1, progress=False))
targets = (np.arange(2 * len(table)).reshape(-1, 2) % 3 == 0).astype(np.float32)
if "--kill" in sys.argv:
    import gc
    pids = [o.child_pid for o in gc.get_objects() if isinstance(o, SplitCompile) and o.child_pid]
    print(json.dumps(pids), flush=True)
    time.sleep(600)
loss = step(model.batch_arrays(batch), targets, np.ones((len(table), len(model.members)), np.float32))
import gc
splits = [o for o in gc.get_objects() if isinstance(o, SplitCompile)]
child = [(str(n.op), sum(s.node_function(n)._cache_hits.values()), sum(s.node_function(n)._cache_misses.values()))
         for s in splits for n in s.child_nodes]
params = [np.asarray(p.get_value()).ravel().tolist()[:50] for p in get_all_params(model.members)]
print(json.dumps({"loss": float(np.asarray(loss).ravel()[0]), "params": params, "child": child,
                  "graphs": len(splits)}))
"""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _fresh_env(tmp_path: Path, parallel: bool) -> dict[str, str]:
    cache = tmp_path / ("parallel" if parallel else "serial")
    return {**os.environ, "NUMBA_CACHE_DIR": str(cache / "numba"), "PYTENSOR_FLAGS": f"base_compiledir={cache / 'pt'}",
            "SYMMOL_PARALLEL_COMPILE": "1" if parallel else "0"}


def test_the_linker_is_the_numba_backends_unless_turned_off(monkeypatch):
    monkeypatch.delenv("SYMMOL_PARALLEL_COMPILE", raising=False)
    assert isinstance(get_backend_mode("numba").linker, ParallelNumbaLinker)
    assert parallel_compile_enabled() == (len(os.sched_getaffinity(0)) >= 2)
    monkeypatch.setenv("SYMMOL_PARALLEL_COMPILE", "0")
    assert not isinstance(get_backend_mode("numba").linker, ParallelNumbaLinker)
    assert not parallel_compile_enabled()


def test_the_old_heap_is_frozen_inside_and_thawed_after():
    import gc

    before = gc.get_freeze_count()
    with paused_gc():
        assert gc.isenabled() and gc.get_freeze_count() > before  # still collecting what the block allocates
        with paused_gc():  # nested: frozen once
            pass
        assert gc.get_freeze_count() > before
    assert gc.get_freeze_count() == 0


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: the linker does not fork")
def test_a_cold_training_step_compiles_half_in_the_child_and_computes_what_numba_linker_computes(tmp_path):
    split, serial = _step(tmp_path, "split", True), _step(tmp_path, "serial", False)
    assert split["graphs"] >= 1 and serial["graphs"] == 0
    # the child took a real share of the step (the backward half: products, Adam) ...
    assert len(split["child"]) >= 10 and any(name.startswith("DenseAdam") for name, _, _ in split["child"])
    # ... and every node it compiled was loaded from the cache here, none compiled twice
    assert all(hits >= 1 and misses == 0 for _, hits, misses in split["child"]), split["child"]
    assert split["loss"] == serial["loss"] and split["params"] == serial["params"]


@pytest.mark.slow
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: the linker does not fork")
def test_a_refused_fork_compiles_everything_here(tmp_path):
    unforked, serial = _step(tmp_path, "no fork", True, "--no-fork"), _step(tmp_path, "serial", False)
    assert unforked["child"] == [] and unforked["loss"] == serial["loss"] and unforked["params"] == serial["params"]


def _step(tmp_path: Path, name: str, parallel: bool, *extra: str) -> dict:
    """Run :data:`STEP` in a fresh process with its own empty caches; its printed record."""
    env = _fresh_env(tmp_path / name.replace(" ", "_"), parallel)
    done = subprocess.run([sys.executable, "-c", STEP, *extra], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: the linker does not fork")
def test_the_child_dies_with_a_killed_parent(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", STEP, "--kill"], env=_fresh_env(tmp_path, True),
                              stdout=subprocess.PIPE, text=True)
    try:
        children = json.loads(parent.stdout.readline())
        assert children, "no child was forked"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(map(_alive, children)):
            time.sleep(0.1)
        assert not any(map(_alive, children))
    finally:
        parent.kill()


def test_claims_give_each_node_to_one_process_and_mark_the_parents_front():
    from symmol.compile.parallel import CHILD, CHILD_GROUP, FREE, PARENT, PARENT_GROUP, _Claims

    claims = _Claims(6)
    claims.reserve(iter([3]), CHILD)  # an entry point's caller: the child's before the fork
    assert claims.claim(0, [0, 5], PARENT)  # node 0 and node 5, which compiles to the same function
    assert [claims.owner(i) for i in range(6)] == [PARENT, FREE, FREE, CHILD, FREE, PARENT_GROUP]
    assert not claims.claim(5, [0, 5], CHILD)  # the parent's through its group ...
    assert claims.owner(5) == PARENT_GROUP  # ... which does not mark the parent's front
    assert claims.claim(4, [4, 1], CHILD)
    assert not claims.claim(1, [4, 1], PARENT) and claims.owner(1) == CHILD_GROUP
    assert not claims.claim(3, [3], PARENT)  # reserved
    assert claims.claim(2, [2], PARENT) and claims.claim(5, [0, 5], PARENT)
    assert [claims.owner(i) for i in range(6)] == [PARENT, CHILD_GROUP, PARENT, CHILD, CHILD, PARENT]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: the linker does not fork")
def test_a_child_that_died_holding_the_lock_leaves_the_free_nodes_to_the_parent(monkeypatch):
    import symmol.compile.parallel as parallel

    monkeypatch.setattr(parallel, "LOCK_TIMEOUT", 0.2)
    claims = parallel._Claims(3)
    claims.reserve(iter([2]), parallel.CHILD)
    pid = os.fork()
    if pid == 0:  # the child takes the lock and dies with it
        claims._lock.acquire()
        os._exit(0)
    os.waitpid(pid, 0)
    assert claims.claim(0, [0], parallel.PARENT)
    assert not claims.claim(2, [2], parallel.PARENT)  # the child's node stays the graph function's to compile
    assert not claims.claim(1, [1], parallel.CHILD)
