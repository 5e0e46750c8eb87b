"""Plain NumPy references of symmol's graph networks: loops over atoms and bonds, no gathers or scatters.

``params`` maps parameter names (as :func:`symmol.models.graph_network.build_graph_network` gives them, with
an optional member prefix) to arrays; ``x`` is a :class:`symmol.data.molgraph.GraphInputs`.
"""

from __future__ import annotations

import numpy as np


def relu(v: np.ndarray) -> np.ndarray:
    return np.maximum(v, 0)


def gin_atoms(params: dict, x, depth: int, prefix: str = "") -> np.ndarray:
    """GIN-style atom messages: ``h' = relu((h + Σ relu(h_src + B[type])) W + b)``, ``depth`` times."""
    h = params[f"{prefix}atom_embedding.W"][x.atom_types]
    for i in range(depth):
        agg = np.zeros_like(h)
        for e in range(len(x.src)):
            agg[x.dst[e]] += relu(h[x.src[e]] + params[f"{prefix}mp{i}.B"][x.bond_types[e]])
        h = relu((h + agg) @ params[f"{prefix}mp{i}.W"] + params[f"{prefix}mp{i}.b"])
    return h


def dmpnn_atoms(params: dict, x, depth: int, prefix: str = "") -> np.ndarray:
    """Chemprop's D-MPNN (Yang et al. 2019): bond messages, reverse edges found by search."""
    p = {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}
    atoms = p["atom_embedding.W"][x.atom_types]
    n_edges = len(x.src)
    reverse = [next(k for k in range(n_edges) if x.src[k] == x.dst[e] and x.dst[k] == x.src[e])
               for e in range(n_edges)]
    h0 = np.array([relu(atoms[x.src[e]] @ p["dmpnn.W_i"] + p["dmpnn.B"][x.bond_types[e]])
                   for e in range(n_edges)]).reshape(n_edges, -1)
    h = h0
    for _ in range(depth - 1):
        messages = np.zeros_like(h)
        for e in range(n_edges):
            into_source = [k for k in range(n_edges) if x.dst[k] == x.src[e] and k != reverse[e]]
            messages[e] = h[into_source].sum(axis=0)
        h = relu(h0 + messages @ p["dmpnn.W_h"])
    atom_messages = np.zeros_like(atoms)
    for e in range(n_edges):
        atom_messages[x.dst[e]] += h[e]
    return relu(atoms @ p["dmpnn.W_o"] + atom_messages @ p["dmpnn.W_m"] + p["dmpnn.b"])


def readout_and_head(params: dict, h_atoms: np.ndarray, x, readout: str = "sum", n_hidden: int = 1,
                     prefix: str = "") -> np.ndarray:
    """Pool atoms per molecule (sum, mean, max or sum / 100; molecules without atoms give zeros), then the head."""
    n_mols = int(x.n_molecules)
    pooled = np.zeros((n_mols, h_atoms.shape[1]))
    for m in range(n_mols):
        rows = h_atoms[np.asarray(x.atom_molecule) == m]
        if len(rows):
            pooled[m] = {"sum": rows.sum(axis=0), "mean": rows.mean(axis=0), "max": rows.max(axis=0),
                         "norm": rows.sum(axis=0) / 100.0}[readout]
    out = pooled
    for i in range(n_hidden):
        name = f"{prefix}readout_dense{i or ''}"
        out = relu(out @ params[f"{name}.W"] + params[f"{name}.b"])
    return out @ params[f"{prefix}output.W"] + params[f"{prefix}output.b"]
