"""Bemis–Murcko scaffolds (the groups of a scaffold split)."""

from __future__ import annotations

from rdkit import Chem, rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

__all__ = ["murcko_scaffold"]


def murcko_scaffold(smiles: str, include_chirality: bool = False) -> str:
    """Canonical Bemis–Murcko scaffold SMILES (``""`` for acyclic or unparsable molecules).

    Bemis & Murcko, J. Med. Chem. 1996, 39, 2887, doi:10.1021/jm9602928; via
    ``rdkit.Chem.Scaffolds.MurckoScaffold.MurckoScaffoldSmiles``.
    """
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return ""
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=include_chirality)
