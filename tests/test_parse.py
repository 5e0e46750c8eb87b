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
