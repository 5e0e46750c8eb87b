"""The architecture ``symmol train`` fits when none is named: chosen by the size of the data set.

Measured in ``bench/results/molnet_summary.md`` (the same splits for every method, three seeds
unless stated; ``python bench/molnet.py``):

==========  =============  ===========  ===============  ===============  ===============
data set    rows (80 % to  metric       D-MPNN defaults  MLP defaults     ``rf`` defaults
            training)                                                     (RF-500)
==========  =============  ===========  ===============  ===============  ===============
FreeSolv    642            RMSE         1.414 ± 0.122    1.555 ± 0.060    1.820 ± 0.228
ESOL        1,128          RMSE         0.641 ± 0.035    1.172 ± 0.091    1.163 ± 0.096
BBBP        2,039          ROC-AUC      0.689 ± 0.006    0.623 ± 0.009    0.687 ± 0.001
Tox21       7,831          ROC-AUC      0.732 ± 0.001    0.733 ± 0.004    0.709 ± 0.001
HIV         41,127         ROC-AUC      0.708 (1 seed)   0.753 ± 0.017    0.792 ± 0.005
==========  =============  ===========  ===============  ===============  ===============

Chemprop's D-MPNN wins clearly on the three smaller sets (up to 1,631 training molecules); the ECFP4 MLP
ties it on Tox21 and wins on HIV while fitting 20 to 80 times faster (20 s against 478 s for Tox21
on 2 cores). The switch sits at :data:`SMALL_DATA_ROWS` rows of the data file, between the largest
set the D-MPNN wins (2,039 rows) and the smallest it only ties (7,831): where exactly in that
interval the two cross is not measured. A random forest on the same ECFP4 bits wins HIV by 0.039 and
loses Tox21 by 0.024; the MLP stays the default there (its ensembles also give an uncertainty), and
``symmol tune``, which searches ``rf``, picks the forest where validation prefers it.
"""

from __future__ import annotations

from collections.abc import Collection

from symmol.models.registry import model_kind

__all__ = ["LARGE_DATA_ARCHITECTURE", "SMALL_DATA_ARCHITECTURE", "SMALL_DATA_ROWS", "default_architecture"]

#: Data files with fewer rows than this get :data:`SMALL_DATA_ARCHITECTURE`.
SMALL_DATA_ROWS = 5000
SMALL_DATA_ARCHITECTURE = "dmpnn"
LARGE_DATA_ARCHITECTURE = "mlp"


def default_architecture(n_rows: int | None, given_options: Collection[str] = ()) -> str | None:
    """Return the architecture to fit when none is named.

    Parameters
    ----------
    n_rows
        Rows of the data file (labelled or not); ``None`` when not yet known: the large-data choice.
    given_options
        Names of the architecture options set explicitly (``fp_size``, ``depth``...): an option only
        the other default architecture has picks that one (``--fp-size 4096`` means the MLP).

    Returns
    -------
    str or None
        :data:`SMALL_DATA_ARCHITECTURE` below :data:`SMALL_DATA_ROWS` rows, else
        :data:`LARGE_DATA_ARCHITECTURE`, unless only the other one takes every given option;
        ``None`` when neither takes them all.
    """
    small = n_rows is not None and n_rows < SMALL_DATA_ROWS
    preferred, other = ((SMALL_DATA_ARCHITECTURE, LARGE_DATA_ARCHITECTURE) if small
                        else (LARGE_DATA_ARCHITECTURE, SMALL_DATA_ARCHITECTURE))
    given = set(given_options)
    for name in (preferred, other):
        if given <= set(model_kind(name).option_names):
            return name
    return None
