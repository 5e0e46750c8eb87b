"""Morgan kernel, graph extraction and naive reference against RDKit itself.

The sample (tests/data/ecfp_sample.smi, see tests/data/README.md) has 1500
random ChEMBL / ZINC / MOSES molecules plus hand-picked edge cases; every test
compares against ``rdFingerprintGenerator.GetMorganGenerator`` with default
settings.
"""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path

import naive_morgan
import numba
import numpy as np
import pytest
from rdkit import Chem, RDLogger
from rdkit.Chem import rdFingerprintGenerator, rdMolDescriptors

from symmol.chem.mol_arrays import (
    _PICKLE_FLAGS,
    MolGraphBatch,
    _extract,
    mol_graph_batch,
)
from symmol.kernels.molpickle import INVARIANTS_FROM_RDKIT, read_pickles
from symmol.kernels.morgan import fold_csr, morgan_csr, morgan_environments

RDLogger.DisableLog("rdApp.*")

DATA = Path(__file__).parent / "data" / "ecfp_sample.smi"
RADII = [0, 1, 2, 3, 4]
FP_SIZES = [64, 1024, 2048, 4096]


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------
def _read_sample() -> list[tuple[str, str]]:
    rows = []
    for line in DATA.read_text().splitlines():
        if line and not line.startswith("#"):
            smiles, name = line.split("\t")
            rows.append((smiles, name))
    return rows


@functools.cache
def _sample() -> tuple[list[str], list[Chem.Mol]]:
    rows = _read_sample()
    names = [name for _, name in rows]
    mols = [Chem.MolFromSmiles(smiles) for smiles, _ in rows]
    assert all(m is not None for m in mols)
    # explicit-hydrogen copies of every 25th molecule, and the empty molecule
    for k in range(0, len(rows), 25):
        names.append(f"{names[k]}+AddHs")
        mols.append(Chem.AddHs(mols[k]))
    names.append("empty")
    mols.append(Chem.MolFromSmiles(""))
    return names, mols


@functools.cache
def _graph() -> MolGraphBatch:
    return mol_graph_batch(_sample()[1])


def _arrays(g: MolGraphBatch) -> tuple[np.ndarray, ...]:
    return g.atom_invariants, g.atom_offsets, g.bond_atoms, g.bond_types, g.bond_offsets


@functools.cache
def _naive(radius: int) -> list[list[tuple[int, int, int]]]:
    return [naive_morgan.environments(m, radius) for m in _sample()[1]]


@functools.cache
def _kernel_envs(radius: int) -> tuple[np.ndarray, ...]:
    return morgan_environments(*_arrays(_graph()), radius)


def _dense_counts(indptr: np.ndarray, indices: np.ndarray, counts: np.ndarray,
                  fp_size: int) -> np.ndarray:
    out = np.zeros((indptr.shape[0] - 1, fp_size), dtype=np.uint32)
    rows = np.repeat(np.arange(indptr.shape[0] - 1), np.diff(indptr))
    out[rows, indices] = counts
    return out


# --------------------------------------------------------------------------
# sample sanity
# --------------------------------------------------------------------------
def test_sample_composition() -> None:
    rows = _read_sample()
    sources = Counter(name.split(":")[0] for _, name in rows)
    assert sources["chembl31"] == 500
    assert sources["zinc250k"] == 500
    assert sources["moses_test"] == 500
    assert sources["tricky"] >= 60
    names, mols = _sample()
    assert len(mols) == len(names) == len(rows) + len(range(0, len(rows), 25)) + 1
    assert max(m.GetNumAtoms() for m in mols) > 255  # exercises wide atom indices


