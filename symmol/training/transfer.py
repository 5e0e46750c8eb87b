"""Transfer learning: start a model from a pretrained one, freeze parts of it, train the encoder slower.

A model's parameters split into the *encoder* (everything before the dense head: a graph network's
embedding and message passing, an MLP's hidden layers) and the *head layers*
(:meth:`~symmol.models.base.CompiledModel.head_layer_names`, the output layer last). Fine-tuning
copies every encoder and head parameter whose name and shape match from the pretrained model, never
the output layer (the new task has its own targets), then trains with three options:

* ``freeze="encoder"``: the encoder's parameters lose their ``trainable`` tag (Lasagne's parameter
  tags), so the step function neither differentiates nor updates them; ``"ffn:N"`` also freezes the
  first ``N`` head layers; ``"none"`` trains everything.
* ``encoder_lr`` (:class:`~symmol.training.config.TrainConfig`): the encoder's updates are scaled
  by ``encoder_lr / learning_rate``, a smaller step for the pretrained layers (discriminative
  fine-tuning, Howard & Ruder, ACL 2018, arXiv:1801.06146).
* staged unfreezing is two calls: train with ``freeze="encoder"``, then :func:`freeze` with
  ``"none"`` and train again.

The recipe follows CheMeleon (a D-MPNN pretrained to predict molecular descriptors, then fine-tuned;
Burns et al. 2025, arXiv:2506.15792) and Hu et al. (ICLR 2020, arXiv:1905.12265).
"""

from __future__ import annotations

import re

from symmol.models.base import CompiledModel
from symmol.nn.layers.helper import get_all_layers

__all__ = ["FREEZE_CHOICES", "encoder_parameter_names", "freeze", "initialize_from", "parse_freeze"]

#: The forms of ``freeze``: ``none``, ``encoder``, ``ffn:N``.
FREEZE_CHOICES = ("none", "encoder", "ffn:N")
_MEMBER = re.compile(r"^m\d+\.")


def _local(name: str) -> str:
    """Strip the ensemble-member prefix of a parameter name (``m2.dmpnn.W_i`` → ``dmpnn.W_i``)."""
    return _MEMBER.sub("", name)


def _layer_of(name: str) -> str:
    return _local(name).rsplit(".", 1)[0]


def parse_freeze(value: str) -> int | None:
    """Return how many head layers ``value`` freezes: None for ``none``, 0 for ``encoder``, N for ``ffn:N``.

    Raises
    ------
    ValueError
        For another value, or a negative N.
    """
    if value == "none":
        return None
    if value == "encoder":
        return 0
    match = re.fullmatch(r"ffn:(\d+)", value)
    if match is None:
        raise ValueError(f"freeze must be 'none', 'encoder' or 'ffn:N' (N head layers frozen too), got {value!r}")
    return int(match.group(1))


def encoder_parameter_names(model: CompiledModel) -> list[str]:
    """Names of ``model``'s encoder parameters: those of layers outside its head."""
    head = set(model.head_layer_names())
    return [name for name in model.get_param_values() if _layer_of(name) not in head]


def initialize_from(model: CompiledModel, pretrained: CompiledModel) -> list[str]:
    """Copy ``pretrained``'s matching parameters into ``model`` (in place); return the names copied.

    Every parameter of ``model`` but the output layer's takes the value of the pretrained parameter
    of the same name (ensemble members all start from the pretrained member of their own prefix, or
    from member 0's) when the shapes agree.

    Raises
    ------
    ValueError
        If the two models read different inputs, or an encoder parameter is missing from the
        pretrained model or has another shape (the encoders must be the same architecture).
    """
    if model.spec.inputs != pretrained.spec.inputs:
        raise ValueError(f"the pretrained model reads {pretrained.spec.inputs}, this one {model.spec.inputs}: "
                         f"fine-tuning needs the same inputs and featurizers")
    source = pretrained.get_param_values()
    by_local: dict[str, list[str]] = {}
    for name in source:
        by_local.setdefault(_local(name), []).append(name)
    encoder = set(encoder_parameter_names(model))
    output = model.head_layer_names()[-1]
    values = model.get_param_values()
    copied = []
    for name, value in values.items():
        if _layer_of(name) == output:
            continue
        candidates = [name] if name in source else sorted(by_local.get(_local(name), []))
        match = next((c for c in candidates if source[c].shape == value.shape), None)
        if match is None:
            if name in encoder:
                found = {c: source[c].shape for c in candidates}
                raise ValueError(f"encoder parameter {name} {value.shape} has no counterpart in the pretrained model "
                                 f"({found or 'missing'}): the encoders differ")
            continue
        values[name] = source[match]
        copied.append(name)
    model.set_param_values(values)
    return copied


def freeze(model: CompiledModel, how: str) -> list[str]:
    """Freeze ``model``'s encoder (and head layers) per ``how`` (see :func:`parse_freeze`); return the frozen names.

    Frozen parameters trade their ``trainable`` tag for ``frozen``; ``"none"`` gives the frozen ones
    ``trainable`` back (state that was never trainable stays so).

    Raises
    ------
    ValueError
        For a bad ``how``, or ``ffn:N`` with N reaching the output layer.
    """
    n_head = parse_freeze(how)
    head = model.head_layer_names()
    if n_head is not None and n_head >= len(head):
        raise ValueError(f"freeze {how!r}: the head has {len(head)} layers ({', '.join(head)}) and the output "
                         f"layer always trains")
    frozen_layers = set() if n_head is None else set(head[:n_head])
    encoder = set(encoder_parameter_names(model)) if n_head is not None else set()
    frozen = []
    for member in model.members:
        for layer in get_all_layers(member):
            for param, tags in layer.params.items():
                name = str(param.name)
                wanted = name in encoder or _layer_of(name) in frozen_layers
                if wanted and "trainable" in tags:
                    tags.symmetric_difference_update({"trainable", "frozen"})
                elif not wanted and "frozen" in tags:
                    tags.symmetric_difference_update({"trainable", "frozen"})
                if "frozen" in tags:
                    frozen.append(name)
    return sorted(set(frozen))
