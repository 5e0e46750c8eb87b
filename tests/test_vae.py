"""The SMILES VAE (symmol.generation.vae) against the same network written in NumPy, and through the CLI."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from symmol.cli.main import main
from symmol.generation.language_model import PAD
from symmol.generation.registry import load_generative_model
from symmol.generation.vae import SmilesVAE, SmilesVAESpec

SMALL = {"embedding": 8, "encoder_units": 12, "latent": 4, "units": 16, "layers": 2, "max_length": 70}
SMALL_FLAGS = ["--embedding", "8", "--encoder-units", "12", "--latent", "4", "--rnn-units", "16", "--rnn-layers", "2"]


@pytest.fixture(scope="module")
def smiles(example_data) -> list[str]:
    with gzip.open(example_data / "zinc20k.smi.gz", "rt") as handle:
        return [line.split()[0] for line in handle][:60]


@pytest.fixture(scope="module")
def untrained(smiles) -> SmilesVAE:
    """Random weights (no training step to compile): what the NumPy reference needs."""
    return SmilesVAE(SmilesVAESpec(SmilesVAE.build_vocabulary(smiles), **SMALL, seed=11))


@pytest.fixture(scope="module")
def model(smiles) -> SmilesVAE:
    vae = SmilesVAE(SmilesVAESpec(SmilesVAE.build_vocabulary(smiles), **SMALL, kl_warmup=4, seed=3))
    vae.fit(smiles, epochs=1, batch_size=16, learning_rate=1e-2)  # weights away from their initial values
    return vae


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _gru(x: np.ndarray, h: np.ndarray, p: dict[str, np.ndarray], name: str) -> np.ndarray:
    """One ``torch.nn.GRU`` step (gates r, z, c) with symmol's parameter layout."""
    u = h.shape[1]
    gx = x @ p[f"{name}.W_x"] + p[f"{name}.b_x"]
    gh = h @ p[f"{name}.W_h"] + p[f"{name}.b_h"]
    r = _sigmoid(gx[:, :u] + gh[:, :u])
    z = _sigmoid(gx[:, u:2 * u] + gh[:, u:2 * u])
    c = np.tanh(gx[:, 2 * u:] + r * gh[:, 2 * u:])
    return (1 - z) * c + z * h


def _numpy_elbo(vae: SmilesVAE, tokens: np.ndarray) -> np.ndarray:
    """``log p(x | mu) - KL`` per row, written out step by step."""
    p = {k: v.astype(np.float64) for k, v in vae.get_param_values().items()}
    spec = vae.spec
    out = []
    for row in tokens:
        ids = row[row != PAD]
        embedded = p["embedding.W"][ids]
        h = np.zeros((1, spec.encoder_units))
        for step in embedded:  # the encoder reads ^ ... $ and stops at the last real token
            h = _gru(step[None], h, p, "encoder")
        mu = h @ p["mu.W"] + p["mu.b"]
        logvar = h @ p["logvar.W"] + p["logvar.b"]
        kl = 0.5 * np.sum(np.exp(logvar) + mu ** 2 - 1 - logvar)
        states = [mu @ p["latent_to_state.W"] + p["latent_to_state.b"]] * spec.layers
        log_likelihood = 0.0
        for t in range(len(ids) - 1):
            x = np.concatenate([p["embedding.W"][ids[t]][None], mu], axis=1)
            for layer in range(spec.layers):
                states[layer] = _gru(x, states[layer], p, f"gru{layer}")
                x = states[layer]
            logits = (x @ p["output.W"] + p["output.b"])[0]
            logits[[0, 1]] = -np.inf  # padding and ^ never come next
            log_likelihood += logits[ids[t + 1]] - np.log(np.exp(logits - logits.max()).sum()) - logits.max()
        out.append(log_likelihood - kl)
    return np.array(out)


def test_the_bound_matches_the_network_written_in_numpy(untrained, smiles):
    tokens, fits = untrained.encode(smiles[:12])
    assert fits.all()
    np.testing.assert_allclose(untrained.log_likelihood(smiles[:12]), _numpy_elbo(untrained, tokens), rtol=2e-5,
                               atol=2e-4)


# Training steps of the VAE take minutes to compile cold (278 graph nodes: three GRUs and their gradients):
# the tests below are `slow` (python -m pytest -m slow tests/test_vae.py).
@pytest.mark.slow
def test_the_kl_weight_rises_linearly_then_holds(model):
    assert [model.kl_weight_at(s) for s in (0, 1, 2, 4, 100)] == pytest.approx([0.0, 0.0125, 0.025, 0.05, 0.05])
    assert model.steps == 4  # 60 molecules in batches of 16


