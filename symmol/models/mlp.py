"""The fingerprint MLP: a fingerprint (ECFP4 by default) → FingerprintDense → [Dense]* → one output per task."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from symmol.compile.functions import PredictTier
from symmol.data.batch import Batch
from symmol.data.fingerprints import FingerprintBatch
from symmol.featurizers.base import FingerprintFeaturizer
from symmol.featurizers.morgan import MorganFingerprint
from symmol.kernels.sparse import csr_dense_matmul_into
from symmol.kernels.tiering import CompileTier
from symmol.models.base import CompiledModel, ModelInput, ModelSpec, inputs_to_dict, molecule_input
from symmol.models.options import (
    FINGERPRINT_OPTIONS,
    activation_option,
    dropout_option,
    fingerprint_inputs,
    fingerprint_options,
    hidden_option,
    loss_option,
)
from symmol.models.registry import ModelKind, Problem, register_model_kind
from symmol.nn.layers import DenseLayer, DropoutLayer, FingerprintDenseLayer, FingerprintInputLayer, Layer

__all__ = ["MLP", "FingerprintMLP", "MLPSpec", "build_mlp"]


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
    inputs
        One input: ``{"smiles": {"column": "smiles", "featurizer": <a fingerprint featurizer's to_dict()>}}``
        (:func:`~symmol.models.base.molecule_input`); default ECFP4 with 2048 bits.
    hidden
        Widths of the hidden layers; the first is a :class:`FingerprintDenseLayer`.
    dropout
        Dropout probability after each hidden layer (training only).
    activation
        Hidden nonlinearity name (see :mod:`symmol.nn.nonlinearities`).
    target_mean, target_std
        Regression normalisation: ``y = output * std + mean``; empty for classification.
    seed
        Seed of the parameter initialisation and dropout streams.
    ensemble_size
        Number of independently initialised members trained together; predictions are the
        members' mean (Lakshminarayanan et al., NeurIPS 2017, arXiv:1612.01474).
    loss
        ``"mse"``, or ``"mve"`` (regression: the output layer also predicts each target's variance).
    """

    targets: tuple[str, ...]
    task: str
    inputs: dict = field(default_factory=lambda: molecule_input(MorganFingerprint()))
    hidden: tuple[int, ...] = (512,)
    dropout: float = 0.3
    activation: str = "relu"
    target_mean: tuple[float, ...] = ()
    target_std: tuple[float, ...] = ()
    seed: int = 0
    ensemble_size: int = 1
    loss: str = "mse"

    def __post_init__(self) -> None:
        self.check_problem()
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"an MLP needs at least one hidden layer of positive width, got {self.hidden}")
        if len(self.inputs) != 1:
            raise ValueError(f"a fingerprint MLP has one input, got {list(self.inputs)}")


def build_mlp(spec: MLPSpec) -> tuple[FingerprintInputLayer, list[Layer]]:
    """Build the layer graph of ``spec`` with freshly initialised parameters.

    Returns the input layer and one output layer per ensemble member (identity activation:
    logits or standardised values, ``(n_rows, len(spec.targets))`` float32). Members share
    the input layer; member ``m`` is seeded with ``spec.seed + 1000 * m`` and its layer
    names carry the prefix ``m<m>.`` when ``ensemble_size > 1``.
    """
    (featurizer,) = (i.featurizer for i in spec.model_inputs())
    input_layer = FingerprintInputLayer(featurizer.fp_size, name="input")  # type: ignore[attr-defined]
    outputs: list[Layer] = []
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
        outputs.append(DenseLayer(layer, spec.n_outputs, rng, "identity", name=f"{prefix}output"))
    return input_layer, outputs


