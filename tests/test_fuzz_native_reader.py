"""A seeded sample of the native-reader fuzzer (``bench/fuzz_native_reader.py``; the full run is a benchmark).

Every mutated line gives the native path's ECFP4/ECFP6 counts and rejection text equal to ``MolFromSmiles``'s.
"""

import importlib.util
from pathlib import Path

import numpy as np

_path = Path(__file__).resolve().parents[1] / "bench" / "fuzz_native_reader.py"
_spec = importlib.util.spec_from_file_location("fuzz_native_reader", _path)
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)


def test_mutations_are_seeded_and_varied():
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    seeds = fuzz.FAMILIES
    a = next(fuzz.fuzzed(seeds, rng_a, 200))
    assert a == next(fuzz.fuzzed(seeds, rng_b, 200))
    assert len(set(a[0])) > 150 and {e.split("+")[0] for e in a[1]} >= {"replace", "insert", "delete", "join"}


def test_a_seeded_fuzzing_sample_matches_rdkit(capsys):
    stats = fuzz.run(n_valid=3000, seed=0, data_dir=None, batch=1000, progress=False)
    print(f"fuzzed {stats['generated']} lines, {stats['valid']} RDKit-valid, {stats['valid_accepted']} read natively")
    assert stats["differences"] == []
    assert stats["valid"] >= 3000 and stats["generated"] > stats["valid"]  # invalid lines are compared too
    assert stats["valid_accepted"] > 0.5 * stats["valid"]
