"""Screening at scale: every row kept, parallel/Dask/resumed runs byte-identical to a plain run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from symmol.chem.io import read_molecules
from symmol.estimator import QSARModel
from symmol.screen import screen_library, top_path
from symmol.screen.state import work_dir

TARGETS = ["NR-AR", "SR-MMP"]


def _train(tox21: pd.DataFrame, path: Path, seed: int, ensemble_size: int = 1) -> Path:
    model = QSARModel("classification", hidden=(32,), progress=False, seed=seed, epochs=2, patience=0,
                      ensemble_size=ensemble_size)
    model.fit(tox21["smiles"], tox21[TARGETS].to_numpy(dtype=float), target_names=TARGETS)
    model.save(path)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory, example_data) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    tox21 = read_molecules(example_data / "tox21.csv").iloc[:600]
    return {"a": _train(tox21, root / "model_a", 0), "b": _train(tox21, root / "model_b", 1),
            "ens": _train(tox21, root / "ensemble", 2, ensemble_size=3)}


@pytest.fixture(scope="module")
def library(tmp_path_factory, example_data) -> Path:
    zinc = read_molecules(example_data / "zinc20k.smi.gz").iloc[:1500]
    lines = [f"{s} {i}" for s, i in zip(zinc["smiles"], zinc["id"], strict=True)]
    lines.insert(3, "C1CC bad_ring")
    lines.insert(400, "N(=O)(=O)(=O)C bad_valence")
    lines.insert(1000, "")  # a blank line is a row too
    path = tmp_path_factory.mktemp("library") / "library.smi"
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(models, library, out, **options):
    options = {"chunk_size": 100, "top_k": 20, "progress": False, **options}
    return screen_library(models, library, out, **options)


def test_every_row_once_in_order_with_reasons(models, library, tmp_path):
    summary = _run(models["a"], library, tmp_path / "out.csv")
    result = pd.read_csv(tmp_path / "out.csv", keep_default_na=False, na_values=[""])
    assert list(result.columns) == ["row", "id", "smiles", *TARGETS, "status", "error"]
    assert result["row"].tolist() == list(range(1503))
    assert summary.rows == 1503 and summary.invalid == 3 and summary.valid == 1500
    assert result.loc[3, "status"] == "invalid" and "syntax error" in result.loc[3, "error"]
    assert result.loc[400, "status"] == "invalid" and "valence" in result.loc[400, "error"].lower()
    assert result.loc[1000, "error"] == "empty SMILES"
    assert result.loc[result["status"] == "invalid", TARGETS].isna().all().all()
    assert not work_dir(tmp_path / "out.csv").exists()
    # The top K is the K best valid rows, score descending, ties by row.
    top = pd.read_csv(top_path(tmp_path / "out.csv"))
    expected = result[result["status"] == "ok"].sort_values(["NR-AR", "row"], ascending=[False, True]).head(20)
    assert top["row"].tolist() == expected["row"].tolist()


def test_scores_equal_the_model_predictions(models, library, tmp_path):
    _run(models["a"], library, tmp_path / "out.parquet")
    result = pd.read_parquet(tmp_path / "out.parquet")
    estimator = QSARModel.load(models["a"])
    expected = estimator.predict_scores(result["smiles"].tolist())
    np.testing.assert_array_equal(result[TARGETS].to_numpy(), expected.astype(np.float64))


def test_parallel_and_serial_write_identical_bytes(models, library, tmp_path):
    _run(models["a"], library, tmp_path / "serial.csv.gz", n_jobs=1)
    _run(models["a"], library, tmp_path / "parallel.csv.gz", n_jobs=2)
    assert (tmp_path / "serial.csv.gz").read_bytes() == (tmp_path / "parallel.csv.gz").read_bytes()
    assert top_path(tmp_path / "serial.csv.gz").read_bytes() == top_path(tmp_path / "parallel.csv.gz").read_bytes()


def test_threads_and_serial_write_identical_bytes(models, library, tmp_path):
    _run(models["a"], library, tmp_path / "serial.csv.gz", n_jobs=1)
    summary = _run(models["a"], library, tmp_path / "threads.csv.gz", n_jobs=2, scheduler="threads")
    assert summary.rows > 0
    assert (tmp_path / "serial.csv.gz").read_bytes() == (tmp_path / "threads.csv.gz").read_bytes()
    assert (tmp_path / "serial.top.csv").read_bytes() == (tmp_path / "threads.top.csv").read_bytes()


def test_several_models_and_an_ensemble(models, library, tmp_path):
    out = tmp_path / "out.csv"
    _run([("a", models["a"]), ("b", models["b"]), ("ens", models["ens"])], library, out)
    result = pd.read_csv(out)
    for name in ("a", "b", "ens"):
        assert {f"{name}:{t}" for t in TARGETS} <= set(result.columns)
    assert {"ens:NR-AR_std", "mean:NR-AR", "std:SR-MMP"} <= set(result.columns)
    ok = result[result["status"] == "ok"]
    stacked = ok[["a:NR-AR", "b:NR-AR", "ens:NR-AR"]].to_numpy()
    np.testing.assert_allclose(ok["mean:NR-AR"], stacked.mean(axis=1), atol=2e-6)
    np.testing.assert_allclose(ok["std:NR-AR"], stacked.std(axis=1), atol=2e-6)
    assert (ok["ens:NR-AR_std"] > 0).all()
    top = pd.read_csv(top_path(out))
    assert top["mean:NR-AR"].is_monotonic_decreasing


def test_filters_keep_rows_but_exclude_them_from_the_ranking(models, library, tmp_path):
    out = tmp_path / "out.csv"
    summary = _run(models["a"], library, out, filters=["lipinski", "pains", "[N+](=O)[O-]"])
    result = pd.read_csv(out, keep_default_na=False)
    assert len(result) == 1503
    failed = result[result["filters"] != ""]
    assert summary.filtered == len(failed) > 0
    assert failed["filters"].str.contains("pains:").any()
    nitro = result["smiles"].str.contains(r"\[N\+\]\(=O\)\[O-\]", regex=True) & (result["status"] == "ok")
    assert failed.index.intersection(result.index[nitro]).size == nitro.sum()
    top = pd.read_csv(top_path(out))
    assert not set(top["row"]) & set(failed["row"])


def test_applicability_domain_is_max_tanimoto_to_training_set(models, library, tmp_path):
    out = tmp_path / "out.csv"
    _run(models["a"], library, out, applicability_domain=True)
    result = pd.read_csv(out, keep_default_na=False, na_values=[""])
    train = np.load(models["a"] / "train_fingerprints.npy")
    estimator = QSARModel.load(models["a"])
    ok = result[result["status"] == "ok"].head(50)
    queries = estimator.featurize(ok["smiles"].tolist()).batch.to_packed()
    common = np.bitwise_count(queries[:, None, :] & train[None, :, :]).sum(-1)
    union = np.bitwise_count(queries[:, None, :] | train[None, :, :]).sum(-1)
    expected = (common / np.maximum(union, 1)).max(axis=1)
    np.testing.assert_allclose(ok["ad"].to_numpy(), expected, atol=1e-6)
    assert result.loc[result["status"] == "invalid", "ad"].isna().all()


def test_resume_refuses_a_different_run(models, library, tmp_path):
    out = tmp_path / "out.csv"
    state = work_dir(out)
    state.mkdir()
    (state / "manifest.json").write_text(json.dumps({
        "format": "symmol-screen-manifest", "version": 2, "key": {"chunk_size": 7}, "generation": 0,
        "top": None, "chunks": {}}))
    with pytest.raises(ValueError, match="cannot resume: .*chunk_size"):
        _run(models["a"], library, out, resume=True)
    (state / "manifest.json").write_text(json.dumps({
        "format": "symmol-screen-manifest", "version": 1, "key": {}, "generation": 0, "top": None, "chunks": {}}))
    with pytest.raises(ValueError, match="not a symmol screen manifest of version 2 .an earlier symmol's run"):
        _run(models["a"], library, out, resume=True)



def test_mistyped_scheduler_fails_fast(models, library, tmp_path):
    with pytest.raises(ValueError, match=r"scheduler 'thread': expected 'local', 'threads' or the address"):
        _run(models["a"], library, tmp_path / "out.csv", scheduler="thread")



def test_scheduler_addresses_dask_accepts():
    from symmol.screen.executors import check_scheduler

    for address in ("local", "threads", "tcp://10.0.0.5:8786", "tcp://[::1]:8786", "[::1]:8786",
                    "inproc://10.0.0.1/123/1", "scheduler-host:8786"):
        check_scheduler(address)
    for typo in ("thread", "processes", "tcp"):
        with pytest.raises(ValueError, match="expected 'local', 'threads'"):
            check_scheduler(typo)


def test_chunks_finished_before_a_failure_are_kept_for_resume(models, library, tmp_path, monkeypatch):
    import symmol.screen.executors as run_module

    plain = _run(models["a"], library, tmp_path / "plain.csv")
    original = run_module.run_chunk

    def failing(bundle, index, chunk, fmt, top_k):
        if index == 3:
            raise RuntimeError("worker lost")
        return original(bundle, index, chunk, fmt, top_k)

    out = tmp_path / "out.csv"
    monkeypatch.setattr(run_module, "run_chunk", failing)
    with pytest.raises(RuntimeError, match="worker lost"):
        _run(models["a"], library, out)
    manifest = json.loads((work_dir(out) / "manifest.json").read_text())
    assert sorted(int(i) for i in manifest["chunks"]) == [0, 1, 2]
    monkeypatch.setattr(run_module, "run_chunk", original)
    summary = _run(models["a"], library, out, resume=True)
    assert summary.resumed_chunks == 3 and summary.rows == plain.rows
    assert out.read_bytes() == (tmp_path / "plain.csv").read_bytes()

def test_corrupt_model_error_names_the_users_directory(models, library, tmp_path):
    import shutil

    from symmol.models.store import ModelFileError

    broken = tmp_path / "broken_model"
    shutil.copytree(models["a"], broken)
    params = broken / "params.npz"
    params.write_bytes(params.read_bytes()[:-40])
    with pytest.raises(ModelFileError, match=f"^{broken}/params.npz: checksum does not match"):
        _run(broken, library, tmp_path / "out.csv")

def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "symmol", "screen", *args]


def test_kill_9_then_resume_is_byte_identical(models, library, tmp_path):
    args = [str(models["a"]), str(library), "--chunk-size", "20", "--n-jobs", "1", "--top", "15", "--no-progress"]
    reference = tmp_path / "reference.csv.gz"
    subprocess.run(_cli(*args, "--out", str(reference)), check=True, capture_output=True)
    out = tmp_path / "resumed.csv.gz"
    manifest = work_dir(out) / "manifest.json"
    rng = np.random.default_rng(int(time.time()))
    for attempt in range(4):
        kill_after = int(rng.integers(1, 40)) // (attempt + 1) + 1
        process = subprocess.Popen(_cli(*args, "--out", str(out)), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        while process.poll() is None:
            try:
                done = len(json.loads(manifest.read_text())["chunks"])
            except (FileNotFoundError, json.JSONDecodeError, KeyError):
                done = 0
            if done >= kill_after:
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
        process.wait()
        if process.returncode == -signal.SIGKILL:
            break
        out.unlink()
    else:
        pytest.fail("the run always finished before it could be killed")
    assert not out.exists() and manifest.exists()
    finished = subprocess.run(_cli(*args, "--out", str(out), "--resume"), check=True, capture_output=True, text=True)
    assert "chunks resumed" in finished.stdout
    assert out.read_bytes() == reference.read_bytes()
    assert top_path(out).read_bytes() == top_path(reference).read_bytes()


def test_dask_cluster_matches_local(models, library, tmp_path):
    distributed = pytest.importorskip("distributed")
    _run(models["a"], library, tmp_path / "local.csv", n_jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        summary = _run(models["a"], library, tmp_path / "dask.csv", scheduler=cluster.scheduler_address)
    assert summary.rows == 1503
    assert (tmp_path / "local.csv").read_bytes() == (tmp_path / "dask.csv").read_bytes()
    assert top_path(tmp_path / "local.csv").read_bytes() == top_path(tmp_path / "dask.csv").read_bytes()
