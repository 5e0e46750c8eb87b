"""Drug–target pair models (``deepdta``, ``fp-dti``): against hand-written PyTorch and NumPy, encode-once, the CLI.

Pairs are built from bundled molecules (the first ESOL molecules, ``examples/data/esol.csv``) and real
protein sequences written here (UniProt: human ubiquitin P0CG48 1-76, insulin A and B chains P01308,
glucagon P01275 53-81). The affinity of a pair is the molecule's measured log solubility plus an
offset per protein: a known function of both inputs, so the tests can tell learning from noise.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pytensor.gradient import verify_grad

from symmol.cli.main import main
from symmol.data.batch import distinct_rows
from symmol.evaluation.metrics import RANKING_METRICS
from symmol.featurizers.tokens import DEEPDTA_SMILES_CHARACTERS, SmilesTokens
from symmol.models.base import featurize_inputs
from symmol.models.registry import Problem, model_kind
from symmol.nn.layers import GatherLayer, InputLayer, get_output
from symmol.training.config import TrainConfig
from symmol.training.step import TrainStep

PROTEINS = {
    "ubiquitin": ("MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG", 0.0),
    "insulin_a": ("GIVEQCCTSICSLYQLENYCN", 1.5),
    "insulin_b": ("FVNQHLCGSHLVEALYLVCGERGFFYTPKT", -1.0),
    "glucagon": ("HSQGTFTSDYSKYLDSRRAQDFVQWLMNT", 0.5),
}
#: Small DeepDTA settings: the architecture of the paper at a width a test trains in seconds.
SMALL_DEEPDTA = {"ligand_length": 48, "protein_length": 80, "embedding": 8, "filters": 4, "ligand_filter": 4,
                 "protein_filter": 8, "hidden": (16, 8), "dropout": 0.0}
SMALL_FP_DTI = {"fp_size": 256, "ligand_units": 16, "protein_units": 8, "hidden": (16,), "dropout": 0.0}


@pytest.fixture(scope="module")
def pairs(example_data) -> pd.DataFrame:
    """Every pair of 40 ESOL molecules and the four proteins (160 rows), shuffled."""
    esol = pd.read_csv(example_data / "esol.csv").head(40)
    rows = [{"smiles": s.strip(), "protein_id": name, "sequence": sequence,
             "affinity": solubility + offset}
            for s, solubility in zip(esol["smiles"], esol["measured log solubility in mols per litre"], strict=True)
            for name, (sequence, offset) in PROTEINS.items()]
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0).reset_index(drop=True)


def make_model(architecture: str, options: dict, ensemble_size: int = 1, seed: int = 0):
    problem = Problem(targets=("affinity",), task="regression", target_mean=(0.0,), target_std=(1.0,), seed=seed,
                      ensemble_size=ensemble_size)
    return model_kind(architecture).make_model(problem, options)


def test_distinct_rows_number_rows_by_first_appearance() -> None:
    matrix = np.array([[3, 1], [0, 2], [3, 1], [5, 5], [0, 2], [3, 1]], dtype=np.int32)
    first, inverse = distinct_rows(matrix)
    assert first.tolist() == [0, 1, 3] and inverse.tolist() == [0, 1, 0, 2, 1, 0]
    np.testing.assert_array_equal(matrix[first][inverse], matrix)
    picks = np.random.default_rng(1).integers(0, 9, 200)
    floats = np.random.default_rng(0).normal(size=(50, 7)).astype(np.float32)[picks]
    first, inverse = distinct_rows(floats)
    assert first.size == np.unique(floats, axis=0).shape[0]
    np.testing.assert_array_equal(floats[first][inverse], floats)
    empty_first, empty_inverse = distinct_rows(np.zeros((0, 3)))
    assert empty_first.size == empty_inverse.size == 0


def test_gather_layer_gradient_is_the_per_row_sum() -> None:
    rows, index = InputLayer((None, 3), name="rows"), InputLayer((None,), dtype="int64", name="index")
    layer = GatherLayer(rows, index)
    picks = np.array([2, 0, 2, 1, 2], dtype=np.int64)
    x = np.random.default_rng(0).normal(size=(3, 3))
    verify_grad(lambda r: get_output(layer, inputs={rows: r, index: picks}) ** 2, [x],
                rng=np.random.default_rng(1), mode="FAST_COMPILE")


def test_character_tokens_follow_deepdta() -> None:
    featurizer = SmilesTokens(vocabulary=DEEPDTA_SMILES_CHARACTERS, tokenizer="character", max_length=5)
    result = featurizer.featurize(["CC(=O)Cl", "[Na+].[Cl-]", "C1CC"])
    ids = {c: i for i, c in enumerate(DEEPDTA_SMILES_CHARACTERS, start=2)}
    assert result.batch.tokens[:5].tolist() == [ids[c] for c in "CC(=O"]  # cut after five characters
    assert result.batch.lengths.tolist() == [5, 5, 0] and result.errors[2]  # an unclosed ring: RDKit's reason
    assert len(DEEPDTA_SMILES_CHARACTERS) == 64


def torch_deepdta(model, torch):
    """The same DeepDTA written with torch.nn, its weights copied from ``model`` (per-pair encoding)."""
    values = model.get_param_values()
    nn = torch.nn

    def tensor(name):
        return torch.from_numpy(values[name].copy())

    def encoder(prefix, tokens):
        h = nn.functional.embedding(tokens, tensor(f"{prefix}_embedding.W")).transpose(1, 2)
        for i in range(3):
            weight = tensor(f"{prefix}_conv{i}.W").permute(2, 1, 0).contiguous()  # (k, in, out) -> (out, in, k)
            h = torch.relu(nn.functional.conv1d(h, weight, tensor(f"{prefix}_conv{i}.b")))
        return h.max(dim=2).values

    def forward(ligand_tokens, protein_tokens):
        h = torch.cat([encoder("ligand", ligand_tokens), encoder("protein", protein_tokens)], dim=1)
        for i in range(len(model.spec.hidden)):
            h = torch.relu(h @ tensor(f"dense{i}.W") + tensor(f"dense{i}.b"))
        return h @ tensor("output.W") + tensor("output.b")
    return forward


def test_deepdta_predicts_as_torch_written_by_hand(pairs) -> None:
    torch = pytest.importorskip("torch")
    model = make_model("deepdta", SMALL_DEEPDTA)
    batch = featurize_inputs(model.inputs, pairs).batch
    ours = model.predict_batch(batch)
    ligand, protein = (batch[name].padded(length)[0] for name, length in (("smiles", 48), ("protein", 80)))
    with torch.no_grad():
        theirs = torch_deepdta(model, torch)(torch.from_numpy(ligand).long(), torch.from_numpy(protein).long())
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_fp_dti_predicts_as_numpy_written_by_hand(pairs) -> None:
    model = make_model("fp-dti", SMALL_FP_DTI)
    batch = featurize_inputs(model.inputs, pairs).batch
    model.fit_preprocessing(batch)
    values = model.get_param_values()
    composition = batch["protein"].values.astype(np.float64)
    std = composition.std(axis=0)
    scaled = (composition - composition.mean(axis=0)) / np.where(std > 0, std, 1.0)
    bits = batch["smiles"].to_dense().astype(np.float64)

    def dense(x, name, relu=True):
        out = x @ values[f"{name}.W"] + values[f"{name}.b"]
        return np.maximum(out, 0.0) if relu else out
    h = np.concatenate([dense(bits, "ligand_dense"), dense(scaled, "protein_dense")], axis=1)
    expected = dense(dense(h, "hidden0"), "output", relu=False)
    np.testing.assert_allclose(model.predict_batch(batch), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("architecture", "options"), [("deepdta", SMALL_DEEPDTA), ("fp-dti", SMALL_FP_DTI)])
def test_encode_once_gives_the_per_pair_parameters_after_ten_steps(pairs, architecture, options) -> None:
    config = TrainConfig(batch_size=40, weight_decay=0.0)
    trained = []
    for encode_once in (True, False):
        model = make_model(architecture, {**options, "encode_once": encode_once})
        batch = featurize_inputs(model.inputs, pairs).batch
        model.fit_preprocessing(batch)
        step = TrainStep(model, config)
        y = pairs[["affinity"]].to_numpy(np.float32)
        arrays = [model.batch_arrays(batch.slice(s, s + 40)) for s in range(0, 160, 40)]
        if encode_once:  # the distinct entities really are fewer than the pairs
            assert all(a[-2].shape[0] <= 4 for a in arrays) and all(a[-1].shape == (40,) for a in arrays)
        for i in range(10):
            start = 40 * (i % 4)
            step(arrays[i % 4], y[start:start + 40], np.ones((40, 1), np.float32))
        trained.append(model.get_param_values())
    once, per_pair = trained
    assert set(once) == set(per_pair)
    for name in once:
        np.testing.assert_allclose(once[name], per_pair[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize(("architecture", "flags"), [
    ("fp-dti", ["--fp-size", "256", "--ligand-units", "32", "--protein-units", "16", "--hidden", "32"]),
    ("deepdta", ["--ligand-length", "48", "--protein-length", "80", "--embedding", "8", "--filters", "4",
                 "--hidden", "16,8", "--batch-size", "16"]),
])
def test_cli_trains_and_predicts_pairs(pairs, tmp_path, architecture, flags) -> None:
    table = pairs.rename(columns={"smiles": "ligand_smiles", "sequence": "protein_sequence"})
    table.loc[3, "protein_sequence"] = "MKV*LL"  # an invalid sequence: reported, skipped, kept in predict's output
    data = tmp_path / "pairs.csv"
    table.to_csv(data, index=False)
    order = np.random.default_rng(0).permutation(len(table)).tolist()
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps([{"train": order[:112], "val": order[112:136], "test": order[136:]}]))
    out = tmp_path / "model"
    assert main(["train", str(data), "--architecture", architecture, "--ligand-column", "ligand_smiles",
                 "--protein-column", "protein_sequence", "--target", "affinity", "--task", "regression",
                 "--splits-file", str(splits), "--seed", "0", "--epochs", "30", "--no-progress", "--out", str(out),
                 *flags]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in (*RANKING_METRICS, "rmse", "mae", "r2"):
        assert np.isfinite(metrics["test"][key]), key
    assert metrics["test"]["ci"] > 0.7  # the protein offsets and solubility are learnt
    assert metrics["test"]["mse"] == pytest.approx(metrics["test"]["rmse"] ** 2, rel=1e-9)
    predictions = tmp_path / "predictions.csv"
    assert main(["predict", str(out), str(data), "--ligand-column", "ligand_smiles", "--out", str(predictions),
                 "--no-progress"]) == 0
    written = pd.read_csv(predictions, keep_default_na=False)
    assert len(written) == len(table) and written["row"].tolist() == list(range(len(table)))
    assert written.loc[3, "status"] == "invalid" and "protein" in written.loc[3, "error"]
    assert (written.drop(index=3)["status"] == "ok").all()
    if architecture == "deepdta":  # token inputs have a length cap: what it cut is noted per row
        long = table["ligand_smiles"].str.len() > 48
        assert written.loc[long & (written["status"] == "ok"), "note"].str.startswith(
            "smiles: SMILES truncated to 48 of").all()
        assert (written.loc[~long, "note"] == "").all() and long.any()
    else:
        assert "note" not in written.columns


def test_grouped_batches_keep_each_protein_together_and_shuffle_the_rest(pairs) -> None:
    from symmol.training.loop import _Loop

    model = make_model("fp-dti", SMALL_FP_DTI)
    batch = featurize_inputs(model.inputs, pairs).batch
    y = pairs[["affinity"]].to_numpy(np.float32)
    loop = _Loop(model, batch, y, TrainConfig(batch_size=40, batch_order="grouped", seed=3))
    proteins = pairs["protein_id"].to_numpy()
    orders = [loop.order() for _ in range(3)]
    for order in orders:
        assert sorted(order.tolist()) == list(range(len(pairs)))
        runs = [proteins[order][i] for i in range(len(order)) if i == 0 or proteins[order][i] != proteins[order][i - 1]]
        assert sorted(runs) == sorted(PROTEINS)  # one contiguous run per protein
        # 40 pairs per protein, batches of 40: each minibatch encodes one protein
        assert all(len(set(proteins[order][s:s + 40])) == 1 for s in range(0, 160, 40))
    assert len({tuple(o) for o in orders}) == 3  # a new order every epoch
    with pytest.raises(ValueError, match="batch_order 'grouped': a mlp model has no entity to group"):
        mlp = model_kind("mlp").make_model(Problem(("affinity",), "regression", (0.0,), (1.0,)), {"fp_size": 256})
        _Loop(mlp, featurize_inputs(mlp.inputs, pairs).batch, y, TrainConfig(batch_order="grouped"))
    with pytest.raises(ValueError, match="batch_order must be one of"):
        TrainConfig(batch_order="sorted")


@pytest.mark.parametrize(("architecture", "options"), [("deepdta", SMALL_DEEPDTA), ("fp-dti", SMALL_FP_DTI)])
def test_predictions_scored_protein_by_protein_come_back_in_input_order(pairs, architecture, options) -> None:
    model = make_model(architecture, options, ensemble_size=2)
    batch = featurize_inputs(model.inputs, pairs).batch
    model.fit_preprocessing(batch)
    whole = model.predict_batch(batch, batch_size=len(pairs))  # one call: no reordering
    grouped = model.predict_batch(batch, batch_size=30)  # several calls, each of one or two proteins
    np.testing.assert_allclose(grouped, whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict_members(batch, batch_size=30), model.predict_members(batch),
                               rtol=1e-5, atol=1e-6)
    assert model.batch_groups(batch).max() == len(PROTEINS) - 1


def test_screen_ranks_a_library_against_one_protein_from_fasta(pairs, tmp_path) -> None:
    data = tmp_path / "pairs.csv"
    pairs.to_csv(data, index=False)
    out = tmp_path / "model"
    assert main(["train", str(data), "--architecture", "fp-dti", "--target", "affinity", "--task", "regression",
                 "--epochs", "3", "--no-progress", "--out", str(out), "--fp-size", "256", "--ligand-units", "16",
                 "--protein-units", "8", "--hidden", "16"]) == 0
    molecules = pairs.drop_duplicates("smiles")["smiles"].head(6).tolist()
    library = tmp_path / "library.smi"
    library.write_text("\n".join(molecules + ["not-a-smiles"]) + "\n")
    sequence = PROTEINS["insulin_b"][0]
    fasta = tmp_path / "insulin.fasta"
    fasta.write_text(f">sp|P01308|INS_HUMAN insulin B chain\n{sequence[:20]}\n{sequence[20:]}\n>second\nMKV\n")
    ranked = tmp_path / "ranked.csv"
    assert main(["screen", str(out), str(library), "--protein", str(fasta), "--out", str(ranked), "--top", "3",
                 "--n-jobs", "1", "--no-progress"]) == 0
    written = pd.read_csv(ranked, keep_default_na=False)
    assert written["status"].tolist() == ["ok"] * 6 + ["invalid"]
    expected = tmp_path / "expected.csv"
    pd.DataFrame({"smiles": molecules, "sequence": sequence}).to_csv(expected, index=False)
    predicted = tmp_path / "predicted.csv"
    assert main(["predict", str(out), str(expected), "--out", str(predicted), "--no-progress"]) == 0
    np.testing.assert_allclose(written["affinity"].to_numpy()[:6].astype(float),
                               pd.read_csv(predicted)["affinity"].to_numpy(), rtol=1e-6)
    assert len(pd.read_csv(tmp_path / "ranked.top.csv")) == 3


def test_read_sequence_takes_fasta_plain_files_and_sequences(tmp_path) -> None:
    from symmol.featurizers.protein import read_sequence

    fasta = tmp_path / "p.fa"
    fasta.write_text(">one\nMKV LL\nGG\n>two\nAAAA\n")
    plain = tmp_path / "p.txt"
    plain.write_text("MKVL\nLGG\n")
    assert read_sequence(fasta) == "MKVLLGG" and read_sequence(str(plain)) == "MKVLLGG"
    assert read_sequence(" MKV LLGG ") == "MKVLLGG"
    empty = tmp_path / "e.fa"
    empty.write_text(">nothing\n")
    with pytest.raises(ValueError, match="no protein sequence in the file"):
        read_sequence(empty)


def test_cli_splits_by_fold_column_and_by_group(pairs, tmp_path, capsys) -> None:
    table = pairs.assign(fold=np.where(pairs["protein_id"] == "glucagon", "test",
                                       np.where(pairs["protein_id"] == "insulin_a", "train4", "train0")))
    data = tmp_path / "pairs.csv"
    table.to_csv(data, index=False)
    common = ["train", str(data), "--architecture", "fp-dti", "--target", "affinity", "--task", "regression",
              "--epochs", "1", "--no-progress", "--fp-size", "256", "--ligand-units", "8", "--protein-units", "8",
              "--hidden", "8"]
    assert main([*common, "--split", "fold", "--fold-column", "fold", "--val-fold", "train4",
                 "--out", str(tmp_path / "setting1")]) == 0
    assert "split train/val/test = 80/40/40 (fold)" in capsys.readouterr().out
    assert main([*common, "--split", "group", "--group-column", "sequence", "--split-sizes", "0.5,0.25,0.25",
                 "--out", str(tmp_path / "cold_target")]) == 0
    assert "split train/val/test = 80/40/40 (group)" in capsys.readouterr().out  # whole proteins on each side
    assert main([*common, "--split", "cold-ligand", "--out", str(tmp_path / "cold_ligand")]) == 0
    assert "split train/val/test = 128/16/16 (cold-ligand)" in capsys.readouterr().out  # 32/4/4 molecules × 4
    assert main([*common, "--split", "group", "--out", str(tmp_path / "x")]) == 2
    assert "--split group needs --group-column" in capsys.readouterr().err
