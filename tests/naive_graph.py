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


def dmpnn_atoms(params: dict, x, depth: int, prefix: str = "", initial: str = "pre-activation") -> np.ndarray:
    """Chemprop's D-MPNN (Yang et al. 2019): bond messages, reverse edges found by search.

    ``x.atom_types``/``x.bond_types`` are ids (embedded) or float feature rows (Chemprop's ``V``, ``E``);
    each step adds its messages to the initial pre-activation (Chemprop) or to its relu (``"activated"``).
    """
    p = {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}
    dense = np.asarray(x.atom_types).ndim == 2
    atoms = np.asarray(x.atom_types, dtype=np.float64) if dense else p["atom_embedding.W"][x.atom_types]
    n_edges = len(x.src)
    reverse = [next(k for k in range(n_edges) if x.src[k] == x.dst[e] and x.dst[k] == x.src[e])
               for e in range(n_edges)]
    bond_term = [x.bond_types[e] @ p["dmpnn.B"] if dense else p["dmpnn.B"][x.bond_types[e]] for e in range(n_edges)]
    z = np.array([atoms[x.src[e]] @ p["dmpnn.W_i"] + bond_term[e] for e in range(n_edges)]).reshape(n_edges, -1)
    h = relu(z)
    base = z if initial == "pre-activation" else h
    for _ in range(depth - 1):
        messages = np.zeros_like(h)
        for e in range(n_edges):
            into_source = [k for k in range(n_edges) if x.dst[k] == x.src[e] and k != reverse[e]]
            messages[e] = h[into_source].sum(axis=0)
        h = relu(base + messages @ p["dmpnn.W_h"])
    atom_messages = np.zeros((atoms.shape[0], h.shape[1]))
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
