"""Every fingerprint kind against RDKit and against the naive references, on the bundled sample.

The sample (tests/data/ecfp_sample.smi, see tests/data/README.md) has 1500 random ChEMBL / ZINC /
MOSES molecules plus hand-picked edge cases; explicit-hydrogen copies of every 25th molecule and
the empty molecule are added. RDKit references: ``rdFingerprintGenerator.GetMorganGenerator``
(with ``GetMorganFeatureAtomInvGen`` for FCFP, ``includeChirality``), ``GetAtomPairGenerator``,
``GetTopologicalTorsionGenerator``, ``GetMACCSKeysFingerprint`` and ``Descriptors.CalcMolDescriptors``.
"""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path

import naive_atompair
import naive_morgan
import naive_torsion
import numpy as np
import pytest
from rdkit import Chem, RDLogger
from rdkit.Chem import Descriptors, rdFingerprintGenerator, rdMolDescriptors

from symmol.chem.invariants import atom_pair_codes, chirality_arrays, feature_invariants
from symmol.chem.mol_arrays import mol_graph_batch
from symmol.featurizers import (
    AtomPairFingerprint,
    MACCSKeys,
    MorganFingerprint,
    RDKit2DDescriptors,
    TorsionFingerprint,
    featurizer_from_dict,
    make_featurizer,
)
from symmol.kernels.atompair import atom_pair_environments, count_simulation_csr
from symmol.kernels.morgan import morgan_environments
from symmol.kernels.torsion import torsion_environments

RDLogger.DisableLog("rdApp.*")

DATA = Path(__file__).parent / "data" / "ecfp_sample.smi"
MORGAN_SETTINGS = [(f, c) for f in (False, True) for c in (False, True)]


@functools.cache
def _sample() -> tuple[list[str], list[Chem.Mol]]:
    names, mols = [], []
    for line in DATA.read_text().splitlines():
        if line and not line.startswith("#"):
            smiles, name = line.split("\t")
            names.append(name)
            mols.append(Chem.MolFromSmiles(smiles))
    assert all(m is not None for m in mols)
    for k in range(0, len(names), 25):
        names.append(f"{names[k]}+AddHs")
        mols.append(Chem.AddHs(mols[k]))
    names.append("empty")
    mols.append(Chem.MolFromSmiles(""))
    return names, mols


@functools.cache
def _graph():
    return mol_graph_batch(_sample()[1])


@functools.cache
def _feature_invariants() -> np.ndarray:
    return feature_invariants(_sample()[1])


@functools.cache
def _chirality() -> tuple[np.ndarray, np.ndarray]:
    return chirality_arrays(_sample()[1], _graph())


@functools.cache
def _ap_codes() -> tuple[np.ndarray, np.ndarray]:
    return atom_pair_codes(_sample()[1])


def _morgan_generator(radius: int, features: bool, chirality: bool, fp_size: int = 2048):
    kw = {"atomInvariantsGenerator": rdFingerprintGenerator.GetMorganFeatureAtomInvGen()} if features else {}
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=fp_size, includeChirality=chirality,
                                                     **kw)


@functools.cache
def _envs(radius: int, features: bool, chirality: bool) -> tuple[np.ndarray, ...]:
    g = _graph()
    chir, bond_inv = _chirality()
    return morgan_environments(_feature_invariants() if features else g.atom_invariants, g.atom_offsets,
                               g.bond_atoms, bond_inv if chirality else g.bond_types, g.bond_offsets, radius,
                               chir if chirality else None)


def _rows(batch) -> list[dict[int, float]]:
    return [dict(zip(batch.indices[batch.indptr[i]:batch.indptr[i + 1]].tolist(),
                     batch.values[batch.indptr[i]:batch.indptr[i + 1]].tolist(), strict=True))
            for i in range(len(batch))]


def _assert_matches_rdkit(batch, ref_rows: list[np.ndarray], names: list[str]) -> None:
    """Every row of ``batch`` equals RDKit's dense NumPy fingerprint of the same molecule."""
    dense = batch.to_dense(np.float64)
    ref = np.stack(ref_rows).astype(np.float64)
    bad = np.flatnonzero(np.any(dense != ref, axis=1))
    assert bad.size == 0, [names[i] for i in bad[:5]]


