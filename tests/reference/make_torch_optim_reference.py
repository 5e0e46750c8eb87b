"""Record torch.optim trajectories that ``tests/test_updates.py`` checks symmol's update rules against.

Two float64 parameters (a ``(4, 3)`` weight ``W`` and a ``(3,)`` bias ``b``) start from fixed
random values; a fixed sequence of 100 random gradient pairs (scaled per step by a factor in
[0.1, 3] so that clipping engages on some steps only) is fed to every optimizer. For each case
the script stores the parameters after steps 1-5 and every 10th step (``steps``; errors
compound, so the later checkpoints cover the steps between them) and the rate used at every
step. Case specs are written in symmol's terms (``symmol.nn.updates`` rule names and keyword
arguments) and translated to torch here; the test reads them back from the file (a JSON
string, no pickle).

Reproduce (needs torch)::

    python tests/reference/make_torch_optim_reference.py

Output: ``tests/reference/torch_optim_reference.npz`` with keys ``W0``, ``b0``, ``grad_W``
``(100, 4, 3)``, ``grad_b`` ``(100, 3)``, ``steps`` ``(15,)`` (1-based step numbers), ``cases``
(JSON list), and per case ``<name>/W`` ``(15, 4, 3)``, ``<name>/b`` ``(15, 3)`` after those steps and
``<name>/lr`` ``(100,)``, all float64.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("torch_optim_reference.npz")
STEPS = 100
CHECKPOINTS = np.asarray([1, 2, 3, 4, 5, *range(10, STEPS + 1, 10)])

CASES = [
    {"name": "sgd", "rule": "sgd", "kwargs": {"learning_rate": 0.05}},
    {"name": "sgd_wd", "rule": "sgd", "kwargs": {"learning_rate": 0.05, "weight_decay": 0.1}},
    {"name": "momentum", "rule": "momentum", "kwargs": {"learning_rate": 0.02, "momentum": 0.9}},
    {"name": "nesterov", "rule": "momentum", "kwargs": {"learning_rate": 0.02, "momentum": 0.9, "nesterov": True}},
    {"name": "momentum_wd_W", "rule": "momentum", "decay_only_W": True,
     "kwargs": {"learning_rate": 0.02, "momentum": 0.8, "weight_decay": 0.05}},
    {"name": "adam", "rule": "adam", "kwargs": {"learning_rate": 0.01}},
    {"name": "adam_betas", "rule": "adam",
     "kwargs": {"learning_rate": 0.02, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}},
    {"name": "adam_wd", "rule": "adam", "kwargs": {"learning_rate": 0.01, "weight_decay": 0.1}},
    {"name": "adamw", "rule": "adamw", "kwargs": {"learning_rate": 0.01, "weight_decay": 0.1}},
    {"name": "adamw_wd_W", "rule": "adamw", "decay_only_W": True,
     "kwargs": {"learning_rate": 0.01, "weight_decay": 0.3}},
    {"name": "rmsprop", "rule": "rmsprop", "kwargs": {"learning_rate": 0.01}},
    {"name": "rmsprop_centered", "rule": "rmsprop", "kwargs": {"learning_rate": 0.01, "centered": True}},
    {"name": "rmsprop_momentum", "rule": "rmsprop", "kwargs": {"learning_rate": 0.005, "momentum": 0.9}},
    {"name": "rmsprop_centered_momentum_wd", "rule": "rmsprop",
     "kwargs": {"learning_rate": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.1}},
    {"name": "adagrad", "rule": "adagrad", "kwargs": {"learning_rate": 0.1}},
    {"name": "adagrad_options", "rule": "adagrad",
     "kwargs": {"learning_rate": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.05}},
    {"name": "adam_clip", "rule": "adam", "clip": 1.0, "kwargs": {"learning_rate": 0.01}},
    {"name": "sgd_clip", "rule": "sgd", "clip": 0.5, "kwargs": {"learning_rate": 0.05}},
    {"name": "adam_step_schedule", "rule": "adam", "kwargs": {"learning_rate": 0.01},
     "schedule": {"kind": "step", "step_size": 10, "gamma": 0.7}},
    {"name": "adam_exponential_schedule", "rule": "adam", "kwargs": {"learning_rate": 0.01},
     "schedule": {"kind": "exponential", "gamma": 0.97}},
    {"name": "adamw_cosine_schedule", "rule": "adamw", "kwargs": {"learning_rate": 0.01, "weight_decay": 0.1},
     "schedule": {"kind": "cosine", "total_steps": 100, "min_lr": 1e-4}},
    {"name": "momentum_warmup_cosine_clip", "rule": "momentum", "clip": 1.0,
     "kwargs": {"learning_rate": 0.02, "momentum": 0.9, "nesterov": True},
     "schedule": {"kind": "warmup_cosine", "warmup_steps": 10, "start_factor": 0.1, "total_steps": 90}},
]


def _torch_optimizer(case: dict, W, b):
    import torch

    kw = dict(case["kwargs"])
    rename = {"learning_rate": "lr", "epsilon": "eps"}
    args = {rename.get(k, k): v for k, v in kw.items()}
    if "beta1" in args or "beta2" in args:
        args["betas"] = (args.pop("beta1", 0.9), args.pop("beta2", 0.999))
    rule = case["rule"]
    cls = {"sgd": torch.optim.SGD, "momentum": torch.optim.SGD, "adam": torch.optim.Adam,
           "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}[rule]
    if rule == "adamw":
        args.setdefault("weight_decay", 1e-2)  # symmol's and torch's default
    # one reference implementation for all: torch's single-tensor loop (foreach=False)
    if case.get("decay_only_W"):
        wd = args.pop("weight_decay")
        groups = [{"params": [W], "weight_decay": wd}, {"params": [b], "weight_decay": 0.0}]
        return cls(groups, foreach=False, **args)
    return cls([W, b], foreach=False, **args)


def _torch_scheduler(case: dict, optimizer):
    from torch.optim import lr_scheduler

    spec = case.get("schedule")
    if spec is None:
        return None
    kind = spec["kind"]
    if kind == "step":
        return lr_scheduler.StepLR(optimizer, step_size=spec["step_size"], gamma=spec["gamma"])
    if kind == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=spec["gamma"])
    if kind == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=spec["total_steps"], eta_min=spec["min_lr"])
    if kind == "warmup_cosine":
        warm = lr_scheduler.LinearLR(optimizer, start_factor=spec["start_factor"], total_iters=spec["warmup_steps"])
        cos = lr_scheduler.CosineAnnealingLR(optimizer, T_max=spec["total_steps"])
        return lr_scheduler.SequentialLR(optimizer, [warm, cos], milestones=[spec["warmup_steps"]])
    raise ValueError(f"unknown schedule {kind!r}")


def main() -> None:
    import torch

    rng = np.random.default_rng(20261121)
    W0, b0 = rng.normal(size=(4, 3)), rng.normal(size=3)
    scale = rng.uniform(0.1, 3.0, size=STEPS)
    grad_W = rng.normal(size=(STEPS, 4, 3)) * scale[:, None, None]
    grad_b = rng.normal(size=(STEPS, 3)) * scale[:, None]
    arrays = {"W0": W0, "b0": b0, "grad_W": grad_W, "grad_b": grad_b, "cases": np.asarray(json.dumps(CASES)),
              "steps": CHECKPOINTS}
    for case in CASES:
        W = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float64))
        b = torch.nn.Parameter(torch.tensor(b0, dtype=torch.float64))
        optimizer = _torch_optimizer(case, W, b)
        scheduler = _torch_scheduler(case, optimizer)
        Ws, bs, lrs = [], [], []
        for t in range(STEPS):
            W.grad = torch.tensor(grad_W[t])
            b.grad = torch.tensor(grad_b[t])
            if case.get("clip"):
                torch.nn.utils.clip_grad_norm_([W, b], case["clip"], foreach=False)
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            Ws.append(W.detach().numpy().copy())
            bs.append(b.detach().numpy().copy())
        arrays[f"{case['name']}/W"] = np.stack(Ws)[CHECKPOINTS - 1]
        arrays[f"{case['name']}/b"] = np.stack(bs)[CHECKPOINTS - 1]
        arrays[f"{case['name']}/lr"] = np.asarray(lrs)
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, torch {torch.__version__})")


if __name__ == "__main__":
    main()