# --------------------------------------------------------------------------
# graph extraction
# --------------------------------------------------------------------------
def test_graph_batch_matches_rdkit_api() -> None:
    names, mols = _sample()
    g = _graph()
    assert g.n_molecules == len(mols)
    assert g.atom_invariants.dtype == np.uint32
    assert g.atom_offsets.dtype == np.int64 and g.bond_offsets.dtype == np.int64
    assert g.bond_atoms.dtype == np.int32 and g.bond_atoms.shape[1] == 2
    assert g.bond_types.dtype == np.uint32
    for i, mol in enumerate(mols):
        a0, a1 = g.atom_offsets[i], g.atom_offsets[i + 1]
        b0, b1 = g.bond_offsets[i], g.bond_offsets[i + 1]
        inv = rdMolDescriptors.GetConnectivityInvariants(mol, includeRingMembership=True)
        assert g.atom_invariants[a0:a1].tolist() == list(inv), names[i]
        bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx(), int(b.GetBondType()))
                 for b in mol.GetBonds()]
        got = [(int(u), int(v), int(t)) for (u, v), t in zip(g.bond_atoms[b0:b1],
                                                              g.bond_types[b0:b1], strict=True)]
        assert got == bonds, names[i]


def test_pickle_reader_is_used_and_falls_back_safely() -> None:
    """The fast reader handles the sample; only an enhanced-stereo mol needs the fallback."""
    names, mols = _sample()
    batch, status = _extract(mols)
    fallback = [names[i] for i in np.flatnonzero(status)]
    assert fallback == ["tricky:stereo_enhanced_group"]
    for a, b in zip(_arrays(batch), _arrays(_graph()), strict=True):
        assert np.array_equal(a, b)


def test_pickle_reader_rejects_truncated_blobs() -> None:
    """Every proper prefix of a pickle is refused (status != 0), never misread."""
    for smiles in ["CCO", "[CH3:300]C(=O)[O-].[Na+]", "F/C=C/F", "*c1ccccc1", "C" * 300]:
        mol = Chem.MolFromSmiles(smiles)
        blob = mol.ToBinary(_PICKLE_FLAGS)
        prefixes = [blob[:k] for k in range(len(blob) + 1)]
        offsets = np.zeros(len(prefixes) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(p) for p in prefixes])
        data = np.frombuffer(b"".join(prefixes), dtype=np.uint8)
        n_atoms = np.full(len(prefixes), mol.GetNumAtoms(), dtype=np.int64)
        status, bond_offsets, bond_atoms, _, _, _ = read_pickles(data, offsets, n_atoms)
        status[status == INVARIANTS_FROM_RDKIT] = 0  # the bonds were read
        assert np.all(status[:-1] != 0), smiles
        assert status[-1] == 0, smiles
        last = slice(bond_offsets[-2], bond_offsets[-1])
        expected = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in mol.GetBonds()]
        assert [tuple(r) for r in bond_atoms[last].tolist()] == expected


def test_graph_batch_special_bond_types() -> None:
    mols = [Chem.MolFromSmiles(s) for s in
            ["N->[Pt](<-N)(Cl)Cl", "[Re]$[Re]", "C#C", "c1ccccc1", "C=C", "C[C@H](F)Cl |&1:1|"]]
    g = mol_graph_batch(mols)
    assert g.bond_types.tolist() == [17, 17, 1, 1, 4, 3, 12, 12, 12, 12, 12, 12, 2, 1, 1, 1]
    assert g.bond_offsets.tolist() == [0, 4, 5, 6, 12, 13, 16]


def test_graph_batch_empty_and_errors() -> None:
    g = mol_graph_batch([])
    assert g.n_molecules == 0
    assert g.atom_offsets.tolist() == [0] and g.bond_offsets.tolist() == [0]
    assert g.bond_atoms.shape == (0, 2)
    with pytest.raises(ValueError, match=r"mols\[1\] is None"):
        mol_graph_batch([Chem.MolFromSmiles("C"), None])
    with pytest.raises(TypeError, match=r"mols\[0\] is str"):
        mol_graph_batch(["CCO"])


