"""``fp-dti``: binding affinity from a ligand fingerprint and a protein's amino-acid and dipeptide composition.

The fingerprint + composition feed-forward network of MGraphDTA's comparison (Yang et al., Chem. Sci.
2022, doi:10.1039/D1SC05180F): the ligand's ECFP4 through a fingerprint dense layer, the protein's
composition (:class:`~symmol.featurizers.ProteinComposition`, standardised with the training pairs'
statistics) through a dense layer, concatenated, then dense layers to one output per target. Each
distinct protein of a batch is encoded once (:mod:`symmol.models.pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from symmol.data.batch import Batch
from symmol.data.dense import DenseBatch
from symmol.data.fingerprints import FingerprintBatch
from symmol.featurizers.protein import ProteinComposition
from symmol.models.base import CompiledModel, ModelInput, ModelSpec, inputs_to_dict
from symmol.models.options import (
    FINGERPRINT_OPTIONS,
    as_bool,
    dropout_option,
    fingerprint_inputs,
    fingerprint_options,
    hidden_option,
    loss_option,
    positive_int,
)
from symmol.models.pairs import ENCODE_ONCE, LIGAND_INPUT, PROTEIN_COLUMN, PROTEIN_INPUT, entity_arrays
from symmol.models.registry import ModelKind, Option, Problem, register_model_kind
from symmol.nn.layers import (
    ConcatLayer,
    DenseLayer,
    DropoutLayer,
    FingerprintDenseLayer,
    FingerprintInputLayer,
    GatherLayer,
    InputLayer,
    Layer,
    StandardizeLayer,
)

__all__ = ["FP_DTI", "FP_DTI_TRAINING", "FingerprintDTIModel", "FingerprintDTISpec"]


#: Batches of 256 pairs (DeepDTA's), up to 100 epochs, the best validation epoch kept (early stopping after 20).
FP_DTI_TRAINING = {"epochs": 100, "patience": 20, "batch_size": 256}


@dataclass(frozen=True)
class FingerprintDTISpec(ModelSpec):
    """Architecture and problem of an ``fp-dti`` model (stored as JSON).

    Attributes
    ----------
    inputs
        ``smiles``: a fingerprint featurizer (ECFP4, 2048 bits by default); ``protein``:
        :class:`~symmol.featurizers.ProteinComposition`.
    ligand_units, protein_units
        Widths of the ligand's fingerprint dense layer and of the protein's dense layer.
    hidden
        Widths of the dense layers after the concatenation.
    dropout
        After the concatenation and after every hidden layer (training only).
    encode_once
        Encode each distinct protein of a call once (same predictions and gradients).
    targets, task, target_mean, target_std, seed, ensemble_size, loss
        As every spec (:class:`~symmol.models.mlp.MLPSpec`).
    """

    targets: tuple[str, ...]
    task: str
    inputs: dict = field(default_factory=dict)
    ligand_units: int = 1024
    protein_units: int = 256
    hidden: tuple[int, ...] = (1024, 512)
    dropout: float = 0.1
    encode_once: bool = True
    target_mean: tuple[float, ...] = ()
    target_std: tuple[float, ...] = ()
    seed: int = 0
    ensemble_size: int = 1
    loss: str = "mse"

    def __post_init__(self) -> None:
        self.check_problem()
        if list(self.inputs) != [LIGAND_INPUT, PROTEIN_INPUT]:
            raise ValueError(f"an fp-dti model reads inputs {[LIGAND_INPUT, PROTEIN_INPUT]}, got {list(self.inputs)}")


class FingerprintDTIModel(CompiledModel):
    """A fingerprint + protein-composition network with its featurizers and compiled functions (``fp-dti``)."""

    KIND: ClassVar[str] = "fingerprint_dti"
    SPEC: ClassVar[type[ModelSpec]] = FingerprintDTISpec

    def __init__(self, spec: FingerprintDTISpec, backend: str = "numba"):
        super().__init__(spec, backend)
        fingerprint, composition = (i.featurizer for i in self.inputs)
        ligand = FingerprintInputLayer(fingerprint.fp_size, name="ligand")  # type: ignore[attr-defined]
        proteins = InputLayer((None, len(composition.feature_names)), name="protein_composition")  # type: ignore[attr-defined]
        protein_index = InputLayer((None,), dtype="int64", name="protein_index")
        self.input_layers = [ligand, proteins, protein_index]
        #: Standardisation of the composition columns, fitted on the training pairs (shared by the members).
        self.scaler = StandardizeLayer(proteins, np.random.default_rng(spec.seed), name="protein_scaler")
        self.members = []
        for member in range(spec.ensemble_size):
            seed = spec.seed + 1000 * member
            rng, prefix = np.random.default_rng(seed), (f"m{member}." if spec.ensemble_size > 1 else "")
            encoded = DenseLayer(self.scaler, spec.protein_units, rng, "relu", name=f"{prefix}protein_dense")
            protein = GatherLayer(encoded, protein_index, name=f"{prefix}protein_pairs")
            layer: Layer = ConcatLayer([FingerprintDenseLayer(ligand, spec.ligand_units, rng, "relu",
                                                              name=f"{prefix}ligand_dense"), protein],
                                       name=f"{prefix}joined")
            for i, width in enumerate(spec.hidden):
                if spec.dropout:
                    layer = DropoutLayer(layer, spec.dropout, seed=seed * 1000 + i, name=f"{prefix}dropout{i}")
                layer = DenseLayer(layer, width, rng, "relu", name=f"{prefix}hidden{i}")
            if spec.dropout:
                layer = DropoutLayer(layer, spec.dropout, seed=seed * 1000 + len(spec.hidden),
                                     name=f"{prefix}dropout{len(spec.hidden)}")
            self.members.append(DenseLayer(layer, spec.n_outputs, rng, "identity", name=f"{prefix}output"))

    def batch_arrays(self, batch: Batch) -> tuple[np.ndarray, ...]:
        """``(indptr, indices, values, protein_composition, protein_index)``: CSR fingerprints, distinct proteins."""
        ligand, protein = self.part(batch, LIGAND_INPUT), self.part(batch, PROTEIN_INPUT)
        assert isinstance(ligand, FingerprintBatch) and isinstance(protein, DenseBatch)
        return (*ligand.arrays(), *entity_arrays(protein.arrays()[0], self.spec.encode_once))  # type: ignore[attr-defined]

    def fit_preprocessing(self, train: Batch) -> None:
        """Set the composition columns' standardisation from the training pairs."""
        protein = self.part(train, PROTEIN_INPUT)
        assert isinstance(protein, DenseBatch)
        self.scaler.set_statistics(protein.values)

    def head_layer_names(self) -> list[str]:
        """Return the dense layers after the concatenation and ``output``."""
        return [f"hidden{i}" for i in range(len(self.spec.hidden))] + ["output"]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------
