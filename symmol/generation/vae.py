"""A SMILES variational autoencoder: a GRU encoder to a Gaussian latent code, a GRU decoder conditioned on it.

MOSES's VAE (Polykovskiy et al., Front. Pharmacol. 2020, doi:10.3389/fphar.2020.565644; after
Gómez-Bombarelli et al., ACS Cent. Sci. 2018, doi:10.1021/acscentsci.7b00572), on the token ids of
:class:`~symmol.generation.language_model.SmilesLanguageModel` (``^ t_1 ... t_m $``, shared token
embedding):

* **encoder**: the embedded sequence through a GRU of ``encoder_units`` (its state at the last real
  token, ``$``), then two linear maps to the mean ``mu`` and log-variance ``logvar`` of
  ``q(z | x) = N(mu, diag(exp(logvar)))``, ``z`` of ``latent`` dimensions;
* **decoder**: ``layers`` stacked GRUs of ``units`` whose initial states are a linear map of ``z`` and
  whose input at every step is the previous token's embedding with ``z`` appended; a linear layer over
  the vocabulary (padding and ``^`` masked, as in the language model);
* **training**: the reparameterised ``z = mu + exp(logvar / 2) * eps`` (``eps ~ N(0, I)`` drawn by a NumPy
  generator kept in the run's checkpoint) and the objective ``reconstruction + w * KL``: the
  reconstruction is the cross-entropy per predicted token, the KL term
  ``0.5 * sum(exp(logvar) + mu**2 - 1 - logvar)`` per molecule (batch means, MOSES's normalisation), its
  weight ``w`` rising linearly from 0 to ``kl_weight`` over the first ``kl_warmup`` steps (MOSES anneals
  0 → 0.05 over its epochs; steps suit runs bounded by ``--max-time``); gradients clipped to a global
  norm of 50 (MOSES's ``clip_grad``).

MOSES's settings, the defaults here: encoder 256, latent 128, decoder 3 × 512, ``kl_weight`` 0.05. The
encoder is unidirectional (MOSES's default ``q_bidir=False``); the embedding is learned, 64 wide (MOSES
initialises an embedding as wide as its vocabulary).

Sampling from the prior draws ``z ~ N(0, I)`` and decodes it as the language model samples (Gumbel-max
at a temperature, inside one compiled ``scan``); the ``log_likelihood`` of a sample is
``log p(x | z)`` of the ``z`` it was decoded from. :meth:`SmilesVAE.log_likelihood` of given SMILES is
the evidence lower bound at the posterior mean, ``log p(x | mu) - KL(q(z | x) || p(z))``.
Reconstruction decodes ``mu`` greedily (the most likely token at each step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
from rdkit import Chem, rdBase

from symmol.compile import get_backend_mode
from symmol.generation.language_model import (
    END,
    PAD,
    LanguageModelSpec,
    SmilesLanguageModel,
    checked_samples,
    token_mask,
)
from symmol.generation.registry import GenerativeKind, register_generative_kind
from symmol.models.options import positive_int
from symmol.models.registry import Option
from symmol.nn.layers import DenseLayer, EmbeddingLayer, GRULayer, InputLayer, get_output
from symmol.nn.updates import adam, total_norm_constraint

__all__ = ["VAE", "SmilesVAE", "SmilesVAESpec"]

FORMAT = "symmol-smiles-vae"
#: Global gradient norm the steps are clipped to (MOSES's ``clip_grad``).
MAX_GRAD_NORM = 50.0
#: Validation SMILES whose reconstruction ``held_out_metrics`` checks (a subsample beyond).
RECONSTRUCTED_ROWS = 1000


@dataclass(frozen=True)
class SmilesVAESpec(LanguageModelSpec):
    """The architecture, vocabulary and KL schedule of a :class:`SmilesVAE` (stored in ``model.json``).

    The language model's fields (``units`` and ``layers`` are the decoder's; the embedding is 64 wide by
    default) and:

    Attributes
    ----------
    encoder_units, latent
        Encoder GRU width and latent dimensions.
    kl_weight, kl_warmup
        Final weight of the KL term and the training steps over which it rises linearly from 0.
    """

    embedding: int = 64
    encoder_units: int = 256
    latent: int = 128
    kl_weight: float = 0.05
    kl_warmup: int = 5000

    def __post_init__(self) -> None:
        super().__post_init__()
        if min(self.encoder_units, self.latent) < 1:
            raise ValueError("encoder_units and latent must be positive")
        if not self.kl_weight >= 0 or self.kl_warmup < 0:
            raise ValueError(f"kl_weight and kl_warmup must be >= 0, got {self.kl_weight}, {self.kl_warmup}")


class SmilesVAE(SmilesLanguageModel):
    """A SMILES VAE (see the module docstring); trained, checkpointed and sampled like the language model.

    Parameters
    ----------
    spec : SmilesVAESpec
    backend : str
        PyTensor backend of the compiled functions (``numba`` by default).
    """

    FORMAT: ClassVar[str] = FORMAT
    SPEC: ClassVar[type] = SmilesVAESpec
    CHECKPOINT_FORMAT: ClassVar[str] = FORMAT + "-checkpoint"
    EXACT_LIKELIHOOD: ClassVar[bool] = False

    spec: SmilesVAESpec

    def _build(self, rng: np.random.Generator) -> None:
        spec = self.spec
        self.input_layer = InputLayer((None, None), dtype="int32", name="tokens")
        self.mask_layer = InputLayer((None, None), name="token_mask")
        self.embedding = EmbeddingLayer(self.input_layer, spec.n_tokens, spec.embedding, rng, name="embedding")
        self.encoder = GRULayer(self.embedding, spec.encoder_units, rng, mask=self.mask_layer, only_return_final=True,
                                name="encoder")
        self.mu_layer = DenseLayer(self.encoder, spec.latent, rng, nonlinearity="identity", name="mu")
        self.logvar_layer = DenseLayer(self.encoder, spec.latent, rng, nonlinearity="identity", name="logvar")
        self.z_layer = InputLayer((None, spec.latent), name="z")
        self.decoder_input = InputLayer((None, None, spec.embedding + spec.latent), name="decoder_input")
        self.initial_state = DenseLayer(self.z_layer, spec.units, rng, nonlinearity="identity", name="latent_to_state")
        self.grus: list[GRULayer] = []
        layer: Any = self.decoder_input
        for i in range(spec.layers):
            layer = GRULayer(layer, spec.units, rng, hid_init=self.initial_state, mask=self.mask_layer, name=f"gru{i}")
            self.grus.append(layer)
        self.head = DenseLayer(InputLayer((None, spec.units)), spec.n_tokens, rng, nonlinearity="identity",
                               name="output")
        self._kl_weight = pytensor.shared(np.float32(0.0), name="kl_weight")
        self._noise = np.random.default_rng(spec.seed + 1)
        self.steps = 0
        self._encode_fn: Any = None
        self._decode_fn: Any = None

    def _output_layers(self) -> list[Any]:
        return [self.mu_layer, self.logvar_layer, self.grus[-1], self.head]

    @classmethod
    def for_training(cls, smiles: Sequence[str], options: dict[str, Any], seed: int = 0,
                     backend: str = "numba") -> SmilesVAE:
        """Return a new model with the vocabulary of ``smiles`` and the ``vae`` kind's ``options`` (:data:`VAE`).

        Raises
        ------
        ValueError
            If a SMILES does not tokenize, or an option is out of range.
        """
        return cls(SmilesVAESpec(cls.build_vocabulary(smiles), embedding=options["embedding"],
                                 encoder_units=options["encoder_units"], latent=options["latent"],
                                 units=options["rnn_units"], layers=options["rnn_layers"],
                                 max_length=options["max_length"], kl_weight=options["kl_weight"],
                                 kl_warmup=options["kl_warmup"], seed=seed), backend)

    # -- graphs ----------------------------------------------------------------------------
    def _posterior(self, tokens: pt.TensorVariable) -> tuple[Any, Any]:
        """Symbolic ``mu`` and ``logvar`` ``(n, latent)`` of token rows ``(n, L)``."""
        state = get_output(self.encoder, inputs={self.input_layer: tokens, self.mask_layer: token_mask(tokens)})
        return (get_output(self.mu_layer, inputs={self.encoder: state}),
                get_output(self.logvar_layer, inputs={self.encoder: state}))

    def _decoder_states(self, inputs: pt.TensorVariable, z: Any = None) -> Any:
        """Return the decoder states ``(n, L, units)`` reading token rows ``inputs`` ``(n, L)`` given ``z``."""
        embedded = self.embedding.W[inputs]
        repeated = pt.broadcast_to(z[:, None, :], (inputs.shape[0], inputs.shape[1], self.spec.latent))
        return get_output(self.grus[-1], inputs={self.decoder_input: pt.concatenate([embedded, repeated], axis=2),
                                                 self.z_layer: z, self.mask_layer: token_mask(inputs)})

    @staticmethod
    def _kl(mu: Any, logvar: Any) -> Any:
        """``(n,)`` KL divergence of ``N(mu, exp(logvar))`` from ``N(0, I)``."""
        return 0.5 * pt.sum(pt.exp(logvar) + pt.sqr(mu) - 1.0 - logvar, axis=1)

    def log_likelihood_graph(self, tokens: pt.TensorVariable) -> pt.TensorVariable:
        """Symbolic ``(n,)`` evidence lower bound at the posterior mean: ``log p(x | mu) - KL``."""
        mu, logvar = self._posterior(tokens)
        return pt.sum(self._token_log_likelihoods(tokens, mu), axis=1) - self._kl(mu, logvar)

    def _compile_training(self, learning_rate: float) -> None:
        tokens = pt.imatrix("tokens")
        eps = pt.matrix("eps", dtype="float32")
        mu, logvar = self._posterior(tokens)
        z = mu + pt.exp(np.float32(0.5) * logvar) * eps
        token_ll = self._token_log_likelihoods(tokens, z)
        reconstruction = -pt.sum(token_ll) / pt.sum(pt.neq(tokens[:, 1:], PAD))
        kl = pt.mean(self._kl(mu, logvar))
        loss = reconstruction + self._kl_weight * kl
        params = self.params()
        gradients = total_norm_constraint(cast(list, pytensor.gradient.grad(loss, params)), MAX_GRAD_NORM)
        updates = adam(gradients, params, learning_rate)
        self._optimizer_state = [v for v in updates if not any(v is p for p in params)]
        self._train_fn = pytensor.function([tokens, eps], [loss, reconstruction, kl], updates=updates,
                                           mode=get_backend_mode(self.backend))

    def kl_weight_at(self, step: int) -> float:
        """Return the KL weight of step ``step`` (0-based): linear from 0 to ``kl_weight`` over ``kl_warmup``."""
        if self.spec.kl_warmup == 0:
            return float(self.spec.kl_weight)
        return float(self.spec.kl_weight) * min(1.0, step / self.spec.kl_warmup)

    def train_step(self, tokens: np.ndarray, learning_rate: float = 1e-3) -> float:
        """One Adam step on token rows ``(n, L)`` int32; return the objective ``reconstruction + w * KL``.

        ``eps`` comes from the model's own generator (kept in checkpoints), ``w`` from :meth:`kl_weight_at`.
        The step compiles on the first call with that call's ``learning_rate``, which later calls keep.
        """
        if self._train_fn is None:
            self._compile_training(learning_rate)
        self._kl_weight.set_value(np.float32(self.kl_weight_at(self.steps)))
        eps = self._noise.standard_normal((len(tokens), self.spec.latent), dtype=np.float32)
        loss, self.last_reconstruction, self.last_kl = (float(v) for v in self._train_fn(tokens, eps))
        self.steps += 1
        return loss

    def _checkpoint_state(self) -> dict[str, Any]:
        return {"steps": self.steps, "noise": self._noise.bit_generator.state}

    def _restore_checkpoint_state(self, state: dict[str, Any]) -> None:
        if state:
            self.steps = int(state["steps"])
            self._noise.bit_generator.state = state["noise"]

    def _compile_sampler(self) -> None:
        """``(z (n, latent), noise (T, n, V), inverse temperature) -> (ids (S, n), log-probabilities (S, n))``."""
        z = pt.matrix("z", dtype="float32")
        noise = pt.tensor3("gumbel", dtype="float32")
        inverse_temperature = pt.scalar("inverse_temperature", dtype="float32")
        h0 = get_output(self.initial_state, inputs={self.z_layer: z})
        ids, log_p = self._sampling_scan(noise, inverse_temperature, h0, z)
        self._sample_fn = pytensor.function([z, noise, inverse_temperature], [ids, log_p],
                                            mode=get_backend_mode(self.backend))

    def _step_input(self, previous: pt.TensorVariable, z: Any = None) -> pt.TensorVariable:
        """Return the previous token's embedding and the code ``z``, side by side."""
        return pt.concatenate([self.embedding.W[previous], z], axis=1)

    def _draw(self, gumbel: np.ndarray, inverse_temperature: np.float32,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Decode ``z ~ N(0, I)`` (drawn from ``rng``) with Gumbel noise ``(T, n, V)``."""
        z = rng.standard_normal((gumbel.shape[1], self.spec.latent), dtype=np.float32)
        return self._sample_fn(z, gumbel, inverse_temperature)

    # -- the latent space ------------------------------------------------------------------
    def encode_latent(self, smiles: Sequence[str], batch_size: int = 512) -> np.ndarray:
        """``(n, latent)`` float32 posterior means ``mu``; NaN rows for SMILES the model cannot read."""
        if self._encode_fn is None:
            tokens = pt.imatrix("tokens")
            self._encode_fn = pytensor.function([tokens], self._posterior(tokens)[0],
                                                mode=get_backend_mode(self.backend))
        ids, fits = self.encode(smiles)
        out = np.full((len(smiles), self.spec.latent), np.nan, dtype=np.float32)
        rows = np.flatnonzero(fits)
        lengths = (ids != PAD).sum(axis=1)
        for first in range(0, rows.size, batch_size):
            chosen = rows[first:first + batch_size]
            out[chosen] = self._encode_fn(np.ascontiguousarray(ids[chosen, :int(lengths[chosen].max())]))
        return out

    def decode_latent(self, z: np.ndarray, batch_size: int = 256) -> pd.DataFrame:
        """Decode latent points ``(n, latent)`` greedily (the most likely token at each step).

        Returns
        -------
        DataFrame
            ``smiles``, ``status``, ``error`` and ``log_likelihood`` (``log p(x | z)``), one row per point.
        """
        if self._sample_fn is None:
            self._compile_sampler()
        z = np.ascontiguousarray(z, dtype=np.float32)
        steps = self.spec.max_length + 1
        rows: list[tuple[str, bool, float]] = []
        for first in range(0, len(z), batch_size):
            chunk = z[first:first + batch_size]
            ids, log_p = self._sample_fn(chunk, np.zeros((steps, len(chunk), self.spec.n_tokens), np.float32),
                                         np.float32(1.0))
            ids, log_p = np.asarray(ids).T, np.asarray(log_p).T
            for row in range(len(chunk)):
                ends = np.flatnonzero(ids[row] == END)
                length = int(ends[0]) + 1 if ends.size else steps
                rows.append((self.decode(ids[row, :length]), bool(ends.size), float(log_p[row, :length].sum())))
        return checked_samples(rows)

    def reconstruct(self, smiles: Sequence[str]) -> pd.DataFrame:
        """Greedy decodings of the posterior means of ``smiles`` (rows the model cannot read: ``invalid``)."""
        mu = self.encode_latent(smiles)
        fits = ~np.isnan(mu).any(axis=1)
        decoded = self.decode_latent(np.nan_to_num(mu[fits]))
        out = pd.DataFrame({"smiles": [""] * len(smiles), "status": "invalid",
                            "error": "outside the vocabulary or max_length", "log_likelihood": np.nan})
        out.loc[fits, decoded.columns] = decoded.to_numpy()
        return out

    def reconstruction_accuracy(self, smiles: Sequence[str]) -> float:
        """Share of the readable ``smiles`` whose greedy reconstruction is the same molecule (canonical SMILES).

        Returns NaN when the model reads none of them.
        """
        mu = self.encode_latent(smiles)
        fits = np.flatnonzero(~np.isnan(mu).any(axis=1))
        if not fits.size:
            return float("nan")
        decoded = self.decode_latent(mu[fits])["smiles"].tolist()
        same = 0
        with rdBase.BlockLogs():
            for index, candidate in zip(fits, decoded, strict=True):
                original, rebuilt = Chem.MolFromSmiles(smiles[int(index)]), Chem.MolFromSmiles(candidate)
                same += bool(original is not None and rebuilt is not None
                             and Chem.MolToSmiles(original) == Chem.MolToSmiles(rebuilt))
        return same / fits.size

    def interpolate(self, start: str, end: str, n: int = 10) -> pd.DataFrame:
        """Decode ``n`` evenly spaced points on the line between the posterior means of two SMILES.

        Returns
        -------
        DataFrame
            ``t`` (0 at ``start``, 1 at ``end``), then :meth:`decode_latent`'s columns.

        Raises
        ------
        ValueError
            If ``n < 2`` or the model cannot read either SMILES.
        """
        if n < 2:
            raise ValueError(f"an interpolation needs at least 2 points, got {n}")
        mu = self.encode_latent([start, end])
        unread = [s for s, row in zip((start, end), mu, strict=True) if np.isnan(row).any()]
        if unread:
            raise ValueError(f"the model cannot read {unread[0]!r} (a token outside its vocabulary, or longer than "
                             f"max_length {self.spec.max_length})")
        t = np.linspace(0.0, 1.0, n, dtype=np.float32)
        decoded = self.decode_latent((1 - t)[:, None] * mu[0] + t[:, None] * mu[1])
        decoded.insert(0, "t", t)
        return decoded

    def held_out_metrics(self, smiles: Sequence[str], seed: int = 0) -> dict[str, Any]:
        """``reconstruction_accuracy`` on (up to :data:`RECONSTRUCTED_ROWS` of) held-out SMILES."""
        rows = np.arange(len(smiles))
        if rows.size > RECONSTRUCTED_ROWS:
            rows = np.sort(np.random.default_rng(seed).choice(rows, RECONSTRUCTED_ROWS, replace=False))
        return {"reconstruction_accuracy": self.reconstruction_accuracy([smiles[int(i)] for i in rows]),
                "rows_reconstructed": int(rows.size)}


def _non_negative_float(value: Any) -> float:
    number = float(value)
    if not number >= 0:
        raise ValueError(f"must be a number >= 0, got {value!r}")
    return number


def _non_negative_int(value: Any) -> int:
    number = int(value)
    if number < 0 or number != float(value):
        raise ValueError(f"must be an integer >= 0, got {value!r}")
    return number


#: ``--architecture vae`` (``--task generation``).
VAE = register_generative_kind(GenerativeKind(
    name="vae",
    model_class=SmilesVAE,
    description="SMILES variational autoencoder: GRU encoder to a Gaussian latent code, GRU decoder conditioned on "
                "it, KL annealing (MOSES's VAE; --task generation)",
    options=(
        Option("embedding", 64, "units of the token embeddings", parse=positive_int),
        Option("encoder_units", 256, "units of the encoder GRU", parse=positive_int),
        Option("latent", 128, "dimensions of the latent code", parse=positive_int),
        Option("rnn_units", 512, "units of each decoder GRU", parse=positive_int),
        Option("rnn_layers", 3, "stacked decoder GRUs", parse=positive_int),
        Option("max_length", 100, "longest token sequence learned and sampled (longer SMILES are skipped)",
               parse=positive_int),
        Option("kl_weight", 0.05, "final weight of the KL term", parse=_non_negative_float),
        Option("kl_warmup", 5000, "training steps over which the KL weight rises linearly from 0",
               parse=_non_negative_int),
    ),
))
