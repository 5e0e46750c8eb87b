"""Numeric profiles: numeric columns of the input table, or rows of a stored table looked up by id.

:class:`NumericProfile` reads several numeric columns of each input row; :class:`ProfileTable` maps
an id column (a cell line's COSMIC id) to that entity's row of a profile table it holds.
"""

from __future__ import annotations

import base64
import io
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from symmol.data.batch import Featurized
from symmol.data.dense import DenseBatch
from symmol.featurizers.base import Featurizer, Strings
from symmol.featurizers.registry import register_featurizer

__all__ = ["NumericProfile", "ProfileTable", "decode_table", "encode_table", "id_text"]


def _reason(column: str, value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return f"profile column {column!r} has no value"
    shown = repr(value) if isinstance(value, str) else str(value)
    return f"profile column {column!r}: {shown} is not a finite number"


@register_featurizer
@dataclass(frozen=True)
class NumericProfile(Featurizer):
    """The numeric columns ``columns`` of each row → :class:`~symmol.data.dense.DenseBatch` (kind ``profile``).

    A row with a missing, non-numeric or infinite value is invalid (a NaN row) with the column and
    value named. The input column a model binds this featurizer to is not read: ``columns`` are.

    Parameters
    ----------
    columns
        The table columns, in feature order.
    """

    KINDS: ClassVar = {"profile": {}}
    PARAMETERS: ClassVar = {"columns": Strings(min_length=1)}
    BATCH_TYPE: ClassVar = DenseBatch

    columns: tuple[str, ...] = ()

    @property
    def feature_names(self) -> list[str]:
        """The column names, one per feature."""
        return list(self.columns)

    def reads(self, column: str) -> list[str]:
        """Return the profile columns (``column`` is not used)."""
        return list(self.columns)

    def select(self, table: pd.DataFrame, column: str) -> pd.DataFrame:
        """Return the profile columns of ``table`` (``column`` is not used).

        Raises
        ------
        ValueError
            Naming the profile columns ``table`` lacks.
        """
        missing = [c for c in self.columns if c not in table.columns]
        if missing:
            raise ValueError(f"no profile column(s) {missing}; the table has {list(table.columns)}")
        return table[list(self.columns)]

    def featurize(self, values: pd.DataFrame) -> Featurized:
        """Profile rows of a table holding :attr:`columns`; invalid rows are NaN with the reason."""
        frame = values if isinstance(values, pd.DataFrame) else pd.DataFrame(values, columns=list(self.columns))
        out = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        errors = [""] * len(frame)
        for j, name in enumerate(self.columns):
            raw = frame[name]
            numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
            out[:, j] = numbers
            for i in np.flatnonzero(~np.isfinite(numbers)).tolist():
                if not errors[i]:
                    errors[i] = _reason(name, raw.iloc[i])
        out[[bool(e) for e in errors]] = np.nan
        return Featurized(DenseBatch(out.astype(np.float32)), errors)


def id_text(value: Any) -> str:
    """Return an entity id as text: ``683665``, ``683665.0`` and ``"683665"`` all give ``"683665"``.

    Identifiers come from CSV columns that pandas reads as integers, as floats (a column with a
    blank cell) or as strings; the lookup must not depend on which.
    """
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, float | np.floating) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value).strip()