def test_atom_invariants_are_the_generators() -> None:
    """Feeding our invariants back as custom invariants reproduces RDKit's default."""
    _, mols = _sample()
    g = _graph()
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2)
    for i, mol in enumerate(mols[::7]):
        k = 7 * i
        custom = g.atom_invariants[g.atom_offsets[k]:g.atom_offsets[k + 1]].tolist()
        ref = gen.GetSparseCountFingerprint(mol).GetNonzeroElements()
        got = gen.GetSparseCountFingerprint(mol, customAtomInvariants=custom)
        assert got.GetNonzeroElements() == ref


# --------------------------------------------------------------------------
# environments
# --------------------------------------------------------------------------
@pytest.mark.parametrize("radius", RADII)
def test_environments_match_rdkit_unfolded(radius: int) -> None:
    """Multiset of 32-bit environment ids == RDKit's unfolded sparse counts."""
    names, mols = _sample()
    env_ids, env_offsets, env_atoms, env_radius = _kernel_envs(radius)
    assert env_ids.dtype == np.uint32 and env_offsets.dtype == np.int64
    assert env_atoms.dtype == np.int32 and env_radius.dtype == np.uint8
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius)
    for i, mol in enumerate(mols):
        ref = gen.GetSparseCountFingerprint(mol).GetNonzeroElements()
        got = Counter(env_ids[env_offsets[i]:env_offsets[i + 1]].tolist())
        assert dict(got) == ref, (names[i], radius)
    assert int(env_radius.max(initial=0)) <= radius


@pytest.mark.parametrize("radius", RADII)
def test_kernel_equals_naive_reference_in_order(radius: int) -> None:
    env_ids, env_offsets, env_atoms, env_radius = _kernel_envs(radius)
    for i, naive in enumerate(_naive(radius)):
        s = slice(env_offsets[i], env_offsets[i + 1])
        got = list(zip(env_ids[s].tolist(), env_atoms[s].tolist(), env_radius[s].tolist(),
                       strict=True))
        assert got == naive


def test_emission_order_matches_rdkit_bit_info() -> None:
    """RDKit's bitInfoMap lists (atom, radius) per id in emission order; so do we."""
    names, mols = _sample()
    radius = 3
    env_ids, env_offsets, env_atoms, env_radius = _kernel_envs(radius)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius)
    for i, mol in enumerate(mols[::3]):
        k = 3 * i
        ao = rdFingerprintGenerator.AdditionalOutput()
        ao.AllocateBitInfoMap()
        gen.GetSparseCountFingerprint(mol, additionalOutput=ao)
        ours: dict[int, list[tuple[int, int]]] = {}
        s = slice(env_offsets[k], env_offsets[k + 1])
        for code, atom, rad in zip(env_ids[s].tolist(), env_atoms[s].tolist(),
                                   env_radius[s].tolist(), strict=True):
            ours.setdefault(code, []).append((atom, rad))
        ref = {code: list(v) for code, v in ao.GetBitInfoMap().items()}
        assert ours == ref, names[k]


# --------------------------------------------------------------------------
# folded fingerprints
# --------------------------------------------------------------------------
@pytest.mark.parametrize("fp_size", FP_SIZES)
@pytest.mark.parametrize("radius", RADII)
def test_bits_and_counts_match_rdkit(radius: int, fp_size: int) -> None:
    """Kernel CSR and the naive reference vs GetFingerprintAsNumPy / GetCountFingerprintAsNumPy."""
    names, mols = _sample()
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=fp_size)
    ref_bits = np.stack([gen.GetFingerprintAsNumPy(m) for m in mols])
    ref_counts = np.stack([gen.GetCountFingerprintAsNumPy(m) for m in mols]).astype(np.uint32)

    indptr, indices, counts = morgan_csr(*_arrays(_graph()), radius, fp_size)
    assert indptr.dtype == np.int64 and indices.dtype == np.int32 and counts.dtype == np.int32
    for i in range(len(mols)):
        row = indices[indptr[i]:indptr[i + 1]]
        assert np.all(np.diff(row) > 0), "indices must be sorted and unique per row"
    dense = _dense_counts(indptr, indices, counts, fp_size)
    bad_counts = np.flatnonzero(np.any(dense != ref_counts, axis=1))
    bad_bits = np.flatnonzero(np.any((dense > 0).astype(np.uint8) != ref_bits, axis=1))
    assert bad_counts.size == 0, [names[i] for i in bad_counts[:5]]
    assert bad_bits.size == 0, [names[i] for i in bad_bits[:5]]

    naive = np.zeros_like(ref_counts)
    for i, envs in enumerate(_naive(radius)):
        for code, _, _ in envs:
            naive[i, code % fp_size] += 1
    assert np.array_equal(naive, ref_counts)
    assert np.array_equal((naive > 0).astype(np.uint8), ref_bits)