# --------------------------------------------------------------------------
# RDKit-side extraction
# --------------------------------------------------------------------------
def test_sample_has_stereo_and_rings_of_three() -> None:
    _, mols = _sample()
    chir, bond_inv = _chirality()
    assert np.count_nonzero(chir == 3) > 50 and np.count_nonzero(chir == 2) > 50
    assert np.count_nonzero(bond_inv > 100) > 20  # stereo double bonds
    assert sum(m.HasSubstructMatch(Chem.MolFromSmarts("[r3]")) for m in mols) > 10


def test_extraction_matches_rdkit_api() -> None:
    names, mols = _sample()
    g = _graph()
    finv = _feature_invariants()
    chir, bond_inv = _chirality()
    codes, is_h = _ap_codes()
    assert finv.dtype == np.uint32 and chir.dtype == np.uint8 and bond_inv.dtype == np.uint32
    assert codes.dtype == np.uint32 and is_h.dtype == np.bool_
    for i, mol in enumerate(mols):
        a = slice(g.atom_offsets[i], g.atom_offsets[i + 1])
        b = slice(g.bond_offsets[i], g.bond_offsets[i + 1])
        assert finv[a].tolist() == list(rdMolDescriptors.GetFeatureInvariants(mol)), names[i]
        assert chir[a].tolist() == [naive_morgan.chirality_code(at) for at in mol.GetAtoms()], names[i]
        assert bond_inv[b].tolist() == [naive_morgan.bond_invariant(bd, True) for bd in mol.GetBonds()], names[i]
        assert codes[a].tolist() == naive_atompair.atom_codes(mol), names[i]
        assert is_h[a].tolist() == [at.GetAtomicNum() == 1 for at in mol.GetAtoms()], names[i]


def test_extraction_errors() -> None:
    with pytest.raises(ValueError, match=r"mols\[1\] is None"):
        feature_invariants([Chem.MolFromSmiles("C"), None])
    with pytest.raises(TypeError, match=r"mols\[0\] is str"):
        atom_pair_codes(["CCO"])
    with pytest.raises(ValueError, match="2 molecules but the graph batch has 1"):
        chirality_arrays([Chem.MolFromSmiles("C")] * 2, mol_graph_batch([Chem.MolFromSmiles("C")]))


def test_chirality_without_stereo_perception_flag() -> None:
    """A molecule without ``_StereochemDone`` is perceived on a copy, as RDKit's generator does."""
    mol = Chem.MolFromSmiles("C[C@H](N)C(=O)O", sanitize=False)
    Chem.SanitizeMol(mol)
    assert not mol.HasProp("_StereochemDone")
    fp = MorganFingerprint(2, 2048, counts=True, chirality=True)
    ref = _morgan_generator(2, False, True).GetCountFingerprintAsNumPy(mol)
    assert np.array_equal(fp.from_mols([mol]).to_dense()[0], ref)
    assert not mol.HasProp("_StereochemDone")


# --------------------------------------------------------------------------
# kernels vs naive references
# --------------------------------------------------------------------------
@pytest.mark.parametrize(("features", "chirality"), MORGAN_SETTINGS)
def test_morgan_kernel_equals_naive_in_order(features: bool, chirality: bool) -> None:
    """Every other molecule (the RDKit checks below cover all of them)."""
    names, mols = _sample()
    env_ids, env_offsets, env_atoms, env_radius = _envs(3, features, chirality)
    for i in range(0, len(mols), 2):
        mol = mols[i]
        s = slice(env_offsets[i], env_offsets[i + 1])
        got = list(zip(env_ids[s].tolist(), env_atoms[s].tolist(), env_radius[s].tolist(), strict=True))
        assert got == naive_morgan.environments(mol, 3, features, chirality), names[i]


def test_atom_pair_kernel_equals_naive() -> None:
    names, mols = _sample()
    g = _graph()
    env_ids, env_offsets = atom_pair_environments(_ap_codes()[0], g.atom_offsets, g.bond_atoms, g.bond_offsets)
    assert env_ids.dtype == np.uint32 and env_offsets.dtype == np.int64
    for i in [*range(0, len(mols), 2), len(mols) - 1]:  # every other molecule, and the empty one
        mol = mols[i]
        assert env_ids[env_offsets[i]:env_offsets[i + 1]].tolist() == naive_atompair.pair_ids(mol), names[i]


def test_torsion_kernel_equals_naive() -> None:
    names, mols = _sample()
    g = _graph()
    codes, is_h = _ap_codes()
    env_ids, env_offsets = torsion_environments(codes, is_h, g.atom_offsets, g.bond_atoms, g.bond_offsets)
    for i, mol in enumerate(mols):
        got = Counter(env_ids[env_offsets[i]:env_offsets[i + 1]].tolist())
        assert got == Counter(naive_torsion.torsion_ids(mol)), names[i]