@pytest.mark.slow
def test_an_interrupted_run_resumes_exactly(smiles, tmp_path):
    spec = SmilesVAESpec(SmilesVAE.build_vocabulary(smiles), **SMALL, kl_warmup=3, seed=7)
    straight = SmilesVAE(spec)  # the fixture's graphs (same vocabulary and rate): loaded from PyTensor's cache
    expected = straight.fit(smiles, epochs=2, batch_size=16, seed=3, learning_rate=1e-2)
    checkpoint = tmp_path / "checkpoint.npz"
    first = SmilesVAE(spec).fit(smiles, epochs=2, max_time=0.0, batch_size=16, seed=3, learning_rate=1e-2,
                                checkpoint=checkpoint)
    assert len(first) == 1 and not first[0]["complete"]
    resumed = SmilesVAE(spec)
    history = resumed.fit(smiles, epochs=2, batch_size=16, seed=3, learning_rate=1e-2, checkpoint=checkpoint)
    assert [h["loss"] for h in history] == pytest.approx([h["loss"] for h in expected], rel=1e-6)
    assert resumed.steps == straight.steps == 8  # the KL schedule and the eps draws continue where they stopped
    for name, value in straight.get_param_values().items():
        np.testing.assert_array_equal(resumed.get_param_values()[name], value, err_msg=name)


@pytest.mark.slow
def test_samples_are_seeded_and_decoding_is_greedy(model, smiles):
    first, again = model.sample(20, seed=4), model.sample(20, seed=4)
    pd.testing.assert_frame_equal(first, again)
    assert set(first["status"]) <= {"ok", "invalid"} and len(first) == 20
    line = model.interpolate(smiles[0], smiles[1], n=5)
    assert line["t"].tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1])
    reconstructed = model.reconstruct([smiles[0], "CC[Xe]C", smiles[1]])
    assert reconstructed["smiles"].tolist()[::2] == [line["smiles"].iloc[0], line["smiles"].iloc[-1]]
    assert reconstructed["status"].iloc[1] == "invalid"
    # greedy: each decoded token is the most likely one, so no row is less likely than uniform choices
    decoded = model.decode_latent(model.encode_latent(smiles[:3]))
    lengths = decoded["smiles"].map(len) + 1
    assert (decoded["log_likelihood"] <= 0).all()
    assert (decoded["log_likelihood"] >= -lengths * np.log(model.spec.n_tokens)).all()
    with pytest.raises(ValueError, match="cannot read 'CC\\[Xe\\]C'"):
        model.interpolate(smiles[0], "CC[Xe]C")


@pytest.mark.slow
def test_save_and_load_round_trip(model, smiles, tmp_path):
    model.save(tmp_path / "vae")
    loaded = load_generative_model(tmp_path / "vae")
    assert isinstance(loaded, SmilesVAE) and loaded.spec == model.spec
    np.testing.assert_array_equal(loaded.log_likelihood(smiles[:5]), model.log_likelihood(smiles[:5]))


@pytest.mark.slow
def test_cli_trains_interpolates_and_refuses_policy_gradient(smiles, tmp_path, capsys):
    library = tmp_path / "library.csv"
    pd.DataFrame({"smiles": smiles}).to_csv(library, index=False)
    out = tmp_path / "vae"
    assert main(["train", str(library), "--smiles-column", "smiles", "--task", "generation", "--architecture", "vae",
                 "--epochs", "1", "--lr", "1e-2", *SMALL_FLAGS, "--out", str(out), "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["val"]["reconstruction_accuracy"] <= 1.0 and metrics["val"]["rows_reconstructed"] == 6
    assert metrics["training"]["architecture"] == "vae" and metrics["training"]["latent"] == 4
    line = tmp_path / "line.csv"
    assert main(["generate", str(out), "--interpolate", smiles[0], smiles[1], "--n", "4", "--out", str(line)]) == 0
    assert pd.read_csv(line, keep_default_na=False).columns.tolist() == ["t", "smiles", "status", "error",
                                                                         "log_likelihood"]
    spec = tmp_path / "score.toml"
    spec.write_text('[[component]]\nkind = "qed"\ntransform = "raw"\n')
    capsys.readouterr()
    assert main(["optimize", str(out), "--score", str(spec), "--budget", "10", "--out", str(tmp_path / "run")]) == 2
    assert "cannot be optimised by policy gradient" in capsys.readouterr().err
