"""Data splits: random, Bemis–Murcko scaffold, by group (blind splits), by a fold column, Chemprop's ``splits.json``.

All splits are lists of 0-based row numbers into the data set.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symmol.chem.scaffolds import murcko_scaffold


@dataclass(frozen=True)
class Split:
    """Row numbers of the train, validation and test sets (disjoint, int64)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def to_dict(self) -> dict[str, list[int]]:
        """Return ``{"train": [...], "val": [...], "test": [...]}`` with the row numbers as Python ints."""
        return {k: [int(i) for i in getattr(self, k)] for k in ("train", "val", "test")}


def _check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")
    return tuple(float(f) for f in fractions)  # type: ignore[return-value]


def random_split(n_rows: int, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> Split:
    """Shuffle rows with ``numpy.random.default_rng(seed)`` and cut at the given fractions.

    The cuts are ``floor(f_train · n)`` and ``floor((f_train + f_val) · n)``, as in Chemprop and
    DeepChem, so each set gets its share rounded down and test the remainder.
    """
    f_train, f_val, _ = _check_fractions(fractions)
    order = np.random.default_rng(seed).permutation(n_rows)
    # cut at the floors of the running totals (Chemprop's and DeepChem's rule): test keeps its share
    n_train = int(f_train * n_rows * (1 + 1e-12))  # relative slack: 0.7 * n must not floor to 0.7n - 1
    n_train_val = int((f_train + f_val) * n_rows * (1 + 1e-12))
    return Split(np.sort(order[:n_train]), np.sort(order[n_train:n_train_val]), np.sort(order[n_train_val:]))


def group_split(groups: Sequence[object], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> Split:
    """Blind split: the distinct groups are shuffled and cut at the given fractions, each group on one side.

    Cold-drug, cold-target and cold-cell-line splits of pair data (a test drug, protein or cell
    line has no training pair) group the rows by the entity's id, sequence or structure
    (:func:`symmol.chem.scaffolds.structure_key`). The groups are shuffled with
    ``numpy.random.default_rng(seed)`` and cut as :func:`random_split` cuts rows, so the fractions
    count groups, not rows.

    Raises
    ------
    ValueError
        For bad fractions, or fewer than three groups.
    """
    _check_fractions(fractions)
    labels, codes = np.unique(np.asarray([str(g) for g in groups], dtype=object), return_inverse=True)
    if len(labels) < 3:
        raise ValueError(f"a group split needs at least 3 groups, got {len(labels)}")
    parts = random_split(len(labels), fractions, seed)
    side = np.empty(len(labels), dtype=np.int64)
    for i, name in enumerate(("train", "val", "test")):
        side[getattr(parts, name)] = i
    rows = side[codes]
    return Split(*(np.flatnonzero(rows == i).astype(np.int64) for i in range(3)))


def fold_split(folds: Sequence[object], test: str, val: str | None = None) -> Split:
    """Split by the value of a fold column: ``test`` rows are the test set, ``val`` rows validation, the rest training.

    DeepDTA's setting 1 (Öztürk et al., Bioinformatics 2018, doi:10.1093/bioinformatics/bty593):
    ``fold_split(pairs["deepdta_fold"], test="test", val="train4")``.

    Raises
    ------
    ValueError
        If no row has the ``test`` (or ``val``) value, naming the values there are.
    """
    values = np.asarray([str(f) for f in folds], dtype=object)
    for name, wanted in (("test", test), ("validation", val)):
        if wanted is not None and not (values == wanted).any():
            raise ValueError(f"no row has the {name} fold {wanted!r}; the fold values are "
                             f"{sorted(set(values.tolist()))[:20]}")
    is_test = values == test
    is_val = (values == val) if val is not None else np.zeros(len(values), dtype=bool)
    return Split(*(np.flatnonzero(mask).astype(np.int64) for mask in (~is_test & ~is_val, is_val, is_test)))


def scaffold_split(smiles: Sequence[str], fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> Split:
    """Deterministic scaffold split: molecules sharing a Bemis–Murcko scaffold stay together.

    Scaffold groups are sorted by size, largest first, and fill the training set, then
    validation, then test, so the rarest scaffolds are left for testing. Equal-sized groups
    are ordered by their first row, later rows first, exactly as DeepChem's
    ``ScaffoldSplitter`` (the MoleculeNet convention) does; a group that would overflow
    the training (validation) share goes to the next set.
    """
    f_train, f_val, _ = _check_fractions(fractions)
    groups: dict[str, list[int]] = defaultdict(list)
    for row, smi in enumerate(smiles):
        groups[murcko_scaffold(smi)].append(row)
    ordered = sorted(groups.values(), key=lambda rows: (len(rows), rows[0]), reverse=True)
    n = len(smiles)
    train_cut, val_cut = f_train * n, (f_train + f_val) * n
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for rows in ordered:
        if len(train) + len(rows) <= train_cut:
            train += rows
        elif len(train) + len(val) + len(rows) <= val_cut:
            val += rows
        else:
            test += rows
    return Split(*(np.array(sorted(s), dtype=np.int64) for s in (train, val, test)))


def _parse_rows(value, path, index: int, key: str) -> np.ndarray:
    """Parse a set of a splits file: a list of ints, or Chemprop's string form ``"0-2, 4"`` (inclusive ranges)."""
    where = f"{path}: split {index} {key!r}"
    if isinstance(value, str):
        rows: list[int] = []
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            lo, sep, hi = part.partition("-")
            try:
                start, stop = int(lo), int(hi if sep else lo)
            except ValueError:
                raise ValueError(f"{where}: {part!r} is not a row number or a range 'a-b'") from None
            if stop < start:
                raise ValueError(f"{where}: range {part!r} ends before it starts")
            rows += range(start, stop + 1)
        return np.array(rows, dtype=np.int64)
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list of row numbers or a string like '0-2, 4'")
    bad = [v for v in value if isinstance(v, bool) or not isinstance(v, int)]
    if bad:
        raise ValueError(f"{where}: {bad[0]!r} is not an integer row number")
    return np.array(value, dtype=np.int64)


def read_splits_file(path: str | Path, n_rows: int, index: int = 0) -> Split:
    """Read split ``index`` of a Chemprop ``splits.json``: ``[{"train": [...], "val": [...], "test": [...]}]``.

    Each set is a list of 0-based row numbers or, as Chemprop v2 also accepts, a string of
    comma-separated numbers and inclusive ranges (``"0-2, 4"`` = rows 0, 1, 2, 4).

    Raises
    ------
    ValueError
        If the file is not that shape, ``index`` is not one of its splits, a set is missing or
        holds a non-integer, a row is outside ``[0, n_rows)`` or repeated, or the sets overlap.
    """
    entries = _entries(path)
    if not 0 <= index < len(entries):
        raise ValueError(f"{path}: no split {index}; the file has {len(entries)} (0..{len(entries) - 1})")
    entry = entries[index]
    missing = [key for key in ("train", "val", "test") if key not in entry]
    if missing:
        raise ValueError(f"{path}: split {index} has no {missing} (keys: {sorted(entry)})")
    sets = {}
    for key in ("train", "val", "test"):
        rows = _parse_rows(entry[key], path, index, key)
        bad = rows[(rows < 0) | (rows >= n_rows)]
        if bad.size:
            raise ValueError(f"{path}: {key} row {int(bad[0])} is outside the data set (0..{n_rows - 1})")
        unique, counts = np.unique(rows, return_counts=True)
        if np.any(counts > 1):
            raise ValueError(f"{path}: {key} lists row {int(unique[counts > 1][0])} more than once")
        sets[key] = rows
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        common = np.intersect1d(sets[a], sets[b])
        if common.size:
            raise ValueError(f"{path}: row {int(common[0])} is in both {a} and {b}")
    return Split(sets["train"], sets["val"], sets["test"])


def _entries(path: str | Path) -> list[dict]:
    try:
        entries = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f'{path}: expected a list of {{"train": [...], "val": [...], "test": [...]}}')
    return entries


def count_splits(path: str | Path) -> int:
    """Return the number of splits (entries) of a Chemprop ``splits.json``.

    Raises
    ------
    ValueError
        If the file is not a non-empty JSON list of objects.
    """
    return len(_entries(path))


def write_splits_file(path: str | Path, splits: Sequence[Split]) -> None:
    """Write splits in Chemprop's ``splits.json`` format."""
    Path(path).write_text(json.dumps([s.to_dict() for s in splits]))