def test_torsion_paths_in_small_rings() -> None:
    """Three-membered rings give one closed path each; H atoms are never on a path."""
    mols = [Chem.MolFromSmiles(s) for s in ["C1CC1C", "C1CC12CC2", "C1CCC1", "CC"]]
    mols.append(Chem.AddHs(Chem.MolFromSmiles("CC")))
    g = mol_graph_batch(mols)
    codes, is_h = atom_pair_codes(mols)
    env_ids, env_offsets = torsion_environments(codes, is_h, g.atom_offsets, g.bond_atoms, g.bond_offsets)
    assert np.diff(env_offsets).tolist() == [len(Chem.FindAllPathsOfLengthN(m, 4, useBonds=False))
                                             for m in mols]
    assert np.diff(env_offsets).tolist() == [3, 10, 4, 0, 0]


# --------------------------------------------------------------------------
# featurizers vs RDKit
# --------------------------------------------------------------------------
@pytest.mark.parametrize(("features", "chirality"), MORGAN_SETTINGS)
@pytest.mark.parametrize("radius", [0, 1, 2, 3, 4])
def test_morgan_unfolded_ids_match_rdkit(radius: int, features: bool, chirality: bool) -> None:
    """The multiset of 32-bit ids equals RDKit's unfolded sparse counts (hence every fold size)."""
    names, mols = _sample()
    env_ids, env_offsets, _, env_radius = _envs(radius, features, chirality)
    gen = _morgan_generator(radius, features, chirality)
    for i, mol in enumerate(mols):
        ref = gen.GetSparseCountFingerprint(mol).GetNonzeroElements()
        assert dict(Counter(env_ids[env_offsets[i]:env_offsets[i + 1]].tolist())) == ref, names[i]
    assert int(env_radius.max(initial=0)) <= radius


@pytest.mark.parametrize(("features", "chirality"), MORGAN_SETTINGS)
@pytest.mark.parametrize("fp_size", [2048, 1000])
def test_morgan_featurizer_matches_rdkit(fp_size: int, features: bool, chirality: bool) -> None:
    names, mols = _sample()
    gen = _morgan_generator(2, features, chirality, fp_size)
    bits = MorganFingerprint(2, fp_size, False, features, chirality).from_mols(mols)
    counts = MorganFingerprint(2, fp_size, True, features, chirality).from_mols(mols)
    _assert_matches_rdkit(bits, [gen.GetFingerprintAsNumPy(m) for m in mols], names)
    _assert_matches_rdkit(counts, [gen.GetCountFingerprintAsNumPy(m) for m in mols], names)


@pytest.mark.parametrize("cls", [AtomPairFingerprint, TorsionFingerprint])
@pytest.mark.parametrize("fp_size", [2048, 1000, 5])
def test_atom_pair_and_torsion_match_rdkit(cls: type, fp_size: int) -> None:
    """Bits (RDKit's default count simulation) and counts, including the smallest legal size."""
    names, mols = _sample()
    factory = (rdFingerprintGenerator.GetAtomPairGenerator if cls is AtomPairFingerprint
               else rdFingerprintGenerator.GetTopologicalTorsionGenerator)
    gen = factory(fpSize=fp_size)
    _assert_matches_rdkit(cls(fp_size).from_mols(mols), [gen.GetFingerprintAsNumPy(m) for m in mols], names)
    _assert_matches_rdkit(cls(fp_size, counts=True).from_mols(mols),
                          [gen.GetCountFingerprintAsNumPy(m) for m in mols], names)


def test_naive_folding_of_atom_pairs() -> None:
    """The naive fold and count simulation agree with the featurizer on real molecules."""
    _, mols = _sample()
    sub = mols[::10]
    bits = _rows(AtomPairFingerprint(1000).from_mols(sub))
    counts = _rows(AtomPairFingerprint(1000, counts=True).from_mols(sub))
    for mol, b, c in zip(sub, bits, counts, strict=True):
        ids = naive_atompair.pair_ids(mol)
        assert set(b) == naive_atompair.simulated_bits(ids, 1000)
        assert c == naive_atompair.fold_counts(ids, 1000)


def test_maccs_matches_rdkit() -> None:
    names, mols = _sample()
    sub = mols[::7]
    batch = MACCSKeys().from_mols(sub)
    assert batch.fp_size == 167
    ref = [np.array(list(rdMolDescriptors.GetMACCSKeysFingerprint(m)), dtype=np.uint8) for m in sub]
    _assert_matches_rdkit(batch, ref, names[::7])


