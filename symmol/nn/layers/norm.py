"""Normalisation layers: batch normalisation, layer normalisation, fixed standardisation of input features.

Batch normalisation keeps running statistics as state updates. Mirrors ``lasagne.layers.normalization``.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from pytensor.raise_op import Assert

from symmol.nn.init import Constant
from symmol.nn.layers.base import FLOATX, Layer
from symmol.nn.layers.helper import output_units

__all__ = ["BatchNormLayer", "LayerNormLayer", "StandardizeLayer"]


class BatchNormLayer(Layer):
    """Batch normalisation over the batch axis (and, for ``(n, C, W)`` input, the W axis).

    Training (``deterministic=False``): ``y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta``
    with the batch mean and biased variance, and records the state updates
    ``running_mean <- (1 - momentum) * running_mean + momentum * mean_B`` and
    ``running_var <- (1 - momentum) * running_var + momentum * var_B * m / (m - 1)``
    (``m`` values per feature; the unbiased variance, as ``torch.nn.BatchNorm1d``).
    Prediction (``deterministic=True``): the running statistics replace the batch ones.
    Ioffe & Szegedy, ICML 2015, arXiv:1502.03167.

    Like ``lasagne.layers.BatchNormLayer``, with ``torch.nn.BatchNorm1d``'s conventions (momentum, unbiased
    running variance).

    Parameters
    ----------
    incoming : Layer
        Layer of shape ``(n, units)`` or ``(n, C, W)`` (features on axis 1).
    rng : numpy.random.Generator
        Passed to the (constant) initialisers.
    momentum, eps : float
        As ``torch.nn.BatchNorm1d`` (defaults 0.1 and 1e-5).
    name : str, optional

    Output: the input's shape, float32 for float32 input.

    The running statistics are shared variables tagged neither trainable nor regularizable
    (``get_all_params(layer, trainable=True)`` leaves them out; they are saved with the model).
    """

    def __init__(self, incoming: Layer, rng: np.random.Generator, momentum: float = 0.1, eps: float = 1e-5,
                 name: str | None = None):
        super().__init__(incoming, name)
        self.units = output_units(incoming)
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.gamma = self.add_param(Constant(1.0), (self.units,), "gamma", rng)
        self.beta = self.add_param(Constant(0.0), (self.units,), "beta", rng)
        self.running_mean = self.add_param(Constant(0.0), (self.units,), "running_mean", rng, trainable=False)
        self.running_var = self.add_param(Constant(1.0), (self.units,), "running_var", rng, trainable=False)

    def get_output_for(self, incoming, deterministic: bool = False, **kwargs: bool):
        """Return ``gamma * (x - mean) / sqrt(var + eps) + beta``, the shape of ``x``.

        With ``deterministic`` the running statistics are used; otherwise the batch statistics, and the
        running-statistic updates are recorded in :attr:`state_updates`. ``batch_norm_use_averages``
        (Lasagne's switch) overrides ``deterministic`` for this layer: MC dropout samples with dropout on
        and the running statistics. The graph raises at run time (an ``Assert``) in training on a batch
        with one value per feature.
        """
        axes = (0,) if incoming.ndim == 2 else (0, 2)
        pattern = ("x", 0) if incoming.ndim == 2 else ("x", 0, "x")
        eps = np.float32(self.eps)
        if kwargs.get("batch_norm_use_averages", deterministic):
            mean, var = self.running_mean, self.running_var
        else:
            n_values = pt.prod([incoming.shape[a] for a in axes])
            incoming = _one_value_per_feature(incoming, pt.gt(n_values, 1))
            mean = incoming.mean(axis=axes)
            var = pt.sqr(incoming - mean.dimshuffle(*pattern)).mean(axis=axes)
            m = pt.cast(n_values, FLOATX)
            mom = np.float32(self.momentum)
            unbiased = var * m / pt.maximum(m - np.float32(1.0), np.float32(1.0))
            self.state_updates[self.running_mean] = (np.float32(1.0) - mom) * self.running_mean + mom * mean
            self.state_updates[self.running_var] = (np.float32(1.0) - mom) * self.running_var + mom * unbiased
        inv = self.gamma / pt.sqrt(var + eps)
        return (incoming - mean.dimshuffle(*pattern)) * inv.dimshuffle(*pattern) + self.beta.dimshuffle(*pattern)


_one_value_per_feature = Assert("BatchNormLayer: training needs more than one value per feature (a minibatch "
                                "of one molecule?); drop or merge that batch, or use deterministic=True")


class LayerNormLayer(Layer):
    """Layer normalisation over the last axis: ``gamma * (x - mean) / sqrt(var + eps) + beta``.

    Same in training and prediction (no state). Ba et al. 2016, arXiv:1607.06450; matches
    ``torch.nn.LayerNorm(units, eps)``.

    Parameters
    ----------
    incoming : Layer
        Any shape ``(..., units)``.
    rng : numpy.random.Generator
        Passed to the (constant) initialisers of ``gamma`` (1) and ``beta`` (0), shape ``(units,)``.
    eps : float
    name : str, optional

    Output: the input's shape, float32 for float32 input.
    """

    def __init__(self, incoming: Layer, rng: np.random.Generator, eps: float = 1e-5, name: str | None = None):
        super().__init__(incoming, name)
        self.units = output_units(incoming)
        self.eps = float(eps)
        self.gamma = self.add_param(Constant(1.0), (self.units,), "gamma", rng)
        self.beta = self.add_param(Constant(0.0), (self.units,), "beta", rng)

    def get_output_for(self, incoming, deterministic: bool = False, **kwargs: bool):
        """Return ``gamma * (x - mean) / sqrt(var + eps) + beta`` over the last axis, the shape of ``x``."""
        mean = incoming.mean(axis=-1, keepdims=True)
        var = pt.sqr(incoming - mean).mean(axis=-1, keepdims=True)
        return (incoming - mean) / pt.sqrt(var + np.float32(self.eps)) * self.gamma + self.beta


class StandardizeLayer(Layer):
    """Fixed standardisation of input features: ``(x - mean) / std``, non-finite inputs mapped to 0.

    The statistics are state, not weights (``trainable=False``): set them from the training data
    with :meth:`set_statistics` before training, as scikit-learn's ``StandardScaler.fit`` would; they
    are saved with the other parameters. Chemprop scales its extra molecule features the same way
    (``X_d_transform``). A missing or non-finite feature becomes 0, the training mean.

    Parameters
    ----------
    incoming : Layer
        ``(n, units)`` float32 features (NaN where missing).
    rng : numpy.random.Generator
        Passed to the initialisers (mean 0, std 1).
    name : str, optional

    Output: ``(n, units)`` float32, every entry finite.
    """

    def __init__(self, incoming: Layer, rng: np.random.Generator, name: str | None = None):
        super().__init__(incoming, name)
        self.units = output_units(incoming)
        self.mean = self.add_param(Constant(0.0), (self.units,), "mean", rng, trainable=False)
        self.std = self.add_param(Constant(1.0), (self.units,), "std", rng, trainable=False)

    def set_statistics(self, features: np.ndarray) -> None:
        """Set ``mean`` and ``std`` from ``(n, units)`` training features, over each column's finite values.

        A column without finite values gets mean 0; a constant one std 1 (both then map to 0).

        Raises
        ------
        ValueError
            If ``features`` is not ``(n, units)``.
        """
        values = np.asarray(features, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != self.units:
            raise ValueError(f"features must be (n, {self.units}), got {values.shape}")
        finite = np.isfinite(values)
        counts = finite.sum(axis=0)
        filled = np.where(finite, values, 0.0)
        mean = np.divide(filled.sum(axis=0), counts, out=np.zeros(self.units), where=counts > 0)
        spread = np.where(finite, values - mean, 0.0)
        std = np.sqrt(np.divide((spread ** 2).sum(axis=0), counts, out=np.zeros(self.units), where=counts > 0))
        self.mean.set_value(mean.astype(FLOATX))
        self.std.set_value(np.where(std > 0, std, 1.0).astype(FLOATX))

    def get_output_for(self, incoming, deterministic: bool = False, **kwargs: bool):
        """Return ``(x - mean) / std`` where ``x`` is finite, else 0, of ``x``'s shape."""
        scaled = (incoming - self.mean) / self.std
        return pt.switch(pt.isfinite(scaled), scaled, np.float32(0.0))
