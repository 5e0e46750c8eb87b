"""Similarity-based virtual screening on DUD-E and MUV targets: symmol against RDKit, same ranking.

The protocol of Riniker & Landrum's benchmarking platform (J. Cheminform. 2013, 5, 26,
doi:10.1186/1758-2946-5-26): for each target and repetition ``r`` (``numpy`` seed ``r``), 5
actives are drawn as queries; the other actives and all decoys are ranked by their maximum
Tanimoto similarity to the queries (MAX fusion); ROC-AUC, EF1% and BEDROC(α = 20) of that
ranking (:func:`symmol.evaluation.metrics.virtual_screening_metrics`) are averaged over the repetitions.
Fingerprints: ECFP4 and FCFP4 (2048 bits), atom pairs and topological torsions (2048 bits,
RDKit's count simulation) and MACCS keys.

Both sides start from the same SMILES. symmol: its featurizers (the Numba SMILES reader and
kernels, packed ``uint64`` rows) and :func:`symmol.similarity.bulk_similarity`. RDKit:
``Chem.MolFromSmiles``, ``rdFingerprintGenerator`` / ``GetMACCSKeysFingerprint`` bit vectors
and ``DataStructs.BulkTanimotoSimilarity`` for each query, then the maximum. ``identical``
says whether every fused score of every repetition is equal between the two (exact float
equality); the metrics are computed once, from symmol's scores. Times are wall seconds of one
target's whole run (fingerprints of every molecule once, then all repetitions' scoring), in
this process, after one warm-up call that compiles symmol's kernels (or loads them from Numba's
cache); Numba may use ``--threads``, RDKit runs single-threaded, as scripts call it.

Data (``--data-dir``, see its README): ``virtual_screening/dude/<target>/{actives,decoys}_final.ism``
(DUD-E; Mysinger et al., J. Med. Chem. 2012, 55, 6582) and
``virtual_screening/muv/cmp_list_MUV_<aid>_{actives,decoys}.dat.gz`` (MUV; Rohrer & Baumann,
J. Chem. Inf. Model. 2009, 49, 169). DUD-E decoys are known to be separable by simple
properties, so its AUCs flatter every method; MUV was built to resist that.

Reproduce::

    python bench/virtual_screening.py --data-dir ../shared/data --out bench/results/virtual_screening.md
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import rdFingerprintGenerator, rdMolDescriptors

from symmol.chem.io import read_molecules
from symmol.evaluation.metrics import virtual_screening_metrics
from symmol.featurizers import make_featurizer
from symmol.featurizers.pipeline import featurize_values
from symmol.similarity import bulk_similarity

REPO = Path(__file__).resolve().parents[1]
N_QUERIES = 5
#: name: (symmol make_featurizer kind and parameters, RDKit bit-vector function of a Mol)
FINGERPRINTS = {
    "ECFP4": (("ecfp", {"radius": 2, "fp_size": 2048}),
              rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048).GetFingerprint),
    "FCFP4": (("fcfp", {"radius": 2, "fp_size": 2048}),
              rdFingerprintGenerator.GetMorganGenerator(
                  radius=2, fpSize=2048,
                  atomInvariantsGenerator=rdFingerprintGenerator.GetMorganFeatureAtomInvGen()).GetFingerprint),
    "atom pairs": (("atompair", {"fp_size": 2048}),
                   rdFingerprintGenerator.GetAtomPairGenerator(fpSize=2048).GetFingerprint),
    "torsions": (("torsion", {"fp_size": 2048}),
                 rdFingerprintGenerator.GetTopologicalTorsionGenerator(fpSize=2048).GetFingerprint),
    "MACCS": (("maccs", {}), rdMolDescriptors.GetMACCSKeysFingerprint),
}


@dataclass(frozen=True)
class Target:
    name: str
    smiles: list[str]
    active: np.ndarray  # (n,) bool


def dude_target(folder: Path) -> Target:
    actives = read_molecules(folder / "actives_final.ism")["smiles"].tolist()
    decoys = read_molecules(folder / "decoys_final.ism")["smiles"].tolist()
    return Target(f"DUD-E {folder.name}", actives + decoys,
                  np.r_[np.ones(len(actives), bool), np.zeros(len(decoys), bool)])


def muv_target(folder: Path, aid: str) -> Target:
    def smiles_of(kind: str) -> list[str]:
        table = pd.read_csv(folder / f"cmp_list_MUV_{aid}_{kind}.dat.gz", sep="\t", dtype=str)
        return table["SMILES"].tolist()

    actives, decoys = smiles_of("actives"), smiles_of("decoys")
    return Target(f"MUV {aid}", actives + decoys, np.r_[np.ones(len(actives), bool), np.zeros(len(decoys), bool)])


def query_draws(active: np.ndarray, repetitions: int) -> list[np.ndarray]:
    """The query rows of each repetition: ``N_QUERIES`` actives drawn with seed ``r``."""
    rows = np.flatnonzero(active)
    return [np.sort(np.random.default_rng(r).choice(rows, N_QUERIES, replace=False)) for r in range(repetitions)]


def symmol_scores(smiles: list[str], valid: np.ndarray, kind: tuple, draws: list[np.ndarray]) -> list[np.ndarray]:
    """Packed fingerprints through symmol's pipeline (the Numba SMILES reader where it is proven
    identical to RDKit), then each draw's fused scores."""
    name, params = kind
    featurized = featurize_values(smiles, make_featurizer(name, **params), output="packed")
    packed, errors = featurized.batch.words, featurized.errors
    if not np.array_equal(np.array([not e for e in errors]), valid):
        raise RuntimeError("symmol and RDKit disagree on which SMILES parse")
    return [bulk_similarity(packed[queries], packed).max(axis=0) for queries in draws]


