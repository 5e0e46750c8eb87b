"""Numeric profiles: several numeric table columns as one dense feature row (cell lines, patients, assays)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from symmol.data.batch import Featurized
from symmol.data.dense import DenseBatch
from symmol.featurizers.base import Featurizer, Strings
from symmol.featurizers.registry import register_featurizer

__all__ = ["NumericProfile"]


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
