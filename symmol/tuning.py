"""Hyperparameter search over the registered model kinds with Optuna (``symmol tune``).

One Optuna study per output directory, maximising the validation score of
:func:`symmol.training.loop.validation_score` (ROC-AUC, or −RMSE): the objective never sees the test
rows. Each trial draws an architecture, that kind's settings (its registry entry's ``search_space``)
and, for kinds trained by epochs, the learning rate, weight decay and schedule (constant, or Noam's
warm-up then decay); TPE samples them (Bergstra et al., NeurIPS 2011; grouped for the conditional
space, with the constant liar for parallel workers) and a median pruner stops trials whose validation
curve falls behind (after 5 trials and 5 epochs).

A new study first tries each architecture's ``tune_presets`` (its ``train`` defaults and published
recipes such as Chemprop 2's), so the search starts from the settings a user would try by hand. With
``init_from`` (a ``symmol pretrain`` model) the trials of that model's architecture also choose
between training from scratch and fine-tuning it (every layer, or the head over a frozen encoder),
and fine-tuning it with Chemprop's schedule is tried first.

Reliability on one machine:

* The study lives in ``DIR/study.journal`` (Optuna's journal file storage, safe for several
  processes) unless ``storage`` names a database (``sqlite:///...``, ``postgresql://...``: Optuna's
  RDB storage with a 10 s heartbeat, so that machines can share one study).
* A trial that draws the settings of a completed one (TPE often does for the small spaces of
  directly fitted kinds, such as the GP's) reuses its score and model (``duplicate_of``) instead of
  training the same model again.
* Every trial records its worker (host, pid, start time). A restarted search on the journal file
  first marks as failed the running trials of this host whose worker is gone (killed, crashed), so a
  ``kill -9`` loses only the trial in flight (a database study relies on its heartbeat instead);
  trial numbers are never reused, and the completed and pruned trials count towards ``n_trials``.
* ``n_jobs`` worker processes (spawned) each run trials; each watches its parent and exits within a
  second of the coordinator's death. Before a trial a worker waits (up to 10 minutes) while the
  workers' resident memory plus the largest seen for that architecture would exceed ``max_memory_gb``
  (with one job the trials run in the calling process, which has no one to wait for).

Each trial's model is written to ``DIR/trials/<number>/``; at the end ``DIR/best/`` is the
best trial's model directory with a ``metrics.json`` of train/val/test (the test metrics of that one
model only), ``DIR/trials.csv`` lists every trial and, with matplotlib, ``optimization_history.png``
and ``param_importances.png`` show the search.

With ``ensemble_size`` K > 1 the best trial's settings are then trained again as a K-member deep
ensemble (members differing in their initialisation; Lakshminarayanan et al., NeurIPS 2017,
arXiv:1612.01474), Chemprop's practice after its hyperparameter search, into ``DIR/ensemble/``, and
``DIR/best/`` is that ensemble. It is not compared with the trial on the validation rows: the trial
won its place by the highest validation score of the search, an estimate biased upwards (the
winner's curse), so such a comparison favours the trial whatever the ensemble is worth. Both
validation scores are reported. Kinds fitted directly (a GP) are deterministic and are not refitted.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
import socket
import threading
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from symmol.data.batch import Batch
from symmol.estimator import QSARModel
from symmol.evaluation.metrics import task_metrics
from symmol.featurizers.pipeline import exit_with_parent
from symmol.models.registry import ModelKind, architecture_of, model_kind
from symmol.models.store import load_model

__all__ = ["STUDY_NAME", "TuneData", "TuneSettings", "preset_trials", "pretrained_architecture", "refit_ensemble",
           "tune"]

#: The study's name in its storage.
STUDY_NAME = "symmol-tune"
#: Longest wait of a worker for memory before it starts a trial anyway (seconds).
MEMORY_WAIT = 600.0
#: The training parameters tuned for kinds trained by epochs (presets may fix them).
TRAINING_PARAMETERS = ("learning_rate", "weight_decay", "lr_schedule")
#: The first trial of a study with ``init_from``: every layer fine-tuned with Chemprop's schedule.
FINE_TUNE_PRESET = {"fine_tune": True, "fine_tune.freeze": "none", "learning_rate": 1e-3, "weight_decay": 3e-4,
                    "lr_schedule": "noam"}


@dataclass(frozen=True)
class TuneData:
    """The labelled rows and their split.

    Attributes
    ----------
    table
        The rows (the columns the models read, ``smiles`` for molecule models).
    y : (n_rows, n_targets) float
        Targets, NaN = missing.
    train, val, test : int arrays
        Row numbers of the split (``test`` only scores the chosen model).
    task, targets
        ``"classification"``/``"regression"`` and the target names.
    """

    table: pd.DataFrame
    y: np.ndarray
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    task: str
    targets: tuple[str, ...]


@dataclass(frozen=True)
class TuneSettings:
    """How long and where to search.

    Attributes
    ----------
    architectures
        Registered kinds to choose among.
    out
        The study's directory.
    n_trials
        Finished (completed or pruned) trials to reach, counted over every run of the study; ``None``
        with a ``timeout`` only.
    timeout
        Seconds of this run (each worker stops starting trials after it).
    n_jobs
        Worker processes (1: trials run in this process).
    max_memory_gb
        Memory budget of the workers together.
    storage
        Database URL of Optuna's RDB storage; ``None`` for the journal file in ``out``.
    seed
        Seed of the samplers (worker ``k`` uses ``seed + k``) and of every trial's model.
    epochs, patience
        Epoch budget and early-stopping patience of the epoch-trained kinds.
    init_from
        A ``symmol pretrain`` model directory whose architecture's trials may fine-tune it.
    ensemble_size
        Members of the ensemble the best trial's settings are refitted as, then ``DIR/best/`` (1: no refit).
    """

    architectures: tuple[str, ...]
    out: Path
    n_trials: int | None = 50
    timeout: float | None = None
    n_jobs: int = 1
    max_memory_gb: float = 8.0
    storage: str | None = None
    seed: int = 0
    epochs: int = 40
    patience: int = 8
    init_from: Path | None = None
    ensemble_size: int = 1


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise RuntimeError("symmol tune needs Optuna: pip install 'symmol[tune]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def _storage(settings: TuneSettings) -> Any:
    optuna = _optuna()
    if settings.storage:
        return optuna.storages.RDBStorage(settings.storage, heartbeat_interval=10, grace_period=30)
    backend = optuna.storages.journal.JournalFileBackend(str(settings.out / "study.journal"))
    return optuna.storages.JournalStorage(backend)


def _study(settings: TuneSettings, worker: int = 0) -> Any:
    optuna = _optuna()
    sampler = optuna.samplers.TPESampler(seed=settings.seed + worker, multivariate=True, group=True,
                                         constant_liar=True)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5)
    return optuna.create_study(study_name=STUDY_NAME, storage=_storage(settings), direction="maximize",
                               sampler=sampler, pruner=pruner, load_if_exists=True)


def _process_started(pid: int) -> float | None:
    """Start time of process ``pid`` (seconds since boot, from ``/proc``); ``None`` if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _worker_identity() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": _process_started(os.getpid())}


