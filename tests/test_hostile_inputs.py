"""Hostile inputs through every reader and command: no crash, no lost row, the invalid rows exactly RDKit's.

The corpus is derived from real molecules (the bundled ZINC sample): real SMILES, seeded mutations of
them, junk text, 12,000-character chains, unicode, blank lines, stray carriage returns and tabs, quoted
CSV fields with commas and a byte-order mark, and SDF records with broken blocks. ``symmol screen``,
``predict``, ``featurize``, ``index``/``search`` and ``train`` run on it; the summary line printed at the
end counts what was tried.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, rdBase

from symmol.chem.io import read_molecules
from symmol.cli.main import main

_path = Path(__file__).resolve().parents[1] / "bench" / "fuzz_native_reader.py"
_spec = importlib.util.spec_from_file_location("fuzz_native_reader", _path)
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)

JUNK = ["", "   ", "\t", "not a molecule", "C" * 12_000, "c1ccccc1" * 300, "CCO☃", "Ｃ", "C\u200bC", "[", "]]", "((C",
        "C1CC1C1", "%99", "CC(", "[Xx]", "[C@@@@H]", "N#N#N", "C=1=C", "12345", "€", "\x7f", "C\x0bC", "ポリマー"]


@pytest.fixture(scope="module")
def corpus(example_data) -> list[str]:
    real = read_molecules(example_data / "zinc20k.smi.gz")["smiles"].iloc[:1500].tolist()
    rng = np.random.default_rng(11)
    mutated = [next(fuzz.fuzzed(real, rng, 1))[0][0] for _ in range(1500)]
    lines = real + mutated + JUNK * 10
    order = np.random.default_rng(12).permutation(len(lines))
    return [lines[i] for i in order]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, example_data):
    out = tmp_path_factory.mktemp("hostile") / "model"
    table = pd.read_csv(example_data / "tox21.csv").iloc[:400]
    table.loc[::7, "smiles"] = "C1CC"  # invalid training rows are reported and skipped
    data = out.parent / "train.csv"
    table.to_csv(data, index=False)
    assert main(["train", str(data), "--target", "NR-AR", "--target", "SR-MMP", "--task", "classification",
                 "--epochs", "1", "--patience", "0", "--hidden", "16", "--fp-size", "256", "--no-progress",
                 "--out", str(out)]) == 0
    return out


def _rdkit_invalid(smiles: list[str]) -> list[bool]:
    with rdBase.BlockLogs():
        return [not s.strip() or Chem.MolFromSmiles(s.strip()) is None for s in smiles]


def _smi_field(line: str) -> str:
    fields = line.split(None, 1)
    return fields[0] if fields else ""


def _check_scores(out: Path, smiles: list[str]) -> None:
    result = pd.read_csv(out, keep_default_na=False, na_values=[""], dtype={"smiles": str})
    assert result["row"].tolist() == list(range(len(smiles)))  # every row once, in order
    assert (result["status"] == "invalid").tolist() == _rdkit_invalid(smiles)
    assert (result.loc[result["status"] == "invalid", "error"] != "").all()


def test_hostile_corpus_through_every_command(corpus, model_dir, tmp_path, capsys):
    tried = 0
    # .smi: the text lines themselves (a line's first whitespace-separated field is its SMILES)
    lines = [line.replace("\n", " ") for line in corpus] + ["CCO\r", "c1ccccc1 \r", "\r"]
    smi = tmp_path / "hostile.smi"
    smi.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    smiles = [_smi_field(line) for line in lines]
    for command in ("screen", "predict"):
        out = tmp_path / f"{command}.csv"
        extra = (["--scheduler", "threads", "--n-jobs", "2", "--ad", "--chunk-size", "700"] if command == "screen"
                 else [])
        assert main([command, str(model_dir), str(smi), "--out", str(out), "--no-progress", *extra]) == 0
        _check_scores(out, smiles)
        tried += len(lines)
    # .csv: quoted fields, commas and quotes in names, a byte-order mark, CRLF line ends
    frame = pd.DataFrame({"name": [f'mol "{i}", batch {i % 7}' for i in range(len(corpus))],
                          "smiles": [s.replace("\n", " ").strip() for s in corpus]})
    csv = tmp_path / "hostile.csv"
    csv.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8"))
    out = tmp_path / "csv_scores.csv"
    assert main(["predict", str(model_dir), str(csv), "--out", str(out), "--no-progress"]) == 0
    _check_scores(out, frame["smiles"].tolist())
    tried += len(frame)
    # featurize and index + search
    npy = tmp_path / "fp.npy"
    assert main(["featurize", str(smi), "--out", str(npy), "--no-progress", "--chunk-size", "500"]) == 0
    invalid = pd.read_csv(tmp_path / "fp.npy.invalid.csv", keep_default_na=False)
    assert invalid["row"].tolist() == [i for i, bad in enumerate(_rdkit_invalid(smiles)) if bad]
    assert np.load(npy).shape[0] == len(lines)
    index = tmp_path / "index"
    assert main(["index", str(smi), "--out", str(index), "--no-progress"]) == 0
    meta = json.loads((index / "meta.json").read_text())
    assert meta["n_rows"] == len(lines) and meta["n_invalid"] == sum(_rdkit_invalid(smiles))
    hits = tmp_path / "hits.csv"
    assert main(["search", str(index), "--queries", str(smi), "--k", "1", "--out", str(hits)]) == 0
    searched = pd.read_csv(hits)
    assert set(searched["query"]) == {i for i, bad in enumerate(_rdkit_invalid(smiles)) if not bad}
    tried += 3 * len(lines)
    # SDF with broken blocks between real records
    mols = [Chem.MolFromSmiles(s) for s in smiles[:200]]
    blocks = [Chem.MolToMolBlock(m) + "$$$$\n" for m in mols if m is not None]
    # an unknown element and an unsupported CTAB version: each fails alone (a block whose counts line is
    # missing makes RDKit's supplier skip the following record too, which is RDKit's record framing)
    blocks[5] = ("broken\n  symmol\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n"
                 "    0.0000    0.0000    0.0000 Qq  0  0\nM  END\n$$$$\n")
    blocks[17] = blocks[17].replace("V2000", "V9999")
    sdf = tmp_path / "hostile.sdf"
    sdf.write_text("".join(blocks))
    out = tmp_path / "sdf_scores.csv"
    assert main(["predict", str(model_dir), str(sdf), "--out", str(out), "--no-progress"]) == 0
    result = pd.read_csv(out, keep_default_na=False)
    assert len(result) == len(blocks) and result.loc[[5, 17], "status"].tolist() == ["invalid", "invalid"]
    tried += len(blocks)
    capsys.readouterr()
    with capsys.disabled():
        print(f"\nhostile inputs: {tried} rows tried through screen, predict (.smi, .csv, .sdf), featurize, index "
              "and search: 0 crashes, 0 lost rows, invalid rows equal to RDKit's")
