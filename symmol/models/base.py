"""What every trainable symmol model shares: inputs, members, parameters, normalisation, compiled predict.

A model reads one or several *inputs* (:class:`ModelInput`: a name, the table column it reads and
its featurizer) and is one or several *members* (output layers of PyTensor layer graphs sharing
their input layers). A subclass says how a batch becomes the arrays of its compiled functions
(:meth:`CompiledModel.batch_arrays`) and which input layers take them
(:attr:`CompiledModel.input_layers`); training (:mod:`symmol.training`), storage
(:mod:`symmol.models.store`), screening (:mod:`symmol.screen`) and the estimator use only this
interface, and a model kind joins them through :mod:`symmol.models.registry`.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytensor.tensor as pt

from symmol.compile import compile_predict
from symmol.compile.functions import PredictTier
from symmol.data.batch import Batch, Featurized, MultiInputBatch
from symmol.data.fingerprints import FingerprintBatch
from symmol.evaluation.calibration import Calibration
from symmol.featurizers.base import Featurizer, FingerprintFeaturizer
from symmol.featurizers.registry import featurizer_from_dict
from symmol.nn.layers import DropoutLayer, Layer, get_all_layers, get_all_param_values, set_all_param_values
from symmol.nn.objectives import (
    masked_binary_crossentropy_from_logits,
    masked_gaussian_nll,
    masked_squared_error,
    mve_variance,
)

__all__ = ["LOSSES", "TASKS", "CompiledModel", "ModelInput", "ModelSpec", "featurize_inputs", "inputs_to_dict",
           "molecule_input"]

TASKS = ("classification", "regression")
#: Regression losses of models with a dense head: squared error, or mean–variance estimation (a
#: Gaussian NLL head that predicts each target's variance too).
LOSSES = ("mse", "mve")


@dataclass(frozen=True)
class ModelInput:
    """One input of a model.

    Attributes
    ----------
    name
        The input's name (``"smiles"``, ``"ligand"``, ``"protein"``, ``"profile"``...).
    column
        The table column it reads (for molecules, the reader's ``smiles`` column).
    featurizer
        What turns the column into a batch.
    """

    name: str
    column: str
    featurizer: Featurizer

    def to_dict(self) -> dict[str, Any]:
        """``{"column": ..., "featurizer": {...}}`` (JSON-ready)."""
        return {"column": self.column, "featurizer": self.featurizer.to_dict()}


def inputs_to_dict(inputs: Sequence[ModelInput]) -> dict[str, dict[str, Any]]:
    """Return a spec's ``inputs`` entry: input name → ``{"column", "featurizer"}``, in input order."""
    return {model_input.name: model_input.to_dict() for model_input in inputs}


def molecule_input(featurizer: Featurizer) -> dict[str, dict[str, Any]]:
    """Return the ``inputs`` entry of a one-input molecule model: ``featurizer`` on the ``smiles`` column."""
    return inputs_to_dict([ModelInput("smiles", "smiles", featurizer)])


def featurize_inputs(inputs: Sequence[ModelInput], table: pd.DataFrame) -> Featurized:
    """Features of every row of ``table`` for ``inputs``.

    One input gives its featurizer's batch; several give a :class:`~symmol.data.batch.MultiInputBatch`.
    A row is invalid if the reader flagged it (a ``read_error`` column, e.g. an id a lookup table
    lacks) or any input is; its error is the reader's, else the first such input's reason
    (prefixed ``"<input>: "`` when there are several inputs). The inputs' notes (a truncated
    sequence) are joined the same way.
    """
    parts = [(i.name, i.featurizer.featurize_table(table, i.column)) for i in inputs]
    read = table["read_error"].fillna("").astype(str).tolist() if "read_error" in table.columns else None
    if len(parts) == 1 and read is None:
        return parts[0][1]
    if len(parts) == 1:
        assert read is not None
        part = parts[0][1]
        return Featurized(part.batch, [r or e for r, e in zip(read, part.errors, strict=True)], part.notes)
    errors = list(read) if read is not None else [""] * len(table)
    for name, part in parts:
        for row, error in enumerate(part.errors):
            if error and not errors[row]:
                errors[row] = f"{name}: {error}"
    noted = [(name, part.notes) for name, part in parts if part.notes is not None]
    notes = ["; ".join(f"{name}: {n[row]}" for name, n in noted if n[row]) for row in range(len(table))] \
        if noted else None
    return Featurized(MultiInputBatch({name: part.batch for name, part in parts}), errors, notes)


class ModelSpec:
    """What the frozen dataclass specs of every model share: problem checks and the JSON round trip.

    Subclasses are dataclasses with the fields ``targets``, ``task``, ``inputs`` (input name →
    ``{"column", "featurizer"}``), ``target_mean``, ``target_std``, ``seed`` and ``ensemble_size``,
    plus their architecture's; they call :meth:`check_problem` in ``__post_init__``.
    """

    #: Fields that JSON stores as lists and the spec holds as tuples.
    TUPLE_FIELDS: ClassVar[tuple[str, ...]] = ("targets", "hidden", "target_mean", "target_std")

    targets: tuple[str, ...]
    task: str
    inputs: dict[str, dict[str, Any]]
    target_mean: tuple[float, ...]
    target_std: tuple[float, ...]
    seed: int
    ensemble_size: int

    def check_problem(self) -> None:
        """``ValueError`` for an unknown task, no targets or inputs, an ensemble below 1, or a bad normalisation."""
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if not self.targets:
            raise ValueError("at least one target is needed")
        if not self.inputs:
            raise ValueError("a model needs at least one input")
        if int(self.ensemble_size) < 1:
            raise ValueError(f"ensemble_size must be >= 1, got {self.ensemble_size}")
        if self.task == "regression" and len(self.target_mean) not in (0, len(self.targets)):
            raise ValueError("target_mean must have one value per target")
        if len(self.target_std) != len(self.target_mean):
            raise ValueError("target_std must have one value per target_mean value")
        loss = getattr(self, "loss", "mse")
        if loss not in LOSSES or (loss == "mve" and self.task != "regression"):
            raise ValueError(f"loss must be one of {LOSSES} ('mve' for regression only), got {loss!r} for a "
                             f"{self.task} model")

    @property
    def n_outputs(self) -> int:
        """Width of a member's output layer: one per target, two with the MVE loss (means, then variances)."""
        return len(self.targets) * (2 if getattr(self, "loss", "mse") == "mve" else 1)

    def model_inputs(self) -> list[ModelInput]:
        """Return the inputs with their featurizers built (from the registry, plug-in kinds included)."""
        return [ModelInput(name, entry["column"], featurizer_from_dict(entry["featurizer"]))
                for name, entry in self.inputs.items()]

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as a JSON-ready dict (inverse of :meth:`from_dict`)."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> ModelSpec:
        """Rebuild from :meth:`to_dict` (JSON lists become tuples).

        A spec written before models had named inputs (a ``"featurizer"`` entry) reads as one
        input ``"smiles"`` from column ``"smiles"``.
        """
        spec = dict(spec)
        if "featurizer" in spec and "inputs" not in spec:
            spec["inputs"] = {"smiles": {"column": "smiles", "featurizer": spec.pop("featurizer")}}
        for key in cls.TUPLE_FIELDS:
            if key in spec:
                spec[key] = tuple(spec[key])
        return cls(**spec)


class CompiledModel(ABC):
    """Base class of every model kind.

    The kinds are :class:`~symmol.models.mlp.FingerprintMLP`,
    :class:`~symmol.models.graph_network.GraphModel` and plug-ins.

    Subclasses set :data:`KIND` (the ``"model"`` entry of ``model.json``) and ``SPEC`` (their spec
    class), build ``input_layers`` (in call order) and ``members`` in ``__init__`` after calling
    ``super().__init__(spec, backend)``, and implement :meth:`batch_arrays`.
    """

    #: The ``"model"`` entry of ``model.json``.
    KIND: ClassVar[str] = ""
    #: The spec class (a frozen dataclass deriving from :class:`ModelSpec`).
    SPEC: ClassVar[type[ModelSpec]]
    #: Backends this model compiles with (graph batches change shape, which JAX/PyTorch recompile for).
    BACKENDS: ClassVar[tuple[str, ...]] = ("numba", "c", "jax", "pytorch")
    #: Rows per call of the compiled predict function.
    predict_batch_size: ClassVar[int] = 4096
    #: ``True`` for a kind fitted by its own procedure (:meth:`fit_directly`, e.g. a Gaussian process's
    #: marginal likelihood) instead of :func:`symmol.training.train_model`'s minibatch epochs.
    FITS_DIRECTLY: ClassVar[bool] = False

    #: The input layers of the members, in the order of :meth:`batch_arrays`.
    input_layers: list[Layer]
    #: One output layer per ensemble member.
    members: list[Layer]

    def __init__(self, spec: ModelSpec, backend: str = "numba") -> None:
        if backend not in self.BACKENDS:
            raise ValueError(f"{type(self).__name__} compiles with the {' or '.join(self.BACKENDS)} backend, "
                             f"not {backend!r}")
        self.spec = spec
        self.backend = backend
        #: The model's inputs, in the order of its compiled functions' arguments.
        self.inputs: list[ModelInput] = spec.model_inputs()
        self._predict_fn: Any = None
        self._member_fns: list | None = None
        self._mc_dropout_fn: Any = None
        self._mve_fn: Any = None
        #: ``(n_train, n_words) uint64`` packed training fingerprints (applicability domain), if kept.
        self.train_fingerprints: np.ndarray | None = None
        #: Training settings (:meth:`symmol.training.config.TrainConfig.to_dict`) once trained; stored in
        #: ``model.json``.
        self.train_config: dict | None = None
        #: Calibrators fitted on held-out rows (:meth:`calibrate`); stored in ``calibration.json``.
        self.calibration: Calibration | None = None

    # -- what subclasses define -------------------------------------------------------------
    @abstractmethod
    def batch_arrays(self, batch: Batch) -> tuple[np.ndarray, ...]:
        """Return the arrays a compiled function takes for ``batch``.

        Each input layer's arrays, in :attr:`input_layers` order.
        """

    def fit_directly(self, train: Batch, targets: np.ndarray) -> dict[str, Any]:
        """Fit a :attr:`FITS_DIRECTLY` kind on ``train`` (targets standardised for regression, NaN = missing).

        Returns a JSON-ready summary of the fit. Kinds trained by minibatch epochs do not have one.

        Raises
        ------
        NotImplementedError
            For a kind trained by minibatch epochs.
        """
        raise NotImplementedError(f"{type(self).__name__} is trained by minibatch epochs (train_model)")

    # -- inputs ------------------------------------------------------------------------------
    @property
    def task(self) -> str:
        """``"classification"`` or ``"regression"``."""
        return self.spec.task

    @property
    def targets(self) -> tuple[str, ...]:
        """Target names, one output each."""
        return self.spec.targets

    @property
    def featurizer(self) -> Featurizer:
        """The featurizer of a one-input model.

        Raises
        ------
        AttributeError
            For a model with several inputs (use :attr:`inputs`).
        """
        if len(self.inputs) != 1:
            raise AttributeError(f"{type(self).__name__} has {len(self.inputs)} inputs; see .inputs")
        return self.inputs[0].featurizer

    def columns(self) -> list[str]:
        """Every table column the model reads, in input order (no repeats)."""
        return list(dict.fromkeys(c for i in self.inputs for c in i.featurizer.reads(i.column)))

    def featurize(self, table: pd.DataFrame) -> Featurized:
        """Features of every row of ``table`` for this model's inputs (:func:`featurize_inputs`)."""
        return featurize_inputs(self.inputs, table)

    def check_batch(self, batch: Batch) -> None:
        """``TypeError``/``ValueError`` if ``batch`` is not what :meth:`featurize` gives this model."""
        expected = [i.featurizer.BATCH_TYPE for i in self.inputs]
        parts = [batch] if len(self.inputs) == 1 else (
            [batch[i.name] for i in self.inputs] if isinstance(batch, MultiInputBatch)
            and set(batch.parts) == {i.name for i in self.inputs} else None)
        if parts is None or any(not isinstance(p, t) for p, t in zip(parts, expected, strict=True)):
            names = ", ".join(f"{i.name}: {t.__name__}" for i, t in zip(self.inputs, expected, strict=True))
            raise TypeError(f"{type(self).__name__} takes ({names}), got {type(batch).__name__}")
        for i, part in zip(self.inputs, parts, strict=True):
            size = getattr(i.featurizer, "fp_size", None)
            if isinstance(part, FingerprintBatch) and size is not None and part.fp_size != size:
                raise ValueError(f"fingerprints have {part.fp_size} bits but the model expects {size}")

    def part(self, batch: Batch, name: str) -> Batch:
        """Return the part of ``batch`` for input ``name`` (the batch itself for a one-input model)."""
        return batch[name] if isinstance(batch, MultiInputBatch) else batch

    # -- explanations ----------------------------------------------------------------------
    def atom_state_layers(self) -> list[Layer] | None:
        """Per member, a layer with one output row per atom of the batch's molecules, or ``None``.

        Gradient explanations (:mod:`symmol.explain`) weigh each atom by the gradient of the score
        with respect to this layer's output, times that output. Kinds without per-atom states (the
        fingerprint MLP, the GP) return ``None``.
        """
        return None

    def atom_offsets(self, batch: Batch) -> np.ndarray:
        """``(n_rows + 1,) int64`` offsets of each molecule's rows in :meth:`atom_state_layers`' output.

        Raises
        ------
        NotImplementedError
            For a kind without atom states.
        """
        raise NotImplementedError(f"{type(self).__name__} has no per-atom states")

    # -- applicability domain ---------------------------------------------------------------
    def ad_fingerprints(self, batch: Batch) -> FingerprintBatch | None:
        """Bit fingerprints of ``batch``'s molecules for the applicability domain (``symmol screen --ad``).

        The default is the first input whose featurizer gives bit fingerprints, else the first
        count fingerprint's on-features (packing keeps a bit per stored feature); ``None`` when the
        model reads no fingerprint (kinds without one override this).
        """
        fingerprints = [i for i in self.inputs if isinstance(i.featurizer, FingerprintFeaturizer)]
        for model_input in sorted(fingerprints, key=lambda i: bool(i.featurizer.counts)):  # type: ignore[attr-defined]
            return self.part(batch, model_input.name)  # type: ignore[return-value]
        return None

    # -- parameters and prediction ----------------------------------------------------------
    def get_param_values(self) -> dict[str, np.ndarray]:
        """Return copies of every member's parameters, keyed by unique parameter name."""
        return {k: v for member in self.members for k, v in get_all_param_values(member).items()}

    def batch_groups(self, batch: Batch) -> np.ndarray | None:
        """Return a group label per row for entity-grouped minibatches, or ``None`` (default: no groups).

        ``TrainConfig(batch_order="grouped")`` keeps the rows of a group together; pair models
        group by their partner entity (the protein of a drug–target pair), which they encode once
        per minibatch.

        Returns
        -------
        (n_rows,) int64 or None
        """
        return None

    def fit_preprocessing(self, train: Batch) -> None:
        """Fit data-dependent input transforms on the training rows before training (default: none).

        Called by :func:`symmol.training.train_model`; e.g. a graph network's standardisation of its
        extra molecule features. Their statistics are non-trainable parameters, saved with the rest.
        """
        return None

    def head_layer_names(self) -> list[str]:
        """Names of the dense head's layers, the output layer last (member prefixes left out).

        Everything else is the encoder (:mod:`symmol.training.transfer`). Default: the output layer alone.
        """
        return ["output"]

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

    @property
    def loss(self) -> str:
        """The training loss: ``"mse"`` or ``"mve"`` for regression (spec field ``loss``), else cross-entropy."""
        return "crossentropy" if self.task == "classification" else getattr(self.spec, "loss", "mse")

    def loss_function(self) -> Any:
        """Return the symbolic loss of a member's output and the targets (:mod:`symmol.nn.objectives`)."""
        if self.task == "classification":
            return masked_binary_crossentropy_from_logits
        return masked_gaussian_nll if self.loss == "mve" else masked_squared_error

    def _prediction(self, out: Any) -> Any:
        """Map a member's output to its prediction: the sigmoid of the logits, or an MVE head's means."""
        if self.task == "classification":
            return pt.sigmoid(out)
        return out[:, :len(self.targets)] if self.loss == "mve" else out

    def predict_tier(self) -> PredictTier | None:
        """Return the predict graph's compile tier and a call's rows, for a kind whose graph runs fast in NumPy.

        Such a kind's predictions run uncompiled until compiling pays (:mod:`symmol.compile.tiered`);
        ``None`` (the default): always compiled.
        """
        return None

    def _compile(self, networks: Layer | list[Layer]) -> Any:
        return compile_predict(networks, self.backend, self._prediction, input_layers=self.input_layers,
                               tier=self.predict_tier())

    def predict_members(self, batch: Batch, batch_size: int | None = None) -> np.ndarray:
        """Score a batch with each ensemble member.

        ``batch_size`` rows per compiled call (default :attr:`predict_batch_size`), in the order of
        :meth:`predict_batch`.

        Returns
        -------
        ``(ensemble_size, n_rows, n_targets)`` float32, in the units of :meth:`predict_batch`.
        """
        self.check_batch(batch)
        if self._member_fns is None:
            self._member_fns = [self._compile(member) for member in self.members]
        out = np.empty((len(self.members), len(batch), len(self.targets)), dtype=np.float32)
        step = batch_size or self.predict_batch_size
        rows, order = self._scoring_order(batch, step)
        for start in range(0, len(batch), step):
            part = rows.slice(start, min(start + step, len(batch)))
            arrays = self.batch_arrays(part)
            for m, fn in enumerate(self._member_fns):
                out[m, start:start + len(part)] = fn(*arrays)
        if order is not None:
            out[:, order] = out.copy()
        return self._unscale(out)

    def _scoring_order(self, batch: Batch, step: int) -> tuple[Batch, np.ndarray | None]:
        """``batch`` with the rows of each entity group together (and the order), when it takes several calls."""
        groups = self.batch_groups(batch) if len(batch) > step else None
        if groups is None:
            return batch, None
        order = np.argsort(groups, kind="stable")
        return batch.take(order), order

    @property
    def uncertainty_methods(self) -> tuple[str, ...]:
        """The predictive-spread estimators this model offers, the default first.

        ``"ensemble"``: the standard deviation over an ensemble's members (Lakshminarayanan et al.,
        NeurIPS 2017, arXiv:1612.01474); ``"dropout"``: over Monte Carlo dropout samples, for a model
        with dropout (Gal & Ghahramani, ICML 2016, arXiv:1506.02142); ``"mve"``: the predicted
        standard deviation of a model trained with the mean–variance loss (the root of the members'
        mean variance). Kinds with their own spread (a GP's variance) override this.
        """
        has_dropout = any(isinstance(layer, DropoutLayer) and layer.p > 0 for layer in get_all_layers(self.members))
        return ((("mve",) if self.loss == "mve" else ()) + (("ensemble",) if self.spec.ensemble_size > 1 else ())
                + (("dropout",) if has_dropout else ()))

    #: Estimators that cost a prediction many model calls; used only when asked for by name.
    ON_REQUEST_UNCERTAINTY: ClassVar[tuple[str, ...]] = ("dropout",)

    @property
    def reports_spread(self) -> bool:
        """Whether :meth:`predict_with_spread` gives a standard deviation by default (an ensemble's, a GP's)."""
        return self.resolve_uncertainty(None) is not None

    def predict_with_spread(self, batch: Batch, method: str | None = None, mc_samples: int = 30
                            ) -> tuple[np.ndarray, np.ndarray | None]:
        """Scores and their standard deviation by ``method`` (default: :meth:`resolve_uncertainty`'s).

        ``mc_samples``: Monte Carlo dropout samples for ``method="dropout"``; their masks are seeded
        by the content of each compiled call's rows, so the same batch gets the same σ in any order or
        process (a screen's chunks are fixed by its chunk size).

        Returns
        -------
        scores : (n_rows, n_targets) float32
            As :meth:`predict_batch` (an ensemble's member mean).
        std : (n_rows, n_targets) float32 or None
            In the units of ``scores``; ``None`` for a model without an estimator when ``method`` is None.

        Raises
        ------
        ValueError
            For a ``method`` this model does not offer.
        """
        method = self.resolve_uncertainty(method)
        if method is None:
            return self.predict_batch(batch), None
        if method == "dropout":
            return self.predict_batch(batch), self._mc_dropout_std(batch, mc_samples)
        if method == "mve":
            return self.predict_batch(batch), self._mve_std(batch)
        members = self.predict_members(batch)
        return members.mean(axis=0), members.std(axis=0)

    def _mc_dropout_std(self, batch: Batch, samples: int) -> np.ndarray:
        if samples < 2:
            raise ValueError(f"MC dropout needs at least 2 samples, got {samples}")
        if self._mc_dropout_fn is None:
            transform = pt.sigmoid if self.task == "classification" else None
            self._mc_dropout_fn = compile_predict(self.members, self.backend, transform,
                                                  input_layers=self.input_layers, mc_dropout=True)
        draws = np.empty((samples, len(batch), len(self.targets)), dtype=np.float32)
        for start in range(0, len(batch), self.predict_batch_size):
            part = batch.slice(start, min(start + self.predict_batch_size, len(batch)))
            arrays = self.batch_arrays(part)
            digest = hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).digest()
            for i, generator in enumerate(self._dropout_generators()):
                generator.set_value(np.random.default_rng([int.from_bytes(digest[:8], "little"), i]), borrow=True)
            for s in range(samples):
                draws[s, start:start + len(part)] = self._mc_dropout_fn(*arrays)
        return self._unscale(draws).std(axis=0)

    def _mve_std(self, batch: Batch) -> np.ndarray:
        if self._mve_fn is None:
            n = len(self.targets)
            self._mve_fn = compile_predict(self.members, self.backend, lambda out: mve_variance(out, n),
                                           input_layers=self.input_layers, tier=self.predict_tier())
        variance = np.empty((len(batch), len(self.targets)), dtype=np.float32)
        for start in range(0, len(batch), self.predict_batch_size):
            stop = min(start + self.predict_batch_size, len(batch))
            variance[start:stop] = self._mve_fn(*self.batch_arrays(batch.slice(start, stop)))
        scale = np.asarray(self.spec.target_std or (1.0,) * len(self.targets), np.float32)
        return np.sqrt(variance) * scale

    def _dropout_generators(self) -> list[Any]:
        return [layer.rng for layer in get_all_layers(self.members) if isinstance(layer, DropoutLayer)]

    def resolve_uncertainty(self, method: str | None) -> str | None:
        """Return the estimator ``method`` names; for ``None``, the first offered that is not on request only.

        Raises
        ------
        ValueError
            For a ``method`` this model does not offer, naming those it does.
        """
        if method is None:
            return next((m for m in self.uncertainty_methods if m not in self.ON_REQUEST_UNCERTAINTY), None)
        if method not in self.uncertainty_methods:
            offered = ", ".join(self.uncertainty_methods) or "none (train an ensemble: --ensemble-size 5)"
            hint = " (it was trained without dropout: train with --dropout > 0)" if method == "dropout" else ""
            raise ValueError(f"this {type(self).__name__} has no {method!r} uncertainty{hint}; it offers: {offered}")
        return method

    def calibrate(self, batch: Batch, y: np.ndarray, uncertainty: str | None = None,
                  source: str = "validation set") -> Calibration:
        """Fit every calibrator that applies on labelled rows and keep it as :attr:`calibration`.

        Regression calibrators use σ from ``uncertainty`` (default: the model's first estimator;
        none: conformal intervals of one width per target). ``y``: ``(n_rows, n_targets)``, NaN = not
        measured. Returns the :class:`~symmol.evaluation.calibration.Calibration`.
        """
        if self.task == "regression":
            method = self.resolve_uncertainty(uncertainty)
            scores, std = self.predict_with_spread(batch, method)
        else:
            method, scores, std = None, self.predict_batch(batch), None
        self.calibration = Calibration.fit(self.task, self.targets, y, scores, std, method, source)
        return self.calibration

    def predict_batch(self, batch: Batch, batch_size: int | None = None) -> np.ndarray:
        """Score a batch; rows of invalid inputs get scores too: mask them.

        ``batch_size`` rows per compiled call (default :attr:`predict_batch_size`). A model with
        entity groups (:meth:`batch_groups`: a pair model's proteins) scores the rows group by group,
        so that each call encodes a few distinct entities, and returns them in input order.

        Returns
        -------
        ``(n_rows, n_targets)`` float32: probabilities in [0, 1] for classification,
        values in target units for regression.
        """
        self.check_batch(batch)
        if self._predict_fn is None:
            self._predict_fn = self._compile(self.members)
        out = np.empty((len(batch), len(self.targets)), dtype=np.float32)
        step = batch_size or self.predict_batch_size
        rows, order = self._scoring_order(batch, step)
        for start in range(0, len(batch), step):
            stop = min(start + step, len(batch))
            out[start:stop] = self._predict_fn(*self.batch_arrays(rows.slice(start, stop)))
        if order is not None:
            out[order] = out.copy()
        return self._unscale(out)
