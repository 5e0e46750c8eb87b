"""SMILES → RDKit molecules, with the reason for every rejection.

This is the only place that decides how molecules are parsed and sanitized, so that
training, prediction and screening see identical molecules.

Two parse modes are offered:

``"full"``
    ``Chem.MolFromSmiles`` with its defaults: full sanitization, explicit hydrogens
    removed, stereochemistry perceived. The reference; every fingerprint kind can use it.
``"fast"``
    ``Chem.MolFromSmiles(sanitize=False)`` followed by ``Chem.SanitizeMol`` with
    :data:`FAST_SANITIZE_FLAGS` (clean-up, valences, rings, kekulization, radicals,
    aromaticity, H adjustment; no conjugation, hybridization or chirality clean-up) and
    no stereo perception. These are exactly the steps the ECFP atom invariants (atomic
    number, total degree, total H count, formal charge, isotope mass delta, ring
    membership) and bond invariants (bond types, aromatic included) depend on. A SMILES
    with explicit hydrogen atoms (``[H]``, ``[2H]``, ...; which ``MolFromSmiles`` would
    remove) and any molecule the reduced sanitization rejects are parsed again by the
    full path, so rejections and their reasons are the full path's. Identity of ECFP4
    and ECFP6 bits and counts with the full path is checked on the shared ZINC250k,
    MOSES test and ChEMBL 50k files by ``bench/fastparse_identity.py``; fingerprint kinds
    not listed in :data:`FAST_PARSE_KINDS` must use ``"full"``.

For those kinds, :meth:`symmol.featurize.MorganFingerprint.from_smiles` with ``parse_mode="fast"``
goes one step further: the Numba SMILES reader (:mod:`symmol.chem.native`) reads every row it can
prove RDKit reads the same way, without creating an RDKit molecule, and only the rows it refuses
come here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rdkit import Chem, rdBase

__all__ = ["FAST_PARSE_KINDS", "FAST_SANITIZE_FLAGS", "ParseMode", "ParsedMolecules", "parse_smiles",
           "parse_smiles_list"]

ParseMode = Literal["full", "fast"]

_SF = Chem.SanitizeFlags
#: Sanitization steps of the fast path: all of ``SANITIZE_ALL`` but the ones that only set
#: conjugation, hybridization and chirality/atropisomer tags (not read by ECFP without chirality).
FAST_SANITIZE_FLAGS = (_SF.SANITIZE_ALL ^ _SF.SANITIZE_SETCONJUGATION ^ _SF.SANITIZE_SETHYBRIDIZATION
                       ^ _SF.SANITIZE_CLEANUPCHIRALITY ^ _SF.SANITIZE_CLEANUPATROPISOMERS)

#: Featurizer kinds (``to_dict()["kind"]``) proven identical under the fast parse path: ECFP
#: without chirality (``bench/results/fastparse_identity.md``) and the molecular graphs of
#: :mod:`symmol.molgraph`, which are ECFP's own input (atom invariants and bond types).
FAST_PARSE_KINDS = frozenset({"morgan", "ecfp", "graph"})

_RAW_PARAMS = Chem.SmilesParserParams()
# rdkit-stubs type the setters of SmilesParserParams' boolean properties as taking the params object.
_RAW_PARAMS.sanitize = False  # type: ignore[assignment]
_RAW_PARAMS.removeHs = False  # type: ignore[assignment]
# A bracket atom that may be hydrogen ([H], [2H], [H+], ...; also [Hg], [He]: harmless false alarms).
_EXPLICIT_H = re.compile(r"\[\d*H")


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


def _parse_full(text: str) -> tuple[Chem.Mol | None, str]:
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


def _parse_fast(text: str) -> tuple[Chem.Mol | None, str]:
    if _EXPLICIT_H.search(text) is None:
        mol = Chem.MolFromSmiles(text, _RAW_PARAMS)
        if mol is not None and mol.GetNumAtoms() > 0:
            try:
                Chem.SanitizeMol(mol, FAST_SANITIZE_FLAGS)
            except Exception:  # rejected: the full path below gives RDKit's reason
                pass
            else:
                if "@" not in text or not _stereo_perception_may_change_hs(mol):
                    return mol, ""
    return _parse_full(text)


def _stereo_perception_may_change_hs(mol: Chem.Mol) -> bool:
    """Whether ``MolFromSmiles``'s stereo perception, which the fast path skips, may change H counts.

    It removes the hydrogen of a chiral-tagged atom bonded by an aromatic bond outside a ring
    (``[C@H]:CC`` reads with no H on the first carbon), so such molecules take the full path
    (found by ``bench/fuzz_native_reader.py``; ``tests/test_parse.py``).
    """
    for atom in mol.GetAtoms():
        if atom.GetChiralTag() != Chem.ChiralType.CHI_UNSPECIFIED and any(
                bond.GetIsAromatic() or bond.GetBondType() == Chem.BondType.AROMATIC
                for bond in atom.GetBonds() if not bond.IsInRing()):
            return True
    return False


def parse_smiles(smiles: object, mode: ParseMode = "full") -> tuple[Chem.Mol | None, str]:
    """Parse and sanitize one SMILES like ``Chem.MolFromSmiles`` (sanitized, explicit hydrogens removed).

    So fingerprints equal RDKit's on the same input.

    Parameters
    ----------
    smiles
        The SMILES text (surrounding whitespace ignored).
    mode
        ``"full"`` (``MolFromSmiles`` itself) or ``"fast"`` (reduced sanitization without
        stereo perception, see the module docstring; only for :data:`FAST_PARSE_KINDS`).

    Returns
    -------
    (mol, error)
        ``mol`` is ``None`` when RDKit rejects the input and ``error`` says why (the
        message of RDKit's sanitization exception, or a syntax error note). Both modes
        reject the same inputs with the same reasons.

    Raises
    ------
    ValueError
        If ``mode`` is not ``"full"`` or ``"fast"``.
    """
    parse = _PARSERS.get(mode)
    if parse is None:
        raise ValueError(f"mode must be 'full' or 'fast', got {mode!r}")
    if not isinstance(smiles, str) or not smiles.strip():
        return None, "empty SMILES"
    return parse(smiles.strip())


def parse_smiles_list(smiles: Sequence[object], mode: ParseMode = "full") -> ParsedMolecules:
    """Parse many SMILES (see :func:`parse_smiles`), silencing RDKit's log while doing so.

    An entry that is not a string (``None``, NaN) or only blank is rejected as ``"empty SMILES"``.
    """
    parse = _PARSERS.get(mode)
    if parse is None:
        raise ValueError(f"mode must be 'full' or 'fast', got {mode!r}")
    mols: list[Chem.Mol | None] = []
    errors: list[str] = []
    with rdBase.BlockLogs():
        for text in smiles:
            if not isinstance(text, str) or not text.strip():
                mol, error = None, "empty SMILES"
            else:
                mol, error = parse(text.strip())
            mols.append(mol)
            errors.append(error)
    return ParsedMolecules(mols, errors)


_PARSERS = {"full": _parse_full, "fast": _parse_fast}
