"""``fp-dti``: binding affinity from a ligand fingerprint and a protein's amino-acid and dipeptide composition.

A :class:`~symmol.models.fingerprint_pair.FingerprintPairModel` whose partner is the protein
(:class:`~symmol.featurizers.ProteinComposition` of the ``--protein-column`` sequences): the
fingerprint + composition feed-forward network of MGraphDTA's comparison (Yang et al., Chem. Sci.
2022, doi:10.1039/D1SC05180F).
"""

from __future__ import annotations

from typing import Any

from symmol.featurizers.protein import ProteinComposition
from symmol.models.base import ModelInput, ModelSpec
from symmol.models.fingerprint_pair import (
    FingerprintPairModel,
    FingerprintPairSpec,
    head_options,
    head_settings,
    pair_spec,
)
from symmol.models.options import FINGERPRINT_OPTIONS, as_bool, fingerprint_inputs, fingerprint_options, positive_int
from symmol.models.pairs import PROTEIN_COLUMN, PROTEIN_INPUT
from symmol.models.registry import ModelKind, Option, Problem, register_model_kind

__all__ = ["FP_DTI", "FP_DTI_TRAINING"]

#: Batches of 256 pairs (DeepDTA's), up to 100 epochs, the best validation epoch kept (early stopping after 20).
FP_DTI_TRAINING = {"epochs": 100, "patience": 20, "batch_size": 256}


def _inputs(options: dict[str, Any]) -> list[ModelInput]:
    (ligand,) = fingerprint_inputs(options)
    protein = ProteinComposition(dipeptides=options["dipeptides"])
    return [ligand, ModelInput(PROTEIN_INPUT, options["protein_column"], protein)]


def _spec(problem: Problem, inputs: list[ModelInput], options: dict[str, Any]) -> FingerprintPairSpec:
    return pair_spec("fp-dti", "protein_units", problem, inputs, options)


def _options(spec: ModelSpec) -> dict[str, Any]:
    protein = spec.model_inputs()[1]
    return {**fingerprint_options(spec), "protein_column": protein.column,
            "dipeptides": protein.featurizer.dipeptides,  # type: ignore[attr-defined]
            **head_settings(spec, "protein_units")}


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
        *head_options(Option("protein_units", 256, "width of the protein's composition layer", parse=positive_int),
                      hidden=(1024, 512)),
    ),
    build_inputs=_inputs,
    build_spec=_spec,
    spec_options=_options,
    training_defaults=FP_DTI_TRAINING,
))