class FingerprintMLP(CompiledModel):
    """A fingerprint MLP with its featurizer, normalisation and compiled predict function.

    Parameters
    ----------
    spec
        Architecture and problem description.
    backend
        ``"numba"`` (default), ``"c"``, ``"jax"`` or ``"pytorch"``: how PyTensor compiles the
        predict/train functions.
    """

    KIND: ClassVar[str] = "fingerprint_mlp"
    SPEC: ClassVar[type[ModelSpec]] = MLPSpec

    def __init__(self, spec: MLPSpec, backend: str = "numba"):
        super().__init__(spec, backend)
        if not isinstance(self.featurizer, FingerprintFeaturizer):
            raise ValueError(f"a fingerprint MLP reads fingerprints, not {self.featurizer.kind!r}")
        self.input_layer, self.members = build_mlp(spec)
        self.input_layers = [self.input_layer]

    def batch_arrays(self, batch: Batch) -> tuple[np.ndarray, ...]:
        """Return the CSR arrays ``(indptr, indices, values)`` of the fingerprint batch ``batch``."""
        assert isinstance(batch, FingerprintBatch)
        return batch.arrays()

    def predict_tier(self) -> PredictTier:
        """:data:`PREDICT_TIER`; a call's work is its rows."""
        return PREDICT_TIER, _csr_rows


def _csr_rows(arrays: Sequence[np.ndarray]) -> float:
    return float(len(arrays[0]) - 1)


#: The MLP's predict graph (a sparse product, dense layers, elementwise nodes) runs in NumPy about four
#: times slower per row than compiled (22 ms against 6 ms for the Tox21 model on 4,096 ZINC molecules,
#: 2 cores) and compiles in 3-5 s on a cold cache (the graph and the parallel sparse product it calls):
#: it pays after about a million rows. The parallel product being compiled (``symmol warm-cache``, or
#: any training on this machine) means the graph compiles in under a second: compile at once.
PREDICT_TIER = CompileTier("fingerprint MLP prediction", (csr_dense_matmul_into,), break_even=1_000_000)


# --------------------------------------------------------------------------
# registry entry
# --------------------------------------------------------------------------
def _spec(problem: Problem, inputs: list[ModelInput], options: dict[str, Any]) -> MLPSpec:
    return MLPSpec(**problem.spec_fields(), inputs=inputs_to_dict(inputs), hidden=options["hidden"],
                   dropout=options["dropout"], activation=options["activation"], loss=options["loss"])


def _options(spec: ModelSpec) -> dict[str, Any]:
    assert isinstance(spec, MLPSpec)
    return {**fingerprint_options(spec), "hidden": spec.hidden, "dropout": spec.dropout,
            "activation": spec.activation, "loss": spec.loss}


def _search_space(trial: Any) -> dict[str, Any]:
    """``symmol tune``'s MLP settings: the fingerprint and the layer sizes."""
    n_layers = trial.suggest_int("mlp.n_layers", 1, 2)
    width = trial.suggest_categorical("mlp.width", [256, 512, 1024, 2048])
    return {"radius": trial.suggest_int("mlp.radius", 1, 3),
            "counts": trial.suggest_categorical("mlp.counts", [False, True]),
            "hidden": (width,) + (width // 2,) * (n_layers - 1),
            "dropout": trial.suggest_float("mlp.dropout", 0.0, 0.5)}


#: ``--architecture mlp``.
MLP = register_model_kind(ModelKind(
    name="mlp",
    model_class=FingerprintMLP,
    description="a fingerprint (ECFP4 by default) -> MLP",
    options=(
        *FINGERPRINT_OPTIONS,
        hidden_option((512,), "the hidden layers"),
        dropout_option(0.3, "after each hidden layer"),
        activation_option(),
        loss_option(),
    ),
    build_inputs=fingerprint_inputs,
    build_spec=_spec,
    spec_options=_options,
    search_space=_search_space,
    tune_presets=({"mlp.n_layers": 1, "mlp.width": 512, "mlp.radius": 2, "mlp.counts": False, "mlp.dropout": 0.3,
                   "learning_rate": 1e-3, "weight_decay": 3e-4, "lr_schedule": "constant"},),
))
