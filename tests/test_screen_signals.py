"""A screen in worker processes, stopped by Ctrl-C or killed with ``kill -9``: no process is left, nothing is lost.

The coordinator runs as a real process (``python -m symmol screen``); its children are read from ``/proc``.
"""

import gzip
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from symmol.chem.io import read_molecules
from symmol.estimator import QSARModel

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")


#: The bundled 20,000 ZINC molecules repeated: a screen long enough (tens of seconds) that a signal sent after
#: the first committed chunk always lands mid-run, even on a fast machine.
REPEATS = 8
LIBRARY_ROWS = 20_000 * REPEATS


@pytest.fixture(scope="module")
def setup(tmp_path_factory, example_data):
    work = tmp_path_factory.mktemp("signals")
    table = read_molecules(example_data / "tox21.csv").iloc[:300]
    QSARModel("classification", hidden=(32,), fp_size=512, epochs=1, patience=0, progress=False).fit(
        table["smiles"], table["NR-AR"].fillna(0).to_numpy(), target_names=["NR-AR"]).save(work / "model")
    with gzip.open(example_data / "zinc20k.smi.gz", "rt") as handle:
        lines = handle.read()
    (work / "library.smi").write_text(lines * REPEATS)
    return work


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _as_from_a_terminal() -> None:
    """Give the child the SIGINT state a shell gives: default action, not blocked.

    A child inherits an ignored disposition and the signal mask of the process that starts it; in the
    full suite an earlier test's libraries can leave either in the pytest process, and a screen started
    from it then never sees the Ctrl-C (it ran to the end and exited 0).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _screen(work: Path, out: Path, *extra: str) -> subprocess.Popen:
    """Start ``symmol screen``; its output goes to ``<out>.log`` (a pipe would stay open in orphaned workers)."""
    command = [sys.executable, "-m", "symmol", "screen", str(work / "model"), str(work / "library.smi"),
               "--out", str(out), "--n-jobs", "2", "--scheduler", "local", "--chunk-size", "500", "--no-progress",
               *extra]
    with open(out.with_name(out.name + ".log"), "w") as log:  # the child keeps its own descriptor
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True,
                                preexec_fn=_as_from_a_terminal)


def _log(out: Path) -> str:
    return out.with_name(out.name + ".log").read_text()


def _wait_for_chunks(out: Path, process: subprocess.Popen, timeout: float = 240.0) -> None:
    manifest = out.with_name(out.name + ".work") / "manifest.json"
    deadline = time.monotonic() + timeout
    while not manifest.exists():
        assert process.poll() is None, _log(out)
        assert time.monotonic() < deadline, "no chunk was committed in time"
        time.sleep(0.2)


def test_kill_9_leaves_no_process_and_resume_completes(setup, tmp_path):
    out = tmp_path / "scores.csv"
    process = _screen(setup, out)
    _wait_for_chunks(out, process)
    children = _children(process.pid)
    assert len(children) >= 2  # the workers (and the resource tracker)
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10.0
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if _alive(pid)], "worker processes outlived the killed coordinator"
    resumed = _screen(setup, out, "--resume")
    assert resumed.wait(timeout=300) == 0, _log(out)
    assert "chunks resumed" in _log(out)
    result = pd.read_csv(out)
    assert result["row"].tolist() == list(range(LIBRARY_ROWS))


def test_ctrl_c_exits_130_cleanly_and_resume_is_byte_identical(setup, tmp_path):
    plain = tmp_path / "plain.csv"
    complete = _screen(setup, plain)
    assert complete.wait(timeout=300) == 0
    out = tmp_path / "scores.csv"
    process = _screen(setup, out)
    _wait_for_chunks(out, process)
    children = _children(process.pid)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == 130
    log = _log(out)
    assert log.strip().splitlines()[-1].startswith("symmol screen: interrupted") and "Traceback" not in log
    time.sleep(2.0)
    assert not [pid for pid in children if _alive(pid)]
    resumed = _screen(setup, out, "--resume")
    assert resumed.wait(timeout=300) == 0
    assert out.read_bytes() == plain.read_bytes()
