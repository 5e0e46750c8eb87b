from symmol.chem.parse import parse_smiles, parse_smiles_list


def test_valid_smiles_matches_rdkit():
    from rdkit import Chem

    mol, error = parse_smiles("c1ccccc1O")
    assert error == ""
    assert Chem.MolToSmiles(mol) == Chem.MolToSmiles(Chem.MolFromSmiles("Oc1ccccc1"))


def test_rejections_carry_reasons():
    parsed = parse_smiles_list(["CCO", "", "C1CC", "O=N([O-])C1=CC=CC=C1", "c1cccc1"])
    assert parsed.valid == [True, False, False, False, False]
    assert parsed.errors[1] == "empty SMILES"
    assert "syntax error" in parsed.errors[2]
    assert "Explicit valence for atom # 1 N, 4" in parsed.errors[3]
    assert "kekulize" in parsed.errors[4].lower()


def test_explicit_hydrogens_are_removed_like_molfromsmiles():
    import numpy as np
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    from symmol.featurizers import MorganFingerprint

    smiles = "[H]OC([H])([H])[H]"
    mol, error = parse_smiles(smiles)
    assert error == "" and mol.GetNumAtoms() == 2
    ours = MorganFingerprint(2, 2048).from_smiles([smiles]).batch.to_dense()[0]
    ref = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048).GetFingerprintAsNumPy(
        Chem.MolFromSmiles(smiles))
    np.testing.assert_array_equal(ours, ref)


# --------------------------------------------------------------------------
# fast parse path (reduced sanitization, no stereo perception)
# --------------------------------------------------------------------------
_EDGE_CASES = [
    "C1=CC=CC=C1",  # kekulé input: aromaticity must be perceived
    "O=N(=O)c1ccccc1",  # nitro written as pentavalent N: cleanUp makes it charge-separated
    "C[N+](C)(C)[O-]", "CN(=O)=O", "C=N(=O)C", "OCl(=O)(=O)=O",  # N-oxides / halogen oxide clean-up
    "[H]OC([H])([H])[H]", "[2H]C([2H])([2H])O", "[H][H]", "[H+]",  # explicit / isotopic hydrogens
    "[13CH3]C(=O)O", "[18F]c1ccccc1", "C[C@H](N)C(=O)O", "F/C=C/F", "C/C=C\\1/CCCCC1",
    "c1ccc2[nH]ccc2c1", "O=c1cccc[nH]1", "C1=CC=CC=CC=C1", "[Na+].[Cl-]", "C[Se]C", "[Cu+2].[O-]C=O",
    "C1CC", "c1cccc1", "CN(C)(C)(C)C", "C(C)(C)(C)(C)C", "", "   ", "[Hg]", "*c1ccccc1",
    # stereo perception drops the H of a chiral atom on a non-ring aromatic bond (found by fuzzing)
    "[C@H]:C(=O)O.Clc1c(Cl)c(Cl)c(c(Cl)c1Cl)c2c(Cl)c(Cl)c(Cl)c(Cl)c2Cl", "[C@H]:CC", "[C@@H]:C",
]


def _sample_smiles():
    from pathlib import Path

    path = Path(__file__).resolve().parent / "data" / "ecfp_sample.smi"
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_fast_path_equals_full_path_on_sample_and_edge_cases():
    import numpy as np

    from symmol.featurizers import MorganFingerprint

    smiles = _sample_smiles() + _EDGE_CASES
    full = parse_smiles_list(smiles, mode="full")
    fast = parse_smiles_list(smiles, mode="fast")
    assert fast.errors == full.errors  # same rejections, same reasons
    assert sum(full.valid) >= len(smiles) - 10
    for radius in (2, 3):
        featurizer = MorganFingerprint(radius, 2048, counts=True)
        a, b = featurizer.from_mols(full.mols), featurizer.from_mols(fast.mols)
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.values, b.values)


def test_fast_path_equals_rdkit_generator():
    import numpy as np
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    from symmol.featurizers import MorganFingerprint

    smiles = ["C1=CC=CC=C1O", "O=N(=O)c1ccc(Cl)cc1", "[2H]C([2H])([2H])c1ccccn1", "CC[N+](C)(C)[O-]"]
    fast = parse_smiles_list(smiles, mode="fast")
    ours = MorganFingerprint(2, 1024).from_mols(fast.mols).to_dense()
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    for i, text in enumerate(smiles):
        np.testing.assert_array_equal(ours[i], generator.GetFingerprintAsNumPy(Chem.MolFromSmiles(text)))


def test_fast_path_falls_back_for_explicit_hydrogens_and_rejections():
    from rdkit import Chem

    mol, error = parse_smiles("[H]OC([H])([H])[H]", mode="fast")
    assert error == "" and mol.GetNumAtoms() == 2  # hydrogens removed like MolFromSmiles
    mol, error = parse_smiles("O=N([O-])C1=CC=CC=C1", mode="fast")
    assert mol is None and "Explicit valence for atom # 1 N, 4" in error
    mol, error = parse_smiles("CC(C)(C)(C)(C)C", mode="fast")
    assert mol is None and error.startswith("sanitization failed")
    # the fast path skips stereo perception: chiral tags stay as written
    mol, _ = parse_smiles("C[C@H](N)C(=O)O", mode="fast")
    assert mol.GetAtomWithIdx(1).GetChiralTag() != Chem.ChiralType.CHI_UNSPECIFIED


def test_unknown_parse_mode_is_rejected():
    import pytest

    with pytest.raises(ValueError, match="mode must be"):
        parse_smiles("CCO", mode="quick")
    with pytest.raises(ValueError, match="mode must be"):
        parse_smiles_list(["CCO"], mode="quick")
