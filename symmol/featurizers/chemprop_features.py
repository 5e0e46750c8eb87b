"""Chemprop 2's default atom and bond feature vectors (``V`` and ``E``) of a batch of molecular graphs.

Chemprop's ``MultiHotAtomFeaturizer.v2()`` (72 features per atom) and ``MultiHotBondFeaturizer()``
(14 per bond), the inputs of its default D-MPNN (Heid et al., J. Chem. Inf. Model. 2024, 64, 9,
doi:10.1021/acs.jcim.3c01250), expanded from the properties a
:class:`~symmol.data.molgraph.MolGraphBatch` carries when featurized with them (kind
``chemprop_molgraph``). The batch keeps 7 small integers and a mass per atom, 3 per bond; the
multi-hot rows are made per minibatch. ``bench/chemprop_features.py`` checks both against Chemprop's
own featurizer on every molecule of the bench sets; ``tests/test_chemprop_features.py`` on a bundled
sample.

Atom features, in order, each one-hot with a last "other" slot except the final two::

    atomic number   1-36 and 53 (I)                        38
    total degree    0-5                                     7
    formal charge   -1, -2, 1, 2, 0                         6
    chiral tag      0-3 (RDKit ChiralType)                  5
    total H count   0-4                                     6
    hybridization   S, SP, SP2, SP2D, SP3, SP3D, SP3D2      8
    aromatic        0/1                                     1
    mass / 100      Atom.GetMass() * 0.01                   1

Bond features: null bond (always 0 here), type (single, double, triple, aromatic; no slot for
others), conjugated, in ring, stereo one-hot 0-5 with an "other" slot: 1 + 4 + 1 + 1 + 7 = 14.
"""

from __future__ import annotations

import numpy as np

from symmol.data.molgraph import ATOM_PROPERTIES, BOND_PROPERTIES, MolGraphBatch

__all__ = ["ATOM_FDIM", "BOND_FDIM", "atom_feature_matrix", "bond_feature_matrix"]

#: Chemprop v2's one-hot choices, per atom property, in feature order (value → slot; others → last slot).
_ATOM_CHOICES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("atomic_number", (*range(1, 37), 53)),
    ("total_degree", tuple(range(6))),
    ("formal_charge", (-1, -2, 1, 2, 0)),
    ("chiral_tag", tuple(range(4))),
    ("total_hs", tuple(range(5))),
    ("hybridization", (1, 2, 3, 5, 4, 6, 7)),  # RDKit's S, SP, SP2, SP2D, SP3, SP3D, SP3D2
)
#: Width of Chemprop v2's default atom features.
ATOM_FDIM = sum(len(choices) + 1 for _, choices in _ATOM_CHOICES) + 2
#: Width of Chemprop's default bond features.
BOND_FDIM = 14
#: RDKit ``BondType`` codes of the bond-type slots 1-4 (single, double, triple, aromatic).
_BOND_TYPES = (1, 2, 3, 12)
_N_STEREO = 6


def _slot_table(choices: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """Return a lookup from value (offset by its minimum) to one-hot slot, and that offset."""
    low = min(min(choices), 0)
    table = np.full(max(max(choices), 0) - low + 1, len(choices), dtype=np.int64)
    for slot, value in enumerate(choices):
        table[value - low] = slot
    return table, low


_ATOM_TABLES = [(ATOM_PROPERTIES.index(name), *_slot_table(choices), len(choices)) for name, choices in _ATOM_CHOICES]


def _slots(values: np.ndarray, table: np.ndarray, low: int, other: int) -> np.ndarray:
    """One-hot slot of each value (``other`` where the value is not one of the choices)."""
    index = values.astype(np.int64) - low
    inside = (index >= 0) & (index < table.shape[0])
    return np.where(inside, table[np.clip(index, 0, table.shape[0] - 1)], other)


def _require_properties(batch: MolGraphBatch) -> None:
    if not batch.has_properties:
        raise ValueError("these graphs carry no atom and bond properties: featurize with kind 'chemprop_molgraph'")


def atom_feature_matrix(batch: MolGraphBatch) -> np.ndarray:
    """Chemprop v2's atom features of every atom in the batch (its ``V``, molecules stacked).

    Parameters
    ----------
    batch
        Graphs featurized with Chemprop's properties (:attr:`MolGraphBatch.has_properties`).

    Returns
    -------
    (n_atoms_total, 72) float32
        Equal to ``MultiHotAtomFeaturizer.v2()(atom)`` for every atom, in RDKit's atom order.

    Raises
    ------
    ValueError
        If the batch carries no properties.
    """
    _require_properties(batch)
    properties = batch.atom_properties
    assert properties is not None and batch.atom_masses is not None
    n_atoms = properties.shape[0]
    features = np.zeros((n_atoms, ATOM_FDIM), dtype=np.float32)
    rows = np.arange(n_atoms)
    start = 0
    for column, table, low, n_choices in _ATOM_TABLES:
        features[rows, start + _slots(properties[:, column], table, low, n_choices)] = 1.0
        start += n_choices + 1
    features[:, start] = properties[:, ATOM_PROPERTIES.index("aromatic")] != 0
    features[:, start + 1] = (0.01 * batch.atom_masses).astype(np.float32)  # Chemprop: float64 product, then float32
    return features


def bond_feature_matrix(batch: MolGraphBatch) -> np.ndarray:
    """Chemprop's bond features of every bond in the batch (one row per bond; its ``E`` has each twice).

    Parameters
    ----------
    batch
        Graphs featurized with Chemprop's properties.

    Returns
    -------
    (n_bonds_total, 14) float32
        Equal to ``MultiHotBondFeaturizer()(bond)`` for every bond, in the batch's bond order.

    Raises
    ------
    ValueError
        If the batch carries no properties.
    """
    _require_properties(batch)
    properties = batch.bond_properties
    assert properties is not None
    n_bonds = properties.shape[0]
    features = np.zeros((n_bonds, BOND_FDIM), dtype=np.float32)
    rows = np.arange(n_bonds)
    types = batch.bond_types.astype(np.int64)
    for slot, code in enumerate(_BOND_TYPES):
        features[types == code, 1 + slot] = 1.0
    features[:, 5] = properties[:, BOND_PROPERTIES.index("conjugated")] != 0
    features[:, 6] = properties[:, BOND_PROPERTIES.index("in_ring")] != 0
    stereo = properties[:, BOND_PROPERTIES.index("stereo")].astype(np.int64)
    features[rows, 7 + np.where((stereo >= 0) & (stereo < _N_STEREO), stereo, _N_STEREO)] = 1.0
    return features
