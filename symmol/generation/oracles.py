"""PMO's RDKit-computable oracles: the GuacaMol goal-directed tasks as PMO scores them.

PMO (Gao et al., NeurIPS 2022 Datasets & Benchmarks, arXiv:2206.12411) scores molecular optimisers
with 23 oracles from the Therapeutics Data Commons (``tdc.Oracle``, PyTDC); 20 of them need only RDKit:
GuacaMol's rediscovery, similarity, isomer, median, MPO and hop tasks (Brown et al., J. Chem. Inf. Model.
2019, doi:10.1021/acs.jcim.8b00839) and QED. Each is written here as a declarative list of *terms*
(a Tanimoto similarity to a reference, a descriptor, a substructure, a molecular formula), each mapped to
``[0, 1]`` by a GuacaMol *modifier* and combined by a geometric or arithmetic mean. The definitions follow
PyTDC 1.1.15's ``tdc/chem_utils/oracle/oracle.py`` where it departs from GuacaMol (isomer scoring counts
hydrogens from the formula; Ranolazine MPO scores TPSA, logP, fluorine and an atom-pair similarity by a
geometric mean), since PMO's numbers come from PyTDC. ``tests/test_oracles.py`` checks every task against
values PyTDC computed for real molecules.

Fingerprints, as PyTDC computes them (unfolded count vectors; Tanimoto on counts, ``sum min / sum max``):

``ecfp4`` / ``ecfp6``
    Morgan, radius 2 / 3 (RDKit's ``GetMorganGenerator``, sparse counts).
``fcfp4``
    Morgan radius 2 over feature invariants (``GetMorganFeatureAtomInvGen``).
``ap``
    Atom pairs up to 10 bonds apart (``GetAtomPairGenerator(maxDistance=10)``).
``phco``
    2D pharmacophore fingerprint with Gobbi & Poppinger's features (``rdkit.Chem.Pharm2D``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import QED, Crippen, Descriptors, rdFingerprintGenerator, rdMolDescriptors
from rdkit.Chem.Pharm2D import Generate, Gobbi_Pharm2D

__all__ = ["ORACLES", "PMO_TASKS", "Oracle", "oracle"]

Modifier = Callable[[float], float]


def gaussian(mu: float, sigma: float) -> Modifier:
    """GuacaMol's ``GaussianModifier``: ``exp(-((x - mu) / sigma)**2 / 2)``."""
    return lambda x: float(np.exp(-0.5 * ((x - mu) / sigma) ** 2))


def at_most(mu: float, sigma: float) -> Modifier:
    """GuacaMol's ``MinGaussianModifier``: 1 up to ``mu``, a Gaussian tail above it."""
    return lambda x: gaussian(mu, sigma)(max(x, mu))


def at_least(mu: float, sigma: float) -> Modifier:
    """GuacaMol's ``MaxGaussianModifier``: 1 from ``mu`` on, a Gaussian tail below it."""
    return lambda x: gaussian(mu, sigma)(min(x, mu))


def clipped(upper_x: float) -> Modifier:
    """GuacaMol's ``ClippedScoreModifier``: ``x / upper_x`` clipped to ``[0, 1]``."""
    return lambda x: float(np.clip(x / upper_x, 0.0, 1.0))


def _identity(x: float) -> float:
    return x


_MORGAN = {
    "ecfp4": rdFingerprintGenerator.GetMorganGenerator(radius=2),
    "ecfp6": rdFingerprintGenerator.GetMorganGenerator(radius=3),
    "fcfp4": rdFingerprintGenerator.GetMorganGenerator(
        radius=2, atomInvariantsGenerator=rdFingerprintGenerator.GetMorganFeatureAtomInvGen()),
    "ap": rdFingerprintGenerator.GetAtomPairGenerator(maxDistance=10),
}


def fingerprint(mol: Chem.Mol, kind: str) -> Any:
    """Return the fingerprint ``kind`` (see the module docstring) of ``mol`` as an RDKit sparse vector."""
    if kind == "phco":
        return Generate.Gen2DFingerprint(mol, Gobbi_Pharm2D.factory)
    return _MORGAN[kind].GetSparseCountFingerprint(mol)


@dataclass(frozen=True)
class Similarity:
    """Tanimoto similarity to ``reference`` under fingerprint ``kind``, through ``modifier``."""

    reference: str
    kind: str
    modifier: Modifier = _identity

    def __call__(self, mol: Chem.Mol, cache: dict[str, Any]) -> float:
        if self.kind not in cache:
            cache[self.kind] = fingerprint(mol, self.kind)
        return self.modifier(DataStructs.TanimotoSimilarity(_reference_fingerprint(self.reference, self.kind),
                                                            cache[self.kind]))


@cache
def _reference_fingerprint(smiles: str, kind: str) -> Any:
    return fingerprint(_parse(smiles), kind)


