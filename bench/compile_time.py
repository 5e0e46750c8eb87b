"""Compile time of the standard MLP training step, cold and from cache, per backend.

For each backend, three fresh Python processes compile a training function with
``symmol.compile.compile_train_step`` and run one step on it:

* **cold**: the standard MLP (ECFP4 2048 → 1024 ReLU → 4, mean squared error, Adam: the
  ZINC250k model of ``bench/train_speed.py``) with an empty PyTensor compile directory
  (``base_compiledir``) and an empty Numba cache (``NUMBA_CACHE_DIR``), both temporary:
  everything (symmol's Numba kernels, PyTensor's graph functions, C modules) is compiled
  from scratch;
* **cached**: the same model in a second process with the same, now filled, directories;
* **other model**: a different architecture (2048 → 512 → 256 → 4) in a third process with
  the same directories: the graph is new, but PyTensor caches each node's function
  separately, so only what is new compiles;
* **cold, Tox21 classifier**: the model ``symmol train`` builds for Tox21 (2048 → 512 ReLU →
  12, dropout 0.3, masked binary cross-entropy from logits, Adam) with new, empty directories.

Reported: seconds spent in ``compile_train_step`` (imports excluded), in the first training
step (the Numba backend compiles lazily, on the first call), the imports, the whole process
wall time, and the process CPU time (user + sys of the child, all threads): on a shared
machine wall time grows with the load, CPU time much less.

Each sequence is repeated ``--repeats`` times (new directories each time) and every cell is the
median over the repeats: one cold compile varies by ~10 % between runs on the shared machine.

Reproduce::

    python bench/compile_time.py --out bench/results/compile_time.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
t_start = time.perf_counter()
import numpy as np
from symmol.compile import compile_train_step
from symmol.models.mlp import MLPSpec, build_mlp
from symmol.nn.objectives import masked_binary_crossentropy_from_logits, masked_squared_error
from symmol.nn.updates import adam
t_import = time.perf_counter()
backend, hidden, kind = sys.argv[1], tuple(int(h) for h in sys.argv[2].split(",")), sys.argv[3]
if kind == "classification":  # the Tox21 model of `symmol train`: 12 tasks, dropout 0.3
    spec = MLPSpec(targets=tuple(f"t{i}" for i in range(12)), task=kind, hidden=hidden, dropout=0.3)
    loss = masked_binary_crossentropy_from_logits
else:
    spec = MLPSpec(targets=("a", "b", "c", "d"), task=kind, hidden=hidden, dropout=0.0)
    loss = masked_squared_error
_, members = build_mlp(spec)
t0 = time.perf_counter()
step = compile_train_step(members, loss, adam, 1e-3, backend=backend)
t_compile = time.perf_counter() - t0
rng = np.random.default_rng(0)
indptr = np.arange(0, 256 * 40 + 1, 40, dtype=np.int64)
indices = rng.integers(0, 2048, size=256 * 40).astype(np.int32)
targets = rng.normal(size=(256, len(spec.targets))).astype(np.float32)
if kind == "classification":
    targets = (targets > 0).astype(np.float32)
t0 = time.perf_counter()
step(indptr, indices, np.ones(indices.size, np.float32), targets)
t_first = time.perf_counter() - t0
print(json.dumps({"import": t_import - t_start, "compile": t_compile, "first_step": t_first}))
"""

#: (run name, hidden layer sizes, task, fresh caches) of the processes per backend, in order.
RUNS = (("cold", "1024", "regression", True), ("cached", "1024", "regression", False),
        ("other model", "512,256", "regression", False), ("cold, Tox21 classifier", "512", "classification", True))


def run_child(backend: str, hidden: str, task: str, compiledir: Path, numba_cache: Path, threads: int) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(numba_cache), NUMBA_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads))
    env["PYTENSOR_FLAGS"] = ",".join(filter(None, [env.get("PYTENSOR_FLAGS", ""), f"base_compiledir={compiledir}"]))
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, backend, hidden, task], env=env, capture_output=True, text=True,
                          cwd=REPO)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{backend} child failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process"] = wall
    # the C backend's compiler runs in grandchildren, which RUSAGE_CHILDREN also counts once reaped
    result["cpu"] = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["numba", "c", "jax"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3,
                        help="fresh cache directories per backend; each cell is the median over them")
    parser.add_argument("--note", default="", help="text appended to the markdown table")
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        repeats = []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory(prefix=f"symmol-compile-{backend}-") as tmp:
                for run, hidden, task, fresh in RUNS:
                    if fresh:
                        cache_dir = Path(tempfile.mkdtemp(dir=tmp))
                        compiledir, numba_cache = cache_dir / "pytensor", cache_dir / "numba"
                    r = run_child(backend, hidden, task, compiledir, numba_cache, args.threads)
                    repeats.append({"backend": backend, "run": run, "compile_train_step s": r["compile"],
                                    "first step s": r["first_step"], "imports s": r["import"],
                                    "process s": r["process"], "process CPU s": r["cpu"]})
                    print(repeats[-1], flush=True)
        for run, *_ in RUNS:  # median over the repeats, column by column
            same = [r for r in repeats if r["run"] == run]
            rows.append({key: (float(np.median([r[key] for r in same])) if isinstance(value, float) else value)
                         for key, value in same[0].items()})
    import pandas as pd

    text = pd.DataFrame(rows).to_markdown(index=False, floatfmt=".2f")
    print(text)
    if args.out:
        import platform

        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            "# Compile time of the MLP training step (2048 → 1024 → 4, Adam), cold vs cached\n\n"
            f"Command: `python bench/compile_time.py --backends {' '.join(args.backends)} --repeats {args.repeats}`  \n"
            f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}; each row a fresh process; "
            f"each cell the median of {args.repeats} repeats with new cache directories; "
            "cold = empty PyTensor compiledir and Numba cache, cached = second process with the same directories, "
            "other model = third process, 2048 → 512 → 256 → 4, same directories; cold, Tox21 classifier = "
            "2048 → 512 → 12, dropout 0.3, binary cross-entropy, empty directories. Process CPU = user + sys "
            f"time of the process (all threads; the load on the machine inflates wall times).\n\n"
            + text + "\n" + (args.note + "\n" if args.note else ""))


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    main()