def fail_orphaned_trials(study: Any) -> list[int]:
    """Mark as failed the running trials of this host whose worker process is gone; return their numbers.

    A trial without a recorded worker (its process died right after creating it) counts as orphaned.
    """
    optuna = _optuna()
    host, failed = socket.gethostname(), []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker")
        if worker is not None and (worker["host"] != host or _process_started(worker["pid"]) == worker["started"]):
            continue
        study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        failed.append(trial.number)
    return failed


def _rss_gb(pid: int) -> float:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**30


def _workers_rss_gb() -> float:
    """Resident memory of this process and, in a spawned worker, of its sibling workers."""
    pids = {os.getpid()}
    if multiprocessing.parent_process() is not None:
        parent = os.getppid()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                        pids.add(int(entry.name))
                except (OSError, IndexError, ValueError):
                    continue
    return sum(_rss_gb(pid) for pid in pids)


class _Objective:
    """One trial: sample, train on the train rows, score on the validation rows, keep the model."""

    def __init__(self, data: TuneData, settings: TuneSettings):
        self.data, self.settings = data, settings
        self._features: dict[str, Any] = {}
        self.fine_tunes = pretrained_architecture(settings)

    def _featurized(self, estimator: QSARModel) -> tuple[Batch, np.ndarray]:
        key = json.dumps([i.to_dict() for i in estimator.model_inputs()], sort_keys=True)
        if key not in self._features:
            featurized = estimator.featurize(self.data.table)
            self._features = {key: (featurized.batch, np.asarray(featurized.valid))}  # one at a time: memory
        return self._features[key]

    def _wait_for_memory(self, need_gb: float) -> None:
        if self.settings.n_jobs == 1:
            return  # trials run in this process: no other worker holds memory that waiting could free
        deadline = time.monotonic() + MEMORY_WAIT
        while _workers_rss_gb() + need_gb > self.settings.max_memory_gb and time.monotonic() < deadline:
            time.sleep(2.0)

    def estimator(self, trial: Any, ensemble_size: int = 1) -> QSARModel:
        """Build the untrained model of a trial's settings (sampled, or read back through ``FixedTrial``)."""
        architecture = trial.suggest_categorical("architecture", list(self.settings.architectures))
        kind = model_kind(architecture)
        if architecture == self.fine_tunes and trial.suggest_categorical("fine_tune", [True, False]):
            options = {"init_from": str(self.settings.init_from),
                       "freeze": trial.suggest_categorical("fine_tune.freeze", ["none", "encoder"])}
        else:
            options = kind.search_space(trial) if kind.search_space is not None else {}
        training: dict[str, Any] = {}
        if not kind.model_class.FITS_DIRECTLY:
            training = {"learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
                        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
                        "lr_schedule": trial.suggest_categorical("lr_schedule", ["constant", "noam"]),
                        "epochs": self.settings.epochs, "patience": self.settings.patience}
        return QSARModel(self.data.task, architecture, ensemble_size=ensemble_size, seed=self.settings.seed,
                         progress=False, **options, **training)

    def fit(self, estimator: QSARModel, on_validation: Any = None) -> float:
        """Train on the train rows; return the validation score of the best epoch (−inf if undefined)."""
        batch, valid = self._featurized(estimator)
        train, val = self.data.train[valid[self.data.train]], self.data.val[valid[self.data.val]]
        estimator.fit_featurized(batch.take(train), self.data.y[train], batch.take(val), self.data.y[val],
                                 target_names=self.data.targets, on_validation=on_validation)
        history = estimator.history_
        return float(history.val_score[history.best_epoch]) if history.val_score else -math.inf

    def __call__(self, trial: Any) -> float:
        optuna = _optuna()
        trial.set_user_attr("worker", _worker_identity())
        estimator = self.estimator(trial)
        architecture = estimator.architecture
        previous = trial.study.get_trials(deepcopy=False)
        for done in previous:  # the same settings (and seed) train the same model: reuse its score
            if done.state == optuna.trial.TrialState.COMPLETE and done.params == trial.params:
                trial.set_user_attr("duplicate_of", done.user_attrs.get("duplicate_of", done.number))
                return float(done.value)
        seen = [t.user_attrs.get("rss_gb", 0.0) for t in previous if t.params.get("architecture") == architecture]
        self._wait_for_memory(max(seen, default=0.0))
        started = time.perf_counter()

        def report(epoch: int, score: float) -> None:
            if math.isfinite(score):
                trial.report(score, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()

        score = self.fit(estimator, report)
        estimator.save(self.settings.out / "trials" / str(trial.number))
        trial.set_user_attr("seconds", time.perf_counter() - started)
        trial.set_user_attr("epochs", len(estimator.history_.train_loss))
        trial.set_user_attr("rss_gb", _rss_gb(os.getpid()))
        if not math.isfinite(score):
            raise ValueError(f"trial {trial.number}: the validation score is undefined "
                             f"({estimator.history_.monitor})")
        return score


def pretrained_architecture(settings: TuneSettings) -> str | None:
    """Return the architecture of ``settings.init_from`` (None without one).

    Raises
    ------
    ValueError
        If that architecture is not among ``settings.architectures``.
    """
    if settings.init_from is None:
        return None
    name = architecture_of(load_model(settings.init_from)).name
    if name not in settings.architectures:
        raise ValueError(f"{settings.init_from} holds a {name} model: add {name} to the architectures to fine-tune it "
                         f"(searching {', '.join(settings.architectures)})")
    return name


def preset_trials(settings: TuneSettings) -> list[dict[str, Any]]:
    """Return the parameters of the trials a new study runs first, in order.

    For each architecture: fine-tuning ``init_from`` (when it is that architecture's model), then the
    kind's ``tune_presets``; kinds fitted directly drop the training parameters.
    """
    fine_tunes = pretrained_architecture(settings)
    trials = []
    for name in settings.architectures:
        kind: ModelKind = model_kind(name)
        presets = [dict(p) for p in kind.tune_presets]
        if name == fine_tunes:
            presets = [FINE_TUNE_PRESET, *({**p, "fine_tune": False} for p in presets)]
        for preset in presets:
            if kind.model_class.FITS_DIRECTLY:
                preset = {k: v for k, v in preset.items() if k not in TRAINING_PARAMETERS}
            trials.append({"architecture": name, **preset})
    return trials


def _optimize(data: TuneData, settings: TuneSettings, worker: int) -> None:
    optuna = _optuna()
    study = _study(settings, worker)
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    callbacks = [optuna.study.MaxTrialsCallback(settings.n_trials, states=finished)] if settings.n_trials else []
    if settings.n_trials and len(study.get_trials(deepcopy=False, states=finished)) >= settings.n_trials:
        return
    study.optimize(_Objective(data, settings), timeout=settings.timeout, callbacks=callbacks,
                   catch=(ValueError, RuntimeError, FloatingPointError), gc_after_trial=True)


def _worker_main(data: TuneData, settings: TuneSettings, worker: int) -> None:
    """Entry of a spawned worker: exit with the coordinator; one Numba/BLAS thread per worker."""
    import numba
    from threadpoolctl import threadpool_limits

    threading.Thread(target=exit_with_parent, args=(os.getppid(),), name="symmol-parent-watch", daemon=True).start()
    numba.set_num_threads(1)
    with threadpool_limits(1):
        _optimize(data, settings, worker)


def _run_workers(data: TuneData, settings: TuneSettings) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker_main, args=(data, settings, k), name=f"symmol-tune-{k}", daemon=True)
               for k in range(settings.n_jobs)]
    try:
        for process in workers:
            process.start()
        for process in workers:
            process.join()
    finally:
        for process in workers:
            if process.is_alive():
                process.terminate()
        for process in workers:
            process.join(timeout=10)


