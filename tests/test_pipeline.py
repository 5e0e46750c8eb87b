"""The parallel featurization pipeline and ``symmol featurize`` options (bundled samples only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from symmol.chem.io import read_molecules
from symmol.cli.main import main
from symmol.featurizers import MorganFingerprint, make_featurizer, pipeline
from symmol.featurizers.pipeline import featurize_chunks, featurize_file, featurize_values

INVALID = {5: "C1CC", 17: "c1cccc1", 40: "", 41: "CN(C)(C)(C)C"}


@pytest.fixture(scope="module")
def library(example_data) -> list[str]:
    """300 ZINC SMILES from the bundled sample with four invalid rows at known positions."""
    smiles = read_molecules(example_data / "zinc20k.smi.gz")["smiles"].iloc[:296].tolist()
    for row, text in sorted(INVALID.items()):
        smiles.insert(row, text)
    return smiles


def _reference(smiles: list[str], radius: int, fp_size: int, counts: bool = False) -> np.ndarray:
    """RDKit's own path, row by row: MolFromSmiles → GetMorganGenerator; zeros for invalid rows."""
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=fp_size)
    out = np.zeros((len(smiles), fp_size), dtype=np.float32)
    for i, text in enumerate(smiles):
        mol = Chem.MolFromSmiles(text) if text else None
        if mol is not None:
            out[i] = generator.GetCountFingerprintAsNumPy(mol) if counts else generator.GetFingerprintAsNumPy(mol)
    return out


def test_two_processes_keep_order_and_equal_rdkit(library):
    featurizer = MorganFingerprint(2, 2048)
    featurized = featurize_values(library, featurizer, n_jobs=2, chunk_size=37)
    batch, errors = featurized.batch, featurized.errors
    np.testing.assert_array_equal(batch.to_dense(), _reference(library, 2, 2048))
    assert [i for i, e in enumerate(errors) if e] == sorted(INVALID)
    assert errors[40] == "empty SMILES"
    assert "syntax error" in errors[5] and "kekulize" in errors[17].lower()
    assert "Explicit valence" in errors[41]
    serial = featurize_values(library, featurizer, n_jobs=1)
    assert serial.errors == errors
    np.testing.assert_array_equal(serial.batch.indices, batch.indices)


def test_packed_output_equals_packed_csr(library):
    featurizer = MorganFingerprint(3, 1000, counts=True)
    batch = featurize_values(library, featurizer, n_jobs=1).batch
    np.testing.assert_array_equal(batch.to_dense(), _reference(library, 3, 1000, counts=True))
    packed = featurize_values(library, featurizer, n_jobs=2, chunk_size=50, output="packed").batch.words
    assert packed.dtype == np.uint64 and packed.shape == (len(library), 16)
    np.testing.assert_array_equal(packed, batch.to_packed())
    assert not packed[sorted(INVALID)].any()


def test_threads_backend_gives_the_same_rows(library):
    featurizer = MorganFingerprint(2, 512)
    a = featurize_values(library[:80], featurizer, n_jobs=1).batch
    b = featurize_values(library[:80], featurizer, n_jobs=2, chunk_size=16, backend="threads").batch
    np.testing.assert_array_equal(a.to_dense(), b.to_dense())


def test_fast_parse_only_for_kinds_proven_identical():
    assert make_featurizer("ecfp").parse_mode == "fast" and make_featurizer("molgraph").parse_mode == "fast"
    assert make_featurizer("ecfp", chirality=True).parse_mode == "full"
    assert make_featurizer("fcfp").parse_mode == "full"
    assert make_featurizer("atompair").parse_mode == "full"
    assert make_featurizer("rdkit2d").parse_mode == "full"


def test_stream_keeps_rows_and_reader_errors(tmp_path, library):
    path = tmp_path / "lib.smi"
    path.write_text("\n".join(library[:60]) + "\n")
    chunks = list(featurize_file(path, MorganFingerprint(2, 256), n_jobs=2, chunk_size=7))
    assert [len(c.rows) for c in chunks] == [7] * 8 + [4]
    np.testing.assert_array_equal(np.concatenate([c.rows for c in chunks]), np.arange(60))
    errors = [e for c in chunks for e in c.errors]
    assert [i for i, e in enumerate(errors) if e] == sorted(INVALID)
    assert chunks[0].source["smiles"].tolist() == library[:7]
    # the reader's own error (unreadable SDF record) wins over RDKit's
    frame = pd.DataFrame({"row": [0, 1], "smiles": ["CCO", ""], "read_error": ["", "unreadable SDF record 1"]})
    (chunk,) = featurize_chunks([frame], MorganFingerprint(2, 64))
    assert chunk.errors == ["", "unreadable SDF record 1"]
    assert chunk.valid.tolist() == [True, False]


