"""Chemprop's atom and bond features from symmol against Chemprop's own featurizer, on the MoleculeNet bench sets.

For every row of ESOL, FreeSolv, BBBP, HIV and Tox21 (``--data-dir``/moleculenet) that RDKit parses,
symmol's ``chemprop_molgraph`` featurizer (the Numba reader where it proves RDKit's reading, RDKit
with full sanitization elsewhere) must give Chemprop 2's ``V`` (72 atom features) and ``E`` (14 bond
features, each bond once) exactly; the table counts molecules, differences, the share the Numba
reader took, and the featurization time of both (one process, the same molecules; Chemprop's
``SimpleMoleculeMolGraphFeaturizer`` on molecules from its ``make_mol``, whose parse time is
counted). Run in an environment with Chemprop (the ``bench`` extra)::

    python bench/chemprop_features.py --data-dir ../shared/data --out bench/results/chemprop_features.md
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import rdkit
from chemprop.featurizers import SimpleMoleculeMolGraphFeaturizer
from chemprop.utils import make_mol
from rdkit import RDLogger

from symmol.chem.native import native_graphs
from symmol.featurizers.chemprop_features import atom_feature_matrix, bond_feature_matrix
from symmol.featurizers.molgraph import MolGraphFeaturizer

SETS = {"ESOL": "delaney-processed.csv", "FreeSolv": "SAMPL.csv", "BBBP": "BBBP.csv", "HIV": "HIV.csv",
        "Tox21": "tox21.csv"}


def compare(smiles: list[str]) -> dict[str, object]:
    """Featurize ``smiles`` both ways and count the molecules whose V or E differ."""
    start = time.perf_counter()
    batch = MolGraphFeaturizer(chemprop_features=True).from_smiles(smiles).batch
    V, E = atom_feature_matrix(batch), bond_feature_matrix(batch)
    ours = time.perf_counter() - start
    featurizer = SimpleMoleculeMolGraphFeaturizer()
    start = time.perf_counter()
    graphs = []
    for text in smiles:
        try:
            mol = make_mol(text, keep_h=False, add_h=False)
        except Exception:  # noqa: BLE001 (Chemprop raises on unparsable rows; both sides skip them)
            mol = None
        graphs.append(None if mol is None or mol.GetNumAtoms() == 0 else featurizer(mol))
    theirs = time.perf_counter() - start
    n_molecules = differences = 0
    for i, graph in enumerate(graphs):
        if graph is None:
            continue
        n_molecules += 1
        a0, a1, b0, b1 = (batch.atom_offsets[i], batch.atom_offsets[i + 1], batch.bond_offsets[i],
                          batch.bond_offsets[i + 1])
        rows = {tuple(sorted(graph.edge_index[:, k].tolist())): graph.E[k] for k in range(0, len(graph.E), 2)}
        same = np.array_equal(graph.V, V[a0:a1]) and len(rows) == b1 - b0 and all(
            np.array_equal(rows.get(tuple(batch.bond_atoms[b].tolist()), -1), E[b]) for b in range(b0, b1))
        differences += not same
    native = float((native_graphs(smiles, properties=True).status == 0).mean())
    return {"molecules": n_molecules, "differences": differences, "native share": f"{100 * native:.1f} %",
            "symmol s": round(ours, 2), "Chemprop s": round(theirs, 2), "speed-up": f"{theirs / ours:.1f}x"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    RDLogger.DisableLog("rdApp.*")
    MolGraphFeaturizer(chemprop_features=True).from_smiles(["c1ccccc1O", "C[C@H](N)C(=O)O"])  # compile first
    rows = []
    for name, file in SETS.items():
        table = pd.read_csv(args.data_dir / "moleculenet" / file)
        smiles = table["smiles"].astype(str).tolist()
        rows.append({"set": name, "rows": len(smiles), **compare(smiles)})
        print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    text = (f"# Chemprop's atom and bond features: symmol against Chemprop's featurizer\n\n"
            f"`python bench/chemprop_features.py --data-dir ../shared/data --out {args.out}`\n\n"
            f"RDKit {rdkit.__version__}, Python {platform.python_version()}, one process. A molecule differs if any "
            f"entry of its V (atoms x 72) or E (bonds x 14) differs. 'native share': rows the Numba reader "
            f"took (the others, stereo markup included, go through RDKit). Times include parsing.\n\n"
            f"{frame.to_markdown(index=False)}\n")
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    main()
