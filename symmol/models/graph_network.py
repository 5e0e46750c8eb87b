"""Graph networks on molecules: D-MPNN (Chemprop's) or GIN message passing → readout → dense head.

The model reads molecules as graphs (:class:`~symmol.featurizers.molgraph.MolGraphFeaturizer`:
RDKit's Morgan atom invariants, folded into a learned embedding, and bond types) and is built by
:func:`build_graph_network`. It registers two architectures, ``dmpnn`` and ``gin``,
and compiles with the ``numba`` and ``c`` backends (graph batches change shape from batch to batch,
which the ``jax``/``pytorch`` backends would recompile for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, NamedTuple

import numpy as np
import rdkit

from symmol.data.batch import Batch
from symmol.data.dense import DenseBatch
from symmol.data.fingerprints import FingerprintBatch
from symmol.data.molgraph import N_BOND_TYPES, MolGraphBatch
from symmol.featurizers.chemprop_features import ATOM_FDIM, BOND_FDIM, atom_feature_matrix, bond_feature_matrix
from symmol.featurizers.descriptors import RDKit2DDescriptors
from symmol.featurizers.molgraph import MolGraphFeaturizer
from symmol.featurizers.morgan import MorganFingerprint
from symmol.models.base import CompiledModel, ModelInput, ModelSpec, inputs_to_dict, molecule_input
from symmol.models.options import activation_option, dropout_option, hidden_option, loss_option, positive_int
from symmol.models.registry import ModelKind, Option, Problem, register_model_kind
from symmol.nn.layers import (
    ConcatLayer,
    DenseLayer,
    DirectedMessagePassingLayer,
    DropoutLayer,
    EmbeddingLayer,
    GraphReadoutLayer,
    InputLayer,
    Layer,
    MessagePassingLayer,
    StandardizeLayer,
)

__all__ = ["AD_FEATURIZER", "DMPNN", "GIN", "GraphModel", "GraphNetwork", "GraphSpec", "build_graph_network",
           "graph_input_layers"]

MESSAGE_PASSING = ("dmpnn", "gin")
READOUTS = ("mean", "sum", "max", "norm")
#: What a graph network reads per atom: ``embedding`` (a learned embedding of the Morgan invariant,
#: bond types as ids) or ``chemprop`` (Chemprop v2's 72 atom and 14 bond features,
#: :mod:`symmol.featurizers.chemprop_features`).
ATOM_FEATURES = ("embedding", "chemprop")
#: Molecule-level features concatenated to the readout before the head: none, or RDKit's 2D descriptors
#: (standardised with the training set's statistics, :class:`~symmol.nn.layers.StandardizeLayer`).
EXTRA_FEATURES = ("none", "rdkit2d")
#: Fingerprints of a graph network's applicability domain (``symmol screen --ad``): ECFP4, 2048 bits,
#: computed from the graphs themselves (:meth:`MorganFingerprint.from_graphs`).
AD_FEATURIZER = MorganFingerprint(radius=2, fp_size=2048)


class GraphNetwork(NamedTuple):
    """Input layers (in :class:`~symmol.data.molgraph.GraphInputs` order) and the output layer of a graph network.

    ``atom_states`` is the layer whose output has one row per atom, entering message passing (the
    atom embedding, projection or feature rows): what gradient explanations differentiate.
    """

    inputs: tuple[InputLayer, ...]
    output: Layer
    atom_states: Layer


def graph_input_layers(atom_features: str = "embedding") -> tuple[InputLayer, ...]:
    """Build the six input layers of a graph network, in the order of :class:`~symmol.data.molgraph.GraphInputs`.

    With ``atom_features="chemprop"`` the atom and bond inputs are Chemprop's float32 feature rows,
    ``(n_atoms, 72)`` and ``(n_edges, 14)``, instead of int64 atom-type and bond-type ids.
    """
    if atom_features == "chemprop":
        atoms = InputLayer((None, ATOM_FDIM), dtype="float32", name="atom_features")
        bonds = InputLayer((None, BOND_FDIM), dtype="float32", name="bond_features")
    else:
        atoms = InputLayer((None,), dtype="int64", name="atom_types")
        bonds = InputLayer((None,), dtype="int64", name="bond_types")
    return (atoms, InputLayer((None,), dtype="int64", name="src"), InputLayer((None,), dtype="int64", name="dst"),
            bonds, InputLayer((None,), dtype="int64", name="atom_molecule"),
            InputLayer((), dtype="int64", name="n_molecules"))


def build_graph_network(n_outputs: int, rng: np.random.Generator, units: int = 128, depth: int = 3,
                        n_atom_types: int = 1024, n_bond_types: int = N_BOND_TYPES, readout: str = "sum",
                        hidden: int | Sequence[int] = 256, message_passing: str = "gin", dropout: float = 0.0,
                        activation: str = "relu", inputs: tuple[InputLayer, ...] | None = None,
                        prefix: str = "", seed: int = 0, atom_features: str = "embedding",
                        initial_message: str = "pre-activation", extra: Layer | None = None) -> GraphNetwork:
    """Embedding → message passing → readout → [Dropout → Dense]* → Dropout → Dense(identity).

    ``atom_features="chemprop"`` reads Chemprop's atom and bond feature rows instead of embedding
    the atom invariants: the D-MPNN takes them as they are (Chemprop's ``W_i [x; b]``), GIN projects
    the atoms to ``units`` first. ``initial_message`` is the D-MPNN's
    (:class:`~symmol.nn.layers.DirectedMessagePassingLayer`'s ``initial``). ``extra``: a layer of
    molecule-level features ``(n_molecules, d)`` concatenated to the readout before the head.

    ``message_passing="gin"``: ``depth`` × :class:`~symmol.nn.layers.MessagePassingLayer` (atom
    messages); ``"dmpnn"``: one :class:`~symmol.nn.layers.DirectedMessagePassingLayer` of ``depth``
    steps (bond messages, Chemprop's D-MPNN). ``hidden`` gives the widths of the dense layers
    after the readout (``activation``), each preceded by dropout with probability ``dropout``
    (training only), as in Chemprop's feed-forward head. ``inputs`` lets several networks
    (ensemble members) share one set of input layers; ``prefix`` then keeps their parameter
    names apart.

    Returns the six input layers, in the order of :class:`~symmol.data.molgraph.GraphInputs`, and the output layer
    of shape ``(n_molecules, n_outputs)``.

    Raises
    ------
    ValueError
        For an unknown ``message_passing``, a hidden width below 1 or ``dropout`` outside [0, 1).
    """
    if message_passing not in ("gin", "dmpnn"):
        raise ValueError(f"message_passing must be 'gin' or 'dmpnn', got {message_passing!r}")
    widths = (int(hidden),) if isinstance(hidden, int | np.integer) else tuple(int(h) for h in hidden)
    if any(w < 1 for w in widths):
        raise ValueError(f"hidden widths must be >= 1, got {widths}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if atom_features not in ATOM_FEATURES:
        raise ValueError(f"atom_features must be one of {ATOM_FEATURES}, got {atom_features!r}")
    inputs = graph_input_layers(atom_features) if inputs is None else tuple(inputs)
    atoms, src, dst, bonds, atom_molecule, n_molecules = inputs
    h: Layer
    if atom_features == "embedding":
        h = EmbeddingLayer(atoms, n_atom_types, units, rng, name=f"{prefix}atom_embedding")
    elif message_passing == "gin":
        h = DenseLayer(atoms, units, rng, "identity", name=f"{prefix}atom_projection")
    else:
        h = atoms
    atom_states = h
    if message_passing == "dmpnn":
        h = DirectedMessagePassingLayer(h, src, dst, bonds, rng, depth=depth, n_bond_types=n_bond_types,
                                        units=units, initial=initial_message, name=f"{prefix}dmpnn")
    for i in range(depth if message_passing == "gin" else 0):
        h = MessagePassingLayer(h, src, dst, bonds, rng, n_bond_types=n_bond_types, name=f"{prefix}mp{i}")
    out: Layer = GraphReadoutLayer(h, atom_molecule, n_molecules, mode=readout, name=f"{prefix}readout")
    if extra is not None:
        out = ConcatLayer([out, extra], name=f"{prefix}readout_and_extra")
    for i, width in enumerate(widths):
        if dropout:
            out = DropoutLayer(out, dropout, seed=seed * 1000 + i, name=f"{prefix}dropout{i}")
        out = DenseLayer(out, width, rng, activation, name=f"{prefix}readout_dense{i or ''}")
    if dropout:
        out = DropoutLayer(out, dropout, seed=seed * 1000 + len(widths), name=f"{prefix}dropout{len(widths)}")
    out = DenseLayer(out, n_outputs, rng, nonlinearity="identity", name=f"{prefix}output")
    return GraphNetwork(inputs, out, atom_states)


@dataclass(frozen=True)
class GraphSpec(ModelSpec):
    """Architecture and problem description of a graph network (stored as JSON).

    Attributes
    ----------
    targets, task, target_mean, target_std, seed, ensemble_size
        As in :class:`symmol.models.mlp.MLPSpec`.
    inputs
        One input: ``{"smiles": {"column": "smiles", "featurizer": {"kind": "molgraph"}}}``.
    message_passing
        ``"dmpnn"``: Chemprop's directed bond messages (Yang et al., J. Chem. Inf. Model.
        2019, doi:10.1021/acs.jcim.9b00237); ``"gin"``: atom messages with GIN updates (Xu
        et al., ICLR 2019, arXiv:1810.00826).
    units
        Width of the atom embedding and of the messages (Chemprop's ``d_h``, default 300).
    depth
        Message-passing steps (Chemprop's default 3).
    readout
        Pooling of atoms into the molecule vector: ``"mean"``, ``"sum"`` or ``"max"``.
    hidden
        Widths of the dense layers after the readout (Chemprop's FFN: one layer of 300).
    dropout
        Dropout probability before each dense layer of the head (training only).
    activation
        Nonlinearity of the head's hidden layers.
    n_atom_types
        Buckets of the atom-invariant embedding (``invariant % n_atom_types``).
    atom_features
        ``"embedding"`` or ``"chemprop"`` (:data:`ATOM_FEATURES`); ``"chemprop"`` needs the
        ``chemprop_molgraph`` featurizer.
    extra_features
        ``"none"`` or ``"rdkit2d"`` (:data:`EXTRA_FEATURES`): RDKit's 2D descriptors, a second input
        ``extra`` read from the SMILES, standardised and concatenated to the readout.
    extra_feature_names
        The descriptor names the model was trained with (RDKit's list when it was built); a model
        refuses to load under an RDKit whose list differs.
    initial_message
        What each D-MPNN step adds its messages to: ``"pre-activation"`` (Chemprop's) or
        ``"activated"``, the form of graph networks saved before this field existed (a spec
        without it reads as ``"activated"``).
    loss
        ``"mse"``, or ``"mve"`` (regression: the output layer also predicts each target's variance).
    """

    targets: tuple[str, ...]
    task: str
    inputs: dict = field(default_factory=lambda: molecule_input(MolGraphFeaturizer()))
    message_passing: str = "dmpnn"
    units: int = 300
    depth: int = 3
    readout: str = "mean"
    hidden: tuple[int, ...] = (300,)
    dropout: float = 0.0
    loss: str = "mse"
    activation: str = "relu"
    n_atom_types: int = 1024
    atom_features: str = "embedding"
    extra_features: str = "none"
    extra_feature_names: tuple[str, ...] = ()
    initial_message: str = "pre-activation"
    target_mean: tuple[float, ...] = ()
    target_std: tuple[float, ...] = ()
    seed: int = 0
    ensemble_size: int = 1

    def __post_init__(self) -> None:
        self.check_problem()
        if self.message_passing not in MESSAGE_PASSING:
            raise ValueError(f"message_passing must be one of {MESSAGE_PASSING}, got {self.message_passing!r}")
        if self.readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {self.readout!r}")
        if self.atom_features not in ATOM_FEATURES:
            raise ValueError(f"atom_features must be one of {ATOM_FEATURES}, got {self.atom_features!r}")
        if self.extra_features not in EXTRA_FEATURES:
            raise ValueError(f"extra_features must be one of {EXTRA_FEATURES}, got {self.extra_features!r}")
        if self.initial_message not in DirectedMessagePassingLayer.INITIAL:
            raise ValueError(f"initial_message must be one of {DirectedMessagePassingLayer.INITIAL}, "
                             f"got {self.initial_message!r}")
        for name in ("units", "depth", "n_atom_types"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"hidden layer widths must be positive integers, got {self.hidden}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    TUPLE_FIELDS: ClassVar[tuple[str, ...]] = (*ModelSpec.TUPLE_FIELDS, "extra_feature_names")

    @property
    def architecture(self) -> str:
        """The registered architecture name (``dmpnn`` or ``gin``)."""
        return self.message_passing

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> ModelSpec:
        """Rebuild from :meth:`to_dict`; a spec written before ``initial_message`` existed reads as ``"activated"``."""
        return super().from_dict({"initial_message": "activated", **spec})


class GraphModel(CompiledModel):
    """A graph network with its featurizer, normalisation and compiled predict function.

    Parameters
    ----------
    spec
        Architecture and problem description.
    backend
        ``"numba"`` (default) or ``"c"``.

    Raises
    ------
    ValueError
        For another backend: graph batches change shape from batch to batch, which the
        ``jax``/``pytorch`` backends would recompile for.

    Notes
    -----
    Ensemble member ``m`` is seeded with ``spec.seed + 1000 * m``, its parameter names start
    with ``m<m>.`` when ``ensemble_size > 1``, and all members share the input layers.
    The applicability domain (``symmol screen --ad``) uses ECFP4 (2048 bits) of the graphs.
    """

    KIND: ClassVar[str] = "graph_network"
    SPEC: ClassVar[type[ModelSpec]] = GraphSpec
    spec: GraphSpec
    BACKENDS: ClassVar[tuple[str, ...]] = ("numba", "c")
    #: Molecules per predict call (a D-MPNN keeps ``units`` floats per directed bond and step).
    predict_batch_size: ClassVar[int] = 1024

    def __init__(self, spec: GraphSpec, backend: str = "numba"):
        super().__init__(spec, backend)
        graph_featurizer = self.inputs[0].featurizer
        if not isinstance(graph_featurizer, MolGraphFeaturizer):
            raise ValueError(f"a graph network reads molecular graphs, not {graph_featurizer.kind!r}")
        if graph_featurizer.chemprop_features != (spec.atom_features == "chemprop"):
            raise ValueError(f"atom_features={spec.atom_features!r} does not fit featurizer {graph_featurizer.kind!r}")
        inputs = graph_input_layers(spec.atom_features)
        self.input_layers = list(inputs)
        #: The standardisation of the extra molecule features, shared by the members (None without them).
        self.extra_scaler: StandardizeLayer | None = None
        if spec.extra_features == "rdkit2d":
            _check_descriptor_names(spec.extra_feature_names)
            extra_input = InputLayer((None, len(spec.extra_feature_names)), dtype="float32", name="extra_features")
            self.input_layers.append(extra_input)
            self.extra_scaler = StandardizeLayer(extra_input, np.random.default_rng(0), name="extra_scaler")
        self.members = []
        self._atom_states: list[Layer] = []
        for member in range(spec.ensemble_size):
            seed = spec.seed + 1000 * member
            network = build_graph_network(
                spec.n_outputs, np.random.default_rng(seed), units=spec.units, depth=spec.depth,
                n_atom_types=spec.n_atom_types, readout=spec.readout, hidden=spec.hidden,
                message_passing=spec.message_passing, dropout=spec.dropout, activation=spec.activation,
                inputs=inputs, prefix=f"m{member}." if spec.ensemble_size > 1 else "", seed=seed,
                atom_features=spec.atom_features, initial_message=spec.initial_message, extra=self.extra_scaler)
            self.members.append(network.output)
            self._atom_states.append(network.atom_states)

    def atom_state_layers(self) -> list[Layer]:
        """Per member, the layer of per-atom rows entering message passing (atoms in RDKit's order per molecule)."""
        return list(self._atom_states)

    def atom_offsets(self, batch: Batch) -> np.ndarray:
        """``(n_rows + 1,) int64``: the atom rows of molecule ``i`` are ``atom_offsets[i]:atom_offsets[i + 1]``."""
        graph = self.part(batch, "smiles")
        assert isinstance(graph, MolGraphBatch)
        return graph.atom_offsets

    def batch_arrays(self, batch: Batch) -> tuple[np.ndarray, ...]:
        """Return the six graph arrays of ``batch`` (:meth:`~symmol.data.molgraph.MolGraphBatch.graph_inputs`).

        ``atom_types`` (folded into the spec's ``n_atom_types``), ``src``, ``dst``, ``bond_types``,
        ``atom_molecule`` (int64) and ``n_molecules`` (0-d int64), in the order of the input layers.
        With Chemprop's atom features, the atom and bond entries are the float32 feature rows
        (n_atoms, 72) and (n_edges, 14) instead (each bond's row for both of its edges).
        ``batch`` must be a :class:`~symmol.data.molgraph.MolGraphBatch`.
        """
        graph = self.part(batch, "smiles")
        assert isinstance(graph, MolGraphBatch)
        arrays = graph.graph_inputs(n_atom_types=self.spec.n_atom_types, n_bond_types=N_BOND_TYPES)
        if self.spec.atom_features == "chemprop":
            bond_features = bond_feature_matrix(graph)
            arrays = arrays._replace(atom_types=atom_feature_matrix(graph),
                                     bond_types=np.concatenate([bond_features, bond_features]))
        if self.extra_scaler is None:
            return tuple(arrays)
        extra = self.part(batch, "extra")
        assert isinstance(extra, DenseBatch)
        return (*arrays, np.ascontiguousarray(extra.values, dtype=np.float32))

    def fit_preprocessing(self, train: Batch) -> None:
        """Set the extra features' standardisation from the training rows (nothing to do without them)."""
        if self.extra_scaler is not None:
            extra = self.part(train, "extra")
            assert isinstance(extra, DenseBatch)
            self.extra_scaler.set_statistics(extra.values)

    def head_layer_names(self) -> list[str]:
        """Return the dense layers after the readout (``readout_dense``, ``readout_dense1``, ...) and ``output``."""
        return [f"readout_dense{i or ''}" for i in range(len(self.spec.hidden))] + ["output"]

    def ad_fingerprints(self, batch: Batch) -> FingerprintBatch:
        """ECFP4 (2048 bits) of the graphs (:data:`AD_FEATURIZER`); graphs without atoms give empty rows."""
        graph = self.part(batch, "smiles")
        assert isinstance(graph, MolGraphBatch)
        return AD_FEATURIZER.from_graphs(graph)


# --------------------------------------------------------------------------
# registry entries
# --------------------------------------------------------------------------
def _check_descriptor_names(names: Sequence[str]) -> None:
    """Raise ValueError naming the difference if this RDKit's 2D descriptor list is not ``names``."""
    current = RDKit2DDescriptors().feature_names
    if list(names) != current:
        missing = [n for n in names if n not in current]
        new = [n for n in current if n not in names]
        order = "" if missing or new else "; the same names in another order"
        raise ValueError(f"the model was trained on {len(names)} RDKit 2D descriptors, RDKit {rdkit.__version__} "
                         f"computes {len(current)}: missing here {missing}, new here {new}{order}")


def _inputs(options: dict[str, Any]) -> list[ModelInput]:
    chemprop_features = options["atom_features"] == "chemprop"
    inputs = [ModelInput("smiles", "smiles", MolGraphFeaturizer(chemprop_features=chemprop_features))]
    if options["extra_features"] == "rdkit2d":
        inputs.append(ModelInput("extra", "smiles", RDKit2DDescriptors()))
    return inputs


def _spec_builder(message_passing: str):
    def build(problem: Problem, inputs: list[ModelInput], options: dict[str, Any]) -> GraphSpec:
        names = tuple(RDKit2DDescriptors().feature_names) if options["extra_features"] == "rdkit2d" else ()
        return GraphSpec(**problem.spec_fields(), inputs=inputs_to_dict(inputs), message_passing=message_passing,
                         extra_feature_names=names, **{name: options[name] for name in _GRAPH_FIELDS})
    return build


def _options(spec: ModelSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in _GRAPH_FIELDS}


_GRAPH_FIELDS = ("units", "depth", "readout", "hidden", "dropout", "activation", "n_atom_types", "atom_features",
                 "extra_features", "loss")
_GRAPH_OPTIONS = (
    Option("units", 300, "width of atom embeddings and messages (Chemprop's d_h)", parse=positive_int,
           flag="--message-units"),
    Option("depth", 3, "message-passing steps", parse=positive_int),
    Option("readout", "mean", "pooling of atoms into the molecule vector", choices=READOUTS),
    hidden_option((300,), "the dense head after the readout"),
    dropout_option(0.0, "before each dense layer of the head"),
    activation_option(),
    Option("n_atom_types", 1024, "buckets of the atom-invariant embedding", parse=positive_int),
    Option("atom_features", "embedding", "atom and bond inputs: an embedding of the Morgan invariant, or "
           "Chemprop's 72 atom and 14 bond features", choices=ATOM_FEATURES),
    Option("extra_features", "none", "molecule features concatenated before the head: RDKit's 2D descriptors, "
           "standardised on the training set", choices=EXTRA_FEATURES),
    loss_option(),
)

def _search_space(trial: Any) -> dict[str, Any]:
    """``symmol tune``'s graph settings: message width and depth, readout, head, dropout."""
    return {"units": trial.suggest_categorical("graph.units", [150, 300, 600]),
            "depth": trial.suggest_int("graph.depth", 2, 6),
            "readout": trial.suggest_categorical("graph.readout", list(READOUTS)),
            "hidden": (trial.suggest_categorical("graph.hidden", [150, 300, 600]),),
            "dropout": trial.suggest_float("graph.dropout", 0.0, 0.4),
            "atom_features": trial.suggest_categorical("graph.atom_features", list(ATOM_FEATURES))}


#: ``symmol tune``'s first ``gin`` trial: its defaults (the Morgan-invariant embedding, mean readout).
GRAPH_DEFAULTS_PRESET = {"graph.units": 300, "graph.depth": 3, "graph.readout": "mean", "graph.hidden": 300,
                         "graph.dropout": 0.0, "graph.atom_features": "embedding", "learning_rate": 1e-3,
                         "weight_decay": 3e-4, "lr_schedule": "constant"}
#: Chemprop 2's defaults (Heid et al., JCIM 2024, doi:10.1021/acs.jcim.3c01250): its atom and bond
#: features, norm aggregation, width 300, depth 3 and the Noam schedule peaking at 1e-3 (``dmpnn``'s defaults).
CHEMPROP_PRESET = {**GRAPH_DEFAULTS_PRESET, "graph.readout": "norm", "graph.atom_features": "chemprop",
                   "lr_schedule": "noam"}
#: Chemprop 2's training: 50 epochs, the best validation epoch kept (no early stop), the Noam schedule.
CHEMPROP_TRAINING = {"epochs": 50, "patience": 50, "lr_schedule": "noam"}
_CHEMPROP_OPTIONS = {"atom_features": "chemprop", "readout": "norm"}

#: ``--architecture dmpnn``: Chemprop's directed message passing, with Chemprop 2's features and recipe by default.
DMPNN = register_model_kind(ModelKind(
    name="dmpnn", model_class=GraphModel,
    description="Chemprop's directed message passing (D-MPNN) on the molecular graph, Chemprop 2's defaults",
    options=tuple(replace(o, default=_CHEMPROP_OPTIONS[o.name]) if o.name in _CHEMPROP_OPTIONS else o
                  for o in _GRAPH_OPTIONS),
    build_inputs=_inputs, build_spec=_spec_builder("dmpnn"), spec_options=_options, search_space=_search_space,
    training_defaults=CHEMPROP_TRAINING, tune_presets=(CHEMPROP_PRESET, GRAPH_DEFAULTS_PRESET)))
#: ``--architecture gin``: GIN-style atom messages.
GIN = register_model_kind(ModelKind(
    name="gin", model_class=GraphModel, description="atom message passing (GIN) on the molecular graph",
    options=_GRAPH_OPTIONS, build_inputs=_inputs, build_spec=_spec_builder("gin"), spec_options=_options,
    search_space=_search_space, tune_presets=(GRAPH_DEFAULTS_PRESET,)))
