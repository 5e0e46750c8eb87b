"""Every expected failure of the CLI is one line on stderr and a non-zero exit, and loses no finished chunk."""

import errno
import gzip
import json

import pytest

import symmol.screen.state as state_module
from symmol.chem.io import read_molecules
from symmol.cli.main import main
from symmol.estimator import QSARModel


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, example_data):
    table = read_molecules(example_data / "tox21.csv").iloc[:300]
    out = tmp_path_factory.mktemp("failures") / "model"
    QSARModel("classification", hidden=(16,), fp_size=256, epochs=1, patience=0, progress=False).fit(
        table["smiles"], table["NR-AR"].fillna(0).to_numpy(), target_names=["NR-AR"]).save(out)
    return out


@pytest.fixture(scope="module")
def smiles(example_data):
    return read_molecules(example_data / "zinc20k.smi.gz")["smiles"].iloc[:3000].tolist()


def _one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert err.startswith(f"symmol {command}: error: "), err
    return err


def _screen(model_dir, library, out, *extra):
    return main(["screen", str(model_dir), str(library), "--out", str(out), "--chunk-size", "500", "--n-jobs", "1",
                 "--no-progress", *extra])


def test_truncated_gzip_keeps_the_screened_prefix_and_resumes_from_the_complete_copy(model_dir, smiles, tmp_path,
                                                                                     capsys):
    complete = gzip.compress("".join(f"{s} m{i}\n" for i, s in enumerate(smiles)).encode())
    library = tmp_path / "library.smi.gz"
    library.write_bytes(complete[: len(complete) * 2 // 3])
    out = tmp_path / "scores.csv"
    assert _screen(model_dir, library, out) == 2
    err = _one_line_error(capsys, "screen")
    assert f"{library}: truncated or corrupt gzip stream" in err and "rows were read" in err
    manifest = json.loads((tmp_path / "scores.csv.work" / "manifest.json").read_text())
    assert len(manifest["chunks"]) >= 2
    library.write_bytes(complete)
    assert _screen(model_dir, library, out, "--resume") == 0
    assert "chunks resumed" in capsys.readouterr().out
    assert _screen(model_dir, library, tmp_path / "plain.csv") == 0
    assert out.read_bytes() == (tmp_path / "plain.csv").read_bytes()


def _fail_screen_writes(monkeypatch, after: int, code: int, message: str):
    """Make every screen-state write after the first ``after`` raise ``OSError(code)``; return the real writer."""
    original = state_module.atomic_write_bytes
    calls = {"n": 0}

    def failing(path, data, durable=True):
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(code, message, str(path))
        return original(path, data, durable)

    monkeypatch.setattr(state_module, "atomic_write_bytes", failing)
    return original


def test_a_changed_prefix_is_not_resumed(model_dir, smiles, tmp_path, capsys, monkeypatch):
    library, out = tmp_path / "library.smi", tmp_path / "scores.csv"
    library.write_text("\n".join(smiles) + "\n")
    # chunk 0 is committed, chunk 1's manifest fails
    original = _fail_screen_writes(monkeypatch, 3, errno.ENOSPC, "No space left on device")
    assert _screen(model_dir, library, out) == 2
    assert "the disk is full" in _one_line_error(capsys, "screen")
    monkeypatch.setattr(state_module, "atomic_write_bytes", original)
    library.write_text("\n".join(["CCO", *smiles[1:]]) + "\n")  # row 0 changed: chunk 0 is not what was screened
    assert _screen(model_dir, library, out, "--resume") == 2
    assert "rows of chunk 0 differ" in _one_line_error(capsys, "screen")


@pytest.mark.parametrize(("code", "phrase"), [(errno.ENOSPC, "the disk is full"),
                                              (errno.EACCES, "permission denied")])
def test_disk_full_and_permission_denied_keep_finished_chunks(model_dir, smiles, tmp_path, capsys, monkeypatch,
                                                              code, phrase):
    library, out = tmp_path / "library.smi", tmp_path / "scores.csv"
    library.write_text("\n".join(smiles) + "\n")
    original = _fail_screen_writes(monkeypatch, 4, code, "injected")  # parts 0 and 1 and their manifests written
    assert _screen(model_dir, library, out) == 2
    err = _one_line_error(capsys, "screen")
    assert phrase in err and "scores.csv.work" in err
    monkeypatch.setattr(state_module, "atomic_write_bytes", original)
    assert _screen(model_dir, library, out, "--resume") == 0
    assert "2 chunks resumed" in capsys.readouterr().out
    assert _screen(model_dir, library, tmp_path / "plain.csv") == 0
    assert out.read_bytes() == (tmp_path / "plain.csv").read_bytes()


def test_input_and_file_errors_are_one_line(model_dir, tmp_path, capsys):
    out = tmp_path / "o.csv"
    assert _screen(model_dir, tmp_path / "missing.smi", out) == 2
    assert "missing.smi: no such file" in _one_line_error(capsys, "screen")
    undecodable = tmp_path / "latin1.smi"
    undecodable.write_bytes("CCO ethanol\nCC(=O)O acide acétique\n".encode("latin-1"))
    assert _screen(model_dir, undecodable, out) == 2
    assert "not UTF-8 text" in _one_line_error(capsys, "screen")
    no_smiles = tmp_path / "table.csv"
    no_smiles.write_text("name,value\na,1\n")
    assert _screen(model_dir, no_smiles, out) == 2
    assert "cannot find a SMILES column" in _one_line_error(capsys, "screen")
    broken = tmp_path / "broken_model"
    broken.mkdir()
    for name in ("model.json", "params.npz"):
        (broken / name).write_bytes((model_dir / name).read_bytes())
    (broken / "model.json").write_text("{not json")
    assert _screen(broken, no_smiles, out) == 2
    assert "corrupt JSON" in _one_line_error(capsys, "screen")
    index = tmp_path / "index"
    assert main(["index", str(undecodable.with_name("ok.smi")), "--out", str(index), "--no-progress"]) == 2
    assert "no such file" in _one_line_error(capsys, "index")
    (tmp_path / "ok.smi").write_text("CCO a\nc1ccccc1 b\n")
    assert main(["index", str(tmp_path / "ok.smi"), "--out", str(index), "--no-progress"]) == 0
    capsys.readouterr()
    (index / "rows.npy").write_bytes((index / "rows.npy").read_bytes()[:-8])
    assert main(["search", str(index), "--queries", str(tmp_path / "ok.smi"), "--k", "1", "--out",
                 str(tmp_path / "hits.csv")]) == 2
    assert "truncated or replaced" in _one_line_error(capsys, "search")
