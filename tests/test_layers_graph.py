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


def numpy_dmpnn_forward(net, x, depth):
    """Chemprop's D-MPNN written with loops over atoms and bonds (reverse edges found by search)."""
    params = {p.name: p.get_value().astype(np.float64) for p in get_all_params(net.output)}
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    atoms = params["atom_embedding.W"][x.atom_types]
    n_edges = len(x.src)
    reverse = [next(k for k in range(n_edges) if x.src[k] == x.dst[e] and x.dst[k] == x.src[e])
               for e in range(n_edges)]
    h0 = np.array([relu(atoms[x.src[e]] @ params["dmpnn.W_i"] + params["dmpnn.B"][x.bond_types[e]])
                   for e in range(n_edges)]).reshape(n_edges, -1)
    h = h0
    for _ in range(depth - 1):
        messages = np.zeros_like(h)
        for e in range(n_edges):
            into_source = [k for k in range(n_edges) if x.dst[k] == x.src[e] and k != reverse[e]]
            messages[e] = h[into_source].sum(axis=0)
        h = relu(h0 + messages @ params["dmpnn.W_h"])
    atom_messages = np.zeros_like(atoms)
    for e in range(n_edges):
        atom_messages[x.dst[e]] += h[e]
    h_atoms = relu(atoms @ params["dmpnn.W_o"] + atom_messages @ params["dmpnn.W_m"] + params["dmpnn.b"])
    pooled = np.zeros((int(x.n_molecules), h_atoms.shape[1]))
    for a, m in enumerate(x.atom_molecule):
        pooled[m] += h_atoms[a]
    hidden = relu(pooled @ params["readout_dense.W"] + params["readout_dense.b"])
    return hidden @ params["output.W"] + params["output.b"]


@pytest.mark.parametrize("backend", ["numba", "c"])
def test_dmpnn_matches_chemprop_equations_and_trains(backend):
    rng = np.random.default_rng(1)
    depth = 3
    net = build_graph_network(2, rng, units=8, depth=depth, hidden=8, message_passing="dmpnn")
    x = graph_inputs(mol_graph_batch([Chem.MolFromSmiles(s) for s in SMILES]))
    variables = [layer.input_var for layer in net.inputs]
    out = get_output(net.output)
    loss = (out ** 2).mean()
    params = get_all_params(net.output, trainable=True)
    f = pytensor.function(variables, [out, loss, *pytensor.grad(loss, params)], mode=get_backend_mode(backend))
    got, loss_value, *grad_values = f(*x)
    np.testing.assert_allclose(got, numpy_dmpnn_forward(net, x, depth), rtol=1e-4, atol=1e-5)
    assert all(np.isfinite(g).all() and np.abs(g).sum() > 0 for g in grad_values)
    for p, g in zip(params, grad_values, strict=True):
        p.set_value(p.get_value() - 1e-4 * g)
    assert f(*x)[1] < loss_value


def test_dmpnn_gradient_is_verified():
    from pytensor.gradient import verify_grad
    from pytensor.graph.replace import graph_replace

    from symmol.nn.graph import DirectedMessagePassingLayer
    from symmol.nn.layers import InputLayer

    x = graph_inputs(mol_graph_batch([Chem.MolFromSmiles(s) for s in ("CC(=O)O", "c1ccncc1")]))
    rng = np.random.default_rng(2)
    atoms_in = InputLayer((None, 4), units=4, name="atoms")
    layers = [InputLayer((None,), dtype="int64", name=n) for n in ("src", "dst", "bond_types")]
    layer = DirectedMessagePassingLayer(atoms_in, *layers, rng, depth=3)
    features = rng.standard_normal((len(x.atom_types), 4)).astype(np.float32)
    weights = [layer.W_i, layer.W_h, layer.W_o, layer.W_m]

    def forward(atom_features, W_i, W_h, W_o, W_m):  # parameters as inputs: their gradients are checked too
        replace = dict(zip(weights, (W_i, W_h, W_o, W_m), strict=True))
        out = get_output(layer, inputs={atoms_in: atom_features, layers[0]: x.src, layers[1]: x.dst,
                                        layers[2]: x.bond_types})
        return graph_replace(out, replace).sum(axis=1)

    # float32 parameters: verify_grad uses its float32 step and tolerance
    verify_grad(forward, [features, *(w.get_value() for w in weights)], rng=np.random.default_rng(3),
                mode=get_backend_mode("numba"))