def encode_table(values: np.ndarray) -> str:
    """Encode a float32 matrix as text for a JSON spec: the ``.npy`` bytes, zlib-compressed, then base64."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(values, dtype=np.float32), allow_pickle=False)
    return base64.b64encode(zlib.compress(buffer.getvalue(), 9)).decode("ascii")


def decode_table(text: str) -> np.ndarray:
    """Inverse of :func:`encode_table` (never unpickles).

    Raises
    ------
    ValueError
        If ``text`` is not such an encoding of a 2-D float32 matrix.
    """
    try:
        values = np.load(io.BytesIO(zlib.decompress(base64.b64decode(text.encode("ascii"), validate=True))),
                         allow_pickle=False)
    except (ValueError, zlib.error, OSError, UnicodeEncodeError) as exc:
        raise ValueError(f"table is not an encoded float32 matrix ({exc})") from None
    if values.dtype != np.float32 or values.ndim != 2:
        raise ValueError(f"table must be a 2-D float32 matrix, got {values.dtype} of shape {values.shape}")
    return values


@register_featurizer
@dataclass(frozen=True)
class ProfileTable(Featurizer):
    """Entity ids → their rows of a stored numeric table (kind ``profile_table``): cell lines, patients, targets.

    The id column of a pairs table (GDSC's ``cosmic_id``) is looked up in a profile table read once
    (:meth:`read`: GDSC's genomic features keyed by ``COSMIC_ID``); the table travels inside the
    featurizer, so a saved model predicts for every id it holds, including ids no training pair had
    (a held-out cell line). An id the table lacks makes an invalid row naming the id.

    Parameters
    ----------
    ids
        The table's ids, as text (:func:`id_text`), one per row, no repeats.
    feature_names
        One name per column: numeric columns by name, categorical ones one-hot as ``COLUMN=value``.
    table
        The ``(len(ids), len(feature_names))`` float32 values, encoded by :func:`encode_table`.
    source
        Where the table was read from (file and id column), for messages.
    """

    KINDS: ClassVar = {"profile_table": {}}
    PARAMETERS: ClassVar = {"ids": Strings(min_length=1), "feature_names": Strings(min_length=1)}
    BATCH_TYPE: ClassVar = DenseBatch

    ids: tuple[str, ...] = ("",)
    feature_names: tuple[str, ...] = ("",)
    table: str = field(default="", repr=False)
    source: str = ""

    def check(self) -> None:
        """Check that the table's shape matches the ids and the feature names.

        Raises
        ------
        ValueError
            If it does not, or :attr:`table` is not an encoded matrix.
        """
        if not isinstance(self.source, str):
            raise ValueError(f"source must be a string, got {self.source!r}")
        values = decode_table(self.table) if isinstance(self.table, str) else None
        if values is None or values.shape != (len(self.ids), len(self.feature_names)):
            shape = None if values is None else values.shape
            raise ValueError(f"table of shape {shape} does not match {len(self.ids)} ids × "
                             f"{len(self.feature_names)} features")

    @cached_property
    def values(self) -> np.ndarray:
        """``(n_ids, n_features)`` float32, read-only."""
        values = decode_table(self.table)
        values.setflags(write=False)
        return values

    @cached_property
    def _row_of(self) -> dict[str, int]:
        return {name: row for row, name in enumerate(self.ids)}

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, id_column: str, source: str = "table") -> ProfileTable:
        """Build from a table: ``id_column`` holds the ids, every other column is a feature.

        Numeric columns are taken as they are; a column with any non-numeric value is categorical
        and becomes one 0/1 column per value (``TISSUE_FACTOR=lung_NSCLC``), in sorted order.

        Raises
        ------
        ValueError
            One line naming ``source``, the row and the column: no ``id_column``, a repeated or
            missing id, a missing value, or an infinite one.
        """
        if id_column not in frame.columns:
            raise ValueError(f"{source}: no id column {id_column!r}; the table has {list(frame.columns)[:10]}"
                             f"{' ...' if frame.shape[1] > 10 else ''}")
        ids = [id_text(v) for v in frame[id_column]]
        seen: dict[str, int] = {}
        for row, name in enumerate(ids):
            if not name or name == "nan":
                raise ValueError(f"{source}: row {row + 1}: no id in column {id_column!r}")
            if name in seen:
                raise ValueError(f"{source}: row {row + 1}: id {name!r} repeats row {seen[name] + 1}")
            seen[name] = row
        names: list[str] = []
        blocks: list[np.ndarray] = []
        for column in frame.columns:
            if column == id_column:
                continue
            raw = frame[column]
            missing = raw.isna().to_numpy()
            if missing.any():
                row = int(np.flatnonzero(missing)[0])
                raise ValueError(f"{source}: row {row + 1} (id {ids[row]!r}): column {column!r} has no value")
            numbers = pd.to_numeric(raw, errors="coerce")
            if numbers.notna().all():
                values = numbers.to_numpy(dtype=np.float64)
                if not np.isfinite(values).all():
                    row = int(np.flatnonzero(~np.isfinite(values))[0])
                    raise ValueError(f"{source}: row {row + 1} (id {ids[row]!r}): column {column!r} is "
                                     f"{values[row]}")
                names.append(str(column))
                blocks.append(values[:, None])
            else:
                text = raw.astype(str).str.strip()
                levels = sorted(set(text))
                names.extend(f"{column}={level}" for level in levels)
                blocks.append((text.to_numpy()[:, None] == np.array(levels, dtype=object)[None, :]).astype(np.float64))
        if not names:
            raise ValueError(f"{source}: no feature columns besides the id column {id_column!r}")
        matrix = np.hstack(blocks).astype(np.float32)
        return cls(ids=tuple(ids), feature_names=tuple(names), table=encode_table(matrix),
                   source=f"{source} by {id_column}")

    @classmethod
    def read(cls, path: str | Path, id_column: str) -> ProfileTable:
        """Read a profile table from a CSV file (``.csv`` or ``.csv.gz``): :meth:`from_frame` of its rows.

        Raises
        ------
        ValueError
            If the file cannot be read as CSV, or for the reasons of :meth:`from_frame`.
        """
        path = Path(path)
        try:
            frame = pd.read_csv(path, dtype={id_column: str})
        except (OSError, ValueError, EOFError) as exc:
            raise ValueError(f"{path}: cannot read the profile table ({exc})") from None
        return cls.from_frame(frame, id_column, source=path.name)

    def featurize(self, values: Sequence[object]) -> Featurized:
        """Return the table row of each id; an id the table lacks is a NaN row with the reason."""
        ids = [id_text(v) for v in values]
        rows = np.fromiter((self._row_of.get(name, -1) for name in ids), dtype=np.int64, count=len(ids))
        out = self.values[np.maximum(rows, 0)].copy()
        out[rows < 0] = np.nan
        errors = ["" if row >= 0 else f"id {name!r} is not in the profile table ({len(self.ids)} ids of {self.source})"
                  for row, name in zip(rows.tolist(), ids, strict=True)]
        return Featurized(DenseBatch(out), errors)
