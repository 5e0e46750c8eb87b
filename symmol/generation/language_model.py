"""A SMILES language model: stacked GRUs over regex tokens, trained by teacher forcing, sampled in a compiled scan.

The network of REINVENT's prior and MOSES's CharRNN (Olivecrona et al., J. Cheminform. 2017,
doi:10.1186/s13321-017-0235-x; Segler et al., ACS Cent. Sci. 2018, doi:10.1021/acscentsci.7b00512):
token embedding → ``layers`` GRUs of ``units`` → a linear layer over the vocabulary. A SMILES is read as
``^ t_1 ... t_m $`` (Schwaller et al.'s tokens, :func:`symmol.featurizers.tokens.tokenize_smiles`); the
model is trained to predict each next token (teacher forcing, cross-entropy per token).

Sampling runs the GRU cells step by step inside one compiled ``scan``: at step ``t`` the next token is
``argmax(logits / temperature + g)`` with ``g`` standard Gumbel noise, which draws it from
``softmax(logits / temperature)`` exactly (the Gumbel-max trick; Gumbel, 1954). The noise comes from a
NumPy generator seeded by the caller, so a seed gives the same molecules on every backend. A sequence
stops at ``$``; its log-likelihood is the sum of ``log softmax(logits)`` (temperature 1) of its
tokens, ``$`` included.

Ids: 0 padding, 1 ``^`` (start), 2 ``$`` (end), then the vocabulary's tokens. Padding and ``^`` never
follow a token: the softmax runs over ``$`` and the vocabulary only (their logits are masked), in
training, scoring and sampling alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
from pytensor.scan.utils import until
from rdkit import Chem, rdBase
from tqdm.auto import tqdm

from symmol.compile import WHILE_SCAN_BACKENDS, get_backend_mode
from symmol.compile.heap import retained_heap
from symmol.featurizers.tokens import tokenize_smiles
from symmol.generation.registry import GenerativeKind, register_generative_kind
from symmol.models.options import positive_int
from symmol.models.registry import Option
from symmol.nn.layers import DenseLayer, EmbeddingLayer, GRULayer, InputLayer, get_all_param_values, get_output
from symmol.nn.layers.helper import get_all_params, set_all_param_values
from symmol.nn.updates import adam

__all__ = ["BEGIN", "END", "GRU", "PAD", "SPECIAL_TOKENS", "LanguageModelSpec", "SmilesLanguageModel",
           "checked_samples", "token_mask"]

PAD, BEGIN, END = 0, 1, 2
SPECIAL_TOKENS = ("<pad>", "^", "$")
#: Added to the logits of padding and ``^``: they never come next (exp underflows to exactly 0).
MASKED_LOGIT = -1e9
FORMAT = "symmol-smiles-language-model"
CHECKPOINT_FORMAT = "symmol-smiles-language-model-checkpoint"


@dataclass(frozen=True)
class LanguageModelSpec:
    """The architecture and vocabulary of a :class:`SmilesLanguageModel` (stored in ``model.json``).

    Attributes
    ----------
    vocabulary
        The tokens, ids from 3 in this order.
    embedding, units, layers
        Embedding width, GRU width and number of stacked GRUs (REINVENT's prior: 256, 512, 3).
    max_length
        Longest token sequence sampled (``$`` excluded); longer training SMILES are left out.
    seed
        Initial weights.
    """

    vocabulary: tuple[str, ...]
    embedding: int = 256
    units: int = 512
    layers: int = 3
    max_length: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.vocabulary or len(set(self.vocabulary)) != len(self.vocabulary):
            raise ValueError("the vocabulary must be a non-empty sequence of distinct tokens")
        if min(self.embedding, self.units, self.layers, self.max_length) < 1:
            raise ValueError("embedding, units, layers and max_length must be positive")

    @property
    def n_tokens(self) -> int:
        """Output width: the vocabulary plus padding, start and end."""
        return len(self.vocabulary) + len(SPECIAL_TOKENS)


class SmilesLanguageModel:
    """A GRU language model over SMILES tokens (see the module docstring).

    Parameters
    ----------
    spec : LanguageModelSpec
    backend : str
        PyTensor backend of the compiled functions (``numba`` by default).
    """

    FORMAT: ClassVar[str] = FORMAT
    #: The spec class stored in ``model.json``.
    SPEC: ClassVar[type] = LanguageModelSpec
    #: ``format`` of the checkpoints of a run.
    CHECKPOINT_FORMAT: ClassVar[str] = CHECKPOINT_FORMAT
    #: :meth:`log_likelihood_graph` is the exact log-probability of sampling the sequence (what policy
    #: gradient needs); a VAE's is a bound.
    EXACT_LIKELIHOOD: ClassVar[bool] = True

    def __init__(self, spec: Any, backend: str = "numba"):
        self.spec = spec
        self.backend = backend
        self._ids = {token: i + len(SPECIAL_TOKENS) for i, token in enumerate(spec.vocabulary)}
        self._tokens = np.array([*SPECIAL_TOKENS, *spec.vocabulary], dtype=object)
        self._logit_mask = np.zeros(spec.n_tokens, dtype=np.float32)
        self._logit_mask[[PAD, BEGIN]] = MASKED_LOGIT
        self._train_fn: Any = None
        self._optimizer_state: list[Any] = []
        self.seconds_trained = 0.0
        self._nll_fn: Any = None
        self._sample_fn: Any = None
        self._build(np.random.default_rng(spec.seed))

    def _build(self, rng: np.random.Generator) -> None:
        """Create the layers: token embedding, the GRU stack, the output layer."""
        spec = self.spec
        self.input_layer = InputLayer((None, None), dtype="int32", name="tokens")
        self.mask_layer = InputLayer((None, None), name="token_mask")  # padding: the GRUs skip it
        self.embedding = EmbeddingLayer(self.input_layer, spec.n_tokens, spec.embedding, rng, name="embedding")
        self.grus: list[GRULayer] = []
        layer: Any = self.embedding
        for i in range(spec.layers):
            layer = GRULayer(layer, spec.units, rng, mask=self.mask_layer, name=f"gru{i}")
            self.grus.append(layer)
        self.head = DenseLayer(InputLayer((None, spec.units)), spec.n_tokens, rng, nonlinearity="identity",
                               name="output")

    def _output_layers(self) -> list[Any]:
        """Layers whose parameters (with those below them) are the model's."""
        return [self.grus[-1], self.head]

    @classmethod
    def for_training(cls, smiles: Sequence[str], options: dict[str, Any], seed: int = 0,
                     backend: str = "numba") -> SmilesLanguageModel:
        """Return a new model with the vocabulary of ``smiles`` and the ``gru`` kind's ``options``.

        Parameters
        ----------
        smiles : sequence of str
            The training SMILES (their tokens make the vocabulary).
        options : dict
            ``embedding``, ``rnn_units``, ``rnn_layers``, ``max_length`` (:data:`GRU`'s options).
        seed : int
            Initial weights.

        Raises
        ------
        ValueError
            If a SMILES does not tokenize, or an option is not positive.
        """
        return cls(LanguageModelSpec(cls.build_vocabulary(smiles), embedding=options["embedding"],
                                     units=options["rnn_units"], layers=options["rnn_layers"],
                                     max_length=options["max_length"], seed=seed), backend)

    # -- tokens ----------------------------------------------------------------------------
    @classmethod
    def build_vocabulary(cls, smiles: Iterable[str]) -> tuple[str, ...]:
        """Every token of ``smiles``, sorted (a SMILES that does not tokenize raises ``ValueError``)."""
        return tuple(sorted({token for s in smiles for token in tokenize_smiles(s)}))

    def encode(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids ``(n, L + 2)`` int32 (``^ ... $`` then padding) and a mask of which SMILES fit.

        A SMILES fits when it tokenizes, every token is in the vocabulary and it has at most
        ``max_length`` tokens; rows of those that do not are all padding.
        """
        rows, fits = [], np.zeros(len(smiles), dtype=bool)
        for i, s in enumerate(smiles):
            try:
                ids = [self._ids[t] for t in tokenize_smiles(s)]
            except (KeyError, ValueError, TypeError):
                ids = None
            if ids is not None and len(ids) <= self.spec.max_length:
                fits[i] = True
                rows.append([BEGIN, *ids, END])
            else:
                rows.append([])
        width = max((len(r) for r in rows), default=2)
        out = np.full((len(smiles), max(width, 2)), PAD, dtype=np.int32)
        for i, r in enumerate(rows):
            out[i, :len(r)] = r
        return out, fits

    def decode(self, ids: np.ndarray) -> str:
        """Return the SMILES of a sampled id row (tokens up to the first ``$``, padding and ``^`` dropped)."""
        tokens = []
        for i in ids:
            if i == END:
                break
            if i > END:
                tokens.append(self._tokens[i])
        return "".join(tokens)

    # -- graphs ----------------------------------------------------------------------------
    def params(self) -> list:
        """Every trainable parameter (embedding, GRUs, output layer), in a fixed order."""
        unique: dict[int, Any] = {}
        for layer in self._output_layers():
            for param in get_all_params(layer):
                unique.setdefault(id(param), param)
        return list(unique.values())

    def _decoder_states(self, inputs: pt.TensorVariable, z: Any = None) -> Any:
        """States ``(n, L, units)`` of the top GRU reading token rows ``inputs`` ``(n, L)`` (``z``: a VAE's code).

        Padding steps keep the state (the GRUs' mask): causal states at the real steps are the same
        either way, and rows sorted by decreasing length let the recurrence skip finished rows.
        """
        return get_output(self.grus[-1], inputs={self.input_layer: inputs, self.mask_layer: token_mask(inputs)})

    def _token_log_likelihoods(self, tokens: pt.TensorVariable, z: Any = None) -> pt.TensorVariable:
        """``(n, L - 1)`` log-probability of each next token under teacher forcing (0 at padding)."""
        states = self._decoder_states(tokens[:, :-1], z)  # (n, L-1, units)
        logits = pt.dot(states, self.head.W) + self.head.b + self._logit_mask  # (n, L-1, V)
        log_p = logits - pt.logsumexp(logits, axis=2, keepdims=True)
        targets = tokens[:, 1:]
        n, steps = targets.shape
        picked = log_p.reshape((n * steps, self.spec.n_tokens))[pt.arange(n * steps), targets.flatten()]
        return picked.reshape((n, steps)) * pt.neq(targets, PAD)

    def log_likelihood_graph(self, tokens: pt.TensorVariable) -> pt.TensorVariable:
        """Symbolic ``(n,)`` log-likelihood (natural log) of token rows ``(n, L)`` (``^ ... $`` then padding)."""
        return pt.sum(self._token_log_likelihoods(tokens), axis=1)

    def _compile_training(self, learning_rate: float) -> None:
        tokens = pt.imatrix("tokens")
        token_ll = self._token_log_likelihoods(tokens)
        loss = -pt.sum(token_ll) / pt.sum(pt.neq(tokens[:, 1:], PAD))
        params = self.params()
        updates = adam(loss, params, learning_rate)
        self._optimizer_state = [v for v in updates if not any(v is p for p in params)]  # moments, step count
        mode = get_backend_mode(self.backend)
        self._train_fn = pytensor.function([tokens], loss, updates=updates, mode=mode)

    def _compile_log_likelihood(self) -> None:
        tokens = pt.imatrix("tokens")
        self._nll_fn = pytensor.function([tokens], self.log_likelihood_graph(tokens),
                                         mode=get_backend_mode(self.backend))

    def _compile_sampler(self) -> None:
        """``(noise (T, n, V), inverse temperature) -> (ids (S, n), log-likelihoods (S, n))``, one scan."""
        noise = pt.tensor3("gumbel", dtype="float32")
        inverse_temperature = pt.scalar("inverse_temperature", dtype="float32")
        h0 = pt.zeros((noise.shape[1], self.spec.units), dtype="float32")
        ids, log_p = self._sampling_scan(noise, inverse_temperature, h0)
        self._sample_fn = pytensor.function([noise, inverse_temperature], [ids, log_p],
                                            mode=get_backend_mode(self.backend))

    def _step_input(self, previous: pt.TensorVariable, z: Any = None) -> pt.TensorVariable:
        """Return the first GRU's input at a sampling step: the previous token's embedding (a VAE adds its code)."""
        return self.embedding.W[previous]

    def _sampling_scan(self, noise: pt.TensorVariable, inverse_temperature: pt.TensorVariable,
                       h0: pt.TensorVariable, z: Any = None) -> tuple[pt.TensorVariable, pt.TensorVariable]:
        """Gumbel-max sampling ``(ids (S, n), log-probabilities (S, n))`` over noise ``(T, n, V)``.

        Every GRU starts from ``h0``. On backends that compile a stopping scan
        (:data:`~symmol.compile.WHILE_SCAN_BACKENDS`) it stops after the step at which every row has
        drawn ``$`` (``S <= T``), as a hand-written sampling loop does; elsewhere ``S = T``.
        """
        stops = self.backend in WHILE_SCAN_BACKENDS
        n = noise.shape[1]
        start = pt.alloc(np.int32(BEGIN), n)
        none_ended = pt.zeros((n,), dtype="bool")

        def step(g, previous, ended, *states):
            x = self._step_input(previous, z)
            new_states = []
            for gru, h in zip(self.grus, states, strict=True):
                x = gru.step(gru.project(x), h)
                new_states.append(x)
            logits = pt.dot(x, self.head.W) + self.head.b + self._logit_mask
            log_p = logits - pt.logsumexp(logits, axis=1, keepdims=True)
            token = pt.cast(pt.argmax(logits * inverse_temperature + g, axis=1), "int32")
            now_ended = ended | pt.eq(token, END)
            outputs = [token, log_p[pt.arange(n), token], now_ended, *new_states]
            return (outputs, until(pt.all(now_ended))) if stops else outputs

        outputs = pytensor.scan(step, sequences=[noise],
                                outputs_info=[start, None, none_ended, *([h0] * len(self.grus))], return_updates=False)
        return outputs[0], outputs[1]

    # -- training --------------------------------------------------------------------------
    def fit(self, smiles: Sequence[str], epochs: int | None = 10, max_time: float | None = None,
            batch_size: int = 128, learning_rate: float = 1e-3, seed: int = 0, progress: bool = False,
            started: float | None = None, validation: Sequence[str] | None = None,
            checkpoint: str | Path | None = None, checkpoint_every: float = 300.0) -> list[dict[str, Any]]:
        """Train on ``smiles`` by teacher forcing (Adam), ``epochs`` passes or until ``max_time`` seconds.

        Parameters
        ----------
        smiles : sequence of str
            Training SMILES; those that do not fit the vocabulary or ``max_length`` are left out (the
            history's ``skipped``).
        epochs : int, optional
            Passes over the data in all (resumed runs included); ``None`` with ``max_time`` trains until
            time is up.
        max_time : float, optional
            Wall seconds from ``started`` (``time.perf_counter()``; default: the call), compilation
            included; training stops after the first batch past it (at least one batch runs).
        batch_size, learning_rate, seed
            Minibatch size, Adam's rate, the shuffling seed.
        progress : bool
            A progress bar over the batches with the loss and tokens/s.
        validation : sequence of str, optional
            SMILES scored after every epoch (the history's ``val_loss``).
        checkpoint : path, optional
            A ``.npz`` file holding the whole state of the run (parameters, Adam's moments, the epoch's
            order and position, the shuffling generator, the history), written every
            ``checkpoint_every`` seconds and when training stops. If it exists, training continues from
            it: no minibatch is repeated or skipped (the data and ``batch_size`` must be the same).

        Returns
        -------
        list of dict
            One entry per epoch: ``epoch``, ``loss`` (mean cross-entropy per token, nats), ``val_loss``
            (the same on ``validation``, if given), ``tokens_per_s``, ``seconds``, ``skipped``,
            ``complete`` (``False`` for an epoch that stopped part-way; it continues on resuming).

        Raises
        ------
        ValueError
            Without a stopping rule, if no SMILES fits, or if ``checkpoint`` was written for other data,
            another architecture or another batch size.
        """
        if epochs is None and max_time is None:
            raise ValueError("give epochs, max_time or both")
        started = time.perf_counter() if started is None else started
        tokens, fits = self.encode(smiles)
        tokens = tokens[fits]
        if not len(tokens):
            raise ValueError("none of the SMILES fits the vocabulary and max_length")
        if self._train_fn is None:
            self._compile_training(learning_rate)  # builds the step (Numba compiles it on the first batch)
        lengths = (tokens != PAD).sum(axis=1)
        fingerprint = _data_fingerprint(tokens, batch_size)
        state = _FitState(np.random.default_rng(seed))
        path = Path(checkpoint) if checkpoint is not None else None
        if path is not None and path.exists():
            state = self._load_checkpoint(path, fingerprint)
        last_saved = time.perf_counter()
        batches_per_epoch = -(-len(tokens) // batch_size)
        out_of_time = False
        done = state.epoch * batches_per_epoch + state.position // batch_size
        with tqdm(total=None if epochs is None else epochs * batches_per_epoch, initial=done, desc="train",
                  unit="batch", disable=not progress, leave=False) as bar, retained_heap():
            while not out_of_time and (epochs is None or state.epoch < epochs):
                if state.order is None:
                    state.begin_epoch(len(tokens))
                segment = time.perf_counter()
                assert state.order is not None
                while state.position < len(state.order):
                    rows = state.order[state.position:state.position + batch_size]
                    predicted = int(lengths[rows].sum() - len(rows))  # every token but ^ is predicted
                    rows = rows[np.argsort(-lengths[rows], kind="stable")]  # the GRUs skip finished rows
                    loss = self.train_step(tokens[rows, :int(lengths[rows].max())], learning_rate)
                    state.loss_sum += loss * predicted
                    state.counted += predicted
                    state.position += batch_size
                    bar.update()
                    elapsed = state.epoch_seconds + time.perf_counter() - segment
                    bar.set_postfix(epoch=state.epoch + 1, loss=f"{state.loss_sum / state.counted:.3f}",
                                    tokens_per_s=f"{state.counted / elapsed:,.0f}", refresh=False)
                    if max_time is not None and time.perf_counter() - started > max_time:
                        out_of_time = True
                        break
                    if path is not None and time.perf_counter() - last_saved > checkpoint_every:
                        self._save_checkpoint(path, state, fingerprint, time.perf_counter() - segment)
                        last_saved = time.perf_counter()
                state.epoch_seconds += time.perf_counter() - segment
                state.seconds_trained += time.perf_counter() - segment
                if state.position >= len(state.order):
                    entry = state.epoch_entry(int((~fits).sum()), complete=True)
                    if validation is not None:
                        entry["val_loss"] = self.mean_token_loss(validation)
                    state.history.append(entry)
                    state.epoch += 1
                    state.order = None
                    if progress:
                        shown = f", val {entry['val_loss']:.4f}" if "val_loss" in entry else ""
                        bar.write(f"epoch {entry['epoch']}: loss {entry['loss']:.4f}{shown}, "
                                  f"{entry['tokens_per_s']:,.0f} tokens/s")
            if path is not None:
                self._save_checkpoint(path, state, fingerprint, 0.0)
        self.seconds_trained = state.seconds_trained
        partial = [state.epoch_entry(int((~fits).sum()), complete=False)] if state.order is not None else []
        return [*state.history, *partial]

    # -- checkpoints -----------------------------------------------------------------------
    def _save_checkpoint(self, path: Path, state: _FitState, fingerprint: str, running: float) -> None:
        """Write the run's state to ``path`` atomically (a temporary file, then a rename)."""
        arrays = {f"param:{k}": v for k, v in self.get_param_values().items()}
        arrays.update({f"optimizer:{i}": np.asarray(v.get_value()) for i, v in enumerate(self._optimizer_state)})
        meta = {"format": self.CHECKPOINT_FORMAT, "spec": asdict(self.spec), "data": fingerprint,
                "model_state": self._checkpoint_state(), **state.to_json(running)}
        arrays["order"] = state.order if state.order is not None else np.zeros(0, dtype=np.int64)
        temporary = path.with_name(path.name + ".partial.npz")
        np.savez(temporary, allow_pickle=False, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(temporary, path)

    def _load_checkpoint(self, path: Path, fingerprint: str) -> _FitState:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            if meta.get("format") != self.CHECKPOINT_FORMAT:
                raise ValueError(f"{path}: not a checkpoint of a {type(self).__name__}")
            spec = {**meta["spec"], "vocabulary": tuple(meta["spec"]["vocabulary"])}
            if spec != asdict(self.spec) | {"vocabulary": self.spec.vocabulary}:
                raise ValueError(f"{path}: written for another architecture or vocabulary; start a new run")
            if meta["data"] != fingerprint:
                raise ValueError(f"{path}: written for other training rows or another batch size; resume with the "
                                 f"same data, split and --batch-size, or start a new run")
            self.set_param_values({k.split(":", 1)[1]: stored[k] for k in stored.files if k.startswith("param:")})
            for i, variable in enumerate(self._optimizer_state):
                variable.set_value(stored[f"optimizer:{i}"])
            self._restore_checkpoint_state(meta.get("model_state", {}))
            order = stored["order"] if meta["in_epoch"] else None
        return _FitState.from_json(meta, order)

    def _checkpoint_state(self) -> dict[str, Any]:
        """JSON state of the model's own training (beyond parameters and optimizer) kept in checkpoints."""
        return {}

    def _restore_checkpoint_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_checkpoint_state` returned."""

    def train_step(self, tokens: np.ndarray, learning_rate: float = 1e-3) -> float:
        """One Adam step on token rows ``(n, L)`` int32 (as :meth:`encode`); return the mean loss per token.

        The step compiles on the first call with that call's ``learning_rate``, which later calls keep.
        """
        if self._train_fn is None:
            self._compile_training(learning_rate)
        return float(self._train_fn(tokens))

    def mean_token_loss(self, smiles: Sequence[str]) -> float:
        """Mean cross-entropy per predicted token (nats) over the SMILES that fit; NaN if none does."""
        log_likelihood = self.log_likelihood(smiles)
        tokens, fits = self.encode(smiles)
        predicted = int((tokens[fits] != PAD).sum() - fits.sum())
        return float(-np.nansum(log_likelihood) / predicted) if predicted else float("nan")

    # -- scoring and sampling --------------------------------------------------------------
    def log_likelihood(self, smiles: Sequence[str], batch_size: int = 512) -> np.ndarray:
        """``(n,)`` float64 log-likelihood of each SMILES (natural log); NaN where it does not fit."""
        tokens, fits = self.encode(smiles)
        out = np.full(len(smiles), np.nan)
        out[fits] = self.token_log_likelihood(tokens[fits], batch_size)
        return out

    def token_log_likelihood(self, tokens: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """``(n,)`` float64 log-likelihood of token rows ``(n, L)`` int32 (``^ ... $``, padding: :meth:`encode`)."""
        if self._nll_fn is None:
            self._compile_log_likelihood()
        out = np.empty(len(tokens))
        lengths = (tokens != PAD).sum(axis=1)
        by_length = np.argsort(-lengths, kind="stable")  # the GRUs skip finished rows; batches pad less
        for first in range(0, len(tokens), batch_size):
            rows = by_length[first:first + batch_size]
            out[rows] = self._nll_fn(np.ascontiguousarray(tokens[rows, :int(lengths[rows].max())]))
        return out

    def sample(self, n: int, temperature: float = 1.0, seed: int = 0, batch_size: int = 256) -> pd.DataFrame:
        """Draw ``n`` SMILES.

        Returns
        -------
        DataFrame
            ``smiles``, ``status`` (``ok`` or ``invalid``: RDKit rejects it, or no ``$`` within
            ``max_length`` tokens), ``error``, ``log_likelihood`` (natural log, temperature 1, ``$``
            included), one row per sample in drawing order.

        Raises
        ------
        ValueError
            If ``n < 0`` or ``temperature <= 0``.
        """
        tokens, ended, log_likelihood = self.sample_tokens(n, temperature, seed, batch_size)
        return checked_samples([(self.decode(row[1:]), bool(end), float(ll))
                         for row, end, ll in zip(tokens, ended, log_likelihood, strict=True)])

    def sample_tokens(self, n: int, temperature: float = 1.0, seed: int = 0,
                      batch_size: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw ``n`` token rows: what :meth:`sample` decodes.

        Returns
        -------
        tokens : ndarray
            ``(n, L)`` int32: ``^``, the sampled tokens up to and including ``$``, then padding (a row
            without ``$`` holds ``max_length + 1`` sampled tokens).
        ended : ndarray
            ``(n,)`` bool, whether the row reached ``$``.
        log_likelihood : ndarray
            ``(n,)`` float64, natural log at temperature 1 of the sampled tokens.

        Raises
        ------
        ValueError
            If ``n < 0`` or ``temperature <= 0``.
        """
        if n < 0 or not temperature > 0:
            raise ValueError(f"need n >= 0 and temperature > 0, got n={n}, temperature={temperature}")
        if self._sample_fn is None:
            self._compile_sampler()
        rng = np.random.default_rng(seed)
        steps = self.spec.max_length + 1
        tokens = np.full((n, steps + 1), PAD, dtype=np.int32)
        tokens[:, 0] = BEGIN
        ended = np.zeros(n, dtype=bool)
        log_likelihood = np.zeros(n)
        for first in range(0, n, batch_size):
            count = min(batch_size, n - first)
            uniform = rng.random((steps, count, self.spec.n_tokens), dtype=np.float32)
            gumbel = -np.log(-np.log(np.clip(uniform, 1e-20, 1.0 - 1e-7)))
            ids, log_p = self._draw(gumbel.astype(np.float32), np.float32(1.0 / temperature), rng)
            ids, log_p = np.asarray(ids).T, np.asarray(log_p).T  # (count, steps)
            for row in range(count):
                ends = np.flatnonzero(ids[row] == END)
                length = int(ends[0]) + 1 if ends.size else ids.shape[1]
                tokens[first + row, 1:length + 1] = ids[row, :length]
                ended[first + row] = bool(ends.size)
                log_likelihood[first + row] = float(log_p[row, :length].sum())
        width = int((tokens != PAD).sum(axis=1).max(initial=1))
        return tokens[:, :width], ended, log_likelihood

    def _draw(self, gumbel: np.ndarray, inverse_temperature: np.float32,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Run the compiled sampler on Gumbel noise ``(T, n, V)``: ids and token log-probabilities ``(T, n)``."""
        return self._sample_fn(gumbel, inverse_temperature)

    def copy(self) -> SmilesLanguageModel:
        """Return a new model with the same spec, backend and parameter values (an agent from its prior)."""
        twin = type(self)(self.spec, self.backend)
        twin.set_param_values(self.get_param_values())
        return twin

    # -- storage ---------------------------------------------------------------------------
    def get_param_values(self) -> dict[str, np.ndarray]:
        """Return copies of every parameter, keyed by name."""
        values: dict[str, np.ndarray] = {}
        for layer in self._output_layers():
            values.update(get_all_param_values(layer))
        return values

    def set_param_values(self, values: dict[str, np.ndarray]) -> None:
        """Set every parameter from ``values`` (keyed as :meth:`get_param_values`)."""
        for layer in self._output_layers():
            set_all_param_values(layer, {k: values[k] for k in get_all_param_values(layer)})

    def save(self, directory: str | Path) -> Path:
        """Write ``model.json`` (format, spec) and ``params.npz`` (no pickle) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "model.json").write_text(json.dumps({"format": self.FORMAT, "spec": asdict(self.spec)}, indent=1))
        np.savez(directory / "params.npz", allow_pickle=False, **self.get_param_values())
        return directory

    @classmethod
    def load(cls, directory: str | Path, backend: str = "numba") -> SmilesLanguageModel:
        """Read a directory written by :meth:`save`.

        Raises
        ------
        ValueError
            If it is not a symmol SMILES language model, or its parameters do not match its spec.
        """
        directory = Path(directory)
        meta = json.loads((directory / "model.json").read_text())
        if meta.get("format") != cls.FORMAT:
            raise ValueError(f"{directory}: not a {cls.__name__} (format {meta.get('format')!r})")
        spec = dict(meta["spec"])
        spec["vocabulary"] = tuple(spec["vocabulary"])
        model = cls(cls.SPEC(**spec), backend)
        with np.load(directory / "params.npz", allow_pickle=False) as stored:
            values = {k: stored[k] for k in stored.files}
        expected = model.get_param_values()
        if set(values) != set(expected) or any(values[k].shape != v.shape for k, v in expected.items()):
            raise ValueError(f"{directory}: params.npz does not match the architecture in model.json")
        model.set_param_values(values)
        return model


def token_mask(tokens: pt.TensorVariable) -> pt.TensorVariable:
    """``(n, L)`` float32: 1 at real tokens, 0 at padding."""
    return pt.cast(pt.neq(tokens, PAD), "float32")


def checked_samples(rows: list[tuple[str, bool, float]]) -> pd.DataFrame:
    """Build the sample table (``smiles``, ``status``, ``error``, ``log_likelihood``) with RDKit's verdict.

    ``rows`` are ``(smiles, reached the end token, log-likelihood)``.
    """
    out = []
    with rdBase.BlockLogs():
        for smiles, ended, log_likelihood in rows:
            if not ended:
                error = "no end token within max_length"
            elif not smiles:
                error = "empty SMILES"
            elif Chem.MolFromSmiles(smiles) is None:
                error = "RDKit could not parse the SMILES"
            else:
                error = ""
            out.append({"smiles": smiles, "status": "invalid" if error else "ok", "error": error,
                        "log_likelihood": log_likelihood})
    return pd.DataFrame(out, columns=["smiles", "status", "error", "log_likelihood"])


#: ``--architecture gru`` (``--task generation``).
GRU = register_generative_kind(GenerativeKind(
    name="gru",
    model_class=SmilesLanguageModel,
    description="SMILES language model: token embedding, stacked GRUs, next-token softmax (REINVENT's prior; "
                "--task generation)",
    options=(
        Option("embedding", 256, "units of the token embeddings", parse=positive_int),
        Option("rnn_units", 512, "units of each recurrent layer", parse=positive_int),
        Option("rnn_layers", 3, "stacked recurrent layers", parse=positive_int),
        Option("max_length", 100, "longest token sequence learned and sampled (longer SMILES are skipped)",
               parse=positive_int),
    ),
))


def _data_fingerprint(tokens: np.ndarray, batch_size: int) -> str:
    """Identify the training rows (their token matrix) and the batch size a checkpoint belongs to."""
    return hashlib.sha256(np.ascontiguousarray(tokens).tobytes() + str(batch_size).encode()).hexdigest()


@dataclass
class _FitState:
    """Where a training run is: epochs done, the running epoch's order and position, its sums, the history."""

    rng: np.random.Generator
    epoch: int = 0
    order: np.ndarray | None = None
    position: int = 0
    loss_sum: float = 0.0
    counted: int = 0
    epoch_seconds: float = 0.0
    seconds_trained: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)

    def begin_epoch(self, n_rows: int) -> None:
        self.order = self.rng.permutation(n_rows)
        self.position, self.loss_sum, self.counted, self.epoch_seconds = 0, 0.0, 0, 0.0

    def epoch_entry(self, skipped: int, complete: bool) -> dict[str, Any]:
        seconds = max(self.epoch_seconds, 1e-9)
        return {"epoch": self.epoch + 1, "loss": self.loss_sum / max(self.counted, 1),
                "tokens_per_s": self.counted / seconds, "seconds": seconds, "skipped": skipped, "complete": complete}

    def to_json(self, running: float) -> dict[str, Any]:
        """Everything but the order; ``running``: seconds of the epoch segment not yet added."""
        return {"epoch": self.epoch, "in_epoch": self.order is not None, "position": self.position,
                "loss_sum": self.loss_sum, "counted": self.counted, "epoch_seconds": self.epoch_seconds + running,
                "seconds_trained": self.seconds_trained + running, "history": self.history,
                "rng": self.rng.bit_generator.state}

    @classmethod
    def from_json(cls, meta: dict[str, Any], order: np.ndarray | None) -> _FitState:
        rng = np.random.default_rng()
        rng.bit_generator.state = meta["rng"]
        return cls(rng, int(meta["epoch"]), order, int(meta["position"]), float(meta["loss_sum"]),
                   int(meta["counted"]), float(meta["epoch_seconds"]), float(meta["seconds_trained"]),
                   list(meta["history"]))

