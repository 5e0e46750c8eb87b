import json

import numpy as np
import pytest

from symmol.splits import murcko_scaffold, random_split, read_splits_file, scaffold_split, write_splits_file


def test_random_split_is_a_seeded_partition():
    a, b = random_split(101, seed=3), random_split(101, seed=3)
    assert (a.train == b.train).all() and (a.test == b.test).all()
    allrows = np.concatenate([a.train, a.val, a.test])
    assert sorted(allrows) == list(range(101))
    assert (a.train.size, a.val.size, a.test.size) == (81, 10, 10)
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
