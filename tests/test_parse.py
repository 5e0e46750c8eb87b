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

    from symmol.featurize import MorganFingerprint

    smiles = "[H]OC([H])([H])[H]"
    mol, error = parse_smiles(smiles)
    assert error == "" and mol.GetNumAtoms() == 2
    ours = MorganFingerprint(2, 2048).from_smiles([smiles]).fingerprints.to_dense()[0]
    ref = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048).GetFingerprintAsNumPy(
        Chem.MolFromSmiles(smiles))
    np.testing.assert_array_equal(ours, ref)
