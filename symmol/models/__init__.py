"""Model kinds: specs (JSON), layer graphs, compiled predict functions, model directories.

Importing this package registers the built-in architectures (:mod:`~symmol.models.mlp`: ``mlp``;
:mod:`~symmol.models.graph_network`: ``dmpnn``, ``gin``); :mod:`~symmol.models.registry` lists
them with the plug-ins, and :mod:`~symmol.models.store` saves and loads any of them.
"""

from symmol.models import graph_network, mlp
from symmol.models.base import CompiledModel, ModelInput, ModelSpec
from symmol.models.registry import ModelKind, Option, Problem, model_kind, model_kinds, register_model_kind

__all__ = ["CompiledModel", "ModelInput", "ModelKind", "ModelSpec", "Option", "Problem", "graph_network", "mlp",
           "model_kind", "model_kinds", "register_model_kind"]
