"""``symmol tune``: the given split, the best model's directory, resuming after ``kill -9``, no orphan worker.

The searches run as real processes (``python -m symmol tune``) on the bundled ESOL set; the study is read
back through Optuna.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

optuna = pytest.importorskip("optuna")

from symmol.estimator import QSARModel  # noqa: E402
from symmol.models.registry import Problem, model_kind  # noqa: E402
from symmol.models.store import load_model  # noqa: E402
from symmol.pretraining import pretrain  # noqa: E402
from symmol.training import TrainConfig  # noqa: E402
from symmol.tuning import FINE_TUNE_PRESET, STUDY_NAME, TuneData, TuneSettings, preset_trials, tune  # noqa: E402

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")
TARGET = "measured log solubility in mols per litre"


def _command(data: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "symmol", "tune", str(data), "--smiles-column", "smiles", "--target", TARGET,
            "--task", "regression", "--out", str(out), *extra]


def _study(out: Path):
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(out / "study.journal")))
    return optuna.load_study(study_name=STUDY_NAME, storage=storage)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def esol(tmp_path_factory, example_data):
    """The first 300 ESOL rows and a splits file (Chemprop's format) with two entries."""
    work = tmp_path_factory.mktemp("tune")
    table = pd.read_csv(example_data / "esol.csv").iloc[:300]
    table.to_csv(work / "esol.csv", index=False)
    order = np.random.default_rng(7).permutation(300)
    splits = [{"train": sorted(order[:200].tolist()), "val": sorted(order[200:250].tolist()),
               "test": sorted(order[250:].tolist())},
              {"train": list(range(100)), "val": list(range(100, 200)), "test": list(range(200, 300))}]
    (work / "splits.json").write_text(json.dumps(splits))
    return work, splits[0]


def test_tune_honours_the_split_and_writes_the_best_model(esol, tmp_path):
    work, split = esol
    out = tmp_path / "study"
    done = subprocess.run(_command(work / "esol.csv", out, "--splits-file", str(work / "splits.json"), "--timeout",
                                   "600", "--n-trials", "3", "--architectures", "gp,mlp", "--epochs", "5",
                                   "--seed", "1"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "split train/val/test = 200/50/50 (splits file)" in done.stdout
    metrics = json.loads((out / "best" / "metrics.json").read_text())
    assert set(metrics) == {"train", "val", "test"} and set(metrics["test"]) >= {"rmse", "mae", "r2"}
    study = _study(out)
    best = study.best_trial
    assert metrics["val"]["rmse"] == pytest.approx(-best.value, rel=1e-5)  # the objective is the validation RMSE
    # the chosen model scores the test rows of the file's first entry
    table = pd.read_csv(work / "esol.csv")
    model = load_model(out / "best")
    test = table.iloc[split["test"]]
    scores = model.predict_batch(model.featurize(test).batch)[:, 0]
    assert metrics["test"]["rmse"] == pytest.approx(float(np.sqrt(np.mean((scores - test[TARGET]) ** 2))), rel=1e-5)
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 3 and set(trials["params_architecture"]) <= {"gp", "mlp"}
    # a new study starts from each architecture's defaults, in the order given
    first = [t.params for t in study.trials[:2]]
    assert first == [{"architecture": "gp", **model_kind("gp").tune_presets[0]},
                     {"architecture": "mlp", **model_kind("mlp").tune_presets[0]}]


def test_kill_9_then_rerun_continues_the_same_study(esol, tmp_path):
    work, _ = esol
    out = tmp_path / "study"
    command = _command(work / "esol.csv", out, "--n-trials", "4", "--architectures", "mlp", "--epochs", "60",
                       "--patience", "0", "--seed", "3")
    with open(tmp_path / "first.log", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while True:  # kill while the second trial runs
        assert process.poll() is None, (tmp_path / "first.log").read_text()
        assert time.monotonic() < deadline, "no second trial started in time"
        if (out / "study.journal").exists():
            trials = _study(out).get_trials(deepcopy=False)
            if len(trials) >= 2 and trials[-1].state == optuna.trial.TrialState.RUNNING \
                    and "worker" in trials[-1].user_attrs:
                break
        time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed = _study(out).get_trials(deepcopy=False)[-1].number
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"marked failed: trial(s) [{killed}]" in done.stdout
    trials = _study(out).get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert numbers == list(range(len(trials)))  # no duplicate or reused number
    assert trials[killed].state == optuna.trial.TrialState.FAIL
    finished = [t for t in trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    assert len(finished) == 4 and not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    # rerunning a finished study adds nothing
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0 and len(_study(out).get_trials(deepcopy=False)) == len(trials)


def test_kill_9_of_the_coordinator_leaves_no_worker(esol, tmp_path):
    work, _ = esol
    out = tmp_path / "study"
    with open(tmp_path / "log", "w") as log:
        process = subprocess.Popen(_command(work / "esol.csv", out, "--n-trials", "50", "--n-jobs", "2",
                                            "--architectures", "mlp", "--epochs", "200", "--patience", "0"),
                                   stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while len(_children(process.pid)) < 2 or not (out / "trials").exists():
        assert process.poll() is None, (tmp_path / "log").read_text()
        assert time.monotonic() < deadline, "the workers did not start a trial in time"
        time.sleep(0.5)
    workers = _children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10.0
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if _alive(pid)]


def test_a_trial_waits_while_the_memory_budget_is_taken(monkeypatch, tmp_path):
    from symmol import tuning

    readings = iter([3.5, 3.5, 2.0])  # GB used by the workers, read every two seconds
    monkeypatch.setattr(tuning, "_workers_rss_gb", lambda: next(readings))
    slept: list[float] = []
    monkeypatch.setattr(tuning.time, "sleep", slept.append)
    objective = tuning._Objective(None, tuning.TuneSettings(("gp",), tmp_path, n_jobs=2, max_memory_gb=4.0))
    objective._wait_for_memory(1.0)  # 3.5 + 1 > 4 twice, then 2 + 1 fits
    assert slept == [2.0, 2.0]
    # one job: the trials run in this process, so nothing could free memory by waiting
    in_process = tuning._Objective(None, tuning.TuneSettings(("gp",), tmp_path, max_memory_gb=0.001))
    in_process._wait_for_memory(1.0)
    assert slept == [2.0, 2.0]


def test_database_storage_with_heartbeat(esol, tmp_path):
    from symmol.tuning import TuneData, TuneSettings, tune

    work, split = esol
    table = pd.read_csv(work / "esol.csv")
    data = TuneData(table, table[[TARGET]].to_numpy(float), np.array(split["train"]), np.array(split["val"]),
                    np.array(split["test"]), "regression", (TARGET,))
    url = f"sqlite:///{tmp_path / 'study.db'}"
    result = tune(data, TuneSettings(("gp",), tmp_path / "out", n_trials=2, storage=url, seed=2))
    assert result["n_finished"] == 2 and (tmp_path / "out" / "best" / "model.json").exists()
    storage = optuna.storages.RDBStorage(url, heartbeat_interval=10)
    study = optuna.load_study(study_name=STUDY_NAME, storage=storage)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2


@pytest.mark.parametrize("name", ["mlp", "gp", "rf", "dmpnn", "gin"])
def test_presets_replay_to_train_defaults_and_the_embedding_variant(name):
    """Each kind's first preset is ``train``'s defaults (options and training); dmpnn's second the embedding."""
    kind = model_kind(name)
    problem = Problem(("y",), "regression", (0.0,), (1.0,))
    trained = QSARModel("regression", name).train_config()
    variants = {"dmpnn": [({}, trained.lr_schedule), ({"atom_features": "embedding", "readout": "mean"}, "constant")]}
    expected = variants.get(name, [({}, trained.lr_schedule)])
    assert len(kind.tune_presets) == len(expected)
    for preset, (options, schedule) in zip(kind.tune_presets, expected, strict=True):
        sampled = kind.search_space(optuna.trial.FixedTrial(dict(preset)))
        assert kind.make_spec(problem, sampled) == kind.make_spec(problem, options)
        if not kind.model_class.FITS_DIRECTLY:
            assert (preset["learning_rate"], preset["weight_decay"], preset["lr_schedule"]) == \
                (trained.learning_rate, trained.weight_decay, schedule)
    if name == "dmpnn":  # Chemprop 2's recipe is dmpnn's default
        assert (trained.lr_schedule, trained.epochs, kind.make_spec(problem, {}).atom_features) == \
            ("noam", 50, "chemprop")


@pytest.fixture(scope="module")
def pretrained_dmpnn(tmp_path_factory, example_data):
    import gzip

    with gzip.open(example_data / "zinc20k.smi.gz", "rt") as handle:
        library = [next(handle).split()[0] for _ in range(200)]
    work = tmp_path_factory.mktemp("pretrained")
    (work / "zinc.smi").write_text("\n".join(library) + "\n")
    pretrain(work / "zinc.smi", work / "model", "dmpnn", options={"units": 24, "depth": 2, "hidden": (16,)},
             config=TrainConfig(epochs=1, patience=0, progress=False))
    return work / "model"


def test_tune_tries_fine_tuning_the_pretrained_model_first(esol, tmp_path, pretrained_dmpnn):
    work, split = esol
    table = pd.read_csv(work / "esol.csv")
    data = TuneData(table, table[[TARGET]].to_numpy(float), np.array(split["train"]), np.array(split["val"]),
                    np.array(split["test"]), "regression", (TARGET,))
    with pytest.raises(ValueError, match="holds a dmpnn model: add dmpnn to the architectures"):
        tune(data, TuneSettings(("mlp",), tmp_path / "wrong", n_trials=1, init_from=pretrained_dmpnn))
    settings = TuneSettings(("dmpnn",), tmp_path / "out", n_trials=2, epochs=2, patience=0, init_from=pretrained_dmpnn)
    assert [t.get("fine_tune") for t in preset_trials(settings)] == [True, False, False]
    tune(data, settings)
    trials = _study(tmp_path / "out").trials
    assert trials[0].params == {"architecture": "dmpnn", **FINE_TUNE_PRESET}
    assert trials[1].params == {"architecture": "dmpnn", **model_kind("dmpnn").tune_presets[0], "fine_tune": False}
    fine_tuned, scratch = (load_model(tmp_path / "out" / "trials" / str(k)).spec for k in (0, 1))
    assert (fine_tuned.units, fine_tuned.depth) == (24, 2)  # the pretrained encoder's shape
    assert (scratch.units, scratch.atom_features, scratch.readout) == (300, "chemprop", "norm")


def test_a_repeated_setting_reuses_the_completed_trial(esol, tmp_path):
    from symmol import tuning

    work, split = esol
    table = pd.read_csv(work / "esol.csv")
    data = TuneData(table, table[[TARGET]].to_numpy(float), np.array(split["train"]), np.array(split["val"]),
                    np.array(split["test"]), "regression", (TARGET,))
    settings = TuneSettings(("gp",), tmp_path / "out", n_trials=2, seed=4)
    settings.out.mkdir()
    study = tuning._study(settings)
    preset = {"architecture": "gp", **model_kind("gp").tune_presets[0]}
    for _ in range(2):
        study.enqueue_trial(preset)
    tune(data, settings)
    first, second = _study(tmp_path / "out").trials
    assert first.params == second.params == preset and second.value == first.value
    assert second.user_attrs["duplicate_of"] == 0 and "seconds" not in second.user_attrs
    assert sorted(p.name for p in (tmp_path / "out" / "trials").iterdir()) == ["0"]
    assert (tmp_path / "out" / "best" / "metrics.json").exists()


def test_the_best_settings_refitted_as_an_ensemble_become_the_best_model(esol, tmp_path):
    work, split = esol
    table = pd.read_csv(work / "esol.csv")
    data = TuneData(table, table[[TARGET]].to_numpy(float), np.array(split["train"]), np.array(split["val"]),
                    np.array(split["test"]), "regression", (TARGET,))
    settings = TuneSettings(("mlp",), tmp_path / "out", n_trials=1, seed=2, epochs=6, patience=3, ensemble_size=3)
    result = tune(data, settings)
    record = result["ensemble"]
    best = _study(settings.out).best_trial
    assert record["size"] == 3 and record["trial_val_score"] == pytest.approx(best.value)
    assert load_model(settings.out / "trials" / "0").spec.ensemble_size == 1
    chosen = load_model(settings.out / "best")
    assert chosen.spec.ensemble_size == 3 and load_model(settings.out / "ensemble").spec.ensemble_size == 3
    # the recorded score is the ensemble's validation -RMSE, recomputed from the saved model, and best/'s metrics
    # are that model's
    val = table.iloc[split["val"]]
    scores = chosen.predict_batch(chosen.featurize(val).batch)[:, 0]
    assert record["val_score"] == pytest.approx(-float(np.sqrt(np.mean((scores - val[TARGET]) ** 2))), rel=1e-5)
    assert result["metrics"]["val"]["rmse"] == pytest.approx(-record["val_score"], rel=1e-5)
    # members differ in their initialisation: their predictions are not all the same
    members = chosen.predict_members(chosen.featurize(val).batch)
    assert members.shape == (3, len(val), 1) and np.ptp(members[:, :, 0], axis=0).max() > 1e-3


def test_a_directly_fitted_best_is_not_refitted(esol, tmp_path):
    work, split = esol
    table = pd.read_csv(work / "esol.csv")
    data = TuneData(table, table[[TARGET]].to_numpy(float), np.array(split["train"]), np.array(split["val"]),
                    np.array(split["test"]), "regression", (TARGET,))
    result = tune(data, TuneSettings(("gp",), tmp_path / "out", n_trials=1, ensemble_size=3))
    assert result["ensemble"] is None and not (tmp_path / "out" / "ensemble").exists()
