"""Compile tiers: the ski-rental rule, Numba's cache check, and the uncompiled paths equal to the kernels."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from symmol.featurizers import MorganFingerprint
from symmol.kernels.tiering import TALLY_FILE, CompileTier, always_compile, compile_mode, is_compiled
from symmol.similarity.search import NearestSimilarity, SortedFingerprints, max_similarity

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "data"


@numba.njit(cache=False)
def _never_called(x):  # pragma: no cover - compiled only by the test that calls it
    return x + 1


@numba.njit(cache=False)
def _called(x):
    return x + 1


def _smiles(n: int) -> list[str]:
    """Real molecules: Tox21's first rows, an invalid SMILES and a blank row among them."""
    smiles = pd.read_csv(EXAMPLES / "tox21.csv")["smiles"].head(n).tolist()
    return [*smiles[: n // 2], "C1CC", "", *smiles[n // 2:], "c1ccccc1[C@@H](F)Cl"]


def test_compile_mode_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYMMOL_COMPILE", raising=False)
    assert compile_mode() == "auto"
    monkeypatch.setenv("SYMMOL_COMPILE", " Never ")
    assert compile_mode() == "never"
    monkeypatch.setenv("SYMMOL_COMPILE", "sometimes")
    with pytest.raises(ValueError, match="SYMMOL_COMPILE must be one of auto, always, never, got 'sometimes'"):
        compile_mode()


def test_ski_rental_uses_the_slow_path_until_it_would_have_paid(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    monkeypatch.setenv("SYMMOL_COMPILE", "auto")
    tier = CompileTier("test", (_never_called,), break_even=10, tally_dir=tmp_path)
    assert [tier.use_kernels(3), tier.use_kernels(3)] == [False, False]
    assert tier.uncompiled_work == 6
    assert tier.use_kernels(4)  # 6 + 4 reaches the compile cost: compile now
    assert tier.use_kernels(1)  # and from then on
    assert tier.uncompiled_work == 6
    big = CompileTier("big", (_never_called,), break_even=10, tally_dir=tmp_path / "other")
    assert big.use_kernels(10)  # one big call compiles at once


def test_the_tally_grows_over_processes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each new process (a new tier object) starts from the work earlier ones did uncompiled."""
    monkeypatch.setenv("SYMMOL_COMPILE", "auto")

    def run(work: float, name: str = "reader") -> bool:
        return CompileTier(name, (_never_called,), break_even=10, tally_dir=tmp_path).use_kernels(work)

    assert [run(4), run(4)] == [False, False]
    assert run(1, name="another tier") is False  # tallies are per tier, in one file
    assert json.loads((tmp_path / TALLY_FILE).read_text()) == {"reader": 8.0, "another tier": 1.0}
    assert run(4)  # 8 + 4 >= 10: this run compiles
    (tmp_path / TALLY_FILE).write_text("{not json")
    assert run(4) is False  # an unreadable tally counts as no work, and is rewritten
    assert json.loads((tmp_path / TALLY_FILE).read_text()) == {"reader": 4.0}
    (tmp_path / "a file").write_text("")  # an unwritable tally directory (even for root): kept in memory
    tier = CompileTier("reader", (_never_called,), break_even=10, tally_dir=tmp_path / "a file" / "cache")
    assert [tier.use_kernels(4), tier.use_kernels(4), tier.use_kernels(4)] == [False, False, True]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a file", TALLY_FILE]  # no temporary file left


def test_modes_override_the_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tier = CompileTier("test", (_never_called,), break_even=10, tally_dir=tmp_path)
    monkeypatch.setenv("SYMMOL_COMPILE", "never")
    assert not tier.use_kernels(1e9)
    monkeypatch.setenv("SYMMOL_COMPILE", "always")
    assert tier.use_kernels(0)
    with pytest.raises(ValueError, match="break_even must be > 0"):
        CompileTier("test", (), break_even=0)


def test_compiled_kernels_are_used_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMMOL_COMPILE", "auto")
    assert not is_compiled(_never_called)
    _called(1)
    assert is_compiled(_called)
    assert CompileTier("test", (_called,), break_even=1e9).use_kernels(1)


def test_is_compiled_sees_numba_disk_cache_of_this_source_only(tmp_path: Path) -> None:
    """A second process finds the first one's cached overload; an edited function is not compiled."""
    module = tmp_path / "cached_kernel.py"
    source = "import numba\n\n@numba.njit(cache=True)\ndef add(x):\n    return x + {}\n"
    probe = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from cached_kernel import add
        from symmol.kernels.tiering import is_compiled
        print(is_compiled(add))
        add(1)
    """)
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}

    def run() -> str:
        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    module.write_text(source.format(1))
    assert [run(), run()] == ["False", "True"]
    module.write_text(source.format(2))  # other bytecode: Numba would compile it again
    assert [run(), run()] == ["False", "True"]


@pytest.mark.parametrize("params", [
    {"radius": 2, "fp_size": 2048},
    {"radius": 3, "fp_size": 1024, "counts": True},
    {"radius": 2, "fp_size": 2048, "features": True},
    {"radius": 2, "fp_size": 4096, "chirality": True},
    {"radius": 1, "fp_size": 2**31 - 1, "counts": True},
])
def test_rdkit_path_equals_the_kernels(params: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    featurizer = MorganFingerprint(**params)
    smiles = _smiles(400)
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    monkeypatch.setenv("SYMMOL_COMPILE", "always")
    by_kernels = featurizer.from_mols(mols)
    from_smiles_kernels = featurizer.featurize(smiles)
    monkeypatch.setenv("SYMMOL_COMPILE", "never")
    by_rdkit = featurizer.from_mols(mols)
    from_smiles_rdkit = featurizer.featurize(smiles)
    assert by_rdkit.nnz > 15 * len(smiles)
    for a, b in [(by_kernels, by_rdkit), (from_smiles_kernels.batch, from_smiles_rdkit.batch)]:
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.values, b.values)
    assert from_smiles_kernels.errors == from_smiles_rdkit.errors
    assert [e != "" for e in from_smiles_rdkit.errors].count(True) == 2  # the invalid and the blank row


def _fingerprints(path: Path, n: int, fp_size: int = 2048, blank_row: int | None = None):
    if path.suffix == ".gz":
        with gzip.open(path, "rt") as handle:
            smiles = [next(handle).split()[0] for _ in range(n)]
    else:
        smiles = pd.read_csv(path)["smiles"].head(n).tolist()
    if blank_row is not None:
        smiles[blank_row] = ""  # an invalid row: no bits
    return MorganFingerprint(fp_size=fp_size).featurize(smiles).batch


@pytest.mark.parametrize("metric", ["tanimoto", "dice", "tversky", "cosine"])
def test_nearest_similarity_by_product_equals_the_kernels(metric: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """ZINC queries against Tox21 training molecules, more than one block each way, and an empty query."""
    queries = _fingerprints(EXAMPLES / "zinc20k.smi.gz", 2500, blank_row=7)
    targets = _fingerprints(EXAMPLES / "tox21.csv", 2300).to_packed()
    kwargs = {"alpha": 0.7, "beta": 0.3} if metric == "tversky" else {}
    monkeypatch.setenv("SYMMOL_COMPILE", "never")
    by_product = NearestSimilarity(targets, metric, **kwargs)(queries)
    monkeypatch.setenv("SYMMOL_COMPILE", "always")
    by_kernels = NearestSimilarity(targets, metric, **kwargs)(queries)
    reference = max_similarity(queries.to_packed(), SortedFingerprints.from_packed(targets), metric, **kwargs)
    np.testing.assert_array_equal(by_kernels, reference)
    np.testing.assert_array_equal(by_product, reference)
    assert by_product[7] == 0.0 and 0.2 < np.median(by_product) < 0.9


def test_nearest_similarity_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    queries = _fingerprints(EXAMPLES / "tox21.csv", 5)
    for mode in ("never", "always"):
        monkeypatch.setenv("SYMMOL_COMPILE", mode)
        assert np.isnan(NearestSimilarity(np.zeros((0, 32), np.uint64))(queries)).all()
        narrow = _fingerprints(EXAMPLES / "tox21.csv", 5, fp_size=1024)
        wide = NearestSimilarity(queries.to_packed())
        np.testing.assert_array_equal(wide(queries), np.ones(5))
        assert wide(narrow).shape == (5,)
        with pytest.raises(ValueError, match="queries have 2048 bits, the targets 1024"):
            NearestSimilarity(narrow.to_packed())(queries)


def test_always_compile_restores_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMMOL_COMPILE", "never")
    with always_compile():
        assert compile_mode() == "always"
    assert compile_mode() == "never"
    monkeypatch.delenv("SYMMOL_COMPILE")
    with always_compile():
        assert compile_mode() == "always"
    assert compile_mode() == "auto"
