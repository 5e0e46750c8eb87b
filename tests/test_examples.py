"""The example scripts run (one short epoch) and print their test metrics."""

import re
import subprocess
import sys

from conftest import REPO


def test_qsar_classifier_example_runs():
    result = subprocess.run([sys.executable, str(REPO / "examples" / "qsar_classifier.py"), "--epochs", "1"],
                            capture_output=True, text=True, timeout=600, check=True)
    assert "2050 molecules, 11 rejected by RDKit" in result.stdout
    auc = float(re.search(r"test ROC-AUC (\d\.\d+)", result.stdout).group(1))
    assert 0.5 < auc <= 1.0


def test_dmpnn_solubility_example_runs():
    result = subprocess.run([sys.executable, str(REPO / "examples" / "dmpnn_solubility.py"), "--epochs", "2"],
                            capture_output=True, text=True, timeout=600, check=True)
    assert "1128 molecules, 0 rejected by RDKit; train/val/test 902/113/113" in result.stdout
    val, test = (float(v) for v in re.search(r"best val RMSE (\d+\.\d+); test RMSE (\d+\.\d+)",
                                             result.stdout).groups())
    assert 0.3 < val < 2.1 and 0.3 < test < 2.1  # the standard deviation of logS here is 2.1


def test_tune_example_runs(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "examples" / "tune.py"), "--n-trials", "2", "--epochs", "3",
                             "--architectures", "gp,mlp", "--out", str(tmp_path / "study")],
                            capture_output=True, text=True, timeout=600, check=True)
    assert "1128 molecules; train/val/test 902/113/113" in result.stdout
    tuned = float(re.search(r"tuned: val RMSE (\d+\.\d+); test RMSE (\d+\.\d+)", result.stdout).group(2))
    baseline = float(re.search(r"GP defaults: test RMSE (\d+\.\d+)", result.stdout).group(1))
    assert 0.3 < tuned < 2.1 and 0.3 < baseline < 1.2


def test_gaussian_process_example_runs():
    result = subprocess.run([sys.executable, str(REPO / "examples" / "gaussian_process.py")],
                            capture_output=True, text=True, timeout=600, check=True)
    rmse = float(re.search(r"test RMSE (\d+\.\d+) on 113 molecules", result.stdout).group(1))
    within = [int(v) for v in re.search(r"within 1 sd: (\d+)%; within 2 sd: (\d+)%", result.stdout).groups()]
    sure, unsure = (float(v) for v in re.findall(r"third: mean sd [\d.]+, RMSE (\d+\.\d+)", result.stdout))
    assert rmse < 0.9 and 55 <= within[0] <= 90 and within[1] >= 85 and sure < unsure


def test_transfer_learning_example_runs():
    result = subprocess.run([sys.executable, str(REPO / "examples" / "transfer_learning.py"), "--limit", "300",
                             "--pretrain-epochs", "1", "--epochs", "2", "--seeds", "1"],
                            capture_output=True, text=True, timeout=600, check=True)
    assert "pretrained on 300 molecules x 217 descriptors" in result.stdout
    assert "ESOL with 100 training molecules, test on 928, 1 seeds:" in result.stdout
    for name in ("scratch", "fine-tuned"):
        rmse = float(re.search(rf"{name}: test RMSE (\d+\.\d+)", result.stdout).group(1))
        assert 0.3 < rmse < 5.0


def test_uncertainty_example_runs():
    result = subprocess.run([sys.executable, str(REPO / "examples" / "uncertainty.py"), "--epochs", "2",
                             "--ensemble-size", "2"], capture_output=True, text=True, timeout=600, check=True)
    gp = re.search(r"GP: test RMSE (\d+\.\d+); Spearman\(\|error\|, sd\) (-?\d\.\d+); miscalibration area raw "
                   r"(\d\.\d+), z-scaled (\d\.\d+); 90% conformal intervals hold (\d+)%", result.stdout)
    rmse, spearman, raw, scaled, coverage = (float(v) for v in gp.groups())
    assert rmse < 0.9 and spearman > 0.1 and scaled < raw and 80 <= coverage <= 97
    assert re.search(r"D-MPNN ensemble of 2: test RMSE \d+\.\d+; .* intervals hold \d+%", result.stdout)


def test_explain_example_runs(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "examples" / "explain.py"), "--molecules", "2000",
                             "--epochs", "8", "--out", str(tmp_path / "explained")],
                            capture_output=True, text=True, timeout=600, check=True)
    auc = float(re.search(r"mean per-molecule ROC-AUC (\d\.\d+)", result.stdout).group(1))
    assert auc >= 0.9 and (tmp_path / "explained" / "atom_weights.csv").is_file()


def test_active_learning_example_runs(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "examples" / "active_learning.py"), "--rounds", "1",
                             "--epochs", "8", "--out", str(tmp_path / "campaigns")],
                            capture_output=True, text=True, timeout=600, check=True)
    found = {name: int(value) for name, value in re.findall(r"(\w+): after docking 10% of the pool, (\d+)%",
                                                             result.stdout)}
    assert set(found) == {"random", "greedy", "ucb"} and found["greedy"] > found["random"]
    assert (tmp_path / "campaigns" / "ucb" / "curve.csv").is_file()
