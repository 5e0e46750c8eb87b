"""The Numba SMILES reader (symmol.kernels.smiles) against RDKit, the oracle.

Contract: every molecule the reader accepts has exactly RDKit's atoms (same order, same
connectivity invariants) and bonds (same bond types); everything else is refused and parsed by
RDKit. The full-library proof is ``bench/fastparse_identity.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from symmol.chem.mol_arrays import mol_graph_batch
from symmol.chem.native import encode_smiles, native_graphs
from symmol.featurizers import MorganFingerprint
from symmol.kernels.smiles import REFUSAL_REASONS, smiles_graph_batch

TEST_DATA = Path(__file__).resolve().parent / "data"


def _sample() -> list[str]:
    lines = (TEST_DATA / "ecfp_sample.smi").read_text().splitlines()
    return [line.split("\t")[0] for line in lines if line and not line.startswith("#")]


def _bond_table(atoms: np.ndarray, types: np.ndarray) -> list[tuple[int, int, int]]:
    return sorted((min(u, v), max(u, v), int(t)) for (u, v), t in zip(atoms.tolist(), types.tolist(), strict=True))


def _assert_same_graph_as_rdkit(smiles: list[str]) -> np.ndarray:
    """Check every accepted row against RDKit; returns the status array."""
    native = native_graphs(smiles)
    g = native.graph
    accepted = np.flatnonzero(native.status == 0)
    mols = [Chem.MolFromSmiles(smiles[i]) for i in accepted]
    assert all(m is not None for m in mols), "accepted a SMILES that RDKit rejects"
    ref = mol_graph_batch(mols)
    for j, i in enumerate(accepted.tolist()):
        a0, a1 = g.atom_offsets[i], g.atom_offsets[i + 1]
        r0, r1 = ref.atom_offsets[j], ref.atom_offsets[j + 1]
        np.testing.assert_array_equal(g.atom_invariants[a0:a1], ref.atom_invariants[r0:r1], err_msg=smiles[i])
        b0, b1 = g.bond_offsets[i], g.bond_offsets[i + 1]
        c0, c1 = ref.bond_offsets[j], ref.bond_offsets[j + 1]
        assert _bond_table(g.bond_atoms[b0:b1], g.bond_types[b0:b1]) == _bond_table(
            ref.bond_atoms[c0:c1], ref.bond_types[c0:c1]), smiles[i]
    return native.status


def test_sample_graphs_equal_rdkit():
    smiles = _sample()
    status = _assert_same_graph_as_rdkit(smiles)
    assert len(smiles) == 1570
    # the sample is chosen to be hard (isotopes, explicit H, >255 atoms, charges); most still pass
    assert (status == 0).mean() > 0.85


ACCEPTED = [
    "c1ccccc1",
    "C1=CC=CC=C1",  # Kekule benzene: perceived aromatic
    "c1ccc2[nH]ccc2c1",
    "O=c1cccc[nH]1",  # 2-pyridone: exocyclic C=O gives 0 electrons
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C",  # caffeine
    "c1ccn2ccnc2c1",  # imidazo[1,2-a]pyridine: the 6-ring is aromatic only as part of the fused system
    "O=C1C=CC(=O)C=C1",  # quinone: a candidate ring that is not aromatic
    "O=C1NC(=O)C(=Cc2ccccc2)S1",  # exocyclic C=C on a 5-ring
    "[O-][n+]1ccccc1",
    "C[N+](C)(C)CC(=O)[O-]",
    "[Na+].[Cl-]",
    "C%10CC%10",
    "F/C=C/F",
    "N[C@@H](C)C(=O)O",
    "CS(=O)(=O)c1ccc(-c2ccccc2)cc1",
    "c1ccc2c(c1)-c1ccccc1-2",  # biphenylene: the 4-ring stays non-aromatic
    "C[C@H]1N=C(CCNC(=O)CCC2=c3ccccc3=[NH+]C2)CS1",  # aromatic atoms with ring double bonds
    "OP(=O)(O)O",
    "ClC(Cl)(Cl)Br",
    "[nH]1cccc1",
    "CSc1cccc2c1C#CC(=O)N2C",  # a triple bond in an aromatic ring keeps its type
    "C12C3C4C1C5C2C3C45",  # cubane: no aromaticity candidates, so its ambiguous ring set does not matter
    "C1CCCc2ccc(o2)C1",  # a 2,5-bridged furan whose bridge ring has 8 atoms: aromatic under every RDKit
    "C1CCCCCCc2ccc([nH]2)C1",  # a bridged pyrrole: N keeps its lone pair in large rings
    "C1CCOCCOCCOCCOCCO1",  # a crown ether: an O on a large ring, but in no candidate ring
]

REFUSED = [
    "c1cccc1",  # no Kekule structure: RDKit rejects it and says why
    "C1CC",  # syntax error (unclosed ring)
    "[2H]C",  # isotope
    "[H]OC",  # explicit hydrogen atom (removed by MolFromSmiles)
    "*C",  # dummy atom
    "[Fe+2]",
    "CN(=O)=O",  # pentavalent nitro: RDKit's clean-up rewrites it
    "CC1=Nc2cccc3cccc(c23)N1",  # perimidine: an atom in three rings of a fused combination
    "[C:1]C",  # atom map
    "c1ccc2cccc2cc1",  # azulene: its fusion bond, written aromatic, ends single (RDKit's Kekule choice)
    "",
    "C C",
    # furanophanes: RDKit 2026.03 makes a 2,5-bridged furan or thiophene in a ring of 9 atoms or more Kekule,
    # 2026.09 keeps it aromatic; refused, so the installed RDKit decides (issue: the proof under every RDKit)
    "COCOC1C=CCCCCc2oc(cc2C)C1",
    "C1CCCCCc2oc(cc2)C1",
    "C1CCCCCCc2ccc(s2)C1",
]


@pytest.mark.parametrize("smiles", ACCEPTED)
def test_accepted_equals_rdkit(smiles):
    status = _assert_same_graph_as_rdkit([smiles])
    assert status[0] == 0, REFUSAL_REASONS.get(int(status[0]))


@pytest.mark.parametrize("smiles", REFUSED)
def test_refused(smiles):
    status = native_graphs([smiles]).status
    assert status[0] in REFUSAL_REASONS


def test_fast_featurization_equals_full_on_refused_and_invalid_rows():
    smiles = ACCEPTED + REFUSED + [None, "not a smiles", "c1ccccc1 "]
    for counts in (False, True):
        featurizer = MorganFingerprint(2, 1024, counts=counts)
        fast = featurizer.from_smiles(smiles, parse_mode="fast")
        full = featurizer.from_smiles(smiles, parse_mode="full")
        assert fast.errors == full.errors
        np.testing.assert_array_equal(fast.batch.indptr, full.batch.indptr)
        np.testing.assert_array_equal(fast.batch.indices, full.batch.indices)
        np.testing.assert_array_equal(fast.batch.values, full.batch.values)
    assert "kekulize" in fast.errors[len(ACCEPTED)].lower()
    assert fast.errors[len(ACCEPTED) + len(REFUSED)] == "empty SMILES"


def test_fast_featurization_on_sample_equals_full():
    smiles = _sample()
    featurizer = MorganFingerprint(3, 2048, counts=True)
    fast = featurizer.from_smiles(smiles, parse_mode="fast").batch
    full = featurizer.from_smiles(smiles, parse_mode="full").batch
    np.testing.assert_array_equal(fast.indptr, full.indptr)
    np.testing.assert_array_equal(fast.indices, full.indices)
    np.testing.assert_array_equal(fast.values, full.values)


def test_mutated_smiles_are_refused_or_read_exactly():
    """Random edits of real SMILES (mostly invalid): whatever the reader accepts, RDKit accepts and
    reads the same way; the rest is refused (empty branches, dangling bonds, bad ring closures, ...)."""
    rng = np.random.default_rng(0)
    alphabet = [*"CNOSPFIclnosBr()[]=#:/\\@+-.%0123456789H", "Cl", "Br", "[nH]", "[O-]", "[N+]", "c1", "1"]
    fuzzed = []
    for text in _sample()[:800]:
        for _ in range(3):
            chars = list(text)
            for _ in range(int(rng.integers(1, 4))):
                i = int(rng.integers(0, len(chars) + 1))
                op = rng.random()
                if op < 0.4 and chars:
                    del chars[min(i, len(chars) - 1)]
                elif op < 0.8:
                    chars.insert(i, alphabet[int(rng.integers(len(alphabet)))])
                elif chars:
                    chars[min(i, len(chars) - 1)] = alphabet[int(rng.integers(len(alphabet)))]
            fuzzed.append("".join(chars))
    fuzzed += ["C()C", "C(C)(", "CC.", ".CC", "C..C", "C((C))C", "C(1CC1)C", "C=", "C1CC2", "%1", "C%1C"]
    status = _assert_same_graph_as_rdkit(fuzzed)
    assert 50 < (status == 0).sum() < len(fuzzed) // 2
    assert (status[-11:] != 0).all()


def test_encode_strips_and_handles_non_strings():
    data, offsets = encode_smiles([" CCO\n", None, 3.5, "c1ccccc1"])
    assert offsets.tolist() == [0, 3, 3, 3, 11]
    assert bytes(data[:3]) == b"CCO"


def test_argument_checks():
    with pytest.raises(ValueError, match="uint8"):
        smiles_graph_batch(np.zeros(3, dtype=np.int64), np.array([0, 3]))
    with pytest.raises(ValueError, match="end at len"):
        smiles_graph_batch(np.zeros(3, dtype=np.uint8), np.array([0, 2], dtype=np.int64))


def test_the_reader_is_used_only_under_verified_rdkit_releases(monkeypatch):
    import rdkit

    import symmol.chem.native as native

    assert native.native_reader_enabled(rdkit.__version__)  # what the tests run under is verified
    assert native.native_reader_enabled("2026.03.6") and native.native_reader_enabled("2026.09.3")
    with pytest.warns(RuntimeWarning, match="verified under RDKit 2026.03, 2026.09, not 2025.09.1: RDKit parses"):
        assert not native.native_reader_enabled("2025.09.1")
    smiles = _sample()[:200] + REFUSED
    fast = MorganFingerprint(2, 2048, counts=True).from_smiles(smiles, parse_mode="fast")
    monkeypatch.setattr(native, "native_reader_enabled", lambda: False)
    off = native.native_graphs(smiles)
    assert (off.status == 9).all() and off.graph.n_molecules == len(smiles)
    assert native.REFUSAL_REASONS[9].startswith("the installed RDKit release")
    fallback = MorganFingerprint(2, 2048, counts=True).from_smiles(smiles, parse_mode="fast")
    assert fallback.errors == fast.errors
    np.testing.assert_array_equal(fallback.batch.to_dense(), fast.batch.to_dense())


# found by fuzzing (issue 19, bench/results/fuzz_native_reader.md): RDKit's clean-up rewrites a
# neutral P(=O)=C/N of degree 3 to the zwitterion, so the reader refuses that family
PHOSPHORUS_CLEAN_UP = ["O=P=1C=CC(O)C=C1", "O=P1=CCCC1", "O=P(C)=CC", "[P](=O)(=CC)C", "CP(=O)=C"]


def test_phosphorus_clean_up_family_is_refused_and_matches_rdkit():
    status = native_graphs(PHOSPHORUS_CLEAN_UP + ["CCP(=O)(CC)CC", "CC=P(C)(C)C"]).status
    assert status.tolist() == [3, 3, 3, 3, 3, 0, 0]
    assert Chem.MolToSmiles(Chem.MolFromSmiles("O=P=1C=CC(O)C=C1")) == "[O-][P+]1=C=CC(O)C=C1"
    featurizer = MorganFingerprint(2, 2048, counts=True)
    fast = featurizer.from_smiles(PHOSPHORUS_CLEAN_UP, parse_mode="fast")
    full = featurizer.from_smiles(PHOSPHORUS_CLEAN_UP)
    np.testing.assert_array_equal(fast.batch.to_dense(), full.batch.to_dense())
