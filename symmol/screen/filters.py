"""Medicinal-chemistry filters for screening, all computed by RDKit.

A filter never removes a row: a molecule that fails is still scored and written, with the
names of the failed filters in the ``filters`` column, and is left out of the top-K ranking.

Rules
-----
``lipinski``
    Rule of five (Lipinski et al., Adv. Drug Deliv. Rev. 1997, 23, 3,
    doi:10.1016/S0169-409X(96)00423-1): MW ≤ 500 Da, Crippen logP ≤ 5, H-bond donors ≤ 5,
    H-bond acceptors ≤ 10 (RDKit ``Lipinski.NumHDonors``/``NumHAcceptors``); at most one
    violation passes, as in the original rule.
``veber``
    Veber et al., J. Med. Chem. 2002, 45, 2615, doi:10.1021/jm020017n: rotatable bonds ≤ 10 and
    TPSA ≤ 140 Å².
``pains``
    PAINS A/B/C substructures (Baell & Holloway, J. Med. Chem. 2010, 53, 2719,
    doi:10.1021/jm901137j) from RDKit's ``FilterCatalog``.
``brenk``
    Brenk et al. unwanted groups (ChemMedChem 2008, 3, 435, doi:10.1002/cmdc.200700139) from
    RDKit's ``FilterCatalog``.
``SMARTS``
    Any other value is read as a SMARTS pattern; a molecule containing it fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, Lipinski, rdMolDescriptors
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

RULES = ("lipinski", "veber", "pains", "brenk")
_CATALOGS = {"pains": FilterCatalogParams.FilterCatalogs.PAINS, "brenk": FilterCatalogParams.FilterCatalogs.BRENK}


def _lipinski_violations(mol: Chem.Mol) -> int:
    # RDKit defines these four descriptors as module-level lambdas, which rdkit-stubs leave out.
    return sum((
        Descriptors.MolWt(mol) > 500,  # type: ignore[attr-defined]
        Crippen.MolLogP(mol) > 5,  # type: ignore[attr-defined]
        Lipinski.NumHDonors(mol) > 5,  # type: ignore[attr-defined]
        Lipinski.NumHAcceptors(mol) > 10,  # type: ignore[attr-defined]
    ))


def _veber_passes(mol: Chem.Mol) -> bool:
    return rdMolDescriptors.CalcNumRotatableBonds(mol) <= 10 and rdMolDescriptors.CalcTPSA(mol) <= 140


@dataclass(frozen=True)
class MoleculeFilters:
    """A set of filters applied to every valid molecule of a screen.

    Parameters
    ----------
    names
        Rule names from :data:`RULES` or SMARTS patterns, in the order they are reported.

    Raises
    ------
    ValueError
        If an entry is neither a rule name nor a valid SMARTS pattern.
    """

    names: tuple[str, ...] = ()
    _patterns: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _catalogs: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in self.names:
            if name in _CATALOGS:
                params = FilterCatalogParams()
                params.AddCatalog(_CATALOGS[name])
                self._catalogs[name] = FilterCatalog(params)
            elif name not in RULES:
                pattern = Chem.MolFromSmarts(name)
                if pattern is None:
                    raise ValueError(f"filter {name!r} is neither one of {', '.join(RULES)} nor a valid SMARTS")
                self._patterns[name] = pattern

    def __bool__(self) -> bool:
        return bool(self.names)

    def failures(self, mol: Chem.Mol) -> str:
        """``;``-separated failed filters of one molecule (``""`` if it passes them all).

        Catalog hits name the matched entry, e.g. ``pains:ene_rhod_A(235)``.
        """
        failed = []
        for name in self.names:
            if name == "lipinski":
                if _lipinski_violations(mol) > 1:
                    failed.append("lipinski")
            elif name == "veber":
                if not _veber_passes(mol):
                    failed.append("veber")
            elif name in self._catalogs:
                entry = self._catalogs[name].GetFirstMatch(mol)
                if entry is not None:
                    failed.append(f"{name}:{entry.GetDescription()}")
            elif mol.HasSubstructMatch(self._patterns[name]):
                failed.append(f"smarts:{name}")
        return ";".join(failed)

    def apply(self, mols: Sequence[Chem.Mol | None]) -> list[str]:
        """:meth:`failures` for each molecule; ``""`` for ``None`` (invalid rows)."""
        return ["" if mol is None else self.failures(mol) for mol in mols]
