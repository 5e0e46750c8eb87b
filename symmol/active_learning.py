"""Pool-based active learning: spend an evaluation budget on the molecules a surrogate model ranks best.

A *campaign* (:func:`run_campaign`) simulates a screen whose labels are known in advance (a docking
pool): it reveals the oracle value of a seeded random initial batch, then for each round trains a
surrogate model (any registered model kind, through :class:`~symmol.estimator.QSARModel`) on every
value revealed so far, scores the rest of the pool with an acquisition function of the surrogate's
mean and spread, and reveals the best-scoring batch. The hit-recovery curve is the fraction of the
pool's top molecules found against the fraction evaluated (MolPAL's protocol: Graff, Shakhnovich &
Coley, Chem. Sci. 2021, 12, 7866, doi:10.1039/D0SC06805E). For a real campaign,
:func:`propose_batch` trains on user-supplied labels and proposes the next batch.

Acquisition functions, on values oriented so that larger is better (the negated oracle for
``objective="minimize"``), with the surrogate's mean ``μ`` and standard deviation ``σ``:

* ``greedy``: ``μ``;
* ``ucb``: ``μ + β σ`` (upper confidence bound; ``β = 2``, MolPAL's default);
* ``ei``: expected improvement over the best value found, ``(μ − f* − ξ) Φ(z) + σ φ(z)``,
  ``z = (μ − f* − ξ) / σ`` (ξ = 0.01 in standardised units);
* ``thompson``: one draw from ``N(μ, σ²)`` per molecule;
* ``random``: a uniform random order (the baseline).

Pool rules: rows whose SMILES the featurizer rejects, rows without a finite oracle value and
rows whose value is one of ``failed_values`` (a failed docking is often written as 0.0) are reported
and never acquired; a SMILES that appears again is the same molecule, acquired once (its first row
is kept). The top ``top_fraction`` of the pool is every usable row scoring at least as well as the
``k``-th best, ``k = max(1, ⌊top_fraction · n⌋)`` (ties included).

Resumable: ``OUT/acquired.csv`` (the rows revealed, with their round) and ``OUT/curve.csv`` are
rewritten atomically after every round, with ``OUT/campaign.json`` (the settings); the same call
again continues after the last finished round, and a finished campaign returns at once. Each
round's surrogate is trained from scratch with the seed ``seed + round``, so a resumed campaign
acquires what an uninterrupted one would.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats

from symmol.chem.io import read_molecules
from symmol.estimator import QSARModel
from symmol.evaluation import plots
from symmol.provenance import atomic_write_bytes, atomic_write_json

__all__ = ["ACQUISITIONS", "CampaignResult", "CampaignSettings", "Pool", "acquisition_scores", "propose_batch",
           "run_campaign"]

ACQUISITIONS = ("greedy", "ucb", "ei", "thompson", "random")
#: Acquisitions that need the surrogate's spread.
NEEDS_SPREAD = ("ucb", "ei", "thompson")
CAMPAIGN_FILE, ACQUIRED_FILE, CURVE_FILE = "campaign.json", "acquired.csv", "curve.csv"


@dataclass(frozen=True)
class CampaignSettings:
    """What a campaign does (stored in ``campaign.json``; a resumed run must match it).

    Attributes
    ----------
    oracle_column
        The pool column with the value being optimised.
    objective
        ``"minimize"`` (docking scores) or ``"maximize"``.
    initial
        The initial random batch: a fraction of the usable pool (< 1) or a number of molecules (≥ 1).
    acquire_size
        Molecules per round, as ``initial``.
    rounds
        Acquisition rounds after the initial batch.
    acquisition
        One of :data:`ACQUISITIONS`.
    surrogate
        A registered model kind (``symmol train --architecture``), regression.
    surrogate_options
        Its options and training settings (``QSARModel`` keyword arguments), e.g. ``{"epochs": 50}``.
    ensemble_size
        Members of the surrogate (σ for ``ucb``/``ei``/``thompson`` from an ensemble; a GP has its own).
    beta
        The UCB weight of σ.
    top_fraction
        The fraction of the pool counted as top molecules for the curve.
    failed_values
        Oracle values that mark a failed evaluation (excluded like missing ones).
    seed
        Seeds the initial batch, Thompson draws and the surrogates (``seed + round``).
    """

    oracle_column: str
    objective: str = "minimize"
    initial: float = 0.01
    acquire_size: float = 0.01
    rounds: int = 5
    acquisition: str = "greedy"
    surrogate: str = "mlp"
    surrogate_options: dict[str, Any] = field(default_factory=dict)
    ensemble_size: int = 5
    beta: float = 2.0
    top_fraction: float = 0.01
    failed_values: tuple[float, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.objective not in ("minimize", "maximize"):
            raise ValueError(f"objective must be 'minimize' or 'maximize', got {self.objective!r}")
        if self.acquisition not in ACQUISITIONS:
            raise ValueError(f"acquisition must be one of {ACQUISITIONS}, got {self.acquisition!r}")
        for name in ("initial", "acquire_size"):
            value = getattr(self, name)
            if not value > 0 or (value >= 1 and value != int(value)):
                raise ValueError(f"{name} must be a fraction in (0, 1) or a whole number of molecules, got {value}")
        if self.rounds < 0 or self.ensemble_size < 1:
            raise ValueError(f"rounds must be >= 0 and ensemble_size >= 1, got {self.rounds}, {self.ensemble_size}")
        if not 0 < self.top_fraction < 1:
            raise ValueError(f"top_fraction must be in (0, 1), got {self.top_fraction}")

    def count(self, value: float, n: int) -> int:
        """Molecules meant by a fraction-or-count setting on a pool of ``n`` usable molecules."""
        return max(1, round(value * n)) if value < 1 else int(value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return {**asdict(self), "failed_values": list(self.failed_values)}


@dataclass
class Pool:
    """The molecules a campaign may acquire: SMILES, oracle values and features of the usable rows.

    Attributes
    ----------
    table
        The pool as read, every row (``row`` = 0-based input row).
    usable
        ``(n,)`` int64 input rows that can be acquired (valid, labelled, first of their SMILES).
    values
        ``(n,)`` float64 oracle values of ``usable``, oriented so that larger is better.
    excluded
        Input rows left out, with the reason (``row``, ``smiles``, ``reason``).
    """

    table: pd.DataFrame
    usable: np.ndarray
    values: np.ndarray
    excluded: pd.DataFrame
    batch: Any = field(repr=False, default=None)

    @classmethod
    def build(cls, table: pd.DataFrame, settings: CampaignSettings, estimator: QSARModel,
              labelled: bool = True) -> Pool:
        """Featurize ``table`` once and sort out its usable rows (see the module's pool rules)."""
        if "smiles" not in table.columns:
            raise ValueError("the pool needs a SMILES column")
        if labelled and settings.oracle_column not in table.columns:
            raise ValueError(f"the pool has no oracle column {settings.oracle_column!r}; columns are "
                             f"{list(table.columns)}")
        featurized = estimator.featurize(table[["smiles"]])
        reasons = np.array([f"invalid SMILES: {e}" if e else "" for e in featurized.errors], dtype=object)
        if labelled:
            raw = pd.to_numeric(table[settings.oracle_column], errors="coerce").to_numpy(dtype=np.float64)
            bad = ~np.isfinite(raw) | np.isin(raw, np.asarray(settings.failed_values, dtype=np.float64))
            reasons = np.where((reasons == "") & bad, np.array([
                f"no usable {settings.oracle_column} ({table[settings.oracle_column].iloc[i]})" if bad[i] else ""
                for i in range(len(table))], dtype=object), reasons)
        else:
            raw = np.full(len(table), np.nan)
        duplicate = table["smiles"].duplicated(keep="first").to_numpy()
        reasons = np.where((reasons == "") & duplicate, "duplicate SMILES (first row kept)", reasons)
        usable = np.flatnonzero(reasons == "")
        sign = -1.0 if settings.objective == "minimize" else 1.0
        excluded = pd.DataFrame({"row": np.flatnonzero(reasons != ""),
                                 "smiles": table["smiles"].to_numpy()[reasons != ""],
                                 "reason": reasons[reasons != ""]})
        return cls(table, usable, sign * raw[usable], excluded, featurized.batch.take(usable))

    def top_mask(self, fraction: float) -> np.ndarray:
        """``(n,) bool``: the usable rows scoring at least as well as the ``max(1, ⌊fraction·n⌋)``-th best."""
        k = max(1, math.floor(fraction * self.values.size))
        threshold = np.sort(self.values)[::-1][k - 1]
        return self.values >= threshold


def acquisition_scores(name: str, mean: np.ndarray, std: np.ndarray | None, best: float, beta: float = 2.0,
                       rng: np.random.Generator | None = None) -> np.ndarray:
    """Acquisition score of each candidate (larger is acquired first); see the module's definitions.

    Parameters
    ----------
    name
        One of :data:`ACQUISITIONS`.
    mean, std
        ``(n,)`` the surrogate's prediction and spread, oriented and in any one unit; ``std`` is
        needed for ``ucb``, ``ei`` and ``thompson``.
    best
        The best (oriented) value found so far (``ei``).
    rng
        Draws for ``thompson`` and ``random``.

    Raises
    ------
    ValueError
        For an unknown name, or a missing ``std`` where one is needed.
    """
    if name not in ACQUISITIONS:
        raise ValueError(f"acquisition must be one of {ACQUISITIONS}, got {name!r}")
    if name in NEEDS_SPREAD and std is None:
        raise ValueError(f"acquisition {name!r} needs the surrogate's spread: use an ensemble (ensemble_size > 1) "
                         "or a GP")
    rng = rng or np.random.default_rng(0)
    mean = np.asarray(mean, dtype=np.float64)
    if name == "greedy":
        return mean
    if name == "random":
        return rng.random(mean.size)
    std = np.maximum(np.asarray(std, dtype=np.float64), 1e-12)
    if name == "ucb":
        return mean + beta * std
    if name == "thompson":
        return rng.normal(mean, std)
    improvement = mean - best - 0.01
    z = improvement / std
    return improvement * scipy.stats.norm.cdf(z) + std * scipy.stats.norm.pdf(z)


def _surrogate(settings: CampaignSettings, seed: int) -> QSARModel:
    options = {"epochs": 50, "patience": 0, **settings.surrogate_options}
    ensemble = 1 if settings.surrogate == "gp" else settings.ensemble_size
    return QSARModel("regression", settings.surrogate, ensemble_size=ensemble, seed=seed, progress=False, **options)


def _select(settings: CampaignSettings, pool: Pool, known: np.ndarray, size: int, seed: int) -> tuple[np.ndarray,
                                                                                                      np.ndarray]:
    """Positions (into the usable rows) of the next batch and their acquisition scores."""
    candidates = np.flatnonzero(~known)
    rng = np.random.default_rng([settings.seed, seed])
    if settings.acquisition == "random":
        scores = acquisition_scores("random", np.zeros(candidates.size), None, 0.0, rng=rng)
    else:
        model = _surrogate(settings, seed)
        model.fit_featurized(pool.batch.take(np.flatnonzero(known)), pool.values[known], target_names=["oracle"])
        mean, std = model.model_.predict_with_spread(pool.batch.take(candidates))
        spread = None if std is None else std[:, 0]
        scores = acquisition_scores(settings.acquisition, mean[:, 0], spread, float(pool.values[known].max()),
                                    settings.beta, rng)
    order = np.lexsort((candidates, -scores))[:size]  # best score first, ties by row
    return candidates[order], scores[order]


@dataclass
class CampaignResult:
    """A finished (or resumed-and-finished) campaign.

    Attributes
    ----------
    curve
        ``round``, ``n_evaluated``, ``fraction_evaluated``, ``fraction_top_found`` (and
        ``seconds``) per round; round 0 is the initial batch.
    acquired
        ``row`` (input row), ``smiles``, the oracle column, ``round``, ``acquisition_score``.
    excluded
        Input rows never acquired and why.
    n_top
        Size of the pool's top set.
    """

    curve: pd.DataFrame
    acquired: pd.DataFrame
    excluded: pd.DataFrame
    n_top: int


def _write_table(path: Path, table: pd.DataFrame) -> None:
    atomic_write_bytes(path, table.to_csv(index=False).encode())


def run_campaign(pool: str | Path | pd.DataFrame, settings: CampaignSettings, out: str | Path,
                 smiles_column: str | None = None, progress: bool = True) -> CampaignResult:
    """Simulate an active-learning campaign on a labelled pool; resumable (see the module docstring).

    Parameters
    ----------
    pool
        A molecule file (``.csv``/``.smi``/``.sdf``, optionally gzipped) or a DataFrame with a
        ``smiles`` column, and the oracle column.
    settings
        What to run.
    out
        Output directory: ``campaign.json``, ``acquired.csv``, ``curve.csv``, ``excluded.csv`` and,
        with matplotlib, ``curve.png``.
    progress
        Print one line per round.

    Raises
    ------
    ValueError
        On bad settings, a pool without the oracle column or too few usable rows, or an ``out``
        holding a campaign with other settings.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = pool if isinstance(pool, pd.DataFrame) else read_molecules(pool, smiles_column=smiles_column)
    built = Pool.build(table.reset_index(drop=True), settings, _surrogate(settings, settings.seed))
    n = built.usable.size
    n_initial, n_batch = settings.count(settings.initial, n), settings.count(settings.acquire_size, n)
    if n_initial + settings.rounds * n_batch > n:
        raise ValueError(f"the campaign needs {n_initial} + {settings.rounds} x {n_batch} molecules; the pool has {n} "
                         "usable ones")
    if progress and len(built.excluded):
        first = built.excluded.iloc[0]
        print(f"{len(built.excluded)} of {len(table)} pool rows excluded (first: row {first['row']}: "
              f"{first['reason']}); listed in {out / 'excluded.csv'}")
    _write_table(out / "excluded.csv", built.excluded)
    top = built.top_mask(settings.top_fraction)
    document = {"settings": settings.to_dict(), "pool_rows": len(table), "usable": int(n), "n_top": int(top.sum())}
    known, rounds_done, curve, acquired = _resume(out, document, built)
    oracle = settings.oracle_column
    for round_ in range(rounds_done, settings.rounds + 1):
        start = time.perf_counter()
        if round_ == 0:
            rng = np.random.default_rng(settings.seed)
            chosen = rng.choice(n, size=n_initial, replace=False)
            scores = np.full(n_initial, np.nan)
        else:
            chosen, scores = _select(settings, built, known, n_batch, settings.seed + round_)
        known[chosen] = True
        rows = built.usable[chosen]
        acquired.append(pd.DataFrame({"row": rows, "smiles": table["smiles"].to_numpy()[rows],
                                      oracle: table[oracle].to_numpy()[rows], "round": round_,
                                      "acquisition_score": scores}))
        found = float(np.mean(known[top]))
        curve.append({"round": round_, "n_evaluated": int(known.sum()), "fraction_evaluated": float(known.sum() / n),
                      "fraction_top_found": found, "seconds": round(time.perf_counter() - start, 3)})
        _write_table(out / ACQUIRED_FILE, pd.concat(acquired, ignore_index=True))
        _write_table(out / CURVE_FILE, pd.DataFrame(curve))
        if progress:
            print(f"round {round_}: {int(known.sum())} evaluated ({known.sum() / n:.1%} of the pool), "
                  f"top {settings.top_fraction:.0%} found {found:.1%} ({curve[-1]['seconds']:.1f} s)", flush=True)
    result = CampaignResult(pd.DataFrame(curve), pd.concat(acquired, ignore_index=True), built.excluded,
                            int(top.sum()))
    _plot(out, result, settings)
    return result


def _resume(out: Path, document: dict[str, Any], pool: Pool) -> tuple[np.ndarray, int, list[dict], list[pd.DataFrame]]:
    """Known positions, rounds done, curve rows and acquired tables of a campaign already in ``out``."""
    known = np.zeros(pool.usable.size, dtype=bool)
    path = out / CAMPAIGN_FILE
    if not path.is_file():
        for name in (ACQUIRED_FILE, CURVE_FILE):
            (out / name).unlink(missing_ok=True)
        atomic_write_json(path, document)
        return known, 0, [], []
    stored = json.loads(path.read_text())
    if stored != document:
        raise ValueError(f"{out} holds a campaign with other settings or another pool ({path}); use a new --out")
    if not (out / CURVE_FILE).is_file():
        return known, 0, [], []
    curve = pd.read_csv(out / CURVE_FILE).to_dict("records")
    acquired = pd.read_csv(out / ACQUIRED_FILE, keep_default_na=False, na_values=[""])
    acquired = acquired[acquired["round"] < len(curve)]  # a round is done once its curve row is written
    position = {row: i for i, row in enumerate(pool.usable)}
    known[[position[row] for row in acquired["row"]]] = True
    return known, len(curve), curve, [acquired]


def _plot(out: Path, result: CampaignResult, settings: CampaignSettings) -> None:
    if plots.available():
        curve = result.curve
        ax = plots.plot_hit_recovery(curve["fraction_evaluated"].to_numpy(), curve["fraction_top_found"].to_numpy(),
                                     f"{settings.acquisition} ({settings.surrogate})", settings.top_fraction)
        ax.figure.savefig(out / "curve.png", dpi=120)


def propose_batch(pool: str | Path | pd.DataFrame, labels: str | Path | pd.DataFrame, settings: CampaignSettings,
                  size: int, smiles_column: str | None = None) -> pd.DataFrame:
    """Propose the next batch of a real campaign: train on ``labels`` and rank the pool's unlabelled molecules.

    Parameters
    ----------
    pool
        Candidate molecules (``smiles``; the oracle column is not needed).
    labels
        Molecules measured so far: ``smiles`` and ``settings.oracle_column``.
    size
        Molecules to propose.

    Returns
    -------
    ``row`` (pool row), ``smiles``, ``predicted`` (the surrogate's mean, oracle units), ``std`` (if
    any) and ``acquisition_score``, best first; molecules already in ``labels`` are left out.
    """
    def read(source: str | Path | pd.DataFrame) -> pd.DataFrame:
        table = source if isinstance(source, pd.DataFrame) else read_molecules(source, smiles_column=smiles_column)
        return table.reset_index(drop=True)

    pool_table, label_table = read(pool), read(labels)
    model = _surrogate(settings, settings.seed)
    measured = Pool.build(label_table, settings, model)
    candidates = Pool.build(pool_table, settings, model, labelled=False)
    fresh = ~np.isin(pool_table["smiles"].to_numpy()[candidates.usable], label_table["smiles"].to_numpy())
    batch = candidates.batch.take(np.flatnonzero(fresh))
    sign = -1.0 if settings.objective == "minimize" else 1.0
    rng = np.random.default_rng(settings.seed)
    if settings.acquisition == "random":
        mean, std = np.zeros(int(fresh.sum())), None
        scores = acquisition_scores("random", mean, None, 0.0, rng=rng)
    else:
        model.fit_featurized(measured.batch, measured.values, target_names=["oracle"])
        predicted, spread = model.model_.predict_with_spread(batch)
        mean, std = predicted[:, 0].astype(np.float64), None if spread is None else spread[:, 0]
        scores = acquisition_scores(settings.acquisition, mean, std, float(measured.values.max()), settings.beta, rng)
    rows = candidates.usable[fresh]
    order = np.lexsort((rows, -scores))[:size]
    proposal = pd.DataFrame({"row": rows[order], "smiles": pool_table["smiles"].to_numpy()[rows[order]],
                             "predicted": sign * mean[order]})
    if std is not None:
        proposal["std"] = std[order]
    proposal["acquisition_score"] = scores[order]
    return proposal
