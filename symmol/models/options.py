"""Options several model kinds share (one flag each on ``symmol train``), and value parsers."""

from __future__ import annotations

from typing import Any

from symmol.data.fingerprints import FingerprintBatch
from symmol.featurizers.base import FingerprintFeaturizer
from symmol.featurizers.registry import featurizer_kinds, make_featurizer
from symmol.models.base import ModelInput, ModelSpec
from symmol.models.registry import Option, widths
from symmol.nn.nonlinearities import NONLINEARITIES

__all__ = ["FINGERPRINT_OPTIONS", "activation_option", "as_bool", "dropout_option", "fingerprint_inputs",
           "fingerprint_options", "hidden_option", "positive_int", "probability"]


def as_bool(value: Any) -> bool:
    """``True``/``False`` from a bool or the texts ``true``/``false``/``1``/``0``.

    Raises
    ------
    ValueError
        For anything else.
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def positive_int(value: Any) -> int:
    """Parse an integer >= 1; ``ValueError`` otherwise."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"expected a positive integer, got {value!r}")
    number = int(value)
    if number < 1:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return number


def probability(value: Any) -> float:
    """Parse a float in [0, 1); ``ValueError`` otherwise."""
    p = float(value)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"expected a probability in [0, 1), got {value!r}")
    return p


def hidden_option(default: tuple[int, ...], what: str) -> Option:
    """``hidden``: widths of dense layers (``--hidden 512`` or ``--hidden 1024,256``)."""
    return Option("hidden", default, f"widths of {what}, e.g. 512 or 1024,256", parse=widths)


def dropout_option(default: float, where: str) -> Option:
    """``dropout``: dropout probability (training only)."""
    return Option("dropout", default, f"dropout probability {where} (training only)", parse=probability)


def loss_option() -> Option:
    """``loss``: the regression loss, squared error or mean–variance estimation (a predicted variance too)."""
    return Option("loss", "mse", "regression loss: mse, or mve (mean-variance estimation: a Gaussian NLL head that "
                  "also predicts each target's variance; predict's --uncertainty mve)", choices=("mse", "mve"))


def activation_option() -> Option:
    """``activation``: the hidden layers' nonlinearity."""
    return Option("activation", "relu", "nonlinearity of the hidden layers",
                  choices=tuple(name for name in NONLINEARITIES if name != "identity"))


#: The options of a one-fingerprint model (``mlp``, ``gp``): the featurizer's kind and settings.
FINGERPRINT_OPTIONS = (
    Option("fingerprint", "ecfp", "fingerprint kind of the input (ecfp, fcfp, atompair, torsion, maccs, ...)"),
    Option("radius", None, "Morgan radius of ecfp/fcfp (default 2: ECFP4)", parse=int),
    Option("fp_size", None, "fingerprint bits (default 2048)", parse=int),
    Option("counts", None, "count fingerprint instead of bits", parse=as_bool, switch=True),
    Option("chirality", None, "chirality in the ecfp/fcfp invariants", parse=as_bool, switch=True),
)
_FEATURIZER_SETTINGS = ("radius", "fp_size", "counts", "chirality")


def fingerprint_inputs(options: dict[str, Any]) -> list[ModelInput]:
    """Return the one ``smiles`` input of a fingerprint model from the :data:`FINGERPRINT_OPTIONS` values.

    Raises
    ------
    ValueError
        If ``fingerprint`` names a featurizer that does not give fingerprints, or a setting it lacks.
    """
    params = {name: options[name] for name in _FEATURIZER_SETTINGS if options[name] is not None}
    featurizer = make_featurizer(options["fingerprint"], **params)
    if not isinstance(featurizer, FingerprintFeaturizer):
        raise ValueError(f"fingerprint must be a fingerprint kind ({', '.join(featurizer_kinds(FingerprintBatch))}), "
                         f"got {options['fingerprint']!r}")
    return [ModelInput("smiles", "smiles", featurizer)]


def fingerprint_options(spec: ModelSpec) -> dict[str, Any]:
    """Return the :data:`FINGERPRINT_OPTIONS` values a one-fingerprint spec was made with."""
    featurizer = spec.model_inputs()[0].featurizer
    params = featurizer.params()
    return {"fingerprint": featurizer.kind, **{k: params[k] for k in _FEATURIZER_SETTINGS if k in params}}
