#!/usr/bin/env bash
# The main job on bundled real data, from a fresh clone:
#   install symmol into .venv, train an ECFP4 -> MLP multitask classifier on Tox21 (12 assays,
#   scaffold split; learning curves and test ROC curves as PNGs), screen 20,000 ZINC molecules with it,
#   print per-task ROC-AUC and the top hits.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[plot]'
.venv/bin/symmol warm-cache  # compile the standard models and kernels once, before the first answer
OUT=${OUT:-runs/quickstart}
mkdir -p "$OUT"
TARGETS=(NR-AR NR-AR-LBD NR-AhR NR-Aromatase NR-ER NR-ER-LBD NR-PPAR-gamma SR-ARE SR-ATAD5 SR-HSE SR-MMP SR-p53)
.venv/bin/symmol train examples/data/tox21.csv --smiles-column smiles \
    "${TARGETS[@]/#/--target=}" --task classification --split scaffold --seed 0 --plots \
    --out "$OUT/tox21_model"
.venv/bin/symmol screen "$OUT/tox21_model" examples/data/zinc20k.smi.gz \
    --out "$OUT/zinc20k_scores.csv.gz" --top 10 --n-jobs 2 --scheduler threads --ad
echo
echo "Top 10 of 20,000 ZINC molecules by predicted NR-AR activity"
echo "(ad: max Tanimoto similarity to the Tox21 training set, an applicability-domain score):"
.venv/bin/python - "$OUT/zinc20k_scores.top.csv" <<'PYEOF'
import sys

import pandas as pd

top = pd.read_csv(sys.argv[1])
with pd.option_context("display.width", 200, "display.max_colwidth", 60):
    print(top[["row", "id", "smiles", "NR-AR", "SR-MMP", "SR-p53", "ad"]].to_string(index=False, float_format="%.3f"))
PYEOF
