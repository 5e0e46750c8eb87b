"""DeepDTA: binding affinity from a ligand's SMILES characters and a protein's residues, two 1-D CNNs.

Öztürk, Özgür & Ozkirimli, "DeepDTA: deep drug–target binding affinity prediction", Bioinformatics
2018, 34, i821, doi:10.1093/bioinformatics/bty593 (``build_combined_categorical`` of its code): each
input is padded to a fixed length, embedded (128 units), passed through three valid 1-D convolutions
of ``filters``, ``2 * filters`` and ``3 * filters`` channels with ReLU and max-pooled over the whole
width (padding included, as Keras does without a mask); the two pooled vectors are concatenated and
go through dense layers of 1024, 1024 and 512 units (dropout 0.1 after the first two) to one output.
Each distinct ligand and protein of a batch is encoded once (:mod:`symmol.models.pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from symmol.data.batch import Batch
from symmol.data.sequences import TokenBatch
from symmol.featurizers.protein import ProteinSequence
from symmol.featurizers.tokens import DEEPDTA_SMILES_CHARACTERS, SmilesTokens
from symmol.models.base import CompiledModel, ModelInput, ModelSpec, inputs_to_dict
from symmol.models.options import dropout_option, hidden_option, loss_option, positive_int
from symmol.models.pairs import ENCODE_ONCE, LIGAND_INPUT, PROTEIN_COLUMN, PROTEIN_INPUT, entity_arrays, entity_groups
from symmol.models.registry import ModelKind, Option, Problem, register_model_kind
from symmol.nn.layers import (
    ConcatLayer,
    Conv1DLayer,
    DenseLayer,
    DropoutLayer,
    EmbeddingLayer,
    GatherLayer,
    GlobalPoolLayer,
    InputLayer,
    Layer,
)

__all__ = ["DEEPDTA", "DEEPDTA_TRAINING", "DeepDTAModel", "DeepDTASpec", "sequence_encoder"]

#: DeepDTA's training: Adam at 1e-3 (symmol's default), batches of 256, 100 epochs, no weight decay; the
#: best validation epoch is kept, with early stopping after 20 epochs without improvement.
DEEPDTA_TRAINING = {"epochs": 100, "patience": 20, "batch_size": 256, "weight_decay": 0.0}
#: Convolutions per input (DeepDTA: three, of 1, 2 and 3 times ``filters`` channels).
N_CONVOLUTIONS = 3


@dataclass(frozen=True)
class DeepDTASpec(ModelSpec):
    """Architecture and problem of a DeepDTA model (stored as JSON).

    Attributes
    ----------
    inputs
        ``smiles``: :class:`~symmol.featurizers.SmilesTokens` (DeepDTA's characters, ``max_length``
        the padded ligand length); ``protein``: :class:`~symmol.featurizers.ProteinSequence`
        (``max_length`` the padded protein length).
    embedding
        Units of each token embedding (DeepDTA: 128).
    filters
        Channels of the first convolution; the second and third have two and three times as many (32).
    ligand_filter, protein_filter
        Kernel widths of the ligand's and the protein's convolutions (DeepDTA's best: 4 and 8 on DAVIS).
    hidden
        Widths of the dense layers after the concatenation (1024, 1024, 512).
    dropout
        After every dense layer but the last (0.1).
    encode_once
        Encode each distinct ligand and protein of a call once (same predictions and gradients).
    targets, task, target_mean, target_std, seed, ensemble_size, loss
        As every spec (:class:`~symmol.models.mlp.MLPSpec`).
    """

    targets: tuple[str, ...]
    task: str
    inputs: dict = field(default_factory=dict)
    embedding: int = 128
    filters: int = 32
    ligand_filter: int = 4
    protein_filter: int = 8
    hidden: tuple[int, ...] = (1024, 1024, 512)
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
            raise ValueError(f"a DeepDTA model reads inputs {[LIGAND_INPUT, PROTEIN_INPUT]}, got {list(self.inputs)}")
        ligand, protein = (i.featurizer for i in self.model_inputs())
        for name, featurizer, width in (("ligand", ligand, self.ligand_filter),
                                        ("protein", protein, self.protein_filter)):
            length = featurizer.max_length  # type: ignore[attr-defined]
            if length < N_CONVOLUTIONS * (width - 1) + 1:
                raise ValueError(f"{name} length {length} is shorter than {N_CONVOLUTIONS} valid convolutions of "
                                 f"width {width} need ({N_CONVOLUTIONS * (width - 1) + 1})")


def sequence_encoder(tokens: Layer, index: Layer, vocabulary_size: int, spec: DeepDTASpec,
                     filter_size: int, rng: np.random.Generator, prefix: str) -> Layer:
    """Embedding → three valid ReLU convolutions → max over the width → each pair's row.

    ``tokens``: ``(n_entities, length)`` int32 ids; ``index``: ``(n_pairs,)`` int64. Output
    ``(n_pairs, 3 * spec.filters)`` float32.
    """
    layer: Layer = EmbeddingLayer(tokens, vocabulary_size, spec.embedding, rng, channels_first=True,
                                  name=f"{prefix}_embedding")
    for i in range(N_CONVOLUTIONS):
        layer = Conv1DLayer(layer, spec.filters * (i + 1), filter_size, rng, pad="valid", name=f"{prefix}_conv{i}")
    return GatherLayer(GlobalPoolLayer(layer, "max", name=f"{prefix}_pool"), index, name=f"{prefix}_pairs")


class DeepDTAModel(CompiledModel):
    """DeepDTA with its featurizers, normalisation and compiled functions (``--architecture deepdta``).

    Parameters
    ----------
    spec
        Architecture and problem description.
    backend
        How PyTensor compiles (``"numba"``, ``"c"``, ``"jax"``, ``"pytorch"``): every call has the
        fixed padded widths, only the row counts vary.
    """

    KIND: ClassVar[str] = "deepdta"
    SPEC: ClassVar[type[ModelSpec]] = DeepDTASpec

    def __init__(self, spec: DeepDTASpec, backend: str = "numba"):
        super().__init__(spec, backend)
        ligand, protein = (i.featurizer for i in self.inputs)
        self.lengths = (ligand.max_length, protein.max_length)  # type: ignore[attr-defined]
        self.input_layers = [
            InputLayer((None, self.lengths[0]), dtype="int32", name="ligand_tokens"),
            InputLayer((None,), dtype="int64", name="ligand_index"),
            InputLayer((None, self.lengths[1]), dtype="int32", name="protein_tokens"),
            InputLayer((None,), dtype="int64", name="protein_index"),
        ]
        ligand_tokens, ligand_index, protein_tokens, protein_index = self.input_layers
        self.members = []
        for member in range(spec.ensemble_size):
            rng = np.random.default_rng(spec.seed + 1000 * member)
            prefix = f"m{member}." if spec.ensemble_size > 1 else ""
            joined: Layer = ConcatLayer([
                sequence_encoder(ligand_tokens, ligand_index, ligand.vocabulary_size, spec,  # type: ignore[attr-defined]
                                 spec.ligand_filter, rng, f"{prefix}ligand"),
                sequence_encoder(protein_tokens, protein_index, protein.vocabulary_size, spec,  # type: ignore[attr-defined]
                                 spec.protein_filter, rng, f"{prefix}protein")], name=f"{prefix}joined")
            for i, width in enumerate(spec.hidden):
                joined = DenseLayer(joined, width, rng, "relu", name=f"{prefix}dense{i}")
                if spec.dropout and i < len(spec.hidden) - 1:
                    joined = DropoutLayer(joined, spec.dropout, seed=(spec.seed + 1000 * member) * 1000 + i,
                                          name=f"{prefix}dropout{i}")
            self.members.append(DenseLayer(joined, spec.n_outputs, rng, "identity", name=f"{prefix}output"))

    def batch_arrays(self, batch: Batch) -> tuple[np.ndarray, ...]:
        """``(ligand_tokens, ligand_index, protein_tokens, protein_index)``: padded ids of the distinct entities."""
        arrays: list[np.ndarray] = []
        for name, length in zip((LIGAND_INPUT, PROTEIN_INPUT), self.lengths, strict=True):
            part = self.part(batch, name)
            assert isinstance(part, TokenBatch)
            arrays.extend(entity_arrays(part.padded(length)[0], self.spec.encode_once))  # type: ignore[attr-defined]
        return tuple(arrays)

    def batch_groups(self, batch: Batch) -> np.ndarray:
        """Return the protein of each pair (distinct padded sequences), for protein-grouped minibatches."""
        part = self.part(batch, PROTEIN_INPUT)
        assert isinstance(part, TokenBatch)
        return entity_groups(part.padded(self.lengths[1])[0])

    def head_layer_names(self) -> list[str]:
        """Return the dense layers after the concatenation and ``output``."""
        return [f"dense{i}" for i in range(len(self.spec.hidden))] + ["output"]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------
# registry entry
# --------------------------------------------------------------------------
def _inputs(options: dict[str, Any]) -> list[ModelInput]:
    ligand = SmilesTokens(vocabulary=DEEPDTA_SMILES_CHARACTERS, tokenizer="character",
                          max_length=options["ligand_length"])
    protein = ProteinSequence(max_length=options["protein_length"])
    return [ModelInput(LIGAND_INPUT, "smiles", ligand), ModelInput(PROTEIN_INPUT, options["protein_column"], protein)]


def _spec(problem: Problem, inputs: list[ModelInput], options: dict[str, Any]) -> DeepDTASpec:
    return DeepDTASpec(**problem.spec_fields(), inputs=inputs_to_dict(inputs), embedding=options["embedding"],
                       filters=options["filters"], ligand_filter=options["ligand_filter"],
                       protein_filter=options["protein_filter"], hidden=options["hidden"],
                       dropout=options["dropout"], encode_once=options["encode_once"], loss=options["loss"])


def _options(spec: ModelSpec) -> dict[str, Any]:
    assert isinstance(spec, DeepDTASpec)
    ligand, protein = spec.model_inputs()
    return {"protein_column": protein.column, "ligand_length": ligand.featurizer.max_length,  # type: ignore[attr-defined]
            "protein_length": protein.featurizer.max_length,  # type: ignore[attr-defined]
            "embedding": spec.embedding, "filters": spec.filters, "ligand_filter": spec.ligand_filter,
            "protein_filter": spec.protein_filter, "hidden": spec.hidden, "dropout": spec.dropout,
            "encode_once": spec.encode_once, "loss": spec.loss}


#: ``--architecture deepdta``.
DEEPDTA = register_model_kind(ModelKind(
    name="deepdta",
    model_class=DeepDTAModel,
    description="DeepDTA: ligand SMILES characters and protein residues, each through three 1-D convolutions "
                "(pairs: --ligand-column, --protein-column)",
    options=(
        PROTEIN_COLUMN,
        Option("ligand_length", 100, "SMILES characters kept (padded to this length)", parse=positive_int),
        Option("protein_length", 1000, "residues kept from the N-terminus (padded to this length)",
               parse=positive_int),
        Option("embedding", 128, "units of the token embeddings", parse=positive_int),
        Option("filters", 32, "channels of the first convolution (then 2x and 3x)", parse=positive_int),
        Option("ligand_filter", 4, "kernel width of the ligand convolutions", parse=positive_int),
        Option("protein_filter", 8, "kernel width of the protein convolutions", parse=positive_int),
        hidden_option((1024, 1024, 512), "the dense layers after the concatenation"),
        dropout_option(0.1, "after the dense layers but the last"),
        ENCODE_ONCE,
        loss_option(),
    ),
    build_inputs=_inputs,
    build_spec=_spec,
    spec_options=_options,
    training_defaults=DEEPDTA_TRAINING,
))
