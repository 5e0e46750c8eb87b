"""The SMILES language model (symmol.generation.language_model) against the same network in PyTorch and in NumPy."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from symmol.featurizers.tokens import tokenize_smiles
from symmol.generation.language_model import BEGIN, END, PAD, LanguageModelSpec, SmilesLanguageModel

torch = pytest.importorskip("torch")

from torch_language_model import torch_log_likelihoods, torch_twin  # noqa: E402  (after the skip)


@pytest.fixture(scope="module")
def smiles(example_data) -> list[str]:
    with gzip.open(example_data / "zinc20k.smi.gz", "rt") as handle:
        return [line.split()[0] for line in handle][:60]


@pytest.fixture(scope="module")
def model(smiles) -> SmilesLanguageModel:
    vocabulary = SmilesLanguageModel.build_vocabulary(smiles)
    return SmilesLanguageModel(LanguageModelSpec(vocabulary, embedding=8, units=16, layers=2, max_length=70, seed=3))


def test_encoding_marks_what_does_not_fit(model, smiles):
    tokens, fits = model.encode([smiles[0], "CC[Xe]C", "C" * 71, "not a smiles!"])
    assert fits.tolist() == [True, False, False, False]
    row = tokens[0]
    assert row[0] == BEGIN and END in row and model.decode(row[1:]) == smiles[0]
    assert (tokens[1:] == PAD).all()


def test_log_likelihoods_match_pytorch(model, smiles):
    tokens, fits = model.encode(smiles[:20])
    assert fits.all()
    expected = torch_log_likelihoods(torch_twin(model), tokens).sum(dim=1).detach().numpy()
    np.testing.assert_allclose(model.log_likelihood(smiles[:20]), expected, rtol=1e-5, atol=1e-4)


def test_one_training_step_matches_pytorch(smiles):
    vocabulary = SmilesLanguageModel.build_vocabulary(smiles)
    ours = SmilesLanguageModel(LanguageModelSpec(vocabulary, embedding=8, units=16, layers=2, max_length=70, seed=5))
    twin = torch_twin(ours)
    batch = smiles[:16]
    history = ours.fit(batch, epochs=1, batch_size=16, learning_rate=1e-2)  # one batch: one Adam step
    tokens, _ = ours.encode(batch)
    parameters = [p for module in twin for p in module.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-2)
    ll = torch_log_likelihoods(twin, tokens)
    loss = -ll.sum() / (torch.from_numpy(tokens[:, 1:]) != PAD).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert history[0]["loss"] == pytest.approx(loss.item(), rel=1e-5)
    after = ours.get_param_values()
    np.testing.assert_allclose(after["gru1.W_h"], twin[1].weight_hh_l1.detach().numpy().T, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(after["output.W"], twin[2].weight.detach().numpy().T, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(after["embedding.W"], twin[0].weight.detach().numpy(), rtol=1e-4, atol=1e-5)


def numpy_sampler(model: SmilesLanguageModel, gumbel: np.ndarray) -> np.ndarray:
    """The Gumbel-max sampler written out: GRU cells in NumPy, one step at a time."""
    values = model.get_param_values()
    n, units = gumbel.shape[1], model.spec.units

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    states = [np.zeros((n, units)) for _ in range(model.spec.layers)]
    previous = np.full(n, BEGIN)
    out = []
    for g in gumbel:
        x = values["embedding.W"][previous].astype(np.float64)
        for i in range(model.spec.layers):
            xp = x @ values[f"gru{i}.W_x"] + values[f"gru{i}.b_x"]
            hp = states[i] @ values[f"gru{i}.W_h"] + values[f"gru{i}.b_h"]
            r, z = sigmoid(xp[:, :units] + hp[:, :units]), sigmoid(xp[:, units:2 * units] + hp[:, units:2 * units])
            c = np.tanh(xp[:, 2 * units:] + r * hp[:, 2 * units:])
            states[i] = x = (1 - z) * c + z * states[i]
        logits = x @ values["output.W"] + values["output.b"]
        logits[:, [PAD, BEGIN]] = -1e9
        previous = np.argmax(logits + g, axis=1)
        out.append(previous)
    return np.array(out)


def test_sampler_is_the_gumbel_max_draw_of_the_network(model):
    model.sample(1)  # compiles
    gumbel = -np.log(-np.log(np.random.default_rng(0).random((12, 5, model.spec.n_tokens)))).astype(np.float32)
    ids, _ = model._sample_fn(gumbel, np.float32(1.0))
    np.testing.assert_array_equal(np.asarray(ids), numpy_sampler(model, gumbel))
    assert not np.isin(np.asarray(ids), [PAD, BEGIN]).any()


def test_sampling_stops_once_every_row_has_ended(model):
    """The compiled scan stops after the step where the last row drew ``$``, as a PyTorch loop breaks."""
    eager = model.copy()
    values = eager.get_param_values()
    values["output.b"][END] = 8.0  # "$" is by far the likeliest token: rows end within a few steps
    eager.set_param_values(values)
    eager.sample(1)  # compiles
    gumbel = -np.log(-np.log(np.random.default_rng(0).random((40, 64, model.spec.n_tokens)))).astype(np.float32)
    ids = np.asarray(eager._sample_fn(gumbel, np.float32(1.0))[0])
    full = numpy_sampler(eager, gumbel)
    last_end = max(int(np.flatnonzero(column == END)[0]) for column in full.T)
    assert ids.shape == (last_end + 1, 64) and last_end + 1 < 40
    np.testing.assert_array_equal(ids, full[:last_end + 1])


def test_samples_are_reproducible_and_their_likelihoods_consistent(model, smiles):
    model.fit(smiles, epochs=2, batch_size=20)
    first = model.sample(40, seed=7)
    assert first.equals(model.sample(40, seed=7))
    assert not first.equals(model.sample(40, seed=8))
    assert set(first["status"]) <= {"ok", "invalid"} and list(first.columns) == ["smiles", "status", "error",
                                                                                  "log_likelihood"]
    assert (first["error"] != "").eq(first["status"] == "invalid").all()
    ended = first[first["error"] != "no end token within max_length"]
    np.testing.assert_allclose(model.log_likelihood(ended["smiles"].tolist()), ended["log_likelihood"],
                               rtol=1e-5, atol=1e-4)

    def per_token(table):  # mean log-likelihood per sampled token ($ included) of the sequences that ended
        ended = table[table["error"] != "no end token within max_length"]
        lengths = [len(tokenize_smiles(s)) + 1 for s in ended["smiles"]]
        return float(np.mean(ended["log_likelihood"] / lengths))

    assert per_token(model.sample(200, temperature=0.5, seed=7)) > per_token(model.sample(200, seed=7))
    with pytest.raises(ValueError, match="temperature > 0"):
        model.sample(3, temperature=0)


def test_save_and_load_round_trip(model, smiles, tmp_path):
    model.save(tmp_path / "lm")
    loaded = SmilesLanguageModel.load(tmp_path / "lm")
    np.testing.assert_array_equal(loaded.log_likelihood(smiles[:5]), model.log_likelihood(smiles[:5]))
    meta = json.loads((tmp_path / "lm" / "model.json").read_text())
    meta["spec"]["units"] = 32
    (tmp_path / "lm" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="does not match the architecture"):
        SmilesLanguageModel.load(tmp_path / "lm")
    (tmp_path / "lm" / "model.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="not a SmilesLanguageModel"):
        SmilesLanguageModel.load(tmp_path / "lm")


def test_generate_command_writes_every_sample_and_its_metrics(tmp_path, capsys, example_data):
    from symmol.cli.main import main

    simple = ["CCO", "CCN", "CCC", "CCCl", "CC(C)O", "CCOC", "c1ccccc1", "c1ccccc1O"] * 8
    model = SmilesLanguageModel(LanguageModelSpec(SmilesLanguageModel.build_vocabulary(simple), embedding=8, units=32,
                                                  layers=1, max_length=20, seed=0))
    model.fit(simple, epochs=30, batch_size=64, learning_rate=2e-2)
    model.save(tmp_path / "lm")
    out = tmp_path / "samples.csv"
    assert main(["generate", str(tmp_path / "lm"), "--n", "30", "--seed", "3", "--out", str(out), "--metrics",
                 "--training", str(example_data / "zinc20k.smi.gz")]) == 0
    import pandas as pd

    table = pd.read_csv(out, keep_default_na=False)
    assert len(table) == 30 and list(table.columns) == ["smiles", "status", "error", "log_likelihood"]
    assert table["smiles"].tolist() == model.sample(30, seed=3)["smiles"].tolist()
    printed = capsys.readouterr().out
    assert "30 samples" in printed and '"valid"' in printed and '"novelty"' in printed
    assert main(["generate", str(tmp_path), "--n", "3", "--out", str(out)]) == 2
    assert "no model.json" in capsys.readouterr().err


def test_an_interrupted_run_resumes_exactly(smiles, tmp_path):
    spec = LanguageModelSpec(SmilesLanguageModel.build_vocabulary(smiles), embedding=8, units=16, layers=2,
                             max_length=70, seed=7)
    straight = SmilesLanguageModel(spec)
    expected = straight.fit(smiles, epochs=2, batch_size=16, seed=3)
    checkpoint = tmp_path / "checkpoint.npz"
    first = SmilesLanguageModel(spec).fit(smiles, epochs=2, max_time=0.0, batch_size=16, seed=3, checkpoint=checkpoint)
    assert len(first) == 1 and not first[0]["complete"]  # stopped after one of the epoch's four batches
    resumed = SmilesLanguageModel(spec)  # a new process would start from a new model
    history = resumed.fit(smiles, epochs=2, batch_size=16, seed=3, checkpoint=checkpoint)
    assert [h["epoch"] for h in history] == [1, 2] and all(h["complete"] for h in history)
    assert [h["loss"] for h in history] == pytest.approx([h["loss"] for h in expected], rel=1e-6)
    for name, value in straight.get_param_values().items():
        np.testing.assert_array_equal(resumed.get_param_values()[name], value, err_msg=name)
    with pytest.raises(ValueError, match="another batch size"):
        SmilesLanguageModel(spec).fit(smiles, epochs=3, batch_size=8, seed=3, checkpoint=checkpoint)
