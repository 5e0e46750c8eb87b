"""``drug-response``: a cell line's sensitivity to a drug from the drug's fingerprint and the cell line's profile.

A :class:`~symmol.models.fingerprint_pair.FingerprintPairModel` whose partner is the cell line: the
ligand's ECFP4 beside the cell line's row of a genomic profile table (GDSC's 677 binary mutation and
copy-number features, tissue and MSI status, :class:`~symmol.featurizers.ProfileTable`), looked up by
the id in ``--cell-line-column``; the target is typically ln IC50. Published drug + cell-line
networks (tCNNs, Liu et al., BMC Bioinformatics 2019, doi:10.1186/s12859-019-2910-6; DeepCDR, Liu et
al., Bioinformatics 2020, doi:10.1093/bioinformatics/btaa822) encode the drug with a SMILES
convolution or a graph network and the cell line with dense layers, joined by concatenation.

``symmol train GDSC.csv --architecture drug-response --ligand-column smiles --cell-line-column
cosmic_id --cell-features gdsc_cell_features.csv.gz --cell-id-column COSMIC_ID --target ln_ic50 ...``
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from symmol.featurizers.profile import ProfileTable
from symmol.models.base import ModelInput, ModelSpec
from symmol.models.fingerprint_pair import (
    FingerprintPairModel,
    FingerprintPairSpec,
    head_options,
    head_settings,
    pair_spec,
)
from symmol.models.options import FINGERPRINT_OPTIONS, fingerprint_inputs, fingerprint_options, positive_int
from symmol.models.registry import ModelKind, Option, Problem, register_model_kind

__all__ = ["CELL_LINE_INPUT", "DRUG_RESPONSE", "DRUG_RESPONSE_TRAINING"]

#: Input name of the cell line (its layers are ``cell_line_dense``, ...).
CELL_LINE_INPUT = "cell_line"
#: Batches of 256 pairs, up to 100 epochs, the best validation epoch kept (early stopping after 10).
DRUG_RESPONSE_TRAINING = {"epochs": 100, "patience": 10, "batch_size": 256}


def profile_table(value: Any) -> ProfileTable | str:
    """Parse a :class:`~symmol.featurizers.ProfileTable`, or the path of a file to read one from (kept as text)."""
    if isinstance(value, ProfileTable):
        return value
    if isinstance(value, dict):
        table = ProfileTable.from_dict(value)
        assert isinstance(table, ProfileTable)
        return table
    if not isinstance(value, str | Path) or not str(value).strip():
        raise ValueError(f"expected the path of a profile table, got {value!r}")
    return str(value)


@lru_cache(maxsize=4)
def _read_table(path: str, id_column: str, modified: float) -> ProfileTable:
    return ProfileTable.read(path, id_column)


def _cell_lines(options: dict[str, Any]) -> ProfileTable:
    table = options["cell_features"]
    if isinstance(table, ProfileTable):
        return table
    if table is None:
        raise ValueError("the drug-response model needs the cell lines' profiles: --cell-features FILE "
                         "(one row per cell line, its id in --cell-id-column)")
    path = Path(table)
    if not path.is_file():
        raise ValueError(f"--cell-features {table}: no such file")
    return _read_table(str(path.resolve()), options["cell_id_column"], path.stat().st_mtime)


def _inputs(options: dict[str, Any]) -> list[ModelInput]:
    (ligand,) = fingerprint_inputs(options)
    return [ligand, ModelInput(CELL_LINE_INPUT, options["cell_line_column"], _cell_lines(options))]


def _spec(problem: Problem, inputs: list[ModelInput], options: dict[str, Any]) -> FingerprintPairSpec:
    return pair_spec("drug-response", "cell_units", problem, inputs, options)


def _options(spec: ModelSpec) -> dict[str, Any]:
    cell_line = spec.model_inputs()[1]
    return {**fingerprint_options(spec), "cell_line_column": cell_line.column, "cell_features": cell_line.featurizer,
            **head_settings(spec, "cell_units")}


#: ``--architecture drug-response``.
DRUG_RESPONSE = register_model_kind(ModelKind(
    name="drug-response",
    model_class=FingerprintPairModel,
    description="a drug's fingerprint (ECFP4) beside the cell line's genomic profile -> MLP "
                "(pairs: --ligand-column, --cell-line-column, --cell-features)",
    options=(
        *FINGERPRINT_OPTIONS,
        Option("cell_line_column", "cosmic_id", "column of the cell-line ids (drug-response)"),
        Option("cell_features", None, "CSV of the cell lines' profiles, one row per cell line: numeric columns as "
               "they are, text columns one-hot (drug-response; stored in the model)", parse=profile_table),
        Option("cell_id_column", "COSMIC_ID", "id column of --cell-features (drug-response)"),
        *head_options(Option("cell_units", 512, "width of the cell line's profile layer", parse=positive_int),
                      hidden=(512, 256)),
    ),
    build_inputs=_inputs,
    build_spec=_spec,
    spec_options=_options,
    training_defaults=DRUG_RESPONSE_TRAINING,
))