def test_rdkit2d_descriptors() -> None:
    _, mols = _sample()
    sub = [mols[0], None, mols[600], mols[1200]]
    desc = RDKit2DDescriptors()
    values = desc.from_mols(sub).values
    names = desc.feature_names
    assert values.dtype == np.float32 and values.shape == (4, len(Descriptors._descList))
    assert names[:3] == [n for n, _ in Descriptors._descList[:3]] and "MolWt" in names
    assert np.all(np.isnan(values[1]))
    for row, mol in ((0, sub[0]), (2, sub[2]), (3, sub[3])):
        ref = Descriptors.CalcMolDescriptors(mol)
        expected = np.array([ref[n] for n in names], dtype=np.float32)
        np.testing.assert_array_equal(values[row], expected)
    assert values[0, names.index("MolWt")] == pytest.approx(Descriptors.MolWt(sub[0]), rel=1e-6)


# --------------------------------------------------------------------------
# unfolded ids, bit info, None rows
# --------------------------------------------------------------------------
@pytest.mark.parametrize("fp", [MorganFingerprint(3, 777, True, True, True), AtomPairFingerprint(777),
                                TorsionFingerprint(777, counts=True)])
def test_fold_unfolded_ids_without_recomputation(fp) -> None:
    _, mols = _sample()
    sub = mols[:200] + [None] + mols[200:300]
    env_ids, env_offsets = fp.environments(sub)[:2]
    assert env_ids.dtype == np.uint32 and env_offsets.shape == (len(sub) + 1,)
    assert env_offsets[201] == env_offsets[200]  # the None row is empty
    folded = fp.fold(env_ids, env_offsets)
    direct = fp.from_mols(sub)
    for a, b in ((folded.indptr, direct.indptr), (folded.indices, direct.indices), (folded.values, direct.values)):
        assert np.array_equal(a, b)


@pytest.mark.parametrize(("features", "chirality"), MORGAN_SETTINGS)
def test_bit_info_matches_rdkit(features: bool, chirality: bool) -> None:
    names, mols = _sample()
    fp = MorganFingerprint(3, 1024, features=features, chirality=chirality)
    gen = _morgan_generator(3, features, chirality, 1024)
    for k in range(0, len(mols), 11):
        ao = rdFingerprintGenerator.AdditionalOutput()
        ao.AllocateBitInfoMap()
        gen.GetFingerprint(mols[k], additionalOutput=ao)
        ref = {bit: list(v) for bit, v in ao.GetBitInfoMap().items()}
        assert fp.bit_info(mols[k]) == ref, names[k]
    with pytest.raises(ValueError, match="got None"):
        fp.bit_info(None)


@pytest.mark.parametrize("kind", ["ecfp", "fcfp", "atompair", "torsion", "maccs"])
def test_none_rows_and_from_smiles(kind: str) -> None:
    fp = make_featurizer(kind)
    mols = [Chem.MolFromSmiles("CCCO"), None, Chem.MolFromSmiles("c1ccccc1O")]
    batch = fp.from_mols(mols)
    assert len(batch) == 3 and batch.indptr[1] == batch.indptr[2] > 0 and batch.indptr[3] > batch.indptr[2]
    alone = fp.from_mols([mols[2]])
    assert np.array_equal(batch.indices[batch.indptr[2]:], alone.indices)
    featurized = fp.from_smiles(["CCCO", "not a smiles", "c1ccccc1O"])
    assert featurized.valid.tolist() == [True, False, True]
    assert np.array_equal(featurized.batch.indices, batch.indices)
    empty = fp.from_mols([])
    assert len(empty) == 0 and empty.nnz == 0


