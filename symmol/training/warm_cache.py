"""Compile ahead of time: run the standard graphs of registered model kinds once, filling the caches.

A cold Numba compile of the MLP training step costs ~10 s (PyTensor's generic Elemwise/CAReduce
functions and Numba's own helpers, most of it; symmol's Ops the rest; ``bench/results/compile_time.md``).
PyTensor keys its cache on the graph, not on the sizes (parameters have no static shapes), and
caches every node's function separately, so after :func:`warm_cache`

* any process compiling a model of the same kind, depth, loss and optimizer (any input or hidden
  sizes) loads the whole step from the cache, and
* other architectures recompile only their top-level graph function (a few seconds).

Featurizing the warm-up molecules compiles the SMILES reader and fingerprint kernels into Numba's
on-disk cache as well, and so does one applicability-domain search (``symmol screen --ad``): here the
compile tiers (:mod:`symmol.kernels.tiering`) always compile, so that later runs find every kernel
cached and never take the uncompiled paths. The
caches live in PyTensor's ``base_compiledir`` (``~/.pytensor`` by default) and Numba's
``NUMBA_CACHE_DIR`` (``__pycache__`` beside the sources by default).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from symmol.kernels.tiering import always_compile
from symmol.models.registry import Problem, model_kind
from symmol.similarity.search import SortedFingerprints, max_similarity
from symmol.training.config import TrainConfig
from symmol.training.step import TrainStep

__all__ = ["WARM_UP_SMILES", "warm_cache"]

#: Small real molecules (aspirin, caffeine, ibuprofen, paracetamol, nicotine, benzene, ethanol, a salt) and
#: methanol-13C, an isotope the native SMILES reader leaves to RDKit, so that RDKit's path compiles too.
WARM_UP_SMILES = ("CC(=O)Oc1ccccc1C(=O)O", "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
                  "CC(=O)Nc1ccc(O)cc1", "CN1CCCC1c1cccnc1", "c1ccccc1", "CCO", "[Na+].[Cl-]", "[13CH3]O")


def warm_cache(architectures: Sequence[str] = ("mlp",), backends: Sequence[str] = ("numba",),
               tasks: Sequence[str] = ("classification", "regression")) -> dict[str, float]:
    """Compile and run a training step (or direct fit) and a predict function of each architecture, backend and task.

    Parameters
    ----------
    architectures
        Registered architecture names (:func:`symmol.models.registry.model_kind`) with one input
        column ``smiles``.
    backends
        Backends to warm (each architecture's own backends only).
    tasks
        ``"classification"`` and/or ``"regression"``.

    Returns
    -------
    dict
        Wall seconds per ``"<architecture>/<backend>"``.
    """
    with always_compile():
        return _compile_all(architectures, backends, tasks)


def _compile_all(architectures: Sequence[str], backends: Sequence[str], tasks: Sequence[str]) -> dict[str, float]:
    table = pd.DataFrame({"smiles": list(WARM_UP_SMILES)})
    targets = np.zeros((len(table), 2), np.float32)
    seconds = {}
    for name in architectures:
        kind = model_kind(name)
        for backend in backends:
            if backend not in kind.model_class.BACKENDS:
                continue
            start = time.perf_counter()
            for task in tasks:
                model = kind.make_model(Problem(("a", "b"), task, *(((0.0, 0.0), (1.0, 1.0))
                                                                   if task == "regression" else ())), {}, backend)
                shuffled = np.random.default_rng(0).permutation(len(table))  # C-contiguous, as in an epoch
                batch = model.featurize(table).batch.take(shuffled)
                if model.FITS_DIRECTLY:  # e.g. a Gaussian process: its likelihood and kernels
                    model.fit_directly(batch, targets.astype(np.float64))
                else:
                    step = TrainStep(model, TrainConfig(epochs=1, progress=False))
                    step(model.batch_arrays(batch), targets, np.ones((len(table), len(model.members)), np.float32))
                model.predict_batch(batch)
                fingerprints = model.ad_fingerprints(batch)
                if fingerprints is not None:  # the applicability domain of `symmol screen --ad`
                    packed = fingerprints.to_packed()
                    max_similarity(packed, SortedFingerprints.from_packed(packed))
            seconds[f"{name}/{backend}"] = time.perf_counter() - start
    return seconds