def test_fold_csr_equals_fused_kernel() -> None:
    env_ids, env_offsets, _, _ = _kernel_envs(2)
    for fp_size in [1, 7, 2048, 2**31 - 1]:
        a = fold_csr(env_ids, env_offsets, fp_size)
        b = morgan_csr(*_arrays(_graph()), 2, fp_size)
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x, y)
    indptr, indices, counts = fold_csr(env_ids, env_offsets, 1)
    assert indices.tolist() == [0] * (len(indptr) - 2)  # every non-empty molecule -> bit 0
    assert counts.tolist() == np.diff(env_offsets)[:-1].tolist()


def test_known_values_small_molecules() -> None:
    """Hand-checkable cases: ethane, benzene, methane pair, the empty molecule."""
    mols = [Chem.MolFromSmiles(s) for s in ["CC", "c1ccccc1", "C.C", ""]]
    g = mol_graph_batch(mols)
    env_ids, env_offsets, env_atoms, env_radius = morgan_environments(*_arrays(g), 3)
    # ethane: 2 identical atoms at radius 0, one radius-1 env (the C-C bond set), then nothing;
    # benzene: 6 + 6 + 6 + 1 (at radius 3 every atom sees the whole ring); C.C: 2; empty: 0
    assert env_offsets.tolist() == [0, 3, 22, 24, 24]
    inv_c = rdMolDescriptors.GetConnectivityInvariants(mols[0])[0]
    assert env_ids[:2].tolist() == [inv_c, inv_c]
    pair = naive_morgan.hash_pair(1, inv_c)  # single bond to a CH3
    assert env_ids[2] == naive_morgan.hash_combine(naive_morgan.hash_combine(0, inv_c), pair)
    assert env_atoms[:3].tolist() == [0, 1, 0] and env_radius[:3].tolist() == [0, 0, 1]
    assert env_radius[3:22].tolist() == [0] * 6 + [1] * 6 + [2] * 6 + [3]
    for lo, hi in [(3, 9), (9, 15), (15, 21)]:  # symmetric: one id per radius
        assert len(set(env_ids[lo:hi].tolist())) == 1
    assert env_atoms[21] == 0  # ties between equal bond sets go to the lowest atom
    assert env_radius[22:24].tolist() == [0, 0]


def test_custom_invariants_including_negative_int32_bond_types() -> None:
    """Random atom and bond invariants (bond values >= 2**31 sort as negative int32)."""
    rng = np.random.default_rng(7)
    _, mols = _sample()
    chosen = mols[:200:5] + [m for m in mols if m.GetNumBonds() > 0][-20:]
    g = mol_graph_batch(chosen)
    atom_inv = rng.integers(0, 2**32, size=g.atom_invariants.shape[0], dtype=np.uint32)
    palette = np.array([0, 1, 2, 2**31 - 1, 2**31, 2**31 + 5, 2**32 - 1], dtype=np.uint32)
    bond_inv = palette[rng.integers(0, palette.size, size=g.bond_types.shape[0])]
    for radius in [1, 3]:
        env_ids, env_offsets, _, _ = morgan_environments(
            atom_inv, g.atom_offsets, g.bond_atoms, bond_inv, g.bond_offsets, radius)
        gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius)
        for i, mol in enumerate(chosen):
            a = atom_inv[g.atom_offsets[i]:g.atom_offsets[i + 1]].tolist()
            b = bond_inv[g.bond_offsets[i]:g.bond_offsets[i + 1]].tolist()
            ref = gen.GetSparseCountFingerprint(mol, customAtomInvariants=a,
                                                customBondInvariants=b)
            got = Counter(env_ids[env_offsets[i]:env_offsets[i + 1]].tolist())
            assert dict(got) == ref.GetNonzeroElements()


