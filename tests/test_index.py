"""On-disk fingerprint index: build, round trip, streaming, corruption errors, search and the CLI."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from symmol.cli.main import main
from symmol.featurizers import MorganFingerprint
from symmol.provenance import sha256_file
from symmol.similarity import (
    FingerprintIndex,
    IndexFileError,
    SortedFingerprints,
    build_index,
    bulk_similarity,
    threshold_search,
    topk_search,
)

INVALID = {3: "not_a_smiles", 10: "C1CC"}  # rows replaced by invalid SMILES
N_ROWS = 600


@pytest.fixture(scope="module")
def library(tmp_path_factory, example_data):
    """600 ZINC rows (.smi with ids), two of them invalid SMILES."""
    with gzip.open(example_data / "zinc20k.smi.gz", "rt") as handle:
        lines = [next(handle).split() for _ in range(N_ROWS)]
    for row, bad in INVALID.items():
        lines[row][0] = bad
    path = tmp_path_factory.mktemp("library") / "library.smi"
    path.write_text("".join(f"{smi} {ident}\n" for smi, ident in lines))
    return path, [smi for smi, _ in lines], [ident for _, ident in lines]


@pytest.fixture(scope="module")
def index(library, tmp_path_factory):
    path, _, _ = library
    return build_index(path, tmp_path_factory.mktemp("index") / "zinc.index", chunk_size=128)


def test_build_round_trip(index, library):
    _, smiles, ids = library
    meta = index.meta
    assert (meta["n_rows"], meta["n_molecules"], meta["n_invalid"]) == (N_ROWS, N_ROWS - 2, 2)
    assert meta["fingerprint"] == {"kind": "ecfp", "radius": 2, "fp_size": 2048, "counts": False, "chirality": False}
    assert set(meta["versions"]) >= {"symmol", "rdkit", "numpy"}
    invalid = index.invalid()
    assert invalid["row"].tolist() == sorted(INVALID) and invalid["smiles"].tolist() == list(INVALID.values())
    assert invalid["error"].str.len().gt(0).all()
    # Sorted rows: every valid input row once, fingerprints equal to a fresh featurization.
    valid_rows = np.array([r for r in range(N_ROWS) if r not in INVALID])
    targets = index.targets
    assert isinstance(targets.fingerprints, np.memmap)
    np.testing.assert_array_equal(np.sort(targets.rows), valid_rows)
    fresh = MorganFingerprint(2, 2048).from_smiles([smiles[r] for r in targets.rows]).batch.to_packed()
    np.testing.assert_array_equal(targets.fingerprints, fresh)
    counts = np.bitwise_count(fresh).sum(1)
    assert np.all(np.diff(counts) >= 0)
    np.testing.assert_array_equal(counts, targets.popcounts())
    np.testing.assert_array_equal(targets.prefix_counts, np.bitwise_count(fresh[:, :8]).sum(1))
    same = counts[1:] == counts[:-1]
    assert np.all(targets.rows[1:][same] > targets.rows[:-1][same])  # stable within a bin
    # bit columns: bit j % 64 of columns[f, j // 64] is bit f of sorted fingerprint j, zero padded to 2048 rows
    assert meta["format_version"] == 2 and isinstance(targets.columns, np.memmap)
    assert targets.columns.shape == (2048, 32)
    bits = np.unpackbits(fresh.view(np.uint8), axis=1, bitorder="little")
    padded = np.zeros((2048, 2048), np.uint8)
    padded[:, :bits.shape[0]] = bits.T
    np.testing.assert_array_equal(targets.columns, np.packbits(padded, axis=1, bitorder="little").view(np.uint64))
    assert index.ids(np.arange(N_ROWS)).tolist() == ids
    assert index.smiles(np.arange(N_ROWS)).tolist() == smiles


def test_streaming_build_is_independent_of_chunk_size_and_workers(index, library, tmp_path):
    path, _, _ = library
    other = build_index(path, tmp_path / "tiny_chunks", chunk_size=7, n_jobs=2)  # 86 chunks, 2 worker processes
    for name, info in index.meta["files"].items():
        assert other.meta["files"][name] == info, name


def test_search_equals_in_memory_search_and_reports_ids(index, library):
    _, smiles, ids = library
    queries = [smiles[0], smiles[100], "c1ccccc1O"]
    hits = index.search(queries, k=5)
    packed = MorganFingerprint(2, 2048).from_smiles(queries).batch.to_packed()
    in_memory = SortedFingerprints.from_packed(np.asarray(index.targets.fingerprints), index.targets.rows)
    expected = topk_search(packed, in_memory, 5).to_frame()
    assert hits[["query", "target", "similarity"]].equals(expected)
    assert hits["id"].tolist() == [ids[t] for t in hits["target"]]
    assert hits.iloc[0][["target", "similarity"]].tolist() == [0, 1.0]
    np.testing.assert_array_equal(index.max_similarity(packed), expected.groupby("query")["similarity"].max())
    within = index.search(packed, threshold=0.3, metric="dice")
    assert (within["similarity"] >= 0.3).all() and within["query"].is_monotonic_increasing
    with pytest.raises(ValueError, match="query row 1: invalid SMILES 'xyz'"):
        index.search(["CCO", "xyz"], k=1)
    with pytest.raises(ValueError, match="exactly one of k and threshold"):
        index.search(["CCO"], k=1, threshold=0.5)


def test_row_search_equals_column_search(index, library):
    """The same index searched by bit columns and row by row (as a version-1 index is)."""
    _, smiles, _ = library
    packed = MorganFingerprint(2, 2048).from_smiles(smiles[::50]).batch.to_packed()
    t = index.targets
    rows_only = SortedFingerprints(t.fingerprints, t.bin_offsets, t.rows, t.prefix_counts)
    assert topk_search(packed, rows_only, 7).equals(topk_search(packed, t, 7))
    assert threshold_search(packed, rows_only, 0.4).equals(threshold_search(packed, t, 0.4))
    np.testing.assert_array_equal(bulk_similarity(packed, rows_only), bulk_similarity(packed, t))
    sims = bulk_similarity(packed, t)  # output column m: m-th smallest library row (rows 3 and 10 are invalid)
    np.testing.assert_array_equal(sims[:, np.searchsorted(np.sort(t.rows), t.rows)],
                                  bulk_similarity(packed, t, order="sorted"))


def test_version_1_index_opens_without_bit_columns(index, tmp_path, library, capsys):
    _, smiles, _ = library
    path = _copy(index, tmp_path)
    meta = json.loads((path / "meta.json").read_text())
    meta["format_version"] = 1
    del meta["files"]["bit_columns.npy"]
    (path / "bit_columns.npy").unlink()
    (path / "meta.json").write_text(json.dumps(meta))
    old = FingerprintIndex.open(path, verify=True)
    assert old.targets.columns is None
    queries = smiles[:3] + smiles[50:52]
    assert old.search(queries, k=5).equals(index.search(queries, k=5))
    assert old.search(queries, threshold=0.5).equals(index.search(queries, threshold=0.5))
    query_file = tmp_path / "queries.smi"
    query_file.write_text("\n".join(queries) + "\n")
    capsys.readouterr()
    assert main(["search", str(path), "--queries", str(query_file), "--k", "2", "--out", str(tmp_path / "h.csv")]) == 0
    assert "format-1 index without bit columns" in capsys.readouterr().err
    meta["format_version"] = 2  # a version-2 index must record (and have) its bit columns
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(IndexFileError, match="no checksum recorded for bit_columns.npy"):
        FingerprintIndex.open(path)


def test_verify_checks_bit_columns_against_fingerprints(index, tmp_path):
    import hashlib

    path = _copy(index, tmp_path)
    columns = np.load(path / "bit_columns.npy")
    columns[5, 3] ^= np.uint64(1)
    np.save(path / "bit_columns.npy", columns)
    meta = json.loads((path / "meta.json").read_text())  # consistent checksum: only the content check sees it
    meta["files"]["bit_columns.npy"]["sha256"] = hashlib.sha256((path / "bit_columns.npy").read_bytes()).hexdigest()
    (path / "meta.json").write_text(json.dumps(meta))
    FingerprintIndex.open(path)
    with pytest.raises(IndexFileError, match="bit columns do not match the fingerprints"):
        FingerprintIndex.open(path, verify=True)


def test_search_never_reads_smiles(index, tmp_path, library):
    """Garbage in smiles.bin (same size) changes no search result."""
    _, smiles, _ = library
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(index.path, copy)
    blob = copy / "smiles.bin"
    blob.write_bytes(b"\xff" * blob.stat().st_size)
    hits = FingerprintIndex.open(copy).search(smiles[:3], k=4)
    assert hits.equals(index.search(smiles[:3], k=4))


def _copy(index, tmp_path):
    import shutil

    target = tmp_path / "broken"
    shutil.copytree(index.path, target)
    return target


def test_corrupt_or_mismatched_index_errors(index, tmp_path):
    path = _copy(index, tmp_path)
    fps = path / "fingerprints.npy"
    data = bytearray(fps.read_bytes())
    data[-1] ^= 0xFF  # same size, one bit pattern changed: only the checksum sees it
    fps.write_bytes(bytes(data))
    FingerprintIndex.open(path)
    with pytest.raises(IndexFileError, match="fingerprints.npy: sha256 checksum differs"):
        FingerprintIndex.open(path, verify=True)
    fps.write_bytes(bytes(data[:-8]))
    with pytest.raises(IndexFileError, match="fingerprints.npy: .* bytes, meta.json records"):
        FingerprintIndex.open(path)
    fps.write_bytes(bytes(data))
    (path / "rows.npy").unlink()
    with pytest.raises(IndexFileError, match="rows.npy: missing index file"):
        FingerprintIndex.open(path)


def test_wrong_dtype_shape_and_metadata_errors(index, tmp_path):
    path = _copy(index, tmp_path)
    meta = json.loads((path / "meta.json").read_text())
    np.save(path / "rows.npy", np.load(path / "rows.npy").astype(np.int32))
    meta["files"]["rows.npy"]["bytes"] = (path / "rows.npy").stat().st_size
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(IndexFileError, match=r"rows.npy: expected int64 \(598,\), found int32"):
        FingerprintIndex.open(path)
    meta["format_version"] = 99
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(IndexFileError, match="format version 99 is not supported"):
        FingerprintIndex.open(path)
    (path / "meta.json").write_text("{not json")
    with pytest.raises(IndexFileError, match="invalid JSON"):
        FingerprintIndex.open(path)
    with pytest.raises(IndexFileError, match="not a fingerprint index"):
        FingerprintIndex.open(tmp_path)


def test_verified_open_and_overwrite_refused(index, library):
    assert len(FingerprintIndex.open(index.path, verify=True)) == N_ROWS - 2
    with pytest.raises(ValueError, match="already exists"):
        build_index(library[0], index.path)


def test_other_fingerprint_kinds(library, tmp_path):
    path, smiles, _ = library
    for kind, params, n_bits in (("fcfp", {"radius": 1, "fp_size": 1024}, 1024), ("maccs", {}, 167)):
        index = build_index(path, tmp_path / kind, kind, params)
        assert index.meta["n_bits"] == n_bits and index.targets.n_words == (n_bits + 63) // 64
        hits = index.search([smiles[20]], k=1)
        assert hits["target"].tolist() == [20] and hits["similarity"].tolist() == [1.0]
    with pytest.raises(ValueError, match="unknown fingerprint kind 'rdkit2d'"):
        build_index(path, tmp_path / "x", "rdkit2d")
    with pytest.raises(ValueError, match="counts=True is not supported"):
        build_index(path, tmp_path / "y", "ecfp", {"counts": True})


def test_cli_index_and_search(library, tmp_path, capsys):
    path, smiles, ids = library
    out = tmp_path / "cli.index"
    assert main(["index", str(path), "--out", str(out), "--chunk-size", "200", "--no-progress"]) == 0
    queries = tmp_path / "queries.csv"
    pd.DataFrame({"name": ["a", "b", "c"], "smiles": [smiles[5], "bogus(", smiles[42]]}).to_csv(queries, index=False)
    hits_path = tmp_path / "hits.csv"
    assert main(["search", str(out), "--queries", str(queries), "--k", "3", "--out", str(hits_path)]) == 0
    hits = pd.read_csv(hits_path, dtype={"id": str})
    assert hits.columns.tolist() == ["query", "target", "id", "similarity"]
    assert hits["query"].tolist() == [0, 0, 0, 2, 2, 2]
    assert hits.groupby("query")["similarity"].apply(lambda s: s.is_monotonic_decreasing).all()
    assert hits.iloc[0][["target", "similarity"]].tolist() == [5, 1.0]
    assert hits.iloc[3][["target", "similarity"]].tolist() == [42, 1.0]
    assert hits["id"].tolist() == [ids[t] for t in hits["target"]]
    invalid = pd.read_csv(tmp_path / "hits.csv.invalid.csv")
    assert invalid["row"].tolist() == [1] and invalid["smiles"].tolist() == ["bogus("]
    assert main(["search", str(out), "--queries", str(queries), "--threshold", "0.5", "--metric", "tversky",
                 "--alpha", "0.9", "--beta", "0.1", "--out", str(hits_path)]) == 0
    within = pd.read_csv(hits_path)
    assert (within["similarity"] >= 0.5).all() and set(within["query"]) == {0, 2}
    (out / "rows.npy").unlink()
    capsys.readouterr()
    assert main(["search", str(out), "--queries", str(queries), "--k", "1", "--out", str(hits_path)]) == 2
    assert "rows.npy: missing index file" in capsys.readouterr().err


def test_search_inputs_string_array_metric_object_and_wrong_size(index, library, tmp_path):
    from symmol.similarity.search import Metric

    _, smiles, _ = library
    with pytest.raises(TypeError, match="not one string"):
        index.search(smiles[20], k=1)
    as_array = index.search(np.array([smiles[20], smiles[21]], dtype=object), k=1)
    assert as_array["target"].tolist() == [20, 21]
    tversky = Metric("tversky", 0.9, 0.1)
    pd.testing.assert_frame_equal(index.search([smiles[20]], k=5, metric=tversky),
                                  index.search([smiles[20]], k=5, metric="tversky", alpha=0.9, beta=0.1))
    small = build_index(library[0], tmp_path / "ecfp2000", "ecfp", {"fp_size": 2000})
    wide = MorganFingerprint(2, 2048).from_smiles([smiles[20]]).batch.to_packed()
    assert np.any(wide[:, -1] >> np.uint64(2000 % 64))  # this molecule sets a bit >= 2000
    with pytest.raises(ValueError, match="bits set beyond this index's 2000-bit fingerprint"):
        small.search(wide, k=1)
    assert small.search(small.fingerprints_of([smiles[20]]), k=1)["target"].tolist() == [20]


def test_overwrite_replaces_only_an_index_and_meta_errors_are_index_errors(index, library, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="is not a fingerprint index"):
        build_index(library[0], notes, overwrite=True)
    assert (notes / "notes.txt").read_text() == "keep me"
    path = _copy(index, tmp_path / "copy")
    meta = json.loads((path / "meta.json").read_text())
    bad = dict(meta, format_version=True)
    (path / "meta.json").write_text(json.dumps(bad))
    with pytest.raises(IndexFileError, match="format version True is not supported"):
        FingerprintIndex.open(path)
    bad = json.loads(json.dumps(meta))
    del bad["files"]["rows.npy"]["bytes"]
    (path / "meta.json").write_text(json.dumps(bad))
    with pytest.raises(IndexFileError, match='entry of rows.npy needs "bytes"'):
        FingerprintIndex.open(path)
    rows = np.load(path / "rows.npy")
    rows[1] = rows[0]  # same size and dtype: only verify sees it (checksums are refreshed too)
    np.save(path / "rows.npy", rows)
    meta["files"]["rows.npy"]["sha256"] = sha256_file(path / "rows.npy")
    (path / "meta.json").write_text(json.dumps(meta))
    FingerprintIndex.open(path)
    with pytest.raises(IndexFileError, match="rows are not distinct input rows"):
        FingerprintIndex.open(path, verify=True)
