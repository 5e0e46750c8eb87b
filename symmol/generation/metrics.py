"""Metrics of a set of generated molecules, as MOSES defines them, from RDKit and symmol's similarity kernels.

The definitions are those of the ``molsets`` package 0.3.1 (``moses/metrics/metrics.py`` and
``utils.py``; Polykovskiy et al., "Molecular Sets (MOSES)", Front. Pharmacol. 2020,
doi:10.3389/fphar.2020.565644), which itself no longer installs with its pinned dependencies
(moses#104). ``bench/generation_metrics.py`` checks every value against ``molsets`` on real samples.

Given generated SMILES ``gen`` (in sampling order), MOSES's validity check (RDKit parses and sanitizes
a non-empty string) and canonical SMILES (``Chem.MolToSmiles``) of the valid ones:

``valid``
    share of ``gen`` that is valid.
``unique@k``
    distinct canonical SMILES among the first ``k`` valid ones, divided by ``k`` (by their number if
    fewer).
``novelty``
    share of the distinct valid canonical SMILES not in the training set.
``IntDiv`` / ``IntDiv2``
    ``1 - mean_i (mean_j T(i, j)^p)^(1/p)`` over all pairs (self pairs and repeats included) of the
    valid molecules, ``p`` = 1 or 2, ``T`` the Tanimoto similarity of 1,024-bit ECFP4.
``SNN/Test``
    mean over the valid molecules of the Tanimoto similarity to the nearest reference molecule.
``Frag/Test``, ``Scaf/Test``
    cosine similarity of the counts of BRICS fragments (``FragmentOnBRICSBonds``) or of Bemis–Murcko
    scaffolds with at least two rings, in the valid set against the reference set.
``Filters``
    share of the valid molecules with no ring of 8 or more atoms, no charged atom, only C, N, S, O,
    F, Cl, Br and H, and none of the MCF and PAINS substructures (:mod:`symmol.generation.moses_filters`).
``logP``, ``SA``, ``QED``, ``weight``
    1-D Wasserstein distances between the property distributions of the valid and the reference
    molecules (Crippen logP, the SA score of RDKit's Contrib ``sascorer`` (Ertl & Schuffenhauer,
    J. Cheminform. 2009, doi:10.1186/1758-2946-1-8), QED, average molecular weight).
``FCD/Test``
    Fréchet ChemNet Distance (Preuer et al., J. Chem. Inf. Model. 2018, doi:10.1021/acs.jcim.8b00234)
    of the valid canonical SMILES, computed by the ``fcd_torch`` package as MOSES does (its version
    in :data:`FCD_PACKAGE`); ``None`` when it is not installed (``pip install fcd_torch``).

Where MOSES compares fingerprints of two molecules without a set bit it counts them as identical (1);
a valid molecule always has at least one ECFP4 bit, so the case does not arise here.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rdkit import Chem, RDConfig, rdBase
from rdkit.Chem import QED, Crippen, Descriptors
from rdkit.Chem.Scaffolds import MurckoScaffold
from scipy.stats import wasserstein_distance

from symmol.featurizers.morgan import MorganFingerprint
from symmol.generation.moses_filters import MCF_SMARTS, PAINS_SMARTS
from symmol.similarity.search import bulk_similarity, max_similarity

__all__ = ["FCD_PACKAGE", "GenerationReference", "canonical_valid", "fraction_passes_filters", "fraction_unique",
           "fraction_valid", "generation_metrics", "internal_diversity", "novelty", "passes_filters", "sa_score"]

#: The package that computes FCD, as MOSES uses it.
FCD_PACKAGE = "fcd_torch"
#: MOSES's fingerprint for IntDiv and SNN: ECFP4 folded to 1,024 bits.
MOSES_ECFP4 = MorganFingerprint(radius=2, fp_size=1024)
#: Atoms MOSES's filters allow.
FILTER_ELEMENTS = frozenset({"C", "N", "S", "O", "F", "Cl", "Br", "H"})
#: Rows of the all-pairs similarity matrix computed at a time (IntDiv).
PAIR_BLOCK_ROWS = 1024
PROPERTIES = ("logP", "SA", "QED", "weight")


def _molecule(smiles: object) -> Chem.Mol | None:
    """MOSES's ``get_mol``: RDKit parses and sanitizes a non-empty string, else ``None``."""
    if not isinstance(smiles, str) or not smiles:
        return None
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    try:
        Chem.SanitizeMol(mol)
    except ValueError:
        return None
    return mol


def canonical_valid(smiles: Iterable[object]) -> list[str]:
    """Canonical SMILES (``Chem.MolToSmiles``) of the valid entries of ``smiles``, in order.

    Parameters
    ----------
    smiles : iterable of str
        Generated SMILES; ``None``, empty strings and what RDKit rejects are left out.

    Returns
    -------
    list of str
    """
    with rdBase.BlockLogs():
        return [Chem.MolToSmiles(mol) for mol in map(_molecule, smiles) if mol is not None]


