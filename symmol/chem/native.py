"""SMILES → Morgan graph arrays without RDKit, where the Numba reader can prove it reads like RDKit.

The molecules the reader (:mod:`symmol.kernels.smiles`) proves it reads exactly like
``Chem.MolFromSmiles``.

:func:`native_graphs` runs the reader over a list of SMILES and returns, for every row, either the
graph arrays (accepted) or nothing (refused: the caller parses that row with RDKit, which also
decides whether it is valid and why not). On the shared ZINC250k, MOSES and ChEMBL files more than
99 % of the rows are accepted, at ~15 us per molecule instead of ~150 us for RDKit's parse and
sanitization (``bench/results/fastparse_identity.md``).

The proof holds for the RDKit releases in :data:`VERIFIED_RDKIT_RELEASES` only (RDKit's aromaticity
rules change between releases; the families they disagree on are refused). Under any other release
the reader is not used: every row goes to RDKit, with one warning saying so.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import rdkit
from rdkit import Chem

from symmol.data.molgraph import ATOM_PROPERTIES, BOND_PROPERTIES, MolGraphBatch
from symmol.kernels.smiles import ATOM_PROPERTIES as KERNEL_ATOM_PROPERTIES
from symmol.kernels.smiles import BOND_PROPERTIES as KERNEL_BOND_PROPERTIES
from symmol.kernels.smiles import REFUSAL_REASONS as KERNEL_REFUSAL_REASONS
from symmol.kernels.smiles import smiles_feature_graph_batch, smiles_graph_batch

__all__ = ["REFUSAL_REASONS", "VERIFIED_RDKIT_RELEASES", "NativeGraphs", "encode_smiles", "native_graphs",
           "native_reader_enabled"]

#: RDKit releases (``YYYY.MM``) under which the reader's output was checked to equal ``MolFromSmiles``'s
#: on ZINC250k, MOSES test, ChEMBL 50k and fuzzed molecules (``bench/results/fastparse_identity*.md``,
#: ``bench/results/fuzz_native_reader.md``). A release is added only after those checks pass under it.
VERIFIED_RDKIT_RELEASES = ("2026.03", "2026.09")
#: Status of every row when the reader is off (a refusal: RDKit parses the row).
_OFF = 9
#: Why the reader refused a row, by status code (the kernel's codes, and the reader being off).
REFUSAL_REASONS = {**KERNEL_REFUSAL_REASONS, _OFF: "the installed RDKit release is not one the reader is verified for"}


@functools.cache
def native_reader_enabled(version: str = rdkit.__version__) -> bool:
    """Whether the reader's proof holds for RDKit ``version`` (its release in :data:`VERIFIED_RDKIT_RELEASES`).

    The first time it is not, a warning says that RDKit parses every molecule instead (slower, identical).
    """
    release = ".".join(version.split(".")[:2])
    if release in VERIFIED_RDKIT_RELEASES:
        return True
    warnings.warn(f"symmol's native SMILES reader is verified under RDKit {', '.join(VERIFIED_RDKIT_RELEASES)}, "
                  f"not {version}: RDKit parses every molecule instead (same results, about 7x slower)",
                  RuntimeWarning, stacklevel=2)
    return False


@dataclass(frozen=True)
class NativeGraphs:
    """Graph arrays of the accepted rows of a SMILES list.

    Attributes
    ----------
    status : (n_rows,) int8
        0 where the Numba reader accepted the row; else a refusal code (:data:`REFUSAL_REASONS`).
    graph : MolGraphBatch
        One molecule per input row, in input order; refused rows have no atoms or bonds.
    """

    status: np.ndarray
    graph: MolGraphBatch

    @property
    def refused(self) -> np.ndarray:
        """(n_refused,) int64 row numbers that must be parsed by RDKit."""
        return np.flatnonzero(self.status)


def encode_smiles(smiles: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate SMILES texts (surrounding whitespace stripped) into ``(data uint8, offsets int64)``.

    ``None`` and non-string entries become empty texts (refused by the reader, so RDKit decides).
    """
    encoded = [text.strip().encode("utf-8", "replace") if isinstance(text, str) else b"" for text in smiles]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def native_graphs(smiles: Sequence[object], properties: bool = False) -> NativeGraphs:
    """Run the Numba SMILES reader over ``smiles``.

    Parameters
    ----------
    smiles
        SMILES texts (one per row).
    properties
        Also compute the atom and bond properties of Chemprop's featurizer
        (:data:`~symmol.data.molgraph.ATOM_PROPERTIES`, :data:`~symmol.data.molgraph.BOND_PROPERTIES`);
        molecules with stereo markup are then refused (RDKit decides their chiral tags and bond stereo).

    Returns
    -------
    NativeGraphs
        Per-row status and the Morgan graph arrays (connectivity invariants with ring membership,
        bonds with RDKit bond types) of the accepted rows, equal to what
        :func:`symmol.chem.mol_arrays.mol_graph_batch` extracts from ``Chem.MolFromSmiles``; every row
        refused under an RDKit release the proof does not cover (:func:`native_reader_enabled`).
    """
    if not native_reader_enabled():
        return NativeGraphs(np.full(len(smiles), _OFF, dtype=np.int8), MolGraphBatch.empty(len(smiles), properties))
    data, offsets = encode_smiles(smiles)
    if not properties:
        status, atom_offsets, atom_inv, _atomic_num, bond_offsets, bond_atoms, bond_types = smiles_graph_batch(
            data, offsets)
        return NativeGraphs(status, MolGraphBatch(atom_inv, atom_offsets, bond_atoms, bond_types, bond_offsets))
    (status, atom_offsets, atom_inv, atomic_num, bond_offsets, bond_atoms, bond_types, kernel_atoms,
     kernel_bonds) = smiles_feature_graph_batch(data, offsets)
    atom_properties = np.zeros((atomic_num.shape[0], len(ATOM_PROPERTIES)), dtype=np.int16)
    atom_properties[:, 0] = atomic_num
    for k, name in enumerate(KERNEL_ATOM_PROPERTIES):  # the chiral tag stays 0: stereo markup was refused
        atom_properties[:, ATOM_PROPERTIES.index(name)] = kernel_atoms[:, k]
    bond_properties = np.zeros((bond_types.shape[0], len(BOND_PROPERTIES)), dtype=np.int8)
    for k, name in enumerate(KERNEL_BOND_PROPERTIES):  # the stereo stays 0 (STEREONONE)
        bond_properties[:, BOND_PROPERTIES.index(name)] = kernel_bonds[:, k]
    graph = MolGraphBatch(atom_inv, atom_offsets, bond_atoms, bond_types, bond_offsets, atom_properties,
                          _atomic_weights()[atomic_num], bond_properties)
    return NativeGraphs(status, graph)


@functools.cache
def _atomic_weights() -> np.ndarray:
    """(119,) float64: RDKit's standard atomic weight of each element, ``Atom.GetMass()`` without an isotope."""
    table = Chem.GetPeriodicTable()
    return np.array([table.GetAtomicWeight(z) for z in range(119)], dtype=np.float64)
