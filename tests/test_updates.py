"""Update rules, gradient clipping and schedules against torch.optim trajectories.

The reference values come from ``tests/reference/make_torch_optim_reference.py`` (torch.optim,
float64, 100 steps of a fixed gradient sequence); every case must agree to 1e-6 at every
stored step.
"""

import json
from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from symmol.nn.schedules import CosineDecay, ExponentialDecay, LinearWarmup, StepDecay
from symmol.nn.updates import adam, get_optimizer, momentum, sgd, total_norm_constraint

REFERENCE = np.load(Path(__file__).parent / "reference" / "torch_optim_reference.npz", allow_pickle=False)
# The rules are backend-independent graphs; the Python linker compiles in milliseconds.
MODE = "FAST_COMPILE"
CASES = {case["name"]: case for case in json.loads(str(REFERENCE["cases"]))}


def _schedule(spec: dict | None, base_lr: float):
    if spec is None:
        return None
    kind = spec["kind"]
    if kind == "step":
        return StepDecay(base_lr, spec["step_size"], spec["gamma"], dtype="float64")
    if kind == "exponential":
        return ExponentialDecay(base_lr, spec["gamma"], dtype="float64")
    if kind == "cosine":
        return CosineDecay(base_lr, spec["total_steps"], spec["min_lr"], dtype="float64")
    assert kind == "warmup_cosine"
    return LinearWarmup(base_lr, spec["warmup_steps"], spec["start_factor"],
                        after=CosineDecay(base_lr, spec["total_steps"], dtype="float64"), dtype="float64")


def _run_case(case: dict, mode: str = MODE, expect_op: type | None = None):
    W = pytensor.shared(REFERENCE["W0"].copy(), name="W")
    b = pytensor.shared(REFERENCE["b0"].copy(), name="b")
    gW, gb = pt.dmatrix("gW"), pt.dvector("gb")
    gradients = [gW, gb]
    if case.get("clip"):
        gradients = total_norm_constraint(gradients, case["clip"])
    kwargs = dict(case["kwargs"])
    schedule = _schedule(case.get("schedule"), kwargs["learning_rate"])
    if schedule is not None:
        kwargs["learning_rate"] = schedule.learning_rate
    if case.get("decay_only_W"):
        kwargs["decayed"] = [W]
    updates = get_optimizer(case["rule"])(gradients, [W, b], **kwargs)
    step = pytensor.function([gW, gb], [], updates=updates, mode=mode)
    if expect_op is not None:  # the fused Op updates both parameters, in place
        fused = [node.op for node in step.maker.fgraph.apply_nodes if isinstance(node.op, expect_op)]
        assert len(fused) == 2 and all(op.inplace for op in fused)
    Ws, bs, lrs = [], [], []
    for t in range(len(REFERENCE["grad_W"])):
        if schedule is not None:
            lrs.append(float(schedule.learning_rate.get_value()))
        step(REFERENCE["grad_W"][t], REFERENCE["grad_b"][t])
        if schedule is not None:
            schedule.step()
        Ws.append(W.get_value())
        bs.append(b.get_value())
    steps = REFERENCE["steps"] - 1
    return np.stack(Ws)[steps], np.stack(bs)[steps], np.asarray(lrs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_optim(name):
    got_W, got_b, lrs = _run_case(CASES[name])
    want_W, want_b = REFERENCE[f"{name}/W"], REFERENCE[f"{name}/b"]
    assert not np.allclose(want_W[-1], REFERENCE["W0"], atol=1e-3)  # the parameters moved
    np.testing.assert_allclose(got_W, want_W, rtol=0, atol=1e-6)
    np.testing.assert_allclose(got_b, want_b, rtol=0, atol=1e-6)
    if len(lrs):
        np.testing.assert_allclose(lrs, REFERENCE[f"{name}/lr"], rtol=1e-12)


@pytest.mark.parametrize("name", ["adam", "adam_wd", "adamw_wd_W", "adam_clip", "adamw_cosine_schedule"])
def test_numba_fused_adam_matches_torch_optim(name):
    """Under Numba, Adam/AdamW compile to DenseAdam (symmol.ops.adam); same reference, same tolerance."""
    from symmol.ops.adam import DenseAdam

    got_W, got_b, _ = _run_case(CASES[name], mode="NUMBA", expect_op=DenseAdam)
    np.testing.assert_allclose(got_W, REFERENCE[f"{name}/W"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got_b, REFERENCE[f"{name}/b"], rtol=0, atol=1e-6)


def test_reference_covers_every_rule():
    assert {case["rule"] for case in CASES.values()} == {"sgd", "momentum", "adam", "adamw", "rmsprop", "adagrad"}


def test_clipping_engages_and_matches_numpy():
    gW, gb = pt.dmatrix("gW"), pt.dvector("gb")
    clipped, norm = total_norm_constraint([gW, gb], 1.0, return_norm=True)
    f = pytensor.function([gW, gb], [*clipped, norm], mode=MODE)
    big_W, big_b = np.full((2, 2), 3.0), np.array([4.0])  # norm sqrt(36 + 16)
    out_W, out_b, out_norm = f(big_W, big_b)
    assert out_norm == pytest.approx(np.sqrt(52.0))
    scale = 1.0 / (np.sqrt(52.0) + 1e-6)
    np.testing.assert_allclose(out_W, big_W * scale, rtol=1e-12)
    np.testing.assert_allclose(out_b, big_b * scale, rtol=1e-12)
    small_W, small_b = np.full((2, 2), 0.1), np.array([0.2])
    np.testing.assert_array_equal(f(small_W, small_b)[0], small_W)  # under the bound: untouched
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        total_norm_constraint([gW], 0.0)


def test_schedule_changes_rate_without_recompiling():
    w = pytensor.shared(np.zeros(2, dtype="float32"), name="w")
    schedule = StepDecay(0.5, step_size=1, gamma=0.1)
    step = pytensor.function([], [], updates=sgd([pt.ones(2, dtype="float32")], [w], schedule.learning_rate),
                           mode=MODE)
    step()
    assert schedule.step() == pytest.approx(0.05)
    step()
    np.testing.assert_allclose(w.get_value(), [-0.55, -0.55], rtol=1e-6)
    assert schedule.learning_rate.dtype == "float32"
    with pytest.raises(ValueError, match="base learning rate must be > 0"):
        CosineDecay(0.0, 10)


def _quadratic(rule, steps=25, **kwargs):
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(4, 3))
    target = rng.normal(size=(4, 3))
    w = pytensor.shared(w0.copy(), name="w")
    loss = pt.sum(pt.sqr(w - target) * pt.arange(1, 4))
    g = pytensor.gradient.grad(loss, w)
    step = pytensor.function([], loss, updates=rule([g], [w], **kwargs), mode=MODE)
    for _ in range(steps):
        step()
    return w0, target, w.get_value()


def _grad(w, target):
    return 2 * (w - target) * np.arange(1, 4)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_on_a_quadratic(nesterov):
    w, target, got = _quadratic(momentum, learning_rate=0.02, momentum=0.9, nesterov=nesterov)
    v = np.zeros_like(w)
    for _ in range(25):
        g = _grad(w, target)
        v = 0.9 * v + g
        w = w - 0.02 * ((g + 0.9 * v) if nesterov else v)
    assert np.allclose(got, w, atol=1e-12)


def test_adam_on_a_quadratic():
    w, target, got = _quadratic(adam, learning_rate=0.1)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, 26):
        g = _grad(w, target)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w = w - 0.1 / (1 - 0.9**t) * m / (np.sqrt(v) / np.sqrt(1 - 0.999**t) + 1e-8)
    assert np.allclose(got, w, atol=1e-12)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown optimizer 'lamb'"):
        get_optimizer("lamb")
    w = pytensor.shared(np.zeros(2), name="w")
    with pytest.raises(ValueError, match="1 gradients for 2 parameters"):
        adam([pt.ones(2)], [w, w])