def fraction_valid(smiles: Sequence[object]) -> float:
    """Share of ``smiles`` that RDKit parses and sanitizes (MOSES ``fraction_valid``).

    Raises
    ------
    ValueError
        If ``smiles`` is empty.
    """
    if len(smiles) == 0:
        raise ValueError("fraction_valid: no SMILES given")
    return len(canonical_valid(smiles)) / len(smiles)


def fraction_unique(canonical: Sequence[str], k: int | None = None) -> float:
    """Distinct SMILES among the first ``k`` canonical valid ones, over their number (MOSES ``unique@k``).

    Parameters
    ----------
    canonical : sequence of str
        :func:`canonical_valid` of the generated SMILES.
    k : int, optional
        Count only the first ``k`` (all if ``None`` or if fewer are given, as MOSES, which warns).

    Raises
    ------
    ValueError
        If ``canonical`` is empty.
    """
    chosen = list(canonical[:k] if k is not None else canonical)
    if not chosen:
        raise ValueError("fraction_unique: no valid molecules")
    return len(set(chosen)) / len(chosen)


def novelty(canonical: Sequence[str], training: Iterable[str]) -> float:
    """Share of the distinct valid molecules absent from ``training`` (MOSES ``novelty``).

    Parameters
    ----------
    canonical : sequence of str
        :func:`canonical_valid` of the generated SMILES.
    training : iterable of str
        Canonical SMILES of the training set (MOSES's train split is stored canonical; canonicalise
        another set with :func:`canonical_valid` first).

    Raises
    ------
    ValueError
        If ``canonical`` is empty.
    """
    distinct = set(canonical)
    if not distinct:
        raise ValueError("novelty: no valid molecules")
    return len(distinct - set(training)) / len(distinct)


def _packed_ecfp4(mols: Sequence[Chem.Mol]) -> np.ndarray:
    """1,024-bit ECFP4 of ``mols`` as packed ``(n, 16)`` uint64 rows (RDKit's bits, symmol's kernels)."""
    return MOSES_ECFP4.from_mols(list(mols)).to_packed()


def internal_diversity(fingerprints: np.ndarray, p: int = 1) -> float:
    """MOSES ``IntDiv`` (``p=1``) or ``IntDiv2`` (``p=2``) of packed fingerprints.

    ``1 - mean_i (mean_j T(i, j)^p)^(1/p)`` over all ordered pairs, self pairs included.

    Parameters
    ----------
    fingerprints : (n, n_words) uint64
        Packed fingerprints of the valid generated molecules (repeats included, as MOSES).
    p : int
        Power of the mean, ``>= 1``.

    Raises
    ------
    ValueError
        If there are no fingerprints or ``p < 1``.
    """
    if fingerprints.shape[0] == 0:
        raise ValueError("internal_diversity: no fingerprints")
    if p < 1:
        raise ValueError(f"internal_diversity: p must be >= 1, got {p}")
    n = fingerprints.shape[0]
    row_means = np.empty(n)
    for start in range(0, n, PAIR_BLOCK_ROWS):
        block = bulk_similarity(fingerprints[start:start + PAIR_BLOCK_ROWS], fingerprints)
        row_means[start:start + block.shape[0]] = (block if p == 1 else block ** p).mean(axis=1)
    return float(1.0 - np.mean(row_means if p == 1 else row_means ** (1.0 / p)))


def passes_filters(mol: Chem.Mol) -> bool:
    """MOSES's ``mol_passes_filters``: no ring of >= 8 atoms, no charge, allowed elements, no MCF/PAINS match."""
    if any(len(ring) >= 8 for ring in mol.GetRingInfo().AtomRings()):
        return False
    if any(atom.GetFormalCharge() != 0 for atom in mol.GetAtoms()):
        return False
    if any(atom.GetSymbol() not in FILTER_ELEMENTS for atom in mol.GetAtoms()):
        return False
    with_hydrogens = Chem.AddHs(mol)
    if any(with_hydrogens.HasSubstructMatch(pattern) for pattern in _filter_patterns()):
        return False
    smiles = Chem.MolToSmiles(mol, isomericSmiles=False)
    return bool(smiles) and Chem.MolFromSmiles(smiles) is not None


@functools.cache
def _filter_patterns() -> tuple[Chem.Mol, ...]:
    """Compile the MCF and PAINS SMARTS once, in MOSES's order (MCF, then PAINS)."""
    return tuple(Chem.MolFromSmarts(smarts) for _, smarts in (*MCF_SMARTS, *PAINS_SMARTS))


