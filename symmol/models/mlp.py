"""The fingerprint MLP: ECFP → FingerprintDense → [Dense]* → one output per task."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from symmol.featurize import MorganFingerprint, featurizer_from_dict
from symmol.fingerprints import FingerprintBatch
from symmol.models.base import CompiledModel, ModelSpec
from symmol.nn.layers import (
    DenseLayer,
    DropoutLayer,
    FingerprintDenseLayer,
    FingerprintInputLayer,
    Layer,
)


@dataclass(frozen=True)
class MLPSpec(ModelSpec):
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
        Fingerprint kind and parameters (``to_dict`` of a featurizer from :func:`symmol.featurize.make_featurizer`).
    target_mean, target_std
        Regression normalisation: ``y = output * std + mean``; empty for classification.
    seed
        Seed of the parameter initialisation and dropout streams.
    ensemble_size
        Number of independently initialised members trained together; predictions are the
        members' mean (Lakshminarayanan et al., NeurIPS 2017, arXiv:1612.01474).
    """

    targets: tuple[str, ...]
    task: str
    hidden: tuple[int, ...] = (512,)
    dropout: float = 0.3
    activation: str = "relu"
    featurizer: dict = field(default_factory=lambda: MorganFingerprint().to_dict())
    target_mean: tuple[float, ...] = ()
    target_std: tuple[float, ...] = ()
    seed: int = 0
    ensemble_size: int = 1

    def __post_init__(self) -> None:
        self.check_problem()
        if not self.hidden:
            raise ValueError("an MLP needs at least one hidden layer")


def build_mlp(spec: MLPSpec) -> tuple[FingerprintInputLayer, list[Layer]]:
    """Build the layer graph of ``spec`` with freshly initialised parameters.

    Returns the input layer and one output layer per ensemble member (identity activation:
    logits or standardised values, ``(n_rows, len(spec.targets))`` float32). Members share
    the input layer; member ``m`` is seeded with ``spec.seed + 1000 * m`` and its layer
    names carry the prefix ``m<m>.`` when ``ensemble_size > 1``.
    """
    featurizer = featurizer_from_dict(spec.featurizer)
    input_layer = FingerprintInputLayer(featurizer.fp_size, name="input")
    outputs = []
    for member in range(spec.ensemble_size):
        seed = spec.seed + 1000 * member
        prefix = f"m{member}." if spec.ensemble_size > 1 else ""
        rng = np.random.default_rng(seed)
        layer: Layer = FingerprintDenseLayer(input_layer, spec.hidden[0], rng, spec.activation,
                                             name=f"{prefix}hidden0")
        for i, width in enumerate(spec.hidden[1:], start=1):
            if spec.dropout:
                layer = DropoutLayer(layer, spec.dropout, seed=seed * 1000 + i, name=f"{prefix}dropout{i - 1}")
            layer = DenseLayer(layer, width, rng, spec.activation, name=f"{prefix}hidden{i}")
        if spec.dropout:
            last = len(spec.hidden)
            layer = DropoutLayer(layer, spec.dropout, seed=seed * 1000 + last, name=f"{prefix}dropout{last - 1}")
        outputs.append(DenseLayer(layer, len(spec.targets), rng, "identity", name=f"{prefix}output"))
    return input_layer, outputs


class FingerprintMLP(CompiledModel):
    """A fingerprint MLP with its featurizer, normalisation and compiled predict function.

    Parameters
    ----------
    spec
        Architecture and problem description.
    backend
        ``"numba"`` (default) or ``"c"``: how PyTensor compiles the predict/train functions.
    """

    KIND = "fingerprint_mlp"

    def __init__(self, spec: MLPSpec, backend: str = "numba"):
        super().__init__()
        self.spec = spec
        self.backend = backend
        self.featurizer = featurizer_from_dict(spec.featurizer)
        self.input_layer, self.members = build_mlp(spec)

    def input_vars(self) -> list:
        return list(self.input_layer.input_var)

    def batch_arrays(self, features: FingerprintBatch) -> tuple[np.ndarray, ...]:
        return features.indptr, features.indices, features.values

    def check_features(self, features: FingerprintBatch) -> None:
        if not isinstance(features, FingerprintBatch):
            raise TypeError(f"a fingerprint MLP takes a FingerprintBatch, got {type(features).__name__}")
        if features.fp_size != self.featurizer.fp_size:
            raise ValueError(
                f"fingerprints have {features.fp_size} bits but the model expects {self.featurizer.fp_size}"
            )

    @property
    def ad_featurizer(self):
        return self.featurizer

    def predict_fingerprints(self, fingerprints: FingerprintBatch, batch_size: int | None = None) -> np.ndarray:
        """Scores for a fingerprint batch (:meth:`predict_features`).

        Returns
        -------
        ``(n_rows, n_targets)`` float32: probabilities in [0, 1] for classification,
        values in target units for regression.
        """
        return self.predict_features(fingerprints, batch_size)
