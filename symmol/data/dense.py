"""Dense feature rows: descriptors, numeric profiles (cell lines, patients), any fixed-width vector."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from symmol.data.batch import check_rows

__all__ = ["DenseBatch"]


@dataclass(frozen=True)
class DenseBatch:
    """A ``(n_rows, n_features)`` float32 matrix, one row per input row.

    Rows that could not be featurized are all NaN (their :class:`~symmol.data.batch.Featurized`
    error says why); models never see them as valid input.

    Attributes
    ----------
    values : (n_rows, n_features) float32
    """

    values: np.ndarray

    def __post_init__(self) -> None:
        values = np.asarray(self.values)
        if values.ndim != 2:
            raise ValueError(f"a dense batch is 2-D (n_rows, n_features), got shape {values.shape}")
        object.__setattr__(self, "values", values.astype(np.float32, copy=False))

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_features(self) -> int:
        """Width of each row."""
        return int(self.values.shape[1])

    def take(self, rows: np.ndarray) -> DenseBatch:
        """Rows ``rows`` (any order, repeats allowed), copied."""
        return DenseBatch(self.values[check_rows(rows, len(self))])

    def slice(self, start: int, stop: int) -> DenseBatch:
        """Rows ``start:stop`` (a view)."""
        return DenseBatch(self.values[start:stop])

    def arrays(self) -> tuple[np.ndarray]:
        """Return the input of a dense ``InputLayer``: ``(values,)`` with NaN rows zeroed (they are invalid rows)."""
        return (np.nan_to_num(self.values, nan=0.0, posinf=0.0, neginf=0.0),)

    @classmethod
    def concatenate(cls, batches: Sequence[DenseBatch]) -> DenseBatch:
        """Stack batches of the same width.

        Raises
        ------
        ValueError
            If ``batches`` is empty or their widths differ.
        """
        if not batches:
            raise ValueError("nothing to concatenate")
        widths = {b.n_features for b in batches}
        if len(widths) != 1:
            raise ValueError(f"cannot concatenate dense batches of different widths {sorted(widths)}")
        return cls(np.concatenate([b.values for b in batches]))