# registry entry
# --------------------------------------------------------------------------
def _inputs(options: dict[str, Any]) -> list[ModelInput]:
    (ligand,) = fingerprint_inputs(options)
    protein = ProteinComposition(dipeptides=options["dipeptides"])
    return [ligand, ModelInput(PROTEIN_INPUT, options["protein_column"], protein)]


def _spec(problem: Problem, inputs: list[ModelInput], options: dict[str, Any]) -> FingerprintDTISpec:
    return FingerprintDTISpec(**problem.spec_fields(), inputs=inputs_to_dict(inputs),
                              ligand_units=options["ligand_units"], protein_units=options["protein_units"],
                              hidden=options["hidden"], dropout=options["dropout"],
                              encode_once=options["encode_once"], loss=options["loss"])


def _options(spec: ModelSpec) -> dict[str, Any]:
    assert isinstance(spec, FingerprintDTISpec)
    protein = spec.model_inputs()[1]
    return {**fingerprint_options(spec), "protein_column": protein.column,
            "dipeptides": protein.featurizer.dipeptides,  # type: ignore[attr-defined]
            "ligand_units": spec.ligand_units, "protein_units": spec.protein_units, "hidden": spec.hidden,
            "dropout": spec.dropout, "encode_once": spec.encode_once, "loss": spec.loss}


#: ``--architecture fp-dti``.
FP_DTI = register_model_kind(ModelKind(
    name="fp-dti",
    model_class=FingerprintDTIModel,
    description="a ligand fingerprint (ECFP4) beside the protein's amino-acid and dipeptide composition -> MLP "
                "(pairs: --ligand-column, --protein-column)",
    options=(
        *FINGERPRINT_OPTIONS,
        PROTEIN_COLUMN,
        Option("dipeptides", True, "add the 400 dipeptide fractions to the 20 amino-acid ones", parse=as_bool,
               switch=True),
        Option("ligand_units", 1024, "width of the ligand's fingerprint layer", parse=positive_int),
        Option("protein_units", 256, "width of the protein's composition layer", parse=positive_int),
        hidden_option((1024, 512), "the dense layers after the concatenation"),
        dropout_option(0.1, "before each dense layer after the concatenation"),
        ENCODE_ONCE,
        loss_option(),
    ),
    build_inputs=_inputs,
    build_spec=_spec,
    spec_options=_options,
    training_defaults=FP_DTI_TRAINING,
))
