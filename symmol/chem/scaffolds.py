"""Molecule groups of blind splits: Bemis–Murcko scaffolds and 2D structures."""

from __future__ import annotations

from rdkit import Chem, rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

__all__ = ["murcko_scaffold", "structure_key"]


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


def structure_key(smiles: str) -> str:
    """Return the canonical SMILES of a molecule's largest fragment without stereo (``""`` if unparsable).

    One key per 2D structure, whatever the salt form, stereo annotation or SMILES writer: the
    groups of a drug-blind split. GDSC screens 16 compounds under two drug ids, with SMILES from
    two sources (one without stereo); the key puts each pair of ids on one side of the split.
    """
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return ""
    largest = max(Chem.GetMolFrags(mol, asMols=True), key=lambda m: m.GetNumHeavyAtoms())
    return Chem.MolToSmiles(largest, isomericSmiles=False)
