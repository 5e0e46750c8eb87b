"""A symmol plug-in: numeric columns on a log scale (a featurizer kind) and a fingerprint + profile MLP
(a model kind with two inputs joined by ConcatLayer). Nothing in symmol names either."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from symmol.data import DenseBatch, Featurized
from symmol.featurizers import Featurizer, NumericProfile, make_featurizer
from symmol.featurizers.base import Strings
from symmol.models import CompiledModel, ModelInput, ModelKind, ModelSpec, Option
from symmol.models.base import inputs_to_dict
from symmol.models.options import hidden_option
from symmol.nn import layers as L


@dataclass(frozen=True)
class LogColumns(Featurizer):
    """Numeric table columns as ``sign(x) log(1 + |x|)`` rows (kind ``log_columns``)."""

    KINDS: ClassVar = {"log_columns": {}}
    PARAMETERS: ClassVar = {"columns": Strings(min_length=1)}
    BATCH_TYPE: ClassVar = DenseBatch
    columns: tuple[str, ...] = ()

    def reads(self, column):
        return list(self.columns)

    def select(self, table, column):
        return NumericProfile(self.columns).select(table, column)

    def featurize(self, values):
        raw = NumericProfile(self.columns).featurize(values)  # missing or non-numeric values: invalid rows
        x = raw.batch.values
        return Featurized(DenseBatch(np.sign(x) * np.log1p(np.abs(x))), raw.errors)


@dataclass(frozen=True)
class FPProfileSpec(ModelSpec):
    targets: tuple[str, ...]
    task: str
    inputs: dict
    hidden: tuple[int, ...] = (256,)
    target_mean: tuple[float, ...] = ()
    target_std: tuple[float, ...] = ()
    seed: int = 0
    ensemble_size: int = 1

    def __post_init__(self):
        self.check_problem()


class FingerprintProfileMLP(CompiledModel):
    """ECFP → FingerprintDense and a numeric profile → Dense, concatenated, → Dense → one output per target."""

    KIND: ClassVar = "fingerprint_profile_mlp"
    SPEC: ClassVar = FPProfileSpec

    def __init__(self, spec, backend="numba"):
        super().__init__(spec, backend)
        fingerprint, profile = (i.featurizer for i in self.inputs)
        fp_in = L.FingerprintInputLayer(fingerprint.fp_size, name="fingerprint")
        profile_in = L.InputLayer((None, len(profile.columns)), name="profile")
        self.input_layers = [fp_in, profile_in]
        self.members = []
        for m in range(spec.ensemble_size):
            rng, p = np.random.default_rng(spec.seed + 1000 * m), f"m{m}."
            joined = L.ConcatLayer([L.FingerprintDenseLayer(fp_in, spec.hidden[0], rng, name=p + "fp"),
                                    L.DenseLayer(profile_in, 16, rng, name=p + "profile")], name=p + "concat")
            for i, width in enumerate(spec.hidden):
                joined = L.DenseLayer(joined, width, rng, name=f"{p}hidden{i}")
            self.members.append(L.DenseLayer(joined, len(spec.targets), rng, "identity", name=p + "output"))

    def batch_arrays(self, batch):
        return (*batch["smiles"].arrays(), *batch["profile"].arrays())


def _inputs(options):
    fingerprint = make_featurizer("ecfp", fp_size=options["fp_size"])
    profile = LogColumns(tuple(options["profile_columns"]))
    return [ModelInput("smiles", "smiles", fingerprint), ModelInput("profile", "profile", profile)]


FP_PROFILE = ModelKind(
    name="fp_profile", model_class=FingerprintProfileMLP, description="ECFP4 + log-scaled numeric columns -> MLP",
    options=(Option("profile_columns", (), "numeric columns of the profile, comma-separated",
                    parse=lambda v: tuple(c.strip() for c in v.split(",")) if isinstance(v, str) else tuple(v)),
             Option("fp_size", 2048, "fingerprint bits", parse=int),
             hidden_option((256,), "the layers after the fingerprint")),
    build_inputs=_inputs,
    build_spec=lambda problem, inputs, options: FPProfileSpec(**problem.spec_fields(), inputs=inputs_to_dict(inputs),
                                                              hidden=options["hidden"]),
    spec_options=lambda spec: {"profile_columns": spec.model_inputs()[1].featurizer.columns, "hidden": spec.hidden,
                               "fp_size": spec.model_inputs()[0].featurizer.fp_size},
)