def test_thread_count_does_not_change_results() -> None:
    arrays = _arrays(_graph())
    ref = morgan_csr(*arrays, 3, 2048)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        got = morgan_csr(*arrays, 3, 2048)
    finally:
        numba.set_num_threads(old)
    for x, y in zip(ref, got, strict=True):
        assert np.array_equal(x, y)


def test_empty_batch() -> None:
    g = mol_graph_batch([])
    env_ids, env_offsets, env_atoms, env_radius = morgan_environments(*_arrays(g), 2)
    assert env_ids.shape == (0,) and env_offsets.tolist() == [0]
    indptr, indices, counts = morgan_csr(*_arrays(g), 2, 2048)
    assert indptr.tolist() == [0] and indices.shape == (0,) and counts.shape == (0,)


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
def _tiny() -> list[np.ndarray]:
    g = mol_graph_batch([Chem.MolFromSmiles("CCO"), Chem.MolFromSmiles("C=C")])
    return [a.copy() for a in _arrays(g)]


def _with(arr: np.ndarray, index: tuple[int, int], value: int) -> np.ndarray:
    out = arr.copy()
    out[index] = value
    return out


def _i64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize(
    ("slot", "replace", "message"),
    [
        (0, lambda a: a.astype(np.int64), "atom_invariants must have dtype uint32"),
        (2, lambda a: a.astype(np.int64), "bond_atoms must have dtype int32"),
        (2, lambda a: a.reshape(-1), "bond_atoms must be 2-D"),
        (3, lambda a: a[:-1], "bond_types has 2 entries"),
        (1, lambda a: _i64(0, 3, 4), r"atom_offsets\[-1\] must equal 5"),
        (1, lambda a: _i64(1, 3, 5), r"atom_offsets\[0\] must be 0"),
        (1, lambda a: _i64(0, 6, 5), "atom_offsets must be non-decreasing"),
        (4, lambda a: _i64(0, 3), r"n_mols \+ 1"),
        (2, lambda a: _with(a, (2, 1), 2), r"bond_atoms\[2\] = \[0, 2\]"),
        (2, lambda a: _with(a, (0, 1), 0), r"bond_atoms\[0\] = \[0, 0\]"),
        (2, lambda a: _with(a, (1, 0), -1), r"bond_atoms\[1\] = \[-1, 2\]"),
    ],
)
def test_validation_errors(slot: int, replace, message: str) -> None:
    arrays = _tiny()
    arrays[slot] = replace(arrays[slot])
    with pytest.raises(ValueError, match=message):
        morgan_environments(*arrays, 2)
    with pytest.raises(ValueError, match=message):
        morgan_csr(*arrays, 2, 2048)


def test_validation_of_scalars() -> None:
    arrays = _tiny()
    with pytest.raises(ValueError, match="radius must be >= 0"):
        morgan_environments(*arrays, -1)
    with pytest.raises(ValueError, match="radius must be an integer"):
        morgan_environments(*arrays, 2.0)
    with pytest.raises(ValueError, match="fp_size must be in"):
        morgan_csr(*arrays, 2, 0)
    with pytest.raises(ValueError, match="fp_size must be in"):
        morgan_csr(*arrays, 2, 2**31)
    env_ids, env_offsets, _, _ = morgan_environments(*arrays, 1)
    with pytest.raises(ValueError, match="env_ids must have dtype uint32"):
        fold_csr(env_ids.astype(np.int64), env_offsets, 64)
    with pytest.raises(ValueError, match=r"env_offsets\[-1\]"):
        fold_csr(env_ids, env_offsets[:-1], 64)
