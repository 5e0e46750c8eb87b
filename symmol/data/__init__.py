"""Batch types: what featurizers produce and compiled models consume.

Every batch implements one protocol (:class:`~symmol.data.batch.Batch`: ``len``, ``take``, ``slice``,
``concatenate``) and knows how to become the arrays of a compiled function (collation):

* :class:`~symmol.data.fingerprints.FingerprintBatch`: sparse fingerprints in CSR form, and
  :class:`~symmol.data.fingerprints.PackedFingerprints`, bits packed in 64-bit words (similarity search);
* :class:`~symmol.data.molgraph.MolGraphBatch`: molecular graphs (atoms and bonds, CSR offsets);
* :class:`~symmol.data.sequences.TokenBatch`: ragged integer token sequences (SMILES, proteins);
* :class:`~symmol.data.dense.DenseBatch`: dense float feature rows (descriptors, profiles);
* :class:`~symmol.data.batch.MultiInputBatch`: named parts, one per input of a multi-input model.

:class:`~symmol.data.batch.Featurized` pairs a batch with one error text per row.
"""

from symmol.data.batch import Batch, Featurized, MultiInputBatch
from symmol.data.dense import DenseBatch
from symmol.data.fingerprints import FingerprintBatch, PackedFingerprints
from symmol.data.molgraph import MolGraphBatch
from symmol.data.sequences import TokenBatch

__all__ = ["Batch", "DenseBatch", "Featurized", "FingerprintBatch", "MolGraphBatch", "MultiInputBatch",
           "PackedFingerprints", "TokenBatch"]
