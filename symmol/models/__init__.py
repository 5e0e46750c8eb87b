"""Model kinds: specs (JSON), layer graphs, compiled predict functions, model directories.

Importing this package imports every module in it, which registers the built-in architectures
(:mod:`~symmol.models.mlp`: ``mlp``; :mod:`~symmol.models.graph_network`: ``dmpnn``, ``gin``), so a
built-in model kind is one module with its ``register_model_kind(ModelKind(...))`` entry: nothing else
names it. :mod:`~symmol.models.registry` lists them with the plug-ins, and :mod:`~symmol.models.store`
saves and loads any of them.
"""

import importlib
import pkgutil

from symmol.models.base import CompiledModel, ModelInput, ModelSpec
from symmol.models.registry import ModelKind, Option, Problem, model_kind, model_kinds, register_model_kind

__all__ = ["CompiledModel", "ModelInput", "ModelKind", "ModelSpec", "Option", "Problem", "model_kind", "model_kinds",
           "register_model_kind"]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
