"""Graph networks on molecules: D-MPNN (Chemprop's) or GIN message passing → readout → dense head.

The model reads molecules as graphs (:class:`symmol.molgraph.GraphFeaturizer`: RDKit's Morgan
atom invariants, folded into a learned embedding, and bond types) and is built by
:func:`symmol.nn.graph.build_graph_network`. Training, storage, prediction and screening treat
it like the fingerprint MLP (:class:`symmol.models.base.CompiledModel`); it compiles with the
``numba`` and ``c`` backends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from symmol.chem.graph import MolGraphBatch
from symmol.featurize import MorganFingerprint
from symmol.models.base import CompiledModel, ModelSpec
from symmol.molgraph import GraphFeaturizer
from symmol.nn.graph import N_BOND_TYPES, build_graph_network, graph_input_layers, graph_inputs

MESSAGE_PASSING = ("dmpnn", "gin")
READOUTS = ("mean", "sum", "max")
#: Backends a graph network compiles with (the accelerator backends need fixed input shapes).
GRAPH_BACKENDS = ("numba", "c")
#: Fingerprints of a graph network's applicability domain (``symmol screen --ad``): ECFP4, 2048 bits.
AD_FEATURIZER = MorganFingerprint(radius=2, fp_size=2048)


@dataclass(frozen=True)
class GraphSpec(ModelSpec):
    """Architecture and problem description of a graph network (stored as JSON).

    Attributes
    ----------
    targets, task, target_mean, target_std, seed, ensemble_size
        As in :class:`symmol.models.mlp.MLPSpec`.
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
    featurizer
        ``GraphFeaturizer().to_dict()``.
    """

    targets: tuple[str, ...]
    task: str
    message_passing: str = "dmpnn"
    units: int = 300
    depth: int = 3
    readout: str = "mean"
    hidden: tuple[int, ...] = (300,)
    dropout: float = 0.0
    activation: str = "relu"
    n_atom_types: int = 1024
    featurizer: dict = field(default_factory=lambda: GraphFeaturizer().to_dict())
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
        for name in ("units", "depth", "n_atom_types"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


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
    The applicability domain (``symmol screen --ad``) uses ECFP4 (2048 bits).
    """

    KIND = "graph_network"
    #: Molecules per predict call (a D-MPNN keeps ``units`` floats per directed bond and step).
    predict_batch_size = 1024

    def __init__(self, spec: GraphSpec, backend: str = "numba"):
        super().__init__()
        if backend not in GRAPH_BACKENDS:
            raise ValueError(f"graph networks compile with the {' or '.join(GRAPH_BACKENDS)} backend, "
                             f"not {backend!r}")
        self.spec = spec
        self.backend = backend
        self.featurizer = GraphFeaturizer.from_dict(spec.featurizer)
        self.input_layers = graph_input_layers()
        self.members = []
        for member in range(spec.ensemble_size):
            seed = spec.seed + 1000 * member
            network = build_graph_network(
                len(spec.targets), np.random.default_rng(seed), units=spec.units, depth=spec.depth,
                n_atom_types=spec.n_atom_types, readout=spec.readout, hidden=spec.hidden,
                message_passing=spec.message_passing, dropout=spec.dropout, activation=spec.activation,
                inputs=self.input_layers, prefix=f"m{member}." if spec.ensemble_size > 1 else "", seed=seed)
            self.members.append(network.output)

    def input_vars(self) -> list:
        return [layer.input_var for layer in self.input_layers]

    def batch_arrays(self, features: MolGraphBatch) -> tuple[np.ndarray, ...]:
        return tuple(graph_inputs(features, n_atom_types=self.spec.n_atom_types, n_bond_types=N_BOND_TYPES))

    def check_features(self, features: MolGraphBatch) -> None:
        if not isinstance(features, MolGraphBatch):
            raise TypeError(f"a graph network takes a MolGraphBatch, got {type(features).__name__}")

    @property
    def ad_featurizer(self) -> MorganFingerprint:
        return AD_FEATURIZER

    def predict_graphs(self, graphs: MolGraphBatch, batch_size: int | None = None) -> np.ndarray:
        """Scores for a batch of molecular graphs (:meth:`predict_features`)."""
        return self.predict_features(graphs, batch_size)