@dataclass(frozen=True)
class Descriptor:
    """An RDKit descriptor of the molecule through ``modifier``."""

    function: Callable[[Chem.Mol], float]
    modifier: Modifier = _identity

    def __call__(self, mol: Chem.Mol, cache: dict[str, Any]) -> float:
        return self.modifier(float(self.function(mol)))


@dataclass(frozen=True)
class Substructure:
    """1 when the molecule holds ``smarts`` (``present=True``) or lacks it (``present=False``), else 0."""

    smarts: str
    present: bool = True

    def __call__(self, mol: Chem.Mol, cache: dict[str, Any]) -> float:
        return float(mol.HasSubstructMatch(_smarts(self.smarts)) == self.present)


@cache
def _smarts(smarts: str) -> Chem.Mol:
    return Chem.MolFromSmarts(smarts)


_FORMULA_TERM = re.compile(r"([A-Z][a-z]*)(\d*)")


def _formula_counts(formula: str) -> list[tuple[str, int]]:
    """``"C7H8N2O2"`` -> ``[("C", 7), ("H", 8), ("N", 2), ("O", 2)]`` (charges and brackets ignored)."""
    return [(element, int(count) if count else 1) for element, count in _FORMULA_TERM.findall(formula)]


@dataclass(frozen=True)
class Formula:
    """Closeness to a molecular formula (GuacaMol's isomer score, hydrogens counted as PyTDC counts them).

    The geometric mean of a Gaussian (sigma 1) on the count of each element of ``formula`` and a
    Gaussian (sigma 2) on the total atom count, hydrogens included.
    """

    formula: str

    def __call__(self, mol: Chem.Mol, cache: dict[str, Any]) -> float:
        target = _formula_counts(self.formula)
        with_hydrogens = Chem.AddHs(mol)
        symbols = [atom.GetSymbol() for atom in with_hydrogens.GetAtoms()]
        scores = [gaussian(count, 1.0)(symbols.count(element)) for element, count in target]
        total = sum(count for _, count in _formula_counts(rdMolDescriptors.CalcMolFormula(mol)))
        scores.append(gaussian(sum(count for _, count in target), 2.0)(total))
        return _geometric_mean(scores)


Term = Similarity | Descriptor | Substructure | Formula


def _geometric_mean(values: Sequence[float]) -> float:
    array = np.asarray(values, dtype=np.float64)
    if np.any(array <= 0.0):
        return 0.0
    return float(np.exp(np.mean(np.log(array))))


@dataclass(frozen=True)
class Oracle:
    """One PMO task: its terms and how they are combined.

    Attributes
    ----------
    name
        PMO's task name (``"osimertinib_mpo"``).
    terms
        Functions of a molecule into ``[0, 1]``.
    mean
        ``"geometric"`` or ``"arithmetic"``.
    """

    name: str
    terms: tuple[Term, ...]
    mean: str = "geometric"

    def __call__(self, mol: Chem.Mol) -> float:
        """Score one RDKit molecule, in ``[0, 1]``."""
        fingerprints: dict[str, Any] = {}
        values = [term(mol, fingerprints) for term in self.terms]
        if len(values) == 1:
            return float(values[0])
        return _geometric_mean(values) if self.mean == "geometric" else float(np.mean(values))

    def score_mols(self, mols: Sequence[Chem.Mol]) -> np.ndarray:
        """``(n,) float64`` scores of RDKit molecules."""
        return np.array([self(mol) for mol in mols], dtype=np.float64)


@cache
def _parse(smiles: str) -> Chem.Mol:
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"not a valid SMILES: {smiles!r}")
    return mol


def _same_as(smiles: str, function: Callable[[Chem.Mol], float], sigma: float) -> Descriptor:
    """Score ``function`` by a Gaussian centred on the reference molecule's value."""
    return Descriptor(function, gaussian(float(function(_parse(smiles))), sigma))


_PHARMACOPHORE = "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C"
_QUINAZOLINE_SCAFFOLD = "[#7]-c1n[c;h1]nc2[c;h1]c(-[#8])[c;h0][c;h1]c12"
_SITAGLIPTIN = "NC(CC(=O)N1CCn2c(nnc2C(F)(F)F)C1)Cc1cc(F)c(F)cc1F"
_SITAGLIPTIN_FOR_MPO = "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F"
_logp, _tpsa = Crippen.MolLogP, rdMolDescriptors.CalcTPSA  # type: ignore[attr-defined]


def _fluorines(mol: Chem.Mol) -> float:
    return float(sum(atom.GetAtomicNum() == 9 for atom in mol.GetAtoms()))


