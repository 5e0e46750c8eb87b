"""What every trainable symmol model shares: members, parameters, normalisation, compiled predict.

A model is one or several *members* (output layers of PyTensor layer graphs sharing their input
layers). Subclasses say what their input is (:meth:`CompiledModel.input_vars`, the symbolic
inputs, and :meth:`CompiledModel.batch_arrays`, the NumPy arrays of a batch of features) and
how large a prediction batch may be; training (:mod:`symmol.train`), storage
(:mod:`symmol.models.store`) and screening (:mod:`symmol.screen`) only use this interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict
from typing import Any

import numpy as np
import pytensor.tensor as pt

from symmol.compile import compile_predict
from symmol.nn.layers import Layer, get_all_param_values, set_all_param_values

TASKS = ("classification", "regression")


class ModelSpec:
    """What the frozen dataclass specs of every model share: problem checks and JSON round trip.

    Subclasses are dataclasses with ``targets``, ``task``, ``hidden``, ``target_mean``,
    ``target_std`` and ``ensemble_size`` fields; they call :meth:`check_problem` in
    ``__post_init__``.
    """

    def check_problem(self) -> None:
        """``ValueError`` for an unknown task, no targets, an ensemble below 1 or a bad normalisation."""
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if not self.targets:
            raise ValueError("at least one target is needed")
        if int(self.ensemble_size) < 1:
            raise ValueError(f"ensemble_size must be >= 1, got {self.ensemble_size}")
        if any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"hidden layer widths must be positive integers, got {self.hidden}")
        if self.task == "regression" and len(self.target_mean) not in (0, len(self.targets)):
            raise ValueError("target_mean must have one value per target")
        if len(self.target_std) != len(self.target_mean):
            raise ValueError("target_std must have one value per target_mean value")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, spec: dict):
        """Rebuild from :meth:`to_dict` (JSON lists become tuples)."""
        spec = dict(spec)
        for key in ("targets", "hidden", "target_mean", "target_std"):
            spec[key] = tuple(spec.get(key, ()))
        return cls(**spec)


class CompiledModel(ABC):
    """Base class of :class:`~symmol.models.mlp.FingerprintMLP` and :class:`~symmol.models.graph.GraphModel`.

    Subclasses set ``spec`` (a frozen dataclass with ``targets``, ``task``, ``target_mean``,
    ``target_std``, ``seed``, ``ensemble_size`` and ``to_dict``), ``backend``, ``featurizer``
    (its ``from_smiles``/``from_mols``/``to_dict``), ``members`` and :data:`KIND`, and
    implement :meth:`input_vars`, :meth:`batch_arrays` and :meth:`check_features`.
    """

    #: The ``"model"`` entry of ``model.json``.
    KIND = ""
    #: Rows per call of the compiled predict function.
    predict_batch_size = 4096

    spec: Any
    backend: str
    featurizer: Any
    members: list[Layer]

    def __init__(self) -> None:
        self._predict_fn = None
        self._member_fns: list | None = None
        #: ``(n_train, n_words) uint64`` packed training fingerprints of :attr:`ad_featurizer`
        #: (applicability domain), if kept.
        self.train_fingerprints: np.ndarray | None = None
        #: Training settings (:meth:`symmol.train.TrainConfig.to_dict`) once trained; stored in ``model.json``.
        self.train_config: dict | None = None

    # -- what subclasses define -------------------------------------------------------------
    @abstractmethod
    def input_vars(self) -> list:
        """The symbolic inputs of every compiled function, in call order."""

    @abstractmethod
    def batch_arrays(self, features) -> tuple[np.ndarray, ...]:
        """The arrays a compiled function takes for a batch of ``features``, in :meth:`input_vars` order."""

    @abstractmethod
    def check_features(self, features) -> None:
        """``TypeError``/``ValueError`` if ``features`` do not fit this model."""

    @property
    @abstractmethod
    def ad_featurizer(self):
        """The fingerprint featurizer of :attr:`train_fingerprints` (applicability domain)."""

    # -- shared ----------------------------------------------------------------------------
    @property
    def task(self) -> str:
        return self.spec.task

    @property
    def targets(self) -> tuple[str, ...]:
        return self.spec.targets

    def get_param_values(self) -> dict[str, np.ndarray]:
        """Copies of every member's parameters, keyed by unique parameter name."""
        return {k: v for member in self.members for k, v in get_all_param_values(member).items()}

    def set_param_values(self, values: dict[str, np.ndarray]) -> None:
        """Set all parameters; ``ValueError`` if names or shapes differ from the spec's."""
        expected = set(self.get_param_values())
        if set(values) != expected:
            missing, extra = sorted(expected - set(values)), sorted(set(values) - expected)
            raise ValueError(f"parameter names differ: missing {missing}, unexpected {extra}")
        for member in self.members:
            names = get_all_param_values(member)
            set_all_param_values(member, {name: values[name] for name in names})

    def _unscale(self, out: np.ndarray) -> np.ndarray:
        if self.task == "regression" and self.spec.target_mean:
            out = out * np.asarray(self.spec.target_std, np.float32) + np.asarray(self.spec.target_mean, np.float32)
        return out

    def _compile(self, networks):
        transform = pt.sigmoid if self.task == "classification" else None
        return compile_predict(networks, self.backend, transform, inputs=self.input_vars())

    def predict_members(self, features, batch_size: int | None = None) -> np.ndarray:
        """Each ensemble member's scores, ``batch_size`` rows per compiled call (default
        :attr:`predict_batch_size`).

        Returns
        -------
        ``(ensemble_size, n_rows, n_targets)`` float32, in the units of :meth:`predict_features`.
        """
        self.check_features(features)
        if self._member_fns is None:
            self._member_fns = [self._compile(member) for member in self.members]
        out = np.empty((len(self.members), len(features), len(self.targets)), dtype=np.float32)
        step = batch_size or self.predict_batch_size
        for start in range(0, len(features), step):
            part = features.slice(start, min(start + step, len(features)))
            arrays = self.batch_arrays(part)
            for m, fn in enumerate(self._member_fns):
                out[m, start:start + len(part)] = fn(*arrays)
        return self._unscale(out)

    def predict_features(self, features, batch_size: int | None = None) -> np.ndarray:
        """Scores for a batch of features, ``batch_size`` rows per compiled call (default
        :attr:`predict_batch_size`); rows of invalid molecules get scores too: mask them.

        Returns
        -------
        ``(n_rows, n_targets)`` float32: probabilities in [0, 1] for classification,
        values in target units for regression.
        """
        self.check_features(features)
        if self._predict_fn is None:
            self._predict_fn = self._compile(self.members)
        out = np.empty((len(features), len(self.targets)), dtype=np.float32)
        step = batch_size or self.predict_batch_size
        for start in range(0, len(features), step):
            stop = min(start + step, len(features))
            out[start:stop] = self._predict_fn(*self.batch_arrays(features.slice(start, stop)))
        return self._unscale(out)
