"""Atom-level explanations: masking for fingerprint models, gradient × input for MLPs and graph networks.

**Masking** (fingerprint models)

Riniker & Landrum's similarity maps (J. Cheminform. 2013, 5, 43, doi:10.1186/1758-2946-5-43),
computed on the model's own featurizer: the weight of atom ``a`` is the model's score of the
molecule minus its score with every fingerprint environment that contains ``a`` removed, so a
positive weight pushes the chosen target's score up (probability for a classifier, target units for
regression). An environment of radius ``r`` around a centre contains the atoms within ``r`` bonds
of it (RDKit's ``FindAtomEnvironmentOfRadiusN``). Unlike RDKit's ``SimilarityMaps`` (which clears a
bit that any such environment sets), the masked fingerprint is refolded from the remaining
environments, so a bit also set by an environment elsewhere in the molecule stays set.

Each distinct environment (unfolded 32-bit id) is also masked on its own; its contribution, averaged
over the molecules that have it, ranks the fragments (written as rooted SMILES) that push the
predictions of the whole set up or down.

Models: any one-input model whose featurizer gives Morgan environments (``ecfp``, ``fcfp``: the
MLP, the GP).

**Gradient × input on fingerprint bits** (fingerprint MLPs: a Morgan fingerprint as a sparse input)

Each on-feature's contribution is ``(∂s/∂x_b) · x_b`` (the bit's or count's value times the gradient
of the score with respect to it, one compiled forward and backward pass per batch). A bit's
contribution is shared equally by the environments of the molecule that fold into it, and each
environment's share equally by its atoms, so a molecule's atom weights sum to its bits' total. The
fragment table ranks the environments by their share, averaged over the molecules that have them.

**Gradient × input on atom states** (graph networks, any kind with :meth:`CompiledModel.atom_state_layers`)

The weight of atom ``a`` is ``Σ_k (∂s/∂h_ak) · h_ak``: the gradient of the score ``s`` (the
probability, or the value in target units) with respect to the atom's state ``h_a`` entering
message passing (its embedding, projection or Chemprop feature row), times the state, summed over
features and averaged over ensemble members (Shrikumar et al. 2016, arXiv:1605.01713; Baehrens et
al., JMLR 2010). One compiled call gives every atom of a batch of molecules its weight, since each
molecule's score depends on its own atoms only. There is no fragment table for this method.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
from rdkit import Chem
from rdkit.Chem.Draw import rdMolDraw2D

from symmol.chem.parse import parse_smiles_list
from symmol.compile import compile_function
from symmol.featurizers.morgan import MorganFingerprint
from symmol.models.base import CompiledModel
from symmol.nn.layers import get_output
from symmol.nn.layers.fingerprint import FingerprintInputLayer

__all__ = ["METHODS", "Explanation", "bit_gradient_function", "explain_molecules", "write_explanation"]

#: Explanation methods; ``auto`` is ``masking`` for Morgan fingerprint models and ``gradient`` for the others.
METHODS = ("auto", "masking", "gradient")

#: Masked fingerprints scored per compiled call.
CHUNK_ROWS = 8192


@dataclass
class Explanation:
    """Per-atom weights and fragment contributions of one target over a set of molecules.

    Attributes
    ----------
    target
        The explained target.
    scores
        ``row`` (0-based input row), ``smiles``, ``score`` (the model's prediction), valid rows only.
    atom_weights
        ``row``, ``atom_index`` (RDKit's atom order for the row's SMILES), ``element``, ``weight``.
    fragments
        ``smiles`` (rooted at the environment's centre), ``radius``, ``environment_id``,
        ``n_molecules``, ``mean_contribution``, sorted by ``mean_contribution`` (largest first).
    invalid
        ``row``, ``smiles``, ``reason`` of the rows that could not be explained.
    """

    target: str
    scores: pd.DataFrame
    atom_weights: pd.DataFrame
    fragments: pd.DataFrame
    invalid: pd.DataFrame


def _environment_atoms(mol: Chem.Mol, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """``(n_env, n_atoms) bool``: the atoms of each environment (within its radius of its centre)."""
    distance = Chem.GetDistanceMatrix(mol)
    return distance[centres] <= radii[:, None]


def _fragment_smiles(mol: Chem.Mol, centre: int, radius: int) -> str:
    if radius == 0:
        return Chem.MolFragmentToSmiles(mol, [centre], rootedAtAtom=centre)
    bonds = list(Chem.FindAtomEnvironmentOfRadiusN(mol, radius, centre))
    atoms = sorted({a for b in bonds for a in (mol.GetBondWithIdx(b).GetBeginAtomIdx(),
                                                 mol.GetBondWithIdx(b).GetEndAtomIdx())} | {centre})
    return Chem.MolFragmentToSmiles(mol, atoms, bondsToUse=bonds, rootedAtAtom=centre)


def explain_molecules(model: CompiledModel, smiles: list[str], target: str | None = None,
                      method: str = "auto") -> Explanation:
    """Explain ``model``'s predictions of ``target`` (default: its first) for every SMILES.

    Parameters
    ----------
    method
        One of :data:`METHODS`.

    Raises
    ------
    ValueError
        For an unknown target or method, or a model the method does not apply to (masking: a
        one-input model on Morgan fingerprints; gradient: a kind with per-atom states).
    """
    target = target or model.targets[0]
    if target not in model.targets:
        raise ValueError(f"unknown target {target!r}; the model predicts {list(model.targets)}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    maskable = len(model.inputs) == 1 and isinstance(model.inputs[0].featurizer, MorganFingerprint)
    if method == "auto":
        method = "masking" if maskable else "gradient"
    if method == "gradient":
        if maskable and model.input_layers and isinstance(model.input_layers[0], FingerprintInputLayer):
            return _explain_bits_by_gradient(model, smiles, target)
        return _explain_by_gradient(model, smiles, target)
    if not maskable:
        raise ValueError(f"explanations by masking need a one-input model on Morgan fingerprints (ecfp, fcfp); "
                         f"this {type(model).__name__} reads {[i.featurizer.kind for i in model.inputs]}")
    column = model.targets.index(target)
    featurizer = model.featurizer
    assert isinstance(featurizer, MorganFingerprint)
    parsed, envs_of, invalid = _environments(featurizer, smiles)
    plan: list[tuple[int, str, int]] = []  # (row, "full" | "atom" | "env", atom index or environment id)
    rows_ids: list[np.ndarray] = []
    for row, (ids, _, _, inside) in envs_of.items():
        mol = parsed.mols[row]
        plan.append((row, "full", -1))
        rows_ids.append(ids)
        for atom in range(mol.GetNumAtoms()):
            plan.append((row, "atom", atom))
            rows_ids.append(ids[~inside[:, atom]])
        for env_id in np.unique(ids):
            plan.append((row, "env", int(env_id)))
            rows_ids.append(ids[ids != env_id])
    predicted = np.empty(len(plan), dtype=np.float64)
    for start in range(0, len(plan), CHUNK_ROWS):
        part = rows_ids[start:start + CHUNK_ROWS]
        offsets = np.concatenate([[0], np.cumsum([p.size for p in part])]).astype(np.int64)
        joined = np.concatenate(part) if part else np.empty(0, np.uint32)
        batch = featurizer.fold(joined.astype(np.uint32), offsets)
        predicted[start:start + len(part)] = model.predict_batch(batch)[:, column]
    return _assemble(target, smiles, parsed.mols, plan, predicted, envs_of, invalid)


def _environments(featurizer: MorganFingerprint, smiles: list[str]):
    """Parse ``smiles``; per valid row ``(ids, centres, radii, inside)`` of its environments; the invalid rows."""
    parsed = parse_smiles_list(smiles, "full")
    env_ids, env_offsets, env_centres, env_radii = featurizer.environments(parsed.mols)
    invalid = [(row, s, e) for row, (s, e) in enumerate(zip(smiles, parsed.errors, strict=True)) if e]
    envs_of: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    for row, mol in enumerate(parsed.mols):
        if mol is None:
            continue
        lo, hi = env_offsets[row], env_offsets[row + 1]
        ids, centres, radii = env_ids[lo:hi], env_centres[lo:hi], env_radii[lo:hi].astype(np.int64)
        envs_of[row] = (ids, centres, radii, _environment_atoms(mol, centres, radii))
    return parsed, envs_of, invalid


def _score(model: CompiledModel, output, column: int):
    """Return the explained score of a member's output: the probability, or the value in target units."""
    if model.task == "classification":
        return pt.sigmoid(output[:, column])
    scale = np.float32(model.spec.target_std[column]) if model.spec.target_std else np.float32(1.0)
    return output[:, column] * scale


def bit_gradient_function(model: CompiledModel, column: int):
    """Compiled ``(indptr, indices, values) -> (scores (n_rows,), (∂s/∂x)·x (nnz,))`` of a fingerprint MLP.

    ``s`` is the member mean of :func:`_score`; the second output is aligned with the CSR ``values``.

    Raises
    ------
    ValueError
        If the model's first input is not a sparse fingerprint input or the score is not
        differentiable with respect to it.
    """
    layer = model.input_layers[0]
    if len(model.input_layers) != 1 or not isinstance(layer, FingerprintInputLayer):
        raise ValueError(f"bit gradients need a model with one sparse fingerprint input; a {type(model).__name__} "
                         "has other inputs")
    score = pt.add(*(_score(model, get_output(member, deterministic=True), column) for member in model.members))
    score = score / np.float32(len(model.members))
    values = layer.input_var.values
    try:
        gradient = pytensor.gradient.grad(score.sum(), values)
    except (pytensor.gradient.NullTypeGradError, pytensor.gradient.DisconnectedInputError,
            NotImplementedError) as error:
        raise ValueError(f"a {type(model).__name__}'s score has no gradient with respect to its fingerprint "
                         f"({error}); use --method masking") from error
    return compile_function(model.input_layers, [score, gradient * values], model.backend, name="explain_bits")


def _explain_bits_by_gradient(model: CompiledModel, smiles: list[str], target: str) -> Explanation:
    column = model.targets.index(target)
    function = bit_gradient_function(model, column)
    featurizer = model.featurizer
    assert isinstance(featurizer, MorganFingerprint)
    parsed, envs_of, invalid = _environments(featurizer, smiles)
    rows = np.array(sorted(envs_of), dtype=np.int64)
    scores = pd.DataFrame({"row": rows, "smiles": [smiles[r] for r in rows], "score": np.nan})
    atoms: list[tuple[int, int, str, float]] = []
    contributions: dict[int, list[float]] = defaultdict(list)
    first_seen: dict[int, tuple[int, int, int]] = {}
    step = model.predict_batch_size
    for start in range(0, rows.size, step):
        part = rows[start:start + step]
        ids = [envs_of[r][0] for r in part]
        offsets = np.concatenate([[0], np.cumsum([i.size for i in ids])]).astype(np.int64)
        joined = np.concatenate(ids).astype(np.uint32) if ids else np.empty(0, np.uint32)
        batch = featurizer.fold(joined, offsets)
        value, attribution = function(*model.batch_arrays(batch))
        scores.loc[start:start + part.size - 1, "score"] = value
        bit_of_env = featurizer.fold(joined, np.arange(joined.size + 1, dtype=np.int64)).indices
        for k, row in enumerate(part):
            lo, hi = batch.indptr[k], batch.indptr[k + 1]
            by_bit = dict(zip(batch.indices[lo:hi].tolist(), attribution[lo:hi].astype(np.float64), strict=True))
            env_ids, centres, radii, inside = envs_of[row]
            bits = bit_of_env[offsets[k]:offsets[k + 1]]
            _, which, n_sharing = np.unique(bits, return_inverse=True, return_counts=True)
            share = np.array([by_bit[b] for b in bits.tolist()]) / n_sharing[which]
            weights = (share / inside.sum(axis=1)) @ inside
            mol = parsed.mols[row]
            atoms += [(int(row), a, mol.GetAtomWithIdx(a).GetSymbol(), float(weights[a]))
                      for a in range(mol.GetNumAtoms())]
            per_env: dict[int, float] = defaultdict(float)
            for env, (env_id, env_share) in enumerate(zip(env_ids.tolist(), share, strict=True)):
                per_env[env_id] += env_share
                first_seen.setdefault(env_id, (int(row), int(centres[env]), int(radii[env])))
            for env_id, total in per_env.items():
                contributions[env_id].append(total)
    return Explanation(target, scores, pd.DataFrame(atoms, columns=["row", "atom_index", "element", "weight"]),
                       _fragment_table(parsed.mols, contributions, first_seen),
                       pd.DataFrame(invalid, columns=["row", "smiles", "reason"]))


def _fragment_table(mols: list, contributions: dict[int, list[float]],
                    first_seen: dict[int, tuple[int, int, int]]) -> pd.DataFrame:
    """Return the environments' mean contributions, largest first (rooted SMILES of their first occurrence)."""
    fragments = pd.DataFrame([
        {"smiles": _fragment_smiles(mols[row], centre, radius), "radius": radius, "environment_id": env_id,
         "n_molecules": len(values), "mean_contribution": float(np.mean(values))}
        for env_id, values in contributions.items() for row, centre, radius in [first_seen[env_id]]],
        columns=["smiles", "radius", "environment_id", "n_molecules", "mean_contribution"])
    return fragments.sort_values(["mean_contribution", "environment_id"], ascending=[False, True], ignore_index=True)


def _gradient_function(model: CompiledModel, column: int):
    """Compiled ``(*batch arrays) -> (scores (n_rows,), atom weights (n_atoms,))`` of one target."""
    layers = model.atom_state_layers()
    if not layers:
        raise ValueError(f"gradient explanations need per-atom states or a sparse fingerprint input; a "
                         f"{type(model).__name__} has neither (use --method masking)")
    scores, weights = [], []
    for member, layer in zip(model.members, layers, strict=True):
        states = get_output(layer, deterministic=True)
        score = _score(model, get_output(member, inputs={layer: states}, deterministic=True), column)
        gradient = pytensor.gradient.grad(score.sum(), states)
        scores.append(score)
        weights.append((gradient * states).sum(axis=1))
    n = np.float32(len(scores))
    return compile_function(model.input_layers, [pt.add(*scores) / n, pt.add(*weights) / n], model.backend,
                            name="explain_gradient")


def _explain_by_gradient(model: CompiledModel, smiles: list[str], target: str) -> Explanation:
    column = model.targets.index(target)
    function = _gradient_function(model, column)
    featurized = model.featurize(pd.DataFrame({"smiles": smiles}))
    valid = np.flatnonzero(featurized.valid)
    batch = featurized.batch.take(valid)
    scores = np.empty(valid.size)
    atoms: list[pd.DataFrame] = []
    step = model.predict_batch_size
    for start in range(0, valid.size, step):
        part = batch.slice(start, min(start + step, valid.size))
        value, weights = function(*model.batch_arrays(part))
        scores[start:start + len(part)] = value
        offsets = model.atom_offsets(part)
        counts = np.diff(offsets)
        rows = np.repeat(valid[start:start + len(part)], counts)
        atom_index = np.arange(offsets[-1]) - np.repeat(offsets[:-1], counts)
        atoms.append(pd.DataFrame({"row": rows, "atom_index": atom_index, "weight": weights.astype(np.float64)}))
    table = pd.concat(atoms, ignore_index=True) if atoms else pd.DataFrame(columns=["row", "atom_index", "weight"])
    mols = {row: Chem.MolFromSmiles(smiles[row]) for row in valid}
    table.insert(2, "element", [mols[r].GetAtomWithIdx(int(a)).GetSymbol() for r, a in
                                zip(table["row"], table["atom_index"], strict=True)])
    invalid = pd.DataFrame([(r, smiles[r], featurized.errors[r]) for r in np.flatnonzero(~featurized.valid)],
                           columns=["row", "smiles", "reason"])
    fragments = pd.DataFrame(columns=["smiles", "radius", "environment_id", "n_molecules", "mean_contribution"])
    return Explanation(target, pd.DataFrame({"row": valid, "smiles": [smiles[r] for r in valid], "score": scores}),
                       table, fragments, invalid)


def _assemble(target: str, smiles: list[str], mols: list, plan: list[tuple[int, str, int]], predicted: np.ndarray,
              envs_of: dict, invalid: list[tuple[int, str, str]]) -> Explanation:
    full: dict[int, float] = {}
    atoms: list[tuple[int, int, str, float]] = []
    contributions: dict[int, list[float]] = defaultdict(list)
    first_seen: dict[int, tuple[int, int, int]] = {}
    for (row, what, key), value in zip(plan, predicted, strict=True):
        if what == "full":
            full[row] = value
        elif what == "atom":
            atoms.append((row, key, mols[row].GetAtomWithIdx(key).GetSymbol(), full[row] - value))
        else:
            contributions[key].append(full[row] - value)
            if key not in first_seen:
                ids, centres, radii, _ = envs_of[row]
                where = int(np.flatnonzero(ids == key)[0])
                first_seen[key] = (row, int(centres[where]), int(radii[where]))
    fragments = _fragment_table(mols, contributions, first_seen)
    scores = pd.DataFrame({"row": list(full), "smiles": [smiles[r] for r in full], "score": list(full.values())})
    return Explanation(target, scores,
                       pd.DataFrame(atoms, columns=["row", "atom_index", "element", "weight"]),
                       fragments, pd.DataFrame(invalid, columns=["row", "smiles", "reason"]))


def _svg(mol: Chem.Mol, weights: np.ndarray, size: int = 300) -> str:
    """Draw the molecule with each atom shaded by its weight: red pushes the score up, blue down."""
    scale = float(np.abs(weights).max()) or 1.0
    colours = {}
    for atom, w in enumerate(weights):
        x = min(abs(float(w)) / scale, 1.0)
        colours[atom] = (1.0, 1.0 - 0.7 * x, 1.0 - 0.7 * x) if w > 0 else (1.0 - 0.7 * x, 1.0 - 0.7 * x, 1.0)
    drawer = rdMolDraw2D.MolDraw2DSVG(size, size)
    rdMolDraw2D.PrepareAndDrawMolecule(drawer, mol, highlightAtoms=list(colours), highlightAtomColors=colours,
                                       highlightBonds=[])
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def write_explanation(explanation: Explanation, out: str | Path, top_fragments: int = 20, images: bool = True,
                      min_molecules: int = 3) -> list[Path]:
    """Write the explanation's tables and drawings into ``out``; return the paths written.

    ``atom_weights.csv``, ``fragments.csv`` (of the fragments found in at least ``min_molecules``
    molecules, the ``top_fragments`` with the largest and the smallest mean contribution),
    ``scores.csv``, ``invalid.csv`` and, with ``images``, ``molecules/<row>.svg``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fragments = explanation.fragments
    fragments = fragments[fragments["n_molecules"] >= min(min_molecules, len(explanation.scores))]
    if len(fragments) > 2 * top_fragments:
        fragments = pd.concat([fragments.head(top_fragments), fragments.tail(top_fragments)], ignore_index=True)
    written = []
    for name, table in (("atom_weights.csv", explanation.atom_weights), ("fragments.csv", fragments),
                        ("scores.csv", explanation.scores), ("invalid.csv", explanation.invalid)):
        table.to_csv(out / name, index=False)
        written.append(out / name)
    if images:
        (out / "molecules").mkdir(exist_ok=True)
        weights = explanation.atom_weights
        for row, smiles in zip(explanation.scores["row"], explanation.scores["smiles"], strict=True):
            mol = Chem.MolFromSmiles(smiles)
            path = out / "molecules" / f"{row}.svg"
            path.write_text(_svg(mol, weights.loc[weights["row"] == row, "weight"].to_numpy()))
        written.append(out / "molecules")
    return written
