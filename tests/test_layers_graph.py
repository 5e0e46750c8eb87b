"""The message-passing graph network against a NumPy forward pass on real molecules."""

from __future__ import annotations

import numpy as np
import pytensor
import pytest
from naive_graph import dmpnn_atoms, gin_atoms, readout_and_head
from pytensor.gradient import verify_grad
from pytensor.graph.replace import graph_replace
from rdkit import Chem

from symmol.chem.mol_arrays import mol_graph_batch
from symmol.compile import get_backend_mode
from symmol.models.graph_network import build_graph_network
from symmol.nn.layers import DirectedMessagePassingLayer, InputLayer, get_all_params, get_output

SMILES = ["CCO", "c1ccccc1O", "C", "CC(=O)N1CCc2c(c(Nc3cccc(-c4cccnc4)c3)nn2CC2CC2)C1"]


def _params(net) -> dict:
    return {p.name: p.get_value().astype(np.float64) for p in get_all_params(net.output)}


def numpy_forward(net, x, depth):
    """The GIN network in NumPy with plain loops for gathers and scatters."""
    return readout_and_head(_params(net), gin_atoms(_params(net), x, depth), x)


def test_graph_inputs_of_real_molecules():
    x = mol_graph_batch([Chem.MolFromSmiles(s) for s in SMILES]).graph_inputs()
    mols = [Chem.MolFromSmiles(s) for s in SMILES]
    assert len(x.atom_types) == sum(m.GetNumAtoms() for m in mols)
    assert len(x.src) == 2 * sum(m.GetNumBonds() for m in mols)
    np.testing.assert_array_equal(x.atom_molecule, np.repeat(np.arange(4), [m.GetNumAtoms() for m in mols]))
    # ethanol: bonds 0-1 and 1-2 in both directions, single bonds (type 1)
    ethanol_edges = {(int(a), int(b)) for a, b in zip(x.src, x.dst, strict=True) if a < 3}
    assert ethanol_edges == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert set(x.bond_types.tolist()) == {1, 2, 12}  # single, double, aromatic
    # the second half of the edges reverses the first (D-MPNN's rev(e) = e ± n_edges / 2)
    half = len(x.src) // 2
    np.testing.assert_array_equal(x.src[:half], x.dst[half:])
    np.testing.assert_array_equal(x.dst[:half], x.src[half:])


def test_bond_types_after_aromatic_share_one_id():
    """Ionic (13), dative (17) and zero-order (21) bonds get id 13, not aromatic's 12."""
    mols = [Chem.MolFromSmiles("C->[Fe]"), Chem.MolFromSmiles("c1ccccc1")]
    zero = Chem.RWMol(Chem.MolFromSmiles("CC"))
    zero.GetBondWithIdx(0).SetBondType(Chem.BondType.ZERO)
    mols.append(zero.GetMol())
    x = mol_graph_batch(mols).graph_inputs()
    assert x.bond_types.tolist() == [13] + [12] * 6 + [13] + [13] + [12] * 6 + [13]


@pytest.mark.parametrize("backend", ["numba", "c"])
def test_graph_network_matches_numpy_and_trains(backend):
    rng = np.random.default_rng(0)
    depth = 2
    net = build_graph_network(3, rng, units=16, depth=depth, hidden=8)
    x = mol_graph_batch([Chem.MolFromSmiles(s) for s in SMILES]).graph_inputs()
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
    """Chemprop's D-MPNN written with loops over atoms and bonds."""
    return readout_and_head(_params(net), dmpnn_atoms(_params(net), x, depth), x)


@pytest.mark.parametrize("backend", ["numba", "c"])
def test_dmpnn_matches_chemprop_equations_and_trains(backend):
    rng = np.random.default_rng(1)
    depth = 3
    net = build_graph_network(2, rng, units=8, depth=depth, hidden=8, message_passing="dmpnn")
    x = mol_graph_batch([Chem.MolFromSmiles(s) for s in SMILES]).graph_inputs()
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
    x = mol_graph_batch([Chem.MolFromSmiles(s) for s in ("CC(=O)O", "c1ccncc1")]).graph_inputs()
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
