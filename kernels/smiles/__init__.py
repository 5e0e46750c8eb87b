r"""SMILES → Morgan graph arrays in pure Numba, for the molecules it can prove it reads like RDKit.

RDKit's ``Chem.MolFromSmiles`` spends ~140-190 us per drug-like molecule parsing and sanitizing
(``bench/results/featurize_steps.md``), twenty times the ~7 us of the ECFP4 kernel itself. What the
default Morgan generator reads from the sanitized molecule is small: per atom the connectivity
invariant (atomic number, total degree, total H count, formal charge, isotope mass delta, ring
membership) and per bond its type, aromatic included. :func:`smiles_graph_batch` computes exactly
these from the SMILES text for the common case, and *refuses* (a non-zero status) every molecule
outside the subset it handles, so that the caller parses that one with RDKit. Acceptance is the
contract: an accepted molecule has RDKit's atoms (same order), bonds and invariants.

The subset (anything else is refused):

* the organic subset ``B C N O P S F Cl Br I`` and aromatic ``c n o s``; bracket atoms of
  ``C N O S P B F Cl Br I Si Se Na K Li`` and aromatic ``c n o s`` without isotope or atom class, with
  an ``H`` count, a charge and ``@``/``@@`` (ignored: ECFP without chirality does not read stereo),
  whose (element, charge, valence) is in a small table of valences RDKit accepts (``_bracket_valence_ok``);
* bonds ``- = # : / \`` and implicit ones, branches, ring closures ``0-9`` and ``%nn``, ``.``;
* implicit hydrogens by RDKit's default valences (``C`` 4, ``N`` 3, ``O`` 2, ``S`` 2/4/6,
  ``P`` 3/5, ``B`` 3, halogens 1), refusing a valence RDKit would reject or adjust (nitro written
  ``N(=O)=O``, hypervalent halogens, ...);
* aromaticity as RDKit's default model decides it (``MolOps::setAromaticity``, ``Aromaticity.cpp``):
  the atoms written aromatic get a Kekule structure (a perfect matching of those that need a
  double bond, else refused so that RDKit reports "Can't kekulize"); every ring atom gets RDKit's
  electron-donor type from its Kekule valence (``countAtomElec``, ``getAtomDonorTypeArom``,
  exocyclic bonds to more electronegative atoms stealing electrons, ``isAtomCandForArom``); the
  rings are a shortest cycle through every ring bond, checked to form a cycle basis (else
  refused); and every connected combination of up to 6 candidate rings sharing bonds that obeys
  Huckel's rule marks its atoms and the bonds it holds once aromatic (``applyHuckelToFused``).
  Where RDKit's later refinements of the fused-ring rule could matter (an atom in three rings of
  a combination, rings sharing two bonds, anything marked after every candidate atom already
  was), and where something written aromatic would end up non-aromatic (its bond type would then
  depend on RDKit's own Kekule choice), the molecule is refused.

Ring membership is read from the cycle space (an atom is in a ring iff it has a bond that is not a
bridge), which is what RDKit's ring perception marks. Bonds are numbered in the order the SMILES
text completes them, which can differ from RDKit's bond indices (it adds ring closures last); the
Morgan environments do not depend on bond numbering. Identity with RDKit is checked on every molecule of
the shared ZINC250k, MOSES test and ChEMBL files by ``bench/fastparse_identity.py`` and on the
bundled sample by ``tests/test_smiles_kernel.py``.

The modules follow RDKit's own split: :mod:`.codes` (bond codes, refusal codes, limits),
:mod:`.lexer` (SMILES grammar), :mod:`.valence` (valences, H counts, periodic table),
:mod:`.rings` (ring bonds, smallest rings), :mod:`.kekulize` (written bond orders, Kekule
structure), :mod:`.aromaticity` (donor types, Huckel's rule on fused systems),
:mod:`.hybridization` (conjugation and hybridization, for Chemprop's atom and bond features) and
:mod:`.reader` (one molecule, the parallel batch, :func:`smiles_graph_batch` and
:func:`smiles_feature_graph_batch`).

Two facts about Numba shape the split (measured on the bundled ZINC sample): it compiles every
``@jit`` function separately and keeps most calls between them, and it increfs and decrefs, atomically, each array
argument of a function that allocates. So the helpers that take arrays allocate nothing (the
callers ``_process``, ``_parse``, ``_ring_bonds``, ``_perfect_matching``, ``_aromatic_rings`` and
``_fused_aromaticity`` allocate, as before the split), and the small per-character and per-atom
helpers take scalars only and are inlined (``inline="always"``). Numba's on-disk cache does not
see edits in another file: after changing one of these modules, clear ``kernels/smiles/__pycache__``.
"""

from __future__ import annotations

from .codes import REFUSAL_REASONS
from .reader import (
    ATOM_PROPERTIES,
    BOND_PROPERTIES,
    GRAPH_BATCH_KERNELS,
    smiles_feature_graph_batch,
    smiles_graph_batch,
)

__all__ = [
    "ATOM_PROPERTIES",
    "BOND_PROPERTIES",
    "GRAPH_BATCH_KERNELS",
    "REFUSAL_REASONS",
    "smiles_feature_graph_batch",
    "smiles_graph_batch",
]
