import gzip

import pandas as pd
import pytest

from symmol.chem.io import InputFormatError, input_format, iter_molecules, read_molecules


def test_formats_from_names():
    assert input_format("a.csv.gz") == "csv"
    assert input_format("a.SMI") == "smi"
    assert input_format("x.sdf.gz") == "sdf"
    with pytest.raises(InputFormatError, match="unknown molecule file type"):
        input_format("x.txt")


def test_csv_detects_smiles_and_id_columns(tox21_path):
    table = read_molecules(tox21_path)
    assert len(table) == 7831
    assert table["row"].tolist()[:3] == [0, 1, 2]
    assert table["smiles"].iloc[0] == "CCOc1ccc2nc(S(N)(=O)=O)sc2c1"
    assert table["id"].iloc[0] == "TOX3021"
    assert "NR-AR" in table.columns


def test_csv_named_column_missing_is_clear(tox21_path):
    with pytest.raises(InputFormatError, match="no SMILES column 'smi_col'"):
        read_molecules(tox21_path, smiles_column="smi_col")


def test_chunks_keep_global_row_numbers(example_data):
    chunks = list(iter_molecules(example_data / "zinc20k.smi.gz", chunk_size=7000))
    assert [len(c) for c in chunks] == [7000, 7000, 6000]
    rows = pd.concat(chunks)["row"].to_numpy()
    assert (rows == range(20000)).all()
    assert chunks[0]["id"].iloc[0] == "ZINC250k_2"


def test_smi_blank_line_is_kept_as_row(tmp_path):
    path = tmp_path / "lib.smi"
    path.write_text("CCO ethanol\n\nc1ccccc1 benzene\n")
    table = read_molecules(path)
    assert table["smiles"].tolist() == ["CCO", "", "c1ccccc1"]
    assert table["id"].tolist() == ["ethanol", "", "benzene"]
    assert table["row"].tolist() == [0, 1, 2]


def test_headerless_csv_gz(tmp_path):
    path = tmp_path / "moses.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("CC1C2CCC(C2)C1CN(CCO)C(=O)c1ccc(Cl)cc1\nCCO\n")
    table = read_molecules(path)
    assert table["smiles"].tolist() == ["CC1C2CCC(C2)C1CN(CCO)C(=O)c1ccc(Cl)cc1", "CCO"]


def test_sdf_reader_keeps_bad_records(tmp_path):
    from rdkit import Chem

    path = tmp_path / "mols.sdf"
    writer = Chem.SDWriter(str(path))
    for smi, name in (("CCO", "ethanol"), ("c1ccccc1", "benzene")):
        mol = Chem.MolFromSmiles(smi)
        mol.SetProp("_Name", name)
        writer.write(mol)
    writer.close()
    bad = "broken\n  RDKit\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n    0.0 0.0 0.0 Xx  0  0\nM  END\n$$$$\n"
    path.write_text(path.read_text() + bad)
    table = read_molecules(path)
    assert table["smiles"].tolist() == ["CCO", "c1ccccc1", ""]
    assert table["id"].tolist()[:2] == ["ethanol", "benzene"]
    assert table["read_error"].tolist() == ["", "", "unreadable SDF record (record 2)"]


def test_csv_ids_stay_text_and_empty_csv_is_empty(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("id,smiles\n001,CCO\n,c1ccccc1\n")
    table = read_molecules(path)
    assert table["id"].tolist() == ["001", ""]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert len(read_molecules(empty)) == 0


def test_smi_ids_decided_by_first_nonblank_line(tmp_path):
    path = tmp_path / "lib.smi"
    path.write_text("\n\nCCO a\nCCN\n")
    chunks = list(iter_molecules(path, chunk_size=1))
    assert all("id" in c.columns for c in chunks)
    assert pd.concat(chunks)["id"].tolist() == ["", "", "a", ""]


def test_csv_leading_blank_lines_before_the_header(tmp_path):
    path = tmp_path / "lead.csv"
    path.write_text("\n\nsmiles,y\nCCO,0\n\nCCN,1\n")
    table = read_molecules(path)
    assert table["smiles"].tolist() == ["CCO", "", "CCN"]
    assert table["row"].tolist() == [0, 1, 2]
    assert table["y"].tolist()[::2] == [0.0, 1.0]


def test_csv_ids_that_look_missing_are_kept_but_empty_labels_are_nan(tmp_path):
    path = tmp_path / "na.csv"
    path.write_text("id,smiles,y\nNA,CCO,1\nnull,CCN,NA\nn/a,CC,\n")
    table = read_molecules(path)
    assert table["id"].tolist() == ["NA", "null", "n/a"]
    assert table["y"].tolist()[0] == 1.0 and table["y"].isna().tolist() == [False, True, True]


def test_csv_first_row_with_extra_field_is_an_error_not_an_index(tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text("smiles,y\nCCO,1,2\nCC,0\n")
    with pytest.raises(InputFormatError, match="first data row has 3 fields but the header 'smiles,y' names 2"):
        read_molecules(path)
    later = tmp_path / "later.csv"
    later.write_text("smiles,y\nCC,0\nCCO,1,2\n")
    with pytest.raises(InputFormatError, match=r"later\.csv: malformed CSV .*line 3"):
        read_molecules(later)


def test_non_utf8_file_names_the_file(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("smiles,name\nCCO,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputFormatError, match=r"latin1\.csv: not UTF-8 text"):
        read_molecules(path)


def test_smi_name_is_the_rest_of_the_line(tmp_path):
    path = tmp_path / "names.smi"
    path.write_text("CCO ethyl alcohol\nc1ccccc1\tbenzene ring  \nCCN\n")
    table = read_molecules(path)
    assert table["id"].tolist() == ["ethyl alcohol", "benzene ring", ""]
    assert table["smiles"].tolist() == ["CCO", "c1ccccc1", "CCN"]
