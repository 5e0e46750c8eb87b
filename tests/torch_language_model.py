"""The SMILES language model written by hand in PyTorch: the reference of its tests."""

from __future__ import annotations

import numpy as np
import torch

from symmol.generation.language_model import BEGIN, PAD, SmilesLanguageModel


def torch_twin(model: SmilesLanguageModel):
    """The same network in ``torch.nn`` with the model's weights."""
    spec, values = model.spec, model.get_param_values()
    embedding = torch.nn.Embedding(spec.n_tokens, spec.embedding)
    gru = torch.nn.GRU(spec.embedding, spec.units, num_layers=spec.layers, batch_first=True)
    head = torch.nn.Linear(spec.units, spec.n_tokens)
    with torch.no_grad():
        embedding.weight.copy_(torch.from_numpy(values["embedding.W"]))
        for i in range(spec.layers):  # symmol stores (in, 3 units) with gates (r, z, c): torch's W.T
            getattr(gru, f"weight_ih_l{i}").copy_(torch.from_numpy(values[f"gru{i}.W_x"].T))
            getattr(gru, f"weight_hh_l{i}").copy_(torch.from_numpy(values[f"gru{i}.W_h"].T))
            getattr(gru, f"bias_ih_l{i}").copy_(torch.from_numpy(values[f"gru{i}.b_x"]))
            getattr(gru, f"bias_hh_l{i}").copy_(torch.from_numpy(values[f"gru{i}.b_h"]))
        head.weight.copy_(torch.from_numpy(values["output.W"].T))
        head.bias.copy_(torch.from_numpy(values["output.b"]))
    return embedding, gru, head


def torch_log_likelihoods(twin, tokens: np.ndarray):
    embedding, gru, head = twin
    ids = torch.from_numpy(tokens.astype(np.int64))
    states, _ = gru(embedding(ids[:, :-1]))
    mask = torch.zeros(head.out_features)
    mask[[PAD, BEGIN]] = -1e9  # padding and the start token never come next
    log_p = torch.log_softmax(head(states) + mask, dim=2)
    picked = log_p.gather(2, ids[:, 1:, None])[..., 0] * (ids[:, 1:] != PAD)
    return picked
