"""`symmol warm-cache` fills the caches that a second process then reuses without compiling.

Slow (a cold compile of the reader, fingerprint, applicability-domain and MLP kernels and graphs,
about a minute on two cores): run with ``pytest -m slow``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

#: Run in the second process: train one epoch and screen, counting what Numba compiles.
SECOND_PROCESS = """
import json, sys
from numba.core import event
from symmol.cli.main import main

compiled = []
class Listener(event.Listener):
    def on_start(self, ev):
        f = getattr(ev.data.get("dispatcher"), "py_func", None)
        compiled.append(f"{getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', '?')}")
    def on_end(self, ev):
        pass
event.register("numba:compile", Listener())
targets = ["--target=NR-AR", "--target=SR-p53"]
main(["train", sys.argv[1], "--architecture", "mlp", "--task", "classification", "--epochs", "1", "--patience", "0",
      "--no-progress", *targets, "--out", sys.argv[2] + "/model"])
main(["screen", sys.argv[2] + "/model", sys.argv[3], "--out", sys.argv[2] + "/scores.csv", "--n-jobs", "2",
      "--scheduler", "threads", "--ad", "--no-progress"])
print("COMPILED " + json.dumps(compiled))
"""


def test_a_second_process_reuses_the_warmed_caches(tmp_path, example_data):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
           "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'pytensor'}"}
    subprocess.run([sys.executable, "-m", "symmol", "warm-cache"], env=env, check=True, capture_output=True)
    assert any((tmp_path / "numba").rglob("*.nbi")) and any((tmp_path / "pytensor").iterdir())
    done = subprocess.run([sys.executable, "-c", SECOND_PROCESS, str(example_data / "tox21.csv"), str(tmp_path),
                           str(example_data / "zinc20k.smi.gz")], env=env, check=True, capture_output=True,
                          text=True)
    compiled = json.loads(done.stdout.rsplit("COMPILED ", 1)[1])
    assert [name for name in compiled if name.startswith("symmol.")] == []
