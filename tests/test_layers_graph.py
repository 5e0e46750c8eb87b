"""The message-passing graph network (symmol.nn.graph) against a NumPy forward pass on real molecules."""

from __future__ import annotations

import numpy as np
import pytensor
import pytest
from rdkit import Chem

from symmol.chem.graph import mol_graph_batch
from symmol.compile import get_backend_mode
from symmol.nn.graph import build_graph_network, graph_inputs
from symmol.nn.layers import get_all_params, get_output

SMILES = ["CCO", "c1ccccc1O", "C", "CC(=O)N1CCc2c(c(Nc3cccc(-c4cccnc4)c3)nn2CC2CC2)C1"]


def numpy_forward(net, x, depth):
    """The same network in NumPy with plain loops for gathers and scatters."""
    params = {p.name: p.get_value().astype(np.float64) for p in get_all_params(net.output)}
    h = params["atom_embedding.W"][x.atom_types]
    for i in range(depth):
        agg = np.zeros_like(h)
        for e in range(len(x.src)):
            agg[x.dst[e]] += np.maximum(h[x.src[e]] + params[f"mp{i}.B"][x.bond_types[e]], 0)
        h = np.maximum((h + agg) @ params[f"mp{i}.W"] + params[f"mp{i}.b"], 0)
    pooled = np.zeros((int(x.n_molecules), h.shape[1]))
    for a, m in enumerate(x.atom_molecule):
        pooled[m] += h[a]
    hidden = np.maximum(pooled @ params["readout_dense.W"] + params["readout_dense.b"], 0)
    return hidden @ params["output.W"] + params["output.b"]


def test_graph_inputs_of_real_molecules():
    x = graph_inputs(mol_graph_batch([Chem.MolFromSmiles(s) for s in SMILES]))
    mols = [Chem.MolFromSmiles(s) for s in SMILES]
    assert len(x.atom_types) == sum(m.GetNumAtoms() for m in mols)
    assert len(x.src) == 2 * sum(m.GetNumBonds() for m in mols)
    np.testing.assert_array_equal(x.atom_molecule, np.repeat(np.arange(4), [m.GetNumAtoms() for m in mols]))
    # ethanol: bonds 0-1 and 1-2 in both directions, single bonds (type 1)
    ethanol_edges = {(int(a), int(b)) for a, b in zip(x.src, x.dst, strict=True) if a < 3}
    assert ethanol_edges == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert set(x.bond_types.tolist()) == {1, 2, 12}  # single, double, aromatic


@pytest.mark.parametrize("backend", ["numba", "c"])
def test_graph_network_matches_numpy_and_trains(backend):
    rng = np.random.default_rng(0)
    depth = 2
    net = build_graph_network(3, rng, units=16, depth=depth, hidden=8)
    x = graph_inputs(mol_graph_batch([Chem.MolFromSmiles(s) for s in SMILES]))
    variables = [layer.input_var for layer in net.inputs]
    out = get_output(net.output)
    loss = (out ** 2).mean()
    params = get_all_params(net.output, trainable=True)
    grads = pytensor.grad(loss, params)
    f = pytensor.function(variables, [out, loss, *grads], mode=get_backend_mode(backend))
    got, loss_value, *grad_values = f(*x)
    np.testing.assert_allclose(got, numpy_forward(net, x, depth), rtol=1e-4, atol=1e-5)
    assert got.shape == (4, 3)
    # a gradient step lowers the loss (gradients flow through gathers and segment sums)
    assert all(np.isfinite(g).all() for g in grad_values)
    for p, g in zip(params, grad_values, strict=True):
        p.set_value(p.get_value() - 1e-4 * g)
    assert f(*x)[1] < loss_value
