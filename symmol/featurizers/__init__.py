"""Featurizers: table columns → batches (:mod:`symmol.data`), one family behind one registry.

Built-in kinds (``make_featurizer(kind, **params)``; :func:`featurizer_kinds` lists every kind, plug-ins
included):

==================  ==================================================  ======================
kind                what                                                batch
==================  ==================================================  ======================
``ecfp``/``fcfp``   Morgan fingerprints, identical to RDKit's           FingerprintBatch
``atompair``        atom pairs, identical to RDKit's                    FingerprintBatch
``torsion``         topological torsions, identical to RDKit's          FingerprintBatch
``maccs``           MACCS keys (RDKit)                                  FingerprintBatch
``rdkit2d``         RDKit's 2D descriptors                              DenseBatch
``molgraph``        molecular graphs for graph networks                 MolGraphBatch
``smiles_tokens``   SMILES tokens over a stored vocabulary              TokenBatch
``protein_sequence``  amino-acid tokens (DeepDTA's alphabet)            TokenBatch
``protein_composition``  amino-acid and dipeptide composition            DenseBatch
``profile``         numeric table columns (cell lines, patients)        DenseBatch
``profile_table``   an id's row of a stored table (GDSC cell lines)     DenseBatch
==================  ==================================================  ======================

:mod:`~symmol.featurizers.pipeline` featurizes files and long lists in parallel worker processes;
:mod:`~symmol.featurizers.transformer` is the scikit-learn transformer.

Every module of this package is imported with it (but those two, which define no kind), so a
built-in kind is one module with a ``@register_featurizer`` class: nothing else names it.
"""

import importlib
import pkgutil

from symmol.featurizers.atompair import AtomPairFingerprint
from symmol.featurizers.base import Featurizer, FingerprintFeaturizer, MoleculeFeaturizer
from symmol.featurizers.descriptors import RDKit2DDescriptors
from symmol.featurizers.maccs import MACCSKeys
from symmol.featurizers.molgraph import MolGraphFeaturizer
from symmol.featurizers.morgan import MorganFingerprint
from symmol.featurizers.profile import NumericProfile, ProfileTable
from symmol.featurizers.protein import ProteinComposition, ProteinSequence
from symmol.featurizers.registry import (
    featurizer_class,
    featurizer_from_dict,
    featurizer_kinds,
    make_featurizer,
    register_featurizer,
)
from symmol.featurizers.tokens import SmilesTokens
from symmol.featurizers.torsion import TorsionFingerprint

__all__ = ["AtomPairFingerprint", "Featurizer", "FingerprintFeaturizer", "MACCSKeys", "MolGraphFeaturizer",
           "MoleculeFeaturizer", "MorganFingerprint", "NumericProfile", "ProfileTable", "ProteinComposition",
           "ProteinSequence",
           "RDKit2DDescriptors",
           "SmilesTokens", "TorsionFingerprint", "featurizer_class", "featurizer_from_dict", "featurizer_kinds",
           "make_featurizer", "register_featurizer"]

#: Modules that define no featurizer kind (imported when used: they bring scikit-learn and process pools).
_NOT_KINDS = frozenset({"pipeline", "transformer"})
for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _NOT_KINDS:
        importlib.import_module(f"{__name__}.{_module.name}")
