"""Target values: numeric conversion and label checks, with errors naming the column, row and value."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def target_matrix(table: pd.DataFrame, columns: Sequence[str], task: str, source: str = "data") -> np.ndarray:
    """Build the ``(n_rows, n_targets)`` float64 target matrix of ``table``'s ``columns`` (NaN = missing).

    Row numbers in errors come from ``table["row"]`` (the input position kept by
    :mod:`symmol.chem.io`) when present, else from the position in ``table``.

    Raises
    ------
    ValueError
        If a column is missing, or a value is not a number (naming the column, the row
        and the value), or it fails :func:`check_targets`.
    """
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{source}: no target column(s) {missing}; columns are {list(table.columns)}")
    rows = table["row"].to_numpy() if "row" in table.columns else np.arange(len(table))
    y = np.empty((len(table), len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        raw = table[name]
        values = pd.to_numeric(raw, errors="coerce")
        unparsed = np.flatnonzero(values.isna().to_numpy() & raw.notna().to_numpy())
        if unparsed.size:
            i = int(unparsed[0])
            hint = " (classification labels are 0 or 1; leave missing labels empty)" if task == "classification" else ""
            raise ValueError(f"{source}: target {name!r}, row {rows[i]}: {raw.iloc[i]!r} is not a number{hint}")
        y[:, j] = values.to_numpy(dtype=np.float64)
    check_targets(y, columns, task, rows, source)
    return y


def check_targets(y: np.ndarray, names: Sequence[str], task: str, rows: Sequence[int] | np.ndarray | None = None,
                  source: str = "data") -> None:
    """Check a ``(n_rows, n_targets)`` float target matrix.

    Entries must be finite or NaN (missing); 0/1 labels for ``task="classification"``.

    Raises
    ------
    ValueError
        Naming the target, the first offending row (``rows[i]``, default the position) and its value.
    """
    if task == "classification":
        bad = ~np.isnan(y) & (y != 0) & (y != 1)
        reason = "is not a 0/1 label (binary cross-entropy needs 0 or 1; NaN or empty marks a missing label)"
    else:
        bad = np.isinf(y)
        reason = "is not a finite number"
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        row = rows[i] if rows is not None else i
        raise ValueError(f"{source}: target {names[j]!r}, row {row}: {y[i, j]:g} {reason}")