def refit_ensemble(data: TuneData, settings: TuneSettings, best: Any) -> dict[str, Any] | None:
    """Train the best trial's settings as a ``settings.ensemble_size``-member ensemble into ``DIR/ensemble/``.

    Returns
    -------
    dict or None
        ``size``, ``val_score`` (of the ensemble's member mean) and ``trial_val_score``; None when
        ``ensemble_size`` is 1 or the chosen kind is fitted directly (deterministic: a refit is the
        same model).
    """
    if settings.ensemble_size <= 1:
        return None
    objective = _Objective(data, settings)
    estimator = objective.estimator(_optuna().trial.FixedTrial(best.params), ensemble_size=settings.ensemble_size)
    if model_kind(estimator.architecture).model_class.FITS_DIRECTLY:
        return None
    score = objective.fit(estimator)
    estimator.save(settings.out / "ensemble")
    return {"size": settings.ensemble_size, "val_score": score, "trial_val_score": float(best.value)}


def _best_metrics(data: TuneData, best_dir: Path) -> dict[str, Any]:
    model = load_model(best_dir)
    featurized = model.featurize(data.table)
    valid = np.asarray(featurized.valid)
    metrics = {}
    for name, rows in (("train", data.train), ("val", data.val), ("test", data.test)):
        rows = rows[valid[rows]]
        if rows.size:
            scores = model.predict_batch(featurized.batch.take(rows))
            metrics[name] = task_metrics(data.task, data.y[rows], scores, data.targets)
    return metrics