def test_noam_schedule_matches_chemprop_formula():
    """Chemprop 2's ``build_NoamLike_LRSched`` (init 1e-4, max 1e-3, final 1e-4, 2 warm-up epochs), per step."""
    from symmol.training.config import noam_schedule

    epochs, steps_per_epoch = 5, 7
    warmup, total = 2 * steps_per_epoch, epochs * steps_per_epoch
    init, peak, final = 1e-4, 1e-3, 1e-4

    def chemprop(step: int) -> float:
        if step < warmup:
            return init + step * (peak - init) / warmup
        if step < total:
            return peak * (final / peak) ** ((step - warmup) / (total - warmup))
        return final

    schedule = noam_schedule(peak, epochs, steps_per_epoch)
    rates = [schedule.value(t) for t in range(total + 1)]
    np.testing.assert_allclose(rates, [chemprop(t) for t in range(total + 1)], rtol=1e-9)
    assert rates[warmup] == pytest.approx(peak) and rates[total] == pytest.approx(final)


def test_noam_schedule_is_stepped_per_minibatch():
    from symmol.estimator import QSARModel
    from symmol.training.config import TrainConfig
    from symmol.training.loop import _Loop

    smiles = ["CCO", "CCN", "CCC", "c1ccccc1", "CC(=O)O"] * 4
    y = np.arange(20, dtype=np.float64)
    estimator = QSARModel("regression", hidden=(8,), fp_size=64, epochs=1, progress=False).fit(smiles, y)
    batch = estimator.featurize(smiles).batch
    config = TrainConfig(lr_schedule="noam", batch_size=4, epochs=3, learning_rate=1e-3)
    loop = _Loop(estimator.model_, batch, y[:, None], config)
    loop.epoch(0)
    assert loop.step.schedule.t == 5  # 20 rows in minibatches of 4
    assert float(loop.step.schedule.learning_rate.get_value()) == pytest.approx(1e-4 + 5 * 9e-4 / 10, rel=1e-5)
