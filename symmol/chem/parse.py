"""SMILES → RDKit molecules, with the reason for every rejection.

This is the only place that decides how molecules are parsed and sanitized, so that
training, prediction and screening see identical molecules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rdkit import Chem, rdBase


@dataclass(frozen=True)
class ParsedMolecules:
    """Molecules parsed from a list of SMILES, aligned with the input.

    Attributes
    ----------
    mols
        One entry per input SMILES: an RDKit ``Mol`` or ``None`` when rejected.
    errors
        One entry per input SMILES: ``""`` when parsed, else why RDKit rejected it.
    """

    mols: list[Chem.Mol | None]
    errors: list[str]

    @property
    def valid(self) -> list[bool]:
        """Whether each input row parsed."""
        return [m is not None for m in self.mols]


def parse_smiles(smiles: str) -> tuple[Chem.Mol | None, str]:
    """Parse and sanitize one SMILES with ``Chem.MolFromSmiles`` (default parameters: sanitized,
    explicit hydrogens removed), so fingerprints equal RDKit's on the same input.

    Returns
    -------
    (mol, error)
        ``mol`` is ``None`` when RDKit rejects the input and ``error`` says why (the
        message of RDKit's sanitization exception, or a syntax error note).
    """
    if smiles is None or not str(smiles).strip():
        return None, "empty SMILES"
    text = str(smiles).strip()
    mol = Chem.MolFromSmiles(text)
    if mol is not None:
        if mol.GetNumAtoms() == 0:
            return None, "SMILES has no atoms"
        return mol, ""
    # Rejected: parse again without sanitization to say why.
    raw = Chem.MolFromSmiles(text, sanitize=False)
    if raw is None:
        return None, f"SMILES syntax error in {text!r}"
    try:
        Chem.SanitizeMol(raw)
    except Exception as exc:  # RDKit raises several MolSanitizeException subclasses
        message = str(exc).strip() or type(exc).__name__
        return None, f"sanitization failed: {message}"
    return None, "rejected by RDKit"


def parse_smiles_list(smiles: Sequence[str]) -> ParsedMolecules:
    """Parse many SMILES (see :func:`parse_smiles`), silencing RDKit's log while doing so."""
    mols: list[Chem.Mol | None] = []
    errors: list[str] = []
    with rdBase.BlockLogs():
        for text in smiles:
            mol, error = parse_smiles(text)
            mols.append(mol)
            errors.append(error)
    return ParsedMolecules(mols, errors)
