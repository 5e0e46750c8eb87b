"""What models of ligand–protein pairs share: the protein input and encoding each distinct entity once.

A drug–target data set repeats its entities: DAVIS pairs 68 ligands with 442 proteins in 30,056
rows, so a random batch of 256 pairs holds about 66 distinct ligands and 194 distinct proteins.
:func:`entity_arrays` hands a model a batch's distinct rows of one input and, per pair, the position
of its entity among them; the model encodes the distinct rows and gathers
(:class:`~symmol.nn.layers.GatherLayer`). The compiled graph is the same either way: per-pair
encoding (``encode_once=False``) passes every row and the identity index, which is how DeepDTA and
GraphDTA encode.
"""

from __future__ import annotations

import numpy as np

from symmol.data.batch import distinct_rows
from symmol.models.options import as_bool
from symmol.models.registry import Option

__all__ = ["ENCODE_ONCE", "LIGAND_INPUT", "PROTEIN_COLUMN", "PROTEIN_INPUT", "entity_arrays", "entity_groups"]

#: Input names of a pair model: the ligand reads the reader's ``smiles`` column (``--smiles-column``,
#: alias ``--ligand-column``, names it in the file), the protein the column of :data:`PROTEIN_COLUMN`.
LIGAND_INPUT = "smiles"
PROTEIN_INPUT = "protein"

#: ``--protein-column``: where a pair model finds the amino-acid sequences.
PROTEIN_COLUMN = Option("protein_column", "sequence", "column of the protein amino-acid sequences (pair models)")
#: ``--encode-once/--no-encode-once``.
ENCODE_ONCE = Option("encode_once", True, "encode each distinct ligand and protein of a batch once and gather the "
                     "rows per pair (the per-pair model's gradients, summed in another order)", parse=as_bool,
                     switch=True)


def entity_groups(matrix: np.ndarray) -> np.ndarray:
    """Return ``(n_pairs,)`` int64 labels of one input's distinct rows (by first appearance): the pairs' entities."""
    return distinct_rows(matrix)[1]


def entity_arrays(matrix: np.ndarray, encode_once: bool) -> tuple[np.ndarray, np.ndarray]:
    """Return the rows an entity encoder runs on, and each pair's row among them.

    Parameters
    ----------
    matrix : (n_pairs, width)
        One input's rows (padded token ids, composition vectors), one per pair.
    encode_once
        ``True``: the distinct rows in order of first appearance; ``False``: every row.

    Returns
    -------
    rows : (n_entities, width), ``matrix``'s dtype
    index : (n_pairs,) int64
        ``rows[index]`` equals ``matrix``.
    """
    if not encode_once:
        return matrix, np.arange(matrix.shape[0], dtype=np.int64)
    first, index = distinct_rows(matrix)
    return matrix[first], index
