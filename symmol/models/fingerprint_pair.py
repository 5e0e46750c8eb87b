"""A ligand fingerprint beside a dense profile of its partner entity: the model of ``fp-dti`` and ``drug-response``.

Pairs of a ligand and another entity (a protein's composition, a cell line's genomic profile):
the ligand's ECFP4 through a fingerprint dense layer, the partner's profile, standardised with the
training pairs' statistics, through a dense layer, the two concatenated, then dense layers to one
output per target. Each distinct partner of a batch is encoded once (:mod:`symmol.models.pairs`).
The feed-forward network of MGraphDTA's comparison (Yang et al., Chem. Sci. 2022,
doi:10.1039/D1SC05180F) for drug–target pairs; the drug + cell-line network of drug-response models
such as tCNNs (Liu et al., BMC Bioinformatics 2019, doi:10.1186/s12859-019-2910-6) with a fingerprint
in place of their SMILES convolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from symmol.data.batch import Batch
from symmol.data.dense import DenseBatch
from symmol.data.fingerprints import FingerprintBatch
from symmol.models.base import CompiledModel, ModelInput, ModelSpec, inputs_to_dict
from symmol.models.options import dropout_option, hidden_option, loss_option, positive_int
from symmol.models.pairs import ENCODE_ONCE, LIGAND_INPUT, entity_arrays, entity_groups
from symmol.models.registry import Option, Problem
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

__all__ = ["FingerprintPairModel", "FingerprintPairSpec", "head_options", "head_settings", "pair_spec"]


@dataclass(frozen=True)
class FingerprintPairSpec(ModelSpec):
    """Architecture and problem of a fingerprint-pair model (stored as JSON).

    Attributes
    ----------
    architecture
        The registered architecture that built it (``fp-dti``, ``drug-response``).
    inputs
        ``smiles``: a fingerprint featurizer (ECFP4 by default), then the partner: a featurizer of
        :class:`~symmol.data.dense.DenseBatch` rows (``protein``: the composition; ``cell_line``: a
        :class:`~symmol.featurizers.ProfileTable`). The partner's input name prefixes its layers.
    ligand_units, partner_units
        Widths of the ligand's fingerprint dense layer and of the partner's dense layer.
    hidden
        Widths of the dense layers after the concatenation.
    dropout
        After the concatenation and after every hidden layer (training only).
    encode_once
        Encode each distinct partner of a call once (same predictions and gradients).
    targets, task, target_mean, target_std, seed, ensemble_size, loss
        As every spec (:class:`~symmol.models.mlp.MLPSpec`).
    """

    targets: tuple[str, ...]
    task: str
    architecture: str = "fp-dti"
    inputs: dict = field(default_factory=dict)
    ligand_units: int = 1024
    partner_units: int = 256
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
        names = list(self.inputs)
        if len(names) != 2 or names[0] != LIGAND_INPUT:
            raise ValueError(f"a fingerprint-pair model reads inputs [{LIGAND_INPUT!r}, partner], got {names}")

    @property
    def partner(self) -> str:
        """The partner's input name (``protein``, ``cell_line``)."""
        return list(self.inputs)[1]


