"""The fingerprint MLP: ECFP → FingerprintDense → [Dense]* → one output per task."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pytensor.tensor as pt

from symmol.compile import compile_predict
from symmol.featurize import MorganFingerprint
from symmol.fingerprints import FingerprintBatch
from symmol.nn.layers import (
    DenseLayer,
    DropoutLayer,
    FingerprintDenseLayer,
    FingerprintInputLayer,
    Layer,
    get_all_param_values,
    set_all_param_values,
)

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class MLPSpec:
    """Architecture and problem description of a fingerprint MLP (stored as JSON).

    Attributes
    ----------
    targets
        Target (task) names, one output each.
    task
        ``"classification"`` (outputs are logits; probabilities via sigmoid) or
        ``"regression"`` (outputs in standardised units, see ``target_mean``/``target_std``).
    hidden
        Widths of the hidden layers; the first is a :class:`FingerprintDenseLayer`.
    dropout
        Dropout probability after each hidden layer (training only).
    activation
        Hidden nonlinearity name (see :mod:`symmol.nn.nonlinearities`).
    featurizer
        Fingerprint parameters (:meth:`MorganFingerprint.to_dict`).
    target_mean, target_std
        Regression normalisation: ``y = output * std + mean``; empty for classification.
    seed
        Seed of the parameter initialisation and dropout streams.
    """

    targets: tuple[str, ...]
    task: str
    hidden: tuple[int, ...] = (512,)
    dropout: float = 0.2
    activation: str = "relu"
    featurizer: dict = field(default_factory=lambda: MorganFingerprint().to_dict())
    target_mean: tuple[float, ...] = ()
    target_std: tuple[float, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if not self.targets:
            raise ValueError("at least one target is needed")
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"hidden layer widths must be positive integers, got {self.hidden}")
        if self.task == "regression" and len(self.target_mean) not in (0, len(self.targets)):
            raise ValueError("target_mean must have one value per target")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, spec: dict) -> MLPSpec:
        spec = dict(spec)
        for key in ("targets", "hidden", "target_mean", "target_std"):
            spec[key] = tuple(spec.get(key, ()))
        return cls(**spec)


def build_mlp(spec: MLPSpec) -> tuple[FingerprintInputLayer, Layer]:
    """Build the layer graph of ``spec`` with freshly initialised parameters.

    Returns the input layer and the output layer (identity activation: logits or
    standardised values, ``(n_rows, len(spec.targets))`` float32).
    """
    rng = np.random.default_rng(spec.seed)
    featurizer = MorganFingerprint.from_dict(spec.featurizer)
    input_layer = FingerprintInputLayer(featurizer.fp_size, name="input")
    layer: Layer = FingerprintDenseLayer(input_layer, spec.hidden[0], rng, spec.activation, name="hidden0")
    for i, width in enumerate(spec.hidden[1:], start=1):
        if spec.dropout:
            layer = DropoutLayer(layer, spec.dropout, seed=spec.seed * 1000 + i, name=f"dropout{i - 1}")
        layer = DenseLayer(layer, width, rng, spec.activation, name=f"hidden{i}")
    if spec.dropout:
        layer = DropoutLayer(layer, spec.dropout, seed=spec.seed * 1000 + len(spec.hidden),
                             name=f"dropout{len(spec.hidden) - 1}")
    output = DenseLayer(layer, len(spec.targets), rng, "identity", name="output")
    return input_layer, output


class FingerprintMLP:
    """A fingerprint MLP with its featurizer, normalisation and compiled predict function.

    Parameters
    ----------
    spec
        Architecture and problem description.
    backend
        ``"numba"`` (default) or ``"c"``: how PyTensor compiles the predict/train functions.
    """

    def __init__(self, spec: MLPSpec, backend: str = "numba"):
        self.spec = spec
        self.backend = backend
        self.featurizer = MorganFingerprint.from_dict(spec.featurizer)
        self.input_layer, self.network = build_mlp(spec)
        self._predict_fn = None

    @property
    def task(self) -> str:
        return self.spec.task

    @property
    def targets(self) -> tuple[str, ...]:
        return self.spec.targets

    def get_param_values(self) -> dict[str, np.ndarray]:
        return get_all_param_values(self.network)

    def set_param_values(self, values: dict[str, np.ndarray]) -> None:
        set_all_param_values(self.network, values)

    def predict_fingerprints(self, fingerprints: FingerprintBatch, batch_size: int = 4096) -> np.ndarray:
        """Scores for a fingerprint batch.

        Returns
        -------
        ``(n_rows, n_targets)`` float32: probabilities in [0, 1] for classification,
        values in target units for regression.
        """
        if fingerprints.fp_size != self.featurizer.fp_size:
            raise ValueError(
                f"fingerprints have {fingerprints.fp_size} bits but the model expects {self.featurizer.fp_size}"
            )
        if self._predict_fn is None:
            transform = pt.sigmoid if self.task == "classification" else None
            self._predict_fn = compile_predict(self.network, self.backend, transform)
        out = np.empty((len(fingerprints), len(self.targets)), dtype=np.float32)
        for start in range(0, len(fingerprints), batch_size):
            stop = min(start + batch_size, len(fingerprints))
            part = fingerprints.slice(start, stop)
            out[start:stop] = self._predict_fn(part.indptr, part.indices, part.values)
        if self.task == "regression" and self.spec.target_mean:
            out = out * np.asarray(self.spec.target_std, np.float32) + np.asarray(self.spec.target_mean, np.float32)
        return out
