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