# --------------------------------------------------------------------------
# factory, specs, errors
# --------------------------------------------------------------------------
def test_make_featurizer_kinds() -> None:
    assert make_featurizer("ecfp", radius=3, fp_size=1024) == MorganFingerprint(3, 1024)
    assert make_featurizer("fcfp", counts=True).name == "FCFP4-counts"
    assert make_featurizer("ECFP", chirality=True).name == "ECFP4-chiral"
    assert make_featurizer("atompair", fp_size=512) == AtomPairFingerprint(512)
    assert make_featurizer("torsion", counts=True).name == "Torsion-counts"
    assert make_featurizer("maccs") == MACCSKeys()
    assert make_featurizer("rdkit2d") == RDKit2DDescriptors()


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("morgan2", {}, "unknown featurizer kind 'morgan2'"),
        ("ecfp", {"size": 1024}, r"unknown parameter\(s\) \['size'\]"),
        ("fcfp", {"features": False}, r"\['features'\] are fixed by kind 'fcfp'"),
        ("ecfp", {"radius": 9}, "radius must be in 0..8, got 9"),
        ("ecfp", {"radius": 2.0}, "radius must be an integer, got 2.0"),
        ("ecfp", {"counts": "yes"}, "counts must be True or False"),
        ("atompair", {"fp_size": 4}, "fp_size must be in 5..2147483647, got 4"),
        ("torsion", {"fp_size": 0, "counts": True}, "fp_size must be in 1..2147483647, got 0"),
        ("maccs", {"fp_size": 2048}, r"unknown parameter\(s\) \['fp_size'\]"),
        ("rdkit2d", {"fp_size": 2048}, r"unknown parameter\(s\) \['fp_size'\]"),
    ],
)
def test_make_featurizer_errors(kind: str, params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_featurizer(kind, **params)


@pytest.mark.parametrize("fp", [MorganFingerprint(), MorganFingerprint(3, 1000, True, True, True),
                                AtomPairFingerprint(1024, True), TorsionFingerprint(), MACCSKeys(),
                                RDKit2DDescriptors()])
def test_to_dict_round_trip(fp) -> None:
    import json

    spec = json.loads(json.dumps(fp.to_dict()))
    assert featurizer_from_dict(spec) == fp
    assert type(fp).from_dict(spec) == fp


def test_old_morgan_spec_still_loads() -> None:
    old = {"kind": "morgan", "radius": 3, "fp_size": 1024, "counts": True}
    assert MorganFingerprint.from_dict(old) == MorganFingerprint(3, 1024, True)
    assert featurizer_from_dict(old).name == "ECFP6-counts"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "ecfp4"}, "unknown featurizer kind 'ecfp4'"),
        ({"radius": 2}, "unknown featurizer kind None"),
        ({"kind": "morgan", "radius": 2, "bits": 5}, r"unknown parameter\(s\) \['bits'\]"),
        ({"kind": "atompair", "fp_size": -1}, "fp_size must be in"),
        ([1, 2], "must be a dict"),
    ],
)
def test_featurizer_from_dict_errors(spec, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        featurizer_from_dict(spec)
    if isinstance(spec, dict) and spec.get("kind") == "atompair":
        with pytest.raises(ValueError, match="MorganFingerprint has no kind 'atompair'"):
            MorganFingerprint.from_dict(spec)


def test_kernel_argument_errors() -> None:
    g = mol_graph_batch([Chem.MolFromSmiles("CC(N)O")])
    arrays = (g.atom_invariants, g.atom_offsets, g.bond_atoms, g.bond_types, g.bond_offsets)
    with pytest.raises(ValueError, match="atom_chirality has 3 entries but there are 4 atoms"):
        morgan_environments(*arrays, 2, np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match=r"atom_chirality\[1\] = 7; chirality codes are 0-3"):
        morgan_environments(*arrays, 2, np.array([0, 7, 0, 0], np.uint8))
    with pytest.raises(ValueError, match="atom_chirality must have dtype uint8"):
        morgan_environments(*arrays, 2, np.zeros(4, np.int64))
    codes = np.zeros(4, np.uint32)
    with pytest.raises(ValueError, match="atom_codes must have dtype uint32"):
        atom_pair_environments(codes.astype(np.int32), g.atom_offsets, g.bond_atoms, g.bond_offsets)
    with pytest.raises(ValueError, match="is_hydrogen has 3 entries but atom_codes has 4"):
        torsion_environments(codes, np.zeros(3, bool), g.atom_offsets, g.bond_atoms, g.bond_offsets)
    with pytest.raises(ValueError, match=r"bond_atoms\[0\]"):
        atom_pair_environments(codes, g.atom_offsets, np.array([[0, 9], [1, 2], [1, 3]], np.int32),
                               g.bond_offsets)
    indptr, indices, counts = np.array([0, 2]), np.array([1, 3], np.int32), np.array([3, 9], np.int32)
    assert count_simulation_csr(indptr, indices, counts)[1].tolist() == [4, 5, 12, 13, 14, 15]
    with pytest.raises(ValueError, match="count_bounds must not be empty"):
        count_simulation_csr(indptr, indices, counts, ())
    with pytest.raises(ValueError, match="count_bounds must be >= 1, got 0"):
        count_simulation_csr(indptr, indices, counts, (0, 1))