def fraction_passes_filters(mols: Sequence[Chem.Mol]) -> float:
    """Share of ``mols`` that :func:`passes_filters` (MOSES ``Filters``).

    Raises
    ------
    ValueError
        If ``mols`` is empty.
    """
    if len(mols) == 0:
        raise ValueError("fraction_passes_filters: no molecules")
    return float(np.mean([passes_filters(mol) for mol in mols]))


def _brics_fragments(mols: Iterable[Chem.Mol]) -> Counter:
    counts: Counter = Counter()
    for mol in mols:
        counts.update(Chem.MolToSmiles(Chem.FragmentOnBRICSBonds(mol)).split("."))
    return counts


def _scaffolds(mols: Iterable[Chem.Mol], min_rings: int = 2) -> Counter:
    counts: Counter = Counter()
    for mol in mols:
        try:
            scaffold = MurckoScaffold.GetScaffoldForMol(mol)
        except (ValueError, RuntimeError):
            continue
        smiles = Chem.MolToSmiles(scaffold)
        if smiles and scaffold.GetRingInfo().NumRings() >= min_rings:
            counts[smiles] += 1
    return counts


def _cosine(reference: Counter, generated: Counter) -> float:
    """MOSES ``cos_similarity`` of two count dictionaries; NaN when either is empty."""
    if not reference or not generated:
        return float("nan")
    keys = sorted(set(reference) | set(generated))
    r = np.array([reference.get(k, 0) for k in keys], dtype=np.float64)
    g = np.array([generated.get(k, 0) for k in keys], dtype=np.float64)
    return float(r @ g / np.sqrt((r @ r) * (g @ g)))


@functools.cache
def _sa_scorer() -> Any:
    """Import RDKit Contrib's ``sascorer`` (the module MOSES copies), which RDKit ships outside any package."""
    sys.path.append(os.path.join(RDConfig.RDContribDir, "SA_Score"))
    import sascorer  # noqa: PLC0415

    return sascorer


def sa_score(mol: Chem.Mol) -> float:
    """Return the synthetic accessibility score of ``mol``, 1 (easy) to 10 (hard).

    RDKit Contrib's ``sascorer`` (Ertl & Schuffenhauer, J. Cheminform. 2009, doi:10.1186/1758-2946-1-8),
    the module MOSES copies.
    """
    return float(_sa_scorer().calculateScore(mol))


def _properties(mols: Sequence[Chem.Mol]) -> dict[str, np.ndarray]:
    # rdkit-stubs leave out these two module-level descriptor functions
    functions = {"logP": Crippen.MolLogP, "SA": sa_score, "QED": QED.qed,  # type: ignore[attr-defined]
                 "weight": Descriptors.MolWt}  # type: ignore[attr-defined]
    return {name: np.array([float(functions[name](mol)) for mol in mols]) for name in PROPERTIES}


def _fcd_model() -> Any | None:
    if importlib.util.find_spec(FCD_PACKAGE) is None:
        return None
    from fcd_torch import FCD  # noqa: PLC0415 - optional dependency

    return FCD(device="cpu", n_jobs=1)


@dataclass
class GenerationReference:
    """What the reference-set metrics need of a reference set (MOSES's ``compute_intermediate_statistics``).

    Build it once with :meth:`from_smiles` (a test set of ~176,000 molecules takes minutes) and pass it
    to :func:`generation_metrics` for each generated set.

    Attributes
    ----------
    fingerprints : (n, 16) uint64
        Packed 1,024-bit ECFP4 (SNN).
    fragments, scaffolds : Counter
        BRICS fragment and two-ring scaffold counts (Frag, Scaf).
    properties : dict of str to ndarray
        logP, SA, QED and weight of every molecule.
    fcd : dict or None
        ``fcd_torch``'s ``{"mu", "sigma"}`` of the ChemNet activations; ``None`` without the package.
    """

    fingerprints: np.ndarray
    fragments: Counter
    scaffolds: Counter
    properties: dict[str, np.ndarray]
    fcd: dict[str, np.ndarray] | None = field(default=None)

    @classmethod
    def from_smiles(cls, smiles: Sequence[str], fcd: bool = True) -> GenerationReference:
        """Compute the reference statistics of ``smiles`` (invalid entries are left out).

        Parameters
        ----------
        smiles : sequence of str
            E.g. MOSES's test split (``../shared/data/screening_libraries/moses_test.csv.gz``).
        fcd : bool
            Also compute the FCD statistics (when ``fcd_torch`` is installed).

        Raises
        ------
        ValueError
            If no entry is valid.
        """
        canonical = canonical_valid(smiles)
        if not canonical:
            raise ValueError("GenerationReference: no valid reference molecule")
        mols = [Chem.MolFromSmiles(s) for s in canonical]
        model = _fcd_model() if fcd else None
        return cls(_packed_ecfp4(mols), _brics_fragments(mols), _scaffolds(mols), _properties(mols),
                   model.precalc(canonical) if model is not None else None)