def rdkit_scores(mols: list, fingerprint, draws: list[np.ndarray]) -> list[np.ndarray]:
    fps = [fingerprint(mol) if mol is not None else DataStructs.ExplicitBitVect(1) for mol in mols]
    valid = [fp for fp, mol in zip(fps, mols, strict=True) if mol is not None]
    rows = np.flatnonzero([mol is not None for mol in mols])
    out = []
    for queries in draws:
        fused = np.zeros(len(mols))
        best = np.max([DataStructs.BulkTanimotoSimilarity(fps[q], valid) for q in queries], axis=0)
        fused[rows] = best
        out.append(fused)
    return out


def run_target(target: Target, repetitions: int) -> list[dict]:
    RDLogger.DisableLog("rdApp.*")
    t0 = time.perf_counter()
    mols = [Chem.MolFromSmiles(s) for s in target.smiles]
    rdkit_parse = time.perf_counter() - t0
    valid = np.array([m is not None for m in mols])
    draws = query_draws(target.active & valid, repetitions)
    rows = []
    for name, (kind, rdkit_fp) in FINGERPRINTS.items():
        t0 = time.perf_counter()
        ours = symmol_scores(target.smiles, valid, kind, draws)
        t_symmol = time.perf_counter() - t0
        t0 = time.perf_counter()
        theirs = rdkit_scores(mols, rdkit_fp, draws)
        t_rdkit = time.perf_counter() - t0 + rdkit_parse
        identical = all(np.array_equal(a[valid], b[valid]) for a, b in zip(ours, theirs, strict=True))
        metrics = []
        for queries, scores in zip(draws, ours, strict=True):
            ranked = valid.copy()
            ranked[queries] = False  # the queries are not screened
            metrics.append(virtual_screening_metrics(target.active[ranked], scores[ranked], fractions=(0.01,)))
        mean = {key: float(np.mean([m[key] for m in metrics])) for key in ("roc_auc", "ef1%", "bedroc20")}
        rows.append({"target": target.name, "actives/decoys": f"{int(target.active.sum())}/"
                     f"{int((~target.active).sum())}", "fingerprint": name, "ROC-AUC": mean["roc_auc"],
                     "EF1%": mean["ef1%"], "BEDROC20": mean["bedroc20"], "identical": identical,
                     "symmol s": t_symmol, "RDKit s": t_rdkit, "speed-up": t_rdkit / t_symmol})
    return rows


def markdown(rows: list[dict]) -> str:
    columns = list(rows[0])

    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    return "\n".join(lines + ["| " + " | ".join(cell(r[c]) for c in columns) + " |" for r in rows])


def summary(rows: list[dict]) -> str:
    table = pd.DataFrame(rows)
    means = table.groupby("fingerprint", sort=False)[["ROC-AUC", "EF1%", "BEDROC20"]].mean()
    lines = ["| fingerprint | mean ROC-AUC | mean EF1% | mean BEDROC20 |", "|---|---|---|---|"]
    lines += [f"| {fp} | {r['ROC-AUC']:.3f} | {r['EF1%']:.1f} | {r['BEDROC20']:.3f} |" for fp, r in means.iterrows()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repetitions", type=int, default=10, help="query draws per target (seeds 0..R-1)")
    parser.add_argument("--threads", type=int, default=2, help="Numba threads")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown report here")
    args = parser.parse_args()
    import numba

    numba.set_num_threads(args.threads)
    root = args.data_dir / "virtual_screening"
    targets = [dude_target(folder) for folder in sorted((root / "dude").iterdir()) if folder.is_dir()]
    aids = sorted({p.name.split("_")[3] for p in (root / "muv").glob("cmp_list_MUV_*_actives.dat.gz")})
    targets += [muv_target(root / "muv", aid) for aid in aids]
    for kind, _ in FINGERPRINTS.values():  # compile (or load from Numba's cache) before any timing
        symmol_scores(targets[0].smiles[:50], np.ones(50, bool), kind, [np.arange(N_QUERIES)])
    rows = []
    for target in targets:
        rows += run_target(target, args.repetitions)
        print(markdown(rows[-len(FINGERPRINTS):]), flush=True)
    report = (f"# Similarity-based virtual screening: symmol vs RDKit\n\nCommand: `python bench/virtual_screening.py "
              f"--data-dir DATA --repetitions {args.repetitions} --threads {args.threads}`\n\n"
              f"Machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end. "
              f"{N_QUERIES} query actives per repetition, MAX fusion of Tanimoto, mean over {args.repetitions} "
              "repetitions; `identical`: symmol's fused scores equal RDKit's exactly in every repetition; "
              "times: one target's whole run, fingerprints included (RDKit single-threaded, symmol "
              f"{args.threads} Numba threads).\n\n" + markdown(rows) + "\n\nMean over targets:\n\n"
              + summary(rows) + "\n")
    print(report)
    if args.out:
        args.out.write_text(report)


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    main()
