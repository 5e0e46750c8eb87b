"""MaxMin diversity picking on packed fingerprints."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from symmol.kernels.bits import popcount_rows
from symmol.kernels.cluster import maxmin_kernel
from symmol.similarity.search import Metric, as_metric, as_packed

__all__ = ["maxmin_pick"]


def maxmin_pick(fingerprints: np.ndarray, n_picks: int, first_picks: Sequence[int] = (0,),
                metric: str | Metric = "tanimoto", alpha: float = 0.5, beta: float = 0.5) -> np.ndarray:
    """Pick a diverse subset: each pick maximises its distance ``1 - similarity`` to the nearest earlier pick.

    Ties go to the lowest index.

    Parameters
    ----------
    fingerprints : (n, n_words) uint64
    n_picks : int
        In ``[len(first_picks), n]``.
    first_picks
        Indices picked first, in this order (RDKit picks a random first one when none is given;
        here the default is index 0).
    metric, alpha, beta
        See :class:`~symmol.similarity.search.Metric`.

    Returns
    -------
    (n_picks,) int64
        Picked indices in picking order; the same as RDKit's
        ``MaxMinPicker().LazyBitVectorPick(fps, n, n_picks, firstPicks=first_picks)`` for Tanimoto.

    Raises
    ------
    ValueError
        If ``n_picks`` or a first pick is out of range, or first picks repeat.

    References
    ----------
    Ashton et al., "Identification of diverse database subsets using property-based and
    fragment-based molecular descriptions", Quant. Struct.-Act. Relat. 2002, 21, 598.
    """
    m = as_metric(metric, alpha, beta)
    fps = as_packed("fingerprints", fingerprints)
    n = fps.shape[0]
    first = np.asarray(list(first_picks), dtype=np.int64)
    if first.size and (first.min() < 0 or first.max() >= n):
        raise ValueError(f"first_picks must be indices in [0, {n}), got {first.tolist()}")
    if np.unique(first).size != first.size:
        raise ValueError(f"first_picks repeat an index: {first.tolist()}")
    if isinstance(n_picks, bool) or not isinstance(n_picks, int | np.integer) or not first.size <= n_picks <= n:
        raise ValueError(f"n_picks must be an integer in [{first.size}, {n}], got {n_picks!r}")
    return maxmin_kernel(fps, popcount_rows(fps), first, int(n_picks), *m.kernel_args())
