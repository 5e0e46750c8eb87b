"""Base classes of the layers: :class:`Layer` (one input) and :class:`MergeLayer` (several).

Mirrors ``lasagne.layers.base``. A layer owns shared parameters registered with tags
(``trainable``, ``regularizable``) and builds its symbolic output in ``get_output_for``;
:func:`symmol.nn.layers.get_output` walks the layer graph and calls it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import pytensor
from pytensor.tensor.sharedvar import TensorSharedVariable

__all__ = ["FLOATX", "Layer", "MergeLayer"]

#: Dtype of every parameter and of the float inputs the layers create.
FLOATX = "float32"


class Layer:
    """Base class: one input layer, parameters with tags, ``get_output_for``.

    Mirrors ``lasagne.layers.Layer``.

    Parameters
    ----------
    incoming : Layer or None
        The layer feeding this one (None for input layers).
    name : str, optional
        Prefix of the parameter names (default: the class name). Give layers of one class
        distinct names to save and load a network (:func:`symmol.nn.layers.get_all_param_values`).

    Attributes
    ----------
    params : OrderedDict
        ``{shared_variable: set_of_tags}`` of the layer's parameters, in creation order.
    state_updates : dict
        ``{shared_variable: new_value}`` recorded by the last graph build (see below).
    units : int
        Width of the output's feature axis, where the layer knows it (read through
        :func:`symmol.nn.layers.output_units`).

    State updates
    -------------
    Layers whose forward pass advances state (dropout's random stream, batch
    normalisation's running statistics) record ``{shared_variable: new_value}`` pairs in
    ``self.state_updates`` while :func:`symmol.nn.layers.get_output` builds the graph (the
    dict is cleared at the start of each :func:`~symmol.nn.layers.get_output`).
    :func:`symmol.nn.layers.get_state_updates` collects them; a training function must pass
    them to ``pytensor.function(updates=...)`` together with the optimizer's updates, a
    prediction function (``deterministic=True``) gets none.
    """

    def __init__(self, incoming: Layer | None, name: str | None = None):
        self.input_layer = incoming
        self.name = name or type(self).__name__
        self.params: OrderedDict[TensorSharedVariable, set[str]] = OrderedDict()
        self.state_updates: dict = {}

    @property
    def input_layers(self) -> list[Layer]:
        """Layers feeding this one (empty for input layers)."""
        return [] if self.input_layer is None else [self.input_layer]

    def add_param(self, init: Callable, shape: tuple[int, ...], name: str, rng: np.random.Generator,
                  **tags: bool) -> TensorSharedVariable:
        """Create a float32 shared parameter and register it with its tags.

        Mirrors ``lasagne.layers.Layer.add_param``.

        Parameters
        ----------
        init : callable
            ``init(shape, rng) -> array`` (:mod:`symmol.nn.init`).
        shape : tuple of int
            Shape of the parameter.
        name : str
            Parameter name; the shared variable is called ``f"{layer.name}.{name}"``.
        rng : numpy.random.Generator
            Passed to ``init``.
        **tags : bool
            Tags default to ``trainable=True``; pass ``regularizable=True`` for weights that
            weight decay should act on, ``trainable=False`` for state (running statistics).

        Returns
        -------
        TensorSharedVariable
            The parameter, float32 of ``shape``, which is also its static type shape: the graph
            rewrites prove shapes from it (values set later keep the shape).
        """
        value = np.asarray(init(shape, rng), dtype=FLOATX)
        param = pytensor.shared(value, name=f"{self.name}.{name}", shape=value.shape)
        tags.setdefault("trainable", True)
        self.params[param] = {tag for tag, on in tags.items() if on}
        return param

    def get_params(self, **tags: bool) -> list[TensorSharedVariable]:
        """Parameters having every tag set True in ``tags`` and none set False.

        Mirrors ``lasagne.layers.Layer.get_params``.

        Parameters
        ----------
        **tags : bool
            E.g. ``trainable=True``, ``regularizable=False``.

        Returns
        -------
        list of TensorSharedVariable
            In creation order.
        """
        wanted = {t for t, on in tags.items() if on}
        unwanted = {t for t, on in tags.items() if not on}
        return [p for p, ts in self.params.items() if wanted <= ts and not (unwanted & ts)]

    def get_output_for(self, incoming, deterministic: bool = False, **kwargs: bool):
        """Symbolic output of the layer for the symbolic output ``incoming`` of its input layer.

        Parameters
        ----------
        incoming : TensorVariable
            Output of :attr:`input_layer` (a list of outputs for a :class:`MergeLayer`).
        deterministic : bool
            ``True`` for prediction (dropout off, running statistics, no state updates).
        **kwargs
            Switches for particular layers, as in Lasagne, passed to every layer: e.g.
            ``batch_norm_use_averages`` (:class:`BatchNormLayer`). A layer ignores those it does not know.

        Returns
        -------
        TensorVariable
        """
        raise NotImplementedError


class MergeLayer(Layer):
    """Base class of layers with several inputs; ``get_output_for`` receives a list.

    Mirrors ``lasagne.layers.MergeLayer``.

    Parameters
    ----------
    incomings : list of Layer
        The layers feeding this one, in the order of the list ``get_output_for`` receives.
    name : str, optional
        As for :class:`Layer`.
    """

    def __init__(self, incomings: list[Layer], name: str | None = None):
        super().__init__(None, name)
        self._inputs = list(incomings)

    @property
    def input_layers(self) -> list[Layer]:
        """Layers feeding this one, in the order given."""
        return self._inputs