class FingerprintPairModel(CompiledModel):
    """A ligand-fingerprint + partner-profile network with its featurizers and compiled functions."""

    KIND: ClassVar[str] = "fingerprint_pair"
    SPEC: ClassVar[type[ModelSpec]] = FingerprintPairSpec

    def __init__(self, spec: FingerprintPairSpec, backend: str = "numba"):
        super().__init__(spec, backend)
        fingerprint, profile = (i.featurizer for i in self.inputs)
        partner = spec.partner
        ligand = FingerprintInputLayer(fingerprint.fp_size, name="ligand")  # type: ignore[attr-defined]
        profiles = InputLayer((None, len(profile.feature_names)), name=f"{partner}_profile")  # type: ignore[attr-defined]
        partner_index = InputLayer((None,), dtype="int64", name=f"{partner}_index")
        self.input_layers = [ligand, profiles, partner_index]
        #: Standardisation of the partner's columns, fitted on the training pairs (shared by the members).
        self.scaler = StandardizeLayer(profiles, np.random.default_rng(spec.seed), name=f"{partner}_scaler")
        self.members = []
        for member in range(spec.ensemble_size):
            seed = spec.seed + 1000 * member
            rng, prefix = np.random.default_rng(seed), (f"m{member}." if spec.ensemble_size > 1 else "")
            encoded = DenseLayer(self.scaler, spec.partner_units, rng, "relu", name=f"{prefix}{partner}_dense")
            gathered = GatherLayer(encoded, partner_index, name=f"{prefix}{partner}_pairs")
            layer: Layer = ConcatLayer([FingerprintDenseLayer(ligand, spec.ligand_units, rng, "relu",
                                                              name=f"{prefix}ligand_dense"), gathered],
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
        """``(indptr, indices, values, partner_profiles, partner_index)``: CSR fingerprints, distinct partners."""
        ligand, partner = self.part(batch, LIGAND_INPUT), self.part(batch, self.spec.partner)  # type: ignore[attr-defined]
        assert isinstance(ligand, FingerprintBatch) and isinstance(partner, DenseBatch)
        return (*ligand.arrays(), *entity_arrays(partner.arrays()[0], self.spec.encode_once))  # type: ignore[attr-defined]

    def batch_groups(self, batch: Batch) -> np.ndarray:
        """Return the partner of each pair (distinct profile rows), for partner-grouped minibatches."""
        partner = self.part(batch, self.spec.partner)  # type: ignore[attr-defined]
        assert isinstance(partner, DenseBatch)
        return entity_groups(partner.arrays()[0])

    def fit_preprocessing(self, train: Batch) -> None:
        """Set the partner columns' standardisation from the training pairs."""
        partner = self.part(train, self.spec.partner)  # type: ignore[attr-defined]
        assert isinstance(partner, DenseBatch)
        self.scaler.set_statistics(partner.values)

    def head_layer_names(self) -> list[str]:
        """Return the dense layers after the concatenation and ``output``."""
        return [f"hidden{i}" for i in range(len(self.spec.hidden))] + ["output"]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------
# what the registry entries of fingerprint-pair kinds share
# --------------------------------------------------------------------------
def head_options(partner_units: Option, hidden: tuple[int, ...]) -> tuple[Option, ...]:
    """Return the options of a fingerprint-pair kind after its inputs': widths, head, dropout, encode once, loss.

    ``partner_units`` names the partner layer's width for the CLI (``--protein-units``, ``--cell-units``).
    """
    return (Option("ligand_units", 1024, "width of the ligand's fingerprint layer", parse=positive_int),
            partner_units,
            hidden_option(hidden, "the dense layers after the concatenation"),
            dropout_option(0.1, "before each dense layer after the concatenation"),
            ENCODE_ONCE,
            loss_option())


def pair_spec(architecture: str, partner_units: str, problem: Problem, inputs: list[ModelInput],
              options: dict[str, Any]) -> FingerprintPairSpec:
    """Return the spec of ``architecture`` from its option values (``partner_units``: the width option's name)."""
    return FingerprintPairSpec(**problem.spec_fields(), architecture=architecture, inputs=inputs_to_dict(inputs),
                               ligand_units=options["ligand_units"], partner_units=options[partner_units],
                               hidden=options["hidden"], dropout=options["dropout"],
                               encode_once=options["encode_once"], loss=options["loss"])


def head_settings(spec: ModelSpec, partner_units: str) -> dict[str, Any]:
    """Return the :func:`head_options` values a spec was made with (the inverse of :func:`pair_spec`'s)."""
    assert isinstance(spec, FingerprintPairSpec)
    return {"ligand_units": spec.ligand_units, partner_units: spec.partner_units, "hidden": spec.hidden,
            "dropout": spec.dropout, "encode_once": spec.encode_once, "loss": spec.loss}