def _plots(study: Any, out: Path) -> list[Path]:
    try:
        import matplotlib
        import matplotlib.figure

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from optuna.visualization import matplotlib as optuna_plots
    except ImportError:
        return []
    written = []
    for name, draw in (("optimization_history", optuna_plots.plot_optimization_history),
                       ("param_importances", optuna_plots.plot_param_importances)):
        try:
            with warnings.catch_warnings():  # Optuna warns about sparse regimes of a short search
                warnings.simplefilter("ignore")
                axes = draw(study)
        except (ValueError, RuntimeError, ZeroDivisionError):  # e.g. importances need two finished trials
            continue
        path = out / f"{name}.png"
        figure = cast("matplotlib.figure.Figure", axes.figure)
        figure.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    return written


def tune(data: TuneData, settings: TuneSettings) -> dict[str, Any]:
    """Run (or continue) the search and write the best model, the trial table and the plots.

    Returns
    -------
    dict
        ``best_trial``, ``best_value``, ``best_params``, ``n_finished``, ``failed_orphans`` (trial
        numbers marked failed on start), ``plots``, ``ensemble`` (:func:`refit_ensemble`'s record or
        None) and ``metrics`` (of ``DIR/best/``).

    Raises
    ------
    ValueError
        For an unknown architecture, an ``init_from`` model of an architecture not searched, or
        when no trial finished.
    RuntimeError
        If Optuna is not installed.
    """
    for name in settings.architectures:
        model_kind(name)
    pretrained_architecture(settings)
    optuna = _optuna()
    settings.out.mkdir(parents=True, exist_ok=True)
    recorded = {**asdict(settings), "out": str(settings.out),
                "init_from": None if settings.init_from is None else str(settings.init_from)}
    (settings.out / "settings.json").write_text(json.dumps(recorded, indent=2) + "\n")
    study = _study(settings)
    if not study.get_trials(deepcopy=False):
        for params in preset_trials(settings):
            study.enqueue_trial(params, skip_if_exists=True)
    # a database study's heartbeat fails its stale trials itself, whichever machine ran them
    orphans = fail_orphaned_trials(study) if settings.storage is None else []
    if settings.n_jobs == 1:
        _optimize(data, settings, 0)
    else:
        _run_workers(data, settings)
    study = _study(settings)
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not finished:
        raise ValueError(f"{settings.out}: no trial completed; see {settings.out / 'trials.csv'}")
    study.trials_dataframe().to_csv(settings.out / "trials.csv", index=False)
    best = study.best_trial
    best_dir = settings.out / "best"
    if best_dir.exists():
        shutil.rmtree(best_dir)
    ensemble = refit_ensemble(data, settings, best)
    chosen = (settings.out / "ensemble" if ensemble is not None
              else settings.out / "trials" / str(best.user_attrs.get("duplicate_of", best.number)))
    shutil.copytree(chosen, best_dir)
    metrics = _best_metrics(data, best_dir)
    (best_dir / "metrics.json").write_text(json.dumps(_finite(metrics), indent=2) + "\n")
    n_finished = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                              optuna.trial.TrialState.PRUNED)))
    return {"best_trial": best.number, "best_value": best.value, "best_params": best.params,
            "n_finished": n_finished, "failed_orphans": orphans, "plots": [str(p) for p in _plots(study, settings.out)],
            "ensemble": ensemble, "metrics": metrics}


def _finite(value: Any) -> Any:
    """NaN/inf → null and NumPy scalars → Python numbers, recursively (strict JSON)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