def _tasks() -> list[Oracle]:
    return [
        Oracle("qed", (Descriptor(QED.qed),)),
        Oracle("celecoxib_rediscovery",
               (Similarity("CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F", "ecfp4"),)),
        Oracle("troglitazone_rediscovery",
               (Similarity("Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O", "ecfp4"),)),
        Oracle("thiothixene_rediscovery",
               (Similarity("CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1", "ecfp4"),)),
        Oracle("albuterol_similarity", (Similarity("CC(C)(C)NCC(O)c1ccc(O)c(CO)c1", "fcfp4", clipped(0.75)),)),
        Oracle("mestranol_similarity",
               (Similarity("COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1", "ap", clipped(0.75)),)),
        Oracle("isomers_c7h8n2o2", (Formula("C7H8N2O2"),)),
        Oracle("isomers_c9h10n2o2pf2cl", (Formula("C9H10N2O2PF2Cl"),)),
        Oracle("median1", (Similarity("CC1(C)C2CCC1(C)C(=O)C2", "ecfp4"), Similarity("CC(C)C1CCC(C)CC1O", "ecfp4"))),
        Oracle("median2", (Similarity("O=C1N(CC(N2C1CC3=C(C2C4=CC5=C(OCO5)C=C4)NC6=C3C=CC=C6)=O)C", "ecfp6"),
                           Similarity("CCCC1=NN(C2=C1N=C(NC2=O)C3=C(C=CC(=C3)S(=O)(=O)N4CCN(CC4)C)OCC)C", "ecfp6"))),
        Oracle("osimertinib_mpo", (
            Similarity("COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34", "fcfp4", clipped(0.8)),
            Similarity("COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34", "ecfp6", at_most(0.85, 0.1)),
            Descriptor(_tpsa, at_least(100, 10)), Descriptor(_logp, at_most(1, 1)))),
        Oracle("fexofenadine_mpo", (
            Similarity("CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4", "ap", clipped(0.8)),
            Descriptor(_tpsa, at_least(90, 10)), Descriptor(_logp, at_most(4, 1)))),
        Oracle("ranolazine_mpo", (
            Similarity("COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2", "ap", clipped(0.7)),
            Descriptor(_tpsa, at_least(95, 20)), Descriptor(_logp, at_least(7, 1)),
            Descriptor(_fluorines, gaussian(1, 1.0)))),
        Oracle("perindopril_mpo", (Similarity("O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC", "ecfp4"),
                                   Descriptor(rdMolDescriptors.CalcNumAromaticRings, gaussian(2, 0.5)))),
        Oracle("amlodipine_mpo", (Similarity(r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC", "ecfp4"),
                                  Descriptor(rdMolDescriptors.CalcNumRings, gaussian(3, 0.5)))),
        Oracle("sitagliptin_mpo", (
            Similarity(_SITAGLIPTIN_FOR_MPO, "ecfp4", gaussian(0, 0.1)),
            _same_as(_SITAGLIPTIN_FOR_MPO, _logp, 0.2), _same_as(_SITAGLIPTIN_FOR_MPO, _tpsa, 5),
            Formula("C16H15F6N5O"))),
        Oracle("zaleplon_mpo", (Similarity("O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1", "ecfp4"),
                                Formula("C19H17N3O2"))),
        Oracle("valsartan_smarts", (
            Substructure("CN(C=O)Cc1ccc(c2ccccc2)cc1"), _same_as(_SITAGLIPTIN, _tpsa, 5),
            _same_as(_SITAGLIPTIN, _logp, 0.2), _same_as(_SITAGLIPTIN, Descriptors.BertzCT, 30))),
        Oracle("deco_hop", (
            Similarity(_PHARMACOPHORE, "phco", clipped(0.85)), Substructure("CS([#6])(=O)=O", present=False),
            Substructure("[#7]-c1ccc2ncsc2c1", present=False), Substructure(_QUINAZOLINE_SCAFFOLD)),
            mean="arithmetic"),
        Oracle("scaffold_hop", (
            Similarity(_PHARMACOPHORE, "phco", clipped(0.75)),
            Substructure("[#6]-[#6]-[#6]-[#8]-[#6]~[#6]~[#6]~[#6]~[#6]-[#7]-c1ccc2ncsc2c1"),
            Substructure(_QUINAZOLINE_SCAFFOLD, present=False)), mean="arithmetic"),
    ]


#: PMO's RDKit-computable tasks by name.
ORACLES: dict[str, Oracle] = {task.name: task for task in _tasks()}
PMO_TASKS = tuple(ORACLES)


def oracle(name: str) -> Oracle:
    """Return the PMO task ``name``.

    Raises
    ------
    ValueError
        For a name that is not one of :data:`PMO_TASKS`, listing them.
    """
    if name not in ORACLES:
        raise ValueError(f"unknown PMO task {name!r}; choose from {', '.join(PMO_TASKS)}")
    return ORACLES[name]
