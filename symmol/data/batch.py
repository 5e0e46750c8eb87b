"""The batch protocol, featurized rows with their errors, and batches of several named inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, Self, runtime_checkable

import numpy as np

__all__ = ["Batch", "Featurized", "MultiInputBatch", "check_rows", "distinct_rows"]


@runtime_checkable
class Batch(Protocol):
    """What every batch type implements: row count, row selection and stacking.

    ``take`` copies rows in any order (repeats allowed), ``slice`` takes a contiguous range
    (possibly sharing memory), ``concatenate`` stacks batches of the same type and width.
    """

    def __len__(self) -> int: ...

    def take(self, rows: np.ndarray) -> Self:
        """Copy the rows ``rows`` (any order, repeats allowed) into a new batch."""
        ...

    def slice(self, start: int, stop: int) -> Self:
        """Return the rows ``start:stop`` (possibly sharing memory with this batch)."""
        ...

    @classmethod
    def concatenate(cls, batches: Sequence[Self]) -> Self:
        """Stack batches of this type and width, one after the other."""
        ...


def check_rows(rows: np.ndarray, n_rows: int) -> np.ndarray:
    """``rows`` as a 1-D int64 array of positions in ``[0, n_rows)``.

    Raises
    ------
    ValueError
        If ``rows`` is not one-dimensional.
    IndexError
        Naming the first row outside ``[0, n_rows)``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if rows.ndim != 1:
        raise ValueError(f"take: rows must be one-dimensional, got shape {rows.shape}")
    bad = np.flatnonzero((rows < 0) | (rows >= n_rows))
    if bad.size:
        raise IndexError(f"take: rows[{bad[0]}] = {rows[bad[0]]} is out of range for {n_rows} rows")
    return rows


def distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct rows of a 2-D array, and where each row's copy is.

    What encoding each distinct entity once needs (a protein paired with many ligands in one batch):
    encode ``matrix[first]`` and gather row ``inverse[i]`` for row ``i``.

    Parameters
    ----------
    matrix : (n_rows, width) array of any fixed-size dtype

    Returns
    -------
    first : (n_distinct,) int64
        The first position of each distinct row, in order of first appearance.
    inverse : (n_rows,) int64
        ``matrix[first[inverse[i]]]`` equals ``matrix[i]`` (bytewise).
    """
    matrix = np.ascontiguousarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"distinct_rows takes a 2-D array, got shape {matrix.shape}")
    if matrix.shape[0] == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = matrix.view(np.dtype((np.void, matrix.dtype.itemsize * matrix.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # number the distinct rows by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return first[order].astype(np.int64), rank[inverse.ravel()].astype(np.int64)


@dataclass(frozen=True)
class Featurized:
    """A featurizer's output: one batch row per input row, and why each invalid row is invalid.

    Rows that could not be featurized stay in the batch (as empty fingerprints, graphs without
    atoms, empty sequences or NaN rows) so that row ``i`` of the batch is input row ``i``.

    Attributes
    ----------
    batch
        The features, ``len(batch) == len(errors)``.
    errors
        ``""`` for a valid row, else the reason it was rejected (e.g. RDKit's sanitization message).
    notes
        ``None``, or per row ``""`` or what was changed to make the row fit while keeping it valid
        (e.g. ``"protein truncated to 1000 of 1247 residues"``).
    """

    batch: Batch
    errors: list[str]
    notes: list[str] | None = None

    def __post_init__(self) -> None:
        if len(self.batch) != len(self.errors):
            raise ValueError(f"{len(self.batch)} batch rows but {len(self.errors)} error entries")
        if self.notes is not None and len(self.notes) != len(self.errors):
            raise ValueError(f"{len(self.errors)} rows but {len(self.notes)} notes")

    def __len__(self) -> int:
        return len(self.errors)

    @property
    def valid(self) -> np.ndarray:
        """(n_rows,) bool: rows holding real features."""
        return np.fromiter((not e for e in self.errors), dtype=bool, count=len(self.errors))

    def take(self, rows: np.ndarray) -> Featurized:
        """Rows ``rows`` of the batch and their errors."""
        rows = check_rows(rows, len(self))
        notes = None if self.notes is None else [self.notes[i] for i in rows.tolist()]
        return Featurized(self.batch.take(rows), [self.errors[i] for i in rows.tolist()], notes)


@dataclass(frozen=True)
class MultiInputBatch:
    """One batch per named input of a multi-input model (e.g. ``ligand`` + ``protein``), row-aligned.

    Attributes
    ----------
    parts
        Input name → batch; every part has the same number of rows, in the model's input order.
    """

    parts: Mapping[str, Batch]

    def __post_init__(self) -> None:
        if not self.parts:
            raise ValueError("a multi-input batch needs at least one part")
        lengths = {name: len(part) for name, part in self.parts.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"the parts of a multi-input batch must have the same rows, got {lengths}")
        object.__setattr__(self, "parts", dict(self.parts))

    def __len__(self) -> int:
        return len(next(iter(self.parts.values())))

    def __getitem__(self, name: str) -> Batch:
        return self.parts[name]

    def take(self, rows: np.ndarray) -> MultiInputBatch:
        """Rows ``rows`` of every part."""
        rows = check_rows(rows, len(self))
        return MultiInputBatch({name: part.take(rows) for name, part in self.parts.items()})

    def slice(self, start: int, stop: int) -> MultiInputBatch:
        """Rows ``start:stop`` of every part."""
        return MultiInputBatch({name: part.slice(start, stop) for name, part in self.parts.items()})

    @classmethod
    def concatenate(cls, batches: Sequence[MultiInputBatch]) -> MultiInputBatch:
        """Stack batches with the same part names, part by part.

        Raises
        ------
        ValueError
            If ``batches`` is empty or their part names differ.
        """
        if not batches:
            raise ValueError("nothing to concatenate")
        names = list(batches[0].parts)
        if any(list(b.parts) != names for b in batches):
            raise ValueError("cannot concatenate multi-input batches with different parts")
        return cls({name: type(batches[0][name]).concatenate([b[name] for b in batches]) for name in names})