def generation_metrics(smiles: Sequence[object], reference: GenerationReference | None = None,
                       training: Iterable[str] | None = None,
                       k: Sequence[int] = (1000, 10000)) -> dict[str, float | None]:
    """MOSES's metrics of a generated set (``get_all_metrics`` without the scaffold-test columns).

    Parameters
    ----------
    smiles : sequence of str
        Generated SMILES in sampling order (``unique@k`` reads the first ``k`` valid ones).
    reference : GenerationReference, optional
        Reference statistics (e.g. of MOSES's test split) for FCD, SNN, Frag, Scaf and the property
        distances; without it those are left out.
    training : iterable of str, optional
        Canonical training SMILES for ``novelty``; without it novelty is left out.
    k : sequence of int
        The ``unique@k`` to report.

    Returns
    -------
    dict
        ``valid``, ``unique@k``..., ``IntDiv``, ``IntDiv2``, ``Filters``, and with a reference
        ``FCD/Test`` (``None`` without ``fcd_torch``), ``SNN/Test``, ``Frag/Test``, ``Scaf/Test``,
        ``logP``, ``SA``, ``QED``, ``weight``; with training SMILES ``novelty``. Names as MOSES's.

    Raises
    ------
    ValueError
        If ``smiles`` is empty or holds no valid molecule.
    """
    if len(smiles) == 0:
        raise ValueError("generation_metrics: no SMILES given")
    canonical = canonical_valid(smiles)
    if not canonical:
        raise ValueError(f"generation_metrics: none of the {len(smiles)} SMILES is valid")
    metrics: dict[str, float | None] = {"valid": len(canonical) / len(smiles)}
    for size in k:
        metrics[f"unique@{size}"] = fraction_unique(canonical, size)
    mols = [Chem.MolFromSmiles(s) for s in canonical]
    fingerprints = _packed_ecfp4(mols)
    if reference is not None:
        model = _fcd_model() if reference.fcd is not None else None
        metrics["FCD/Test"] = float(model(gen=canonical, pref=reference.fcd)) if model is not None else None
        metrics["SNN/Test"] = float(np.mean(max_similarity(fingerprints, reference.fingerprints)))
        metrics["Frag/Test"] = _cosine(reference.fragments, _brics_fragments(mols))
        metrics["Scaf/Test"] = _cosine(reference.scaffolds, _scaffolds(mols))
    metrics["IntDiv"] = internal_diversity(fingerprints, 1)
    metrics["IntDiv2"] = internal_diversity(fingerprints, 2)
    metrics["Filters"] = fraction_passes_filters(mols)
    if reference is not None:
        generated = _properties(mols)
        for name in PROPERTIES:
            metrics[name] = float(wasserstein_distance(reference.properties[name], generated[name]))
    if training is not None:
        metrics["novelty"] = novelty(canonical, training)
    return metrics


def auc_top_k(scores: Sequence[float] | np.ndarray, k: int = 10, budget: int = 10_000, every: int = 100,
              finished: bool = True) -> float:
    """PMO's sample-efficiency metric: the area under the mean of the best ``k`` scores against oracle calls.

    The definition of PMO's ``top_auc`` (Gao et al., NeurIPS 2022, arXiv:2206.12411; ``mol_opt``'s
    ``main/optimizer.py``): the curve is the mean of the ``k`` best scores among the first ``c`` calls,
    read every ``every`` calls and at the last call, integrated by trapezoids (from 0 at no call),
    held at its last value up to ``budget`` when the run ``finished`` early, over ``budget``.

    Parameters
    ----------
    scores : sequence of float
        The score of each distinct molecule in the order of its first oracle call; calls past
        ``budget`` are ignored.
    k, budget, every
        PMO's top-10, 10,000 calls and logging frequency of 100.
    finished : bool
        The run ended (its curve is held to ``budget``); PMO passes ``True`` for the final value.

    Returns
    -------
    float
        In ``[0, 1]`` for scores in ``[0, 1]``.

    Raises
    ------
    ValueError
        If ``scores`` is empty or ``k``, ``budget`` or ``every`` is not positive.
    """
    if min(k, budget, every) < 1:
        raise ValueError(f"k, budget and every must be positive, got {k}, {budget}, {every}")
    values = np.asarray(scores, dtype=np.float64)[:budget]
    if not values.size:
        raise ValueError("auc_top_k: no scores")
    area, previous, read = 0.0, 0.0, 0
    for calls in range(every, values.size, every):
        now = float(np.mean(np.sort(values[:calls])[::-1][:k]))
        area += every * (now + previous) / 2
        previous, read = now, calls
    now = float(np.mean(np.sort(values)[::-1][:k]))
    area += (values.size - read) * (now + previous) / 2
    if finished and values.size < budget:
        area += (budget - values.size) * now
    return area / budget

