import json

import numpy as np
import pytest

from symmol.evaluation.splits import murcko_scaffold, random_split, read_splits_file, scaffold_split, write_splits_file


def test_random_split_is_a_seeded_partition():
    a, b = random_split(101, seed=3), random_split(101, seed=3)
    assert (a.train == b.train).all() and (a.test == b.test).all()
    allrows = np.concatenate([a.train, a.val, a.test])
    assert sorted(allrows) == list(range(101))
    assert (a.train.size, a.val.size, a.test.size) == (80, 10, 11)  # floor(80.8), floor(90.9) - 80
    assert not (random_split(101, seed=4).train == a.train).all()


def test_scaffold_split_keeps_scaffolds_together():
    smiles = ["c1ccccc1C", "c1ccccc1CC", "c1ccccc1O", "C1CCNCC1C", "C1CCNCC1O", "CCO", "c1ccncc1C",
              "C1CC1C", "C1CCC1", "c1ccc2ccccc2c1"]
    split = scaffold_split(smiles, (0.6, 0.2, 0.2))
    scaffolds = [murcko_scaffold(s) for s in smiles]
    for a in split.train:
        for b in np.concatenate([split.val, split.test]):
            assert scaffolds[a] != scaffolds[b]
    # the largest group (benzene, 3 members) goes to training
    assert {0, 1, 2} <= set(split.train.tolist())
    assert sorted(np.concatenate([split.train, split.val, split.test])) == list(range(10))


def test_splits_file_roundtrip_and_errors(tmp_path):
    path = tmp_path / "splits.json"
    split = random_split(20, seed=0)
    write_splits_file(path, [split])
    back = read_splits_file(path, 20)
    assert back.to_dict() == split.to_dict()
    path.write_text(json.dumps([{"train": [0, 1, 25], "val": [2], "test": [3]}]))
    with pytest.raises(ValueError, match="train row 25 is outside"):
        read_splits_file(path, 20)
    path.write_text(json.dumps([{"train": [0, 1], "val": [1], "test": [3]}]))
    with pytest.raises(ValueError, match="row 1 is in both train and val"):
        read_splits_file(path, 20)


def test_random_split_floors_running_totals_so_test_keeps_its_share():
    for n, fractions, expected in ((5, (0.7, 0.2, 0.1), (3, 1, 1)), (10, (0.45, 0.45, 0.1), (4, 5, 1)),
                                   (10, (0.8, 0.1, 0.1), (8, 1, 1)), (1128, (0.8, 0.1, 0.1), (902, 113, 113))):
        split = random_split(n, fractions)
        assert (split.train.size, split.val.size, split.test.size) == expected, (n, fractions)


def test_splits_file_chemprop_ranges_and_malformed_entries(tmp_path):
    path = tmp_path / "splits.json"
    path.write_text(json.dumps([{"train": "0-2, 4", "val": "3,5-6", "test": [7, 8, 9]}]))
    split = read_splits_file(path, 10)
    assert split.to_dict() == {"train": [0, 1, 2, 4], "val": [3, 5, 6], "test": [7, 8, 9]}
    cases = [
        ([{"train": [0], "val": [1], "test": [2]}], {"index": 1}, "no split 1; the file has 1"),
        ([{"training": [0, 1], "val": [], "test": []}], {}, r"split 0 has no \['train'\]"),
        ([{"train": [0.9, 1.7], "val": [], "test": []}], {}, "0.9 is not an integer row number"),
        ([{"train": [0, 0, 1], "val": [], "test": []}], {}, "train lists row 0 more than once"),
        ([{"train": "0-x", "val": [], "test": []}], {}, "'0-x' is not a row number or a range"),
        ([{"train": "5-2", "val": [], "test": []}], {}, "range '5-2' ends before it starts"),
    ]
    for entries, kwargs, message in cases:
        path.write_text(json.dumps(entries))
        with pytest.raises(ValueError, match=message):
            read_splits_file(path, 10, **kwargs)


def test_group_split_keeps_each_group_on_one_side() -> None:
    from symmol.evaluation.splits import group_split

    groups = np.repeat(np.arange(20), np.arange(1, 21))  # 20 groups of 1..20 rows
    split = group_split(groups.tolist(), (0.8, 0.1, 0.1), seed=3)
    sides = [set(groups[getattr(split, name)].tolist()) for name in ("train", "val", "test")]
    assert [len(s) for s in sides] == [16, 2, 2]  # the fractions count groups
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert sorted(np.concatenate([split.train, split.val, split.test]).tolist()) == list(range(len(groups)))
    assert group_split(groups.tolist(), seed=3).test.tolist() == split.test.tolist()
    assert group_split(groups.tolist(), seed=4).test.tolist() != split.test.tolist()
    with pytest.raises(ValueError, match="at least 3 groups"):
        group_split(["a", "b", "a"])


def test_fold_split_reads_deepdta_setting_one() -> None:
    from symmol.evaluation.splits import fold_split

    folds = ["train0", "test", "train4", "train1", "test", "train4"]
    split = fold_split(folds, test="test", val="train4")
    assert (split.train.tolist(), split.val.tolist(), split.test.tolist()) == ([0, 3], [2, 5], [1, 4])
    with pytest.raises(ValueError, match=r"no row has the validation fold 'train9'; the fold values are"):
        fold_split(folds, test="test", val="train9")


def test_structure_key_ignores_salts_stereo_and_writer() -> None:
    from symmol.chem.scaffolds import structure_key

    # Afatinib as DeepCDR (no stereo) and PubChem's isomeric SMILES write it, and as a dimaleate salt
    plain = "CN(C)CC=CC(=O)NC1=C(C=C2C(=C1)C(=NC=N2)NC3=CC(=C(C=C3)F)Cl)OC4CCOC4"
    isomeric = "CN(C)C/C=C/C(=O)NC1=C(C=C2C(=C1)C(=NC=N2)NC3=CC(=C(C=C3)F)Cl)O[C@H]4CCOC4"
    salt = isomeric + ".OC(=O)/C=C\\C(O)=O.OC(=O)/C=C\\C(O)=O"
    assert structure_key(plain) == structure_key(isomeric) == structure_key(salt) != ""
    assert structure_key("not a molecule") == ""
