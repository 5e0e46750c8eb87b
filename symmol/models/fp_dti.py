"""``fp-dti``: binding affinity from a ligand fingerprint and a protein's amino-acid and dipeptide composition.

A :class:`~symmol.models.fingerprint_pair.FingerprintPairModel` whose partner is the protein
(:class:`~symmol.featurizers.ProteinComposition` of the ``--protein-column`` sequences): the
fingerprint + composition feed-forward network of MGraphDTA's comparison (Yang et al., Chem. Sci.
2022, doi:10.1039/D1SC05180F).
"""

from __future__ import annotations

from typing import Any

from symmol.featurizers.protein import ProteinComposition
from symmol.models.base import ModelInput, ModelSpec, inputs_to_dict
from symmol.models.fingerprint_pair import FingerprintPairModel, FingerprintPairSpec
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
from symmol.models.pairs import ENCODE_ONCE, PROTEIN_COLUMN, PROTEIN_INPUT
from symmol.models.registry import ModelKind, Option, Problem, register_model_kind

__all__ = ["FP_DTI", "FP_DTI_TRAINING"]

#: Batches of 256 pairs (DeepDTA's), up to 100 epochs, the best validation epoch kept (early stopping after 20).
FP_DTI_TRAINING = {"epochs": 100, "patience": 20, "batch_size": 256}


def _inputs(options: dict[str, Any]) -> list[ModelInput]:
    (ligand,) = fingerprint_inputs(options)
    protein = ProteinComposition(dipeptides=options["dipeptides"])
    return [ligand, ModelInput(PROTEIN_INPUT, options["protein_column"], protein)]


def _spec(problem: Problem, inputs: list[ModelInput], options: dict[str, Any]) -> FingerprintPairSpec:
    return FingerprintPairSpec(**problem.spec_fields(), architecture="fp-dti", inputs=inputs_to_dict(inputs),
                               ligand_units=options["ligand_units"], partner_units=options["protein_units"],
                               hidden=options["hidden"], dropout=options["dropout"],
                               encode_once=options["encode_once"], loss=options["loss"])


def _options(spec: ModelSpec) -> dict[str, Any]:
    assert isinstance(spec, FingerprintPairSpec)
    protein = spec.model_inputs()[1]
    return {**fingerprint_options(spec), "protein_column": protein.column,
            "dipeptides": protein.featurizer.dipeptides,  # type: ignore[attr-defined]
            "ligand_units": spec.ligand_units, "protein_units": spec.partner_units, "hidden": spec.hidden,
            "dropout": spec.dropout, "encode_once": spec.encode_once, "loss": spec.loss}


#: ``--architecture fp-dti``.
FP_DTI = register_model_kind(ModelKind(
    name="fp-dti",
    model_class=FingerprintPairModel,
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