def test_descriptors_are_dense_rows_and_bad_arguments_are_named():
    descriptors = make_featurizer("rdkit2d")
    featurized = featurize_values(["CCO", "C1CC"], descriptors)
    values = featurized.batch.values
    assert values.dtype == np.float32 and values.shape == (2, len(descriptors.feature_names))
    assert np.isnan(values[1]).all() and featurized.errors[0] == ""
    with pytest.raises(ValueError, match="output='packed' needs a fingerprint kind"):
        featurize_values(["CCO"], descriptors, output="packed")
    with pytest.raises(ValueError, match="n_jobs"):
        featurize_values(["CCO"], MorganFingerprint(), n_jobs=0)
    with pytest.raises(ValueError, match="output must be"):
        featurize_values(["CCO"], MorganFingerprint(), output="bits")
    empty = featurize_values([], MorganFingerprint(2, 128))
    assert len(empty.batch) == 0 and empty.errors == []


def test_cli_featurize_kinds_jobs_and_packed(tmp_path, library, capsys):
    path = tmp_path / "lib.smi"
    path.write_text("\n".join(library[:50]) + "\n")
    out = tmp_path / "fp.npy"
    common = ["featurize", str(path), "--out", str(out), "--no-progress", "--chunk-size", "9"]
    assert main(common + ["--n-jobs", "2"]) == 0
    dense = np.load(out)
    assert dense.dtype == np.uint8 and dense.shape == (50, 2048)
    np.testing.assert_array_equal(dense, _reference(library[:50], 2, 2048).astype(np.uint8))
    invalid = pd.read_csv(tmp_path / "fp.npy.invalid.csv", keep_default_na=False)
    assert invalid["row"].tolist() == sorted(INVALID) and invalid["smiles"].tolist() == [
        INVALID[r] for r in sorted(INVALID)]
    assert "Explicit valence" in invalid["error"].iloc[-1]

    assert main(common + ["--format", "packed", "--n-jobs", "2"]) == 0
    packed = np.load(out)
    assert packed.dtype == np.uint64 and packed.shape == (50, 32)
    np.testing.assert_array_equal(np.unpackbits(packed.view(np.uint8), axis=1, bitorder="little"), dense)

    assert main(common + ["--format", "packed", "--count"]) == 2
    assert "packed stores bits" in capsys.readouterr().err
    assert main(common + ["--fingerprint", "maccs"]) == 0
    maccs = np.load(out)
    assert maccs.shape == (50, 167)
    from rdkit.Chem import MACCSkeys

    np.testing.assert_array_equal(maccs[0], np.array(MACCSkeys.GenMACCSKeys(Chem.MolFromSmiles(library[0]))))

    assert main(common + ["--fingerprint", "atompair", "--fp-size", "1024", "--count"]) == 0
    pairs = np.load(out)
    generator = rdFingerprintGenerator.GetAtomPairGenerator(fpSize=1024)
    ref = generator.GetCountFingerprintAsNumPy(Chem.MolFromSmiles(library[1]))
    np.testing.assert_array_equal(pairs[1], np.minimum(ref, 255))

    assert main(common + ["--fingerprint", "rdkit2d", "--n-jobs", "2"]) == 0
    desc = np.load(out)
    assert desc.dtype == np.float32 and desc.shape[0] == 50 and np.isnan(desc[5]).all()


def test_sub_batches_inside_a_chunk_give_the_same_rows(library, monkeypatch):
    featurizer = MorganFingerprint(2, 300, counts=True)
    whole = featurize_values(library, featurizer, chunk_size=len(library))
    whole_packed = featurize_values(library, featurizer, chunk_size=len(library), output="packed").batch.words
    monkeypatch.setattr(pipeline, "_SUB_BATCH", 16)
    parts = featurize_values(library, featurizer, chunk_size=len(library))
    packed = featurize_values(library, featurizer, chunk_size=len(library), output="packed").batch.words
    assert parts.errors == whole.errors
    np.testing.assert_array_equal(parts.batch.to_dense(), whole.batch.to_dense())
    np.testing.assert_array_equal(packed, whole_packed)
