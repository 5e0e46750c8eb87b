"""Bit and count identity of every symmol fingerprint kernel with RDKit, on whole libraries.

For every parsable SMILES (``Chem.MolFromSmiles`` defaults) of the shared ZINC250k, MOSES test and
ChEMBL 50k files this compares, molecule by molecule:

* **ECFP and FCFP**, radius 0-4, with and without chirality (20 settings), bits and counts at
  ``fp_size`` 2048 (symmol's fused ``morgan_csr``) and 1000 (``morgan_environments`` then
  ``fold_csr``), against ``rdFingerprintGenerator.GetMorganGenerator(radius=4, includeChirality=c,
  [atomInvariantsGenerator=GetMorganFeatureAtomInvGen()])``. To keep a full run affordable RDKit is
  called once per molecule and setting pair at radius 4, as ``GetSparseCountFingerprint`` with a
  bitInfoMap: the environments of radius ``r`` are those entries with radius ``<= r`` (RDKit's layers
  never revisit earlier ones), and RDKit's folded fingerprint of size ``n`` is ``id % n`` with the
  counts summed (``FingerprintGenerator::getFingerprintHelper``; Morgan uses no count simulation),
  done here with NumPy. The same 32-bit ids are thereby checked unfolded as well.
* **Direct check** of that derivation on the first ``--direct`` molecules of every file: every
  Morgan setting against RDKit's own ``GetFingerprintAsNumPy`` / ``GetCountFingerprintAsNumPy`` at
  ``fp_size`` 2048 and 1000, one generator per setting.
* **Atom pairs and topological torsions** (RDKit generator defaults, count simulation for bits):
  ``GetFingerprintAsNumPy`` and ``GetCountFingerprintAsNumPy`` at ``fp_size`` 2048 for every molecule
  and at 1000 for the first ``--direct`` ones, against ``atom_pair_environments`` /
  ``torsion_environments`` folded by ``fold_csr`` and ``count_simulation_csr``.

It also reports the per-molecule cost of each RDKit-side array extraction (graph, FCFP feature
invariants, chirality codes, atom-pair codes). Writes ``bench/results/fingerprint_identity.md`` and
exits with status 1 on any mismatch (the first few mismatching SMILES are printed).

Example::

    nice -n 19 python bench/fingerprint_identity.py --data-dir /work/shared/data
    python bench/fingerprint_identity.py --limit 2000      # quick run
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import rdkit
from rdkit import Chem, RDLogger
from rdkit.Chem import rdFingerprintGenerator

from symmol.chem.invariants import atom_pair_codes, chirality_arrays, feature_invariants
from symmol.chem.mol_arrays import mol_graph_batch
from symmol.kernels.atompair import atom_pair_environments, count_simulation_csr
from symmol.kernels.morgan import fold_csr, morgan_csr, morgan_environments
from symmol.kernels.torsion import torsion_environments

REPO = Path(__file__).resolve().parents[1]
LIBRARIES = {
    "zinc250k": "screening_libraries/zinc250k_rndm_zinc_drugs_clean.smi.gz",
    "moses_test": "screening_libraries/moses_test.csv.gz",
    "chembl31": "screening_libraries/chembl31_valid_50k.smi.gz",
}
RADII = (0, 1, 2, 3, 4)
SIZES = (2048, 1000)
MORGAN_SETTINGS = [(f, c) for f in (False, True) for c in (False, True)]
MAX_EXAMPLES = 5


def morgan_name(features: bool, chirality: bool, radius: int) -> str:
    return ("FCFP" if features else "ECFP") + str(2 * radius) + ("-chiral" if chirality else "")


def read_smiles(path: Path, limit: int | None) -> list[str]:
    """First field (whitespace or comma separated) of every line; a ``SMILES`` header is skipped."""
    out: list[str] = []
    with gzip.open(path, "rt") as fh:
        for k, line in enumerate(fh):
            field = line.strip().replace(",", " ").split(" ")[0] if line.strip() else ""
            if k == 0 and field.lower() == "smiles":
                continue
            out.append(field)
            if limit is not None and len(out) >= limit:
                break
    return out


def keys_from_csr(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray | None,
                  size: int) -> tuple[np.ndarray, np.ndarray]:
    """(row * size + bit, value) of every stored entry, int64 (values default to 1)."""
    rows = np.repeat(np.arange(indptr.shape[0] - 1, dtype=np.int64), np.diff(indptr))
    vals = np.ones(indices.shape[0], np.int64) if values is None else values.astype(np.int64)
    return rows * size + indices, vals


def keys_from_dense(rows: list[np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Keys and values of the non-zero entries of RDKit's per-molecule NumPy fingerprints."""
    mat = np.stack(rows)
    r, c = np.nonzero(mat)
    return r.astype(np.int64) * size + c, mat[r, c].astype(np.int64)


def ok_rows(n: int, size: int, ours: tuple[np.ndarray, np.ndarray], ref: tuple[np.ndarray, np.ndarray],
            bits: bool) -> np.ndarray:
    """(n,) bool: rows whose entries (positions only if ``bits``, else positions and values) agree."""
    ok = np.ones(n, dtype=bool)
    a = ours[0] if bits else ours[0] * 2**24 + ours[1]
    b = ref[0] if bits else ref[0] * 2**24 + ref[1]
    if a.shape == b.shape and np.array_equal(a, b):
        return ok
    diff = np.setxor1d(a, b)
    ok[np.unique((diff if bits else diff >> 24) // size)] = False
    return ok


class Tally:
    """Rows compared and rows that differ, per (check name)."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = defaultdict(int)
        self.bad: dict[str, int] = defaultdict(int)
        self.examples: dict[str, list[str]] = defaultdict(list)

    def merge(self, other: Tally) -> None:
        for name, rows in other.rows.items():
            self.rows[name] += rows
            self.bad[name] += other.bad[name]
            room = MAX_EXAMPLES - len(self.examples[name])
            self.examples[name].extend(other.examples[name][:max(room, 0)])

    def add(self, name: str, ok: np.ndarray, smiles: list[str]) -> None:
        self.rows[name] += int(ok.size)
        bad = np.flatnonzero(~ok)
        self.bad[name] += int(bad.size)
        for i in bad[: MAX_EXAMPLES - len(self.examples[name])]:
            self.examples[name].append(smiles[i])


def rdkit_morgan_reference(mols: list[Chem.Mol], gen) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RDKit's radius-4 environments (id, radius) per molecule, flattened with offsets."""
    ids: list[int] = []
    radii: list[int] = []
    offsets = np.zeros(len(mols) + 1, dtype=np.int64)
    for i, mol in enumerate(mols):
        ao = rdFingerprintGenerator.AdditionalOutput()
        ao.AllocateBitInfoMap()
        gen.GetSparseCountFingerprint(mol, additionalOutput=ao)
        for code, envs in ao.GetBitInfoMap().items():
            for _atom, rad in envs:
                ids.append(code)
                radii.append(rad)
        offsets[i + 1] = len(ids)
    return np.array(ids, dtype=np.int64), np.array(radii, dtype=np.int64), offsets


def reference_keys(ids: np.ndarray, radii: np.ndarray, offsets: np.ndarray, radius: int,
                   size: int) -> tuple[np.ndarray, np.ndarray]:
    """RDKit's folded counts at ``radius`` and ``size`` from its radius-4 environments (NumPy)."""
    rows = np.repeat(np.arange(offsets.shape[0] - 1, dtype=np.int64), np.diff(offsets))
    keep = radii <= radius
    keys, counts = np.unique(rows[keep] * size + ids[keep] % size, return_counts=True)
    return keys, counts.astype(np.int64)


def compare(tally: Tally, name: str, n: int, size: int, ours_counts, ref_counts, ours_bits, ref_bits,
            smiles: list[str]) -> None:
    """Counts must agree in positions and values, bits in positions."""
    tally.add(f"{name} counts", ok_rows(n, size, ours_counts, ref_counts, bits=False), smiles)
    tally.add(f"{name} bits", ok_rows(n, size, ours_bits, ref_bits, bits=True), smiles)


def check_batch(mols: list[Chem.Mol], smiles: list[str], tally: Tally, timing: dict[str, float],
                direct: int, gens: dict) -> None:
    """All checks for one batch of parsed molecules."""
    n = len(mols)
    t0 = time.perf_counter()
    g = mol_graph_batch(mols)
    t1 = time.perf_counter()
    finv = feature_invariants(mols)
    t2 = time.perf_counter()
    chir, bond_inv = chirality_arrays(mols, g)
    t3 = time.perf_counter()
    codes, is_h = atom_pair_codes(mols)
    t4 = time.perf_counter()
    timing["graph"] += t1 - t0
    timing["feature invariants"] += t2 - t1
    timing["chirality codes"] += t3 - t2
    timing["atom-pair codes"] += t4 - t3

    n_direct = min(direct, n)
    for features, chirality in MORGAN_SETTINGS:
        t = time.perf_counter()
        ref = rdkit_morgan_reference(mols, gens["morgan4", features, chirality])
        timing["rdkit morgan reference"] += time.perf_counter() - t
        arrays = (finv if features else g.atom_invariants, g.atom_offsets, g.bond_atoms,
                  bond_inv if chirality else g.bond_types, g.bond_offsets)
        atom_chir = chir if chirality else None
        for r in RADII:
            name = morgan_name(features, chirality, r)
            t = time.perf_counter()
            fused = morgan_csr(*arrays, r, 2048, atom_chir)
            env_ids, env_offsets, _, _ = morgan_environments(*arrays, r, atom_chir)
            folded = fold_csr(env_ids, env_offsets, 1000)
            timing["symmol morgan kernels"] += time.perf_counter() - t
            for size, csr in ((2048, fused), (1000, folded)):
                ours = keys_from_csr(*csr, size)
                ref_counts = reference_keys(*ref, r, size)
                compare(tally, f"{name} @{size}", n, size, ours, ref_counts, ours, ref_counts, smiles)
                if n_direct:
                    gen = gens["morgan", features, chirality, r, size]
                    sub = mols[:n_direct]
                    d_counts = keys_from_dense([gen.GetCountFingerprintAsNumPy(m) for m in sub], size)
                    d_bits = keys_from_dense([gen.GetFingerprintAsNumPy(m) for m in sub], size)
                    n_keys = int(np.searchsorted(ours[0], n_direct * size))
                    ours_sub = (ours[0][:n_keys], ours[1][:n_keys])
                    compare(tally, f"direct {name} @{size}", n_direct, size, ours_sub, d_counts, ours_sub,
                            d_bits, smiles[:n_direct])

    for kind in ("atompair", "torsion"):
        t = time.perf_counter()
        if kind == "atompair":
            env_ids, env_offsets = atom_pair_environments(codes, g.atom_offsets, g.bond_atoms, g.bond_offsets)
        else:
            env_ids, env_offsets = torsion_environments(codes, is_h, g.atom_offsets, g.bond_atoms,
                                                        g.bond_offsets)
        timing[f"symmol {kind} kernels"] += time.perf_counter() - t
        for size in SIZES:
            sub = mols if size == 2048 else mols[:n_direct]
            if not sub:
                continue
            m = len(sub)
            ours_counts = keys_from_csr(*fold_csr(env_ids[:env_offsets[m]], env_offsets[:m + 1], size), size)
            indptr, indices, counts = fold_csr(env_ids[:env_offsets[m]], env_offsets[:m + 1], size // 4)
            ours_bits = keys_from_csr(*count_simulation_csr(indptr, indices, counts), None, size)
            gen = gens[kind, size]
            t = time.perf_counter()
            ref_counts = keys_from_dense([gen.GetCountFingerprintAsNumPy(mol) for mol in sub], size)
            ref_bits = keys_from_dense([gen.GetFingerprintAsNumPy(mol) for mol in sub], size)
            timing[f"rdkit {kind}"] += time.perf_counter() - t
            label = f"{kind} @{size}" if size == 2048 else f"direct {kind} @{size}"
            compare(tally, label, m, size, ours_counts, ref_counts, ours_bits, ref_bits, smiles[:m])


_GENS: dict = {}


def check_chunk(task: tuple[list[str], int]) -> tuple[Tally, dict[str, float], int]:
    """Parse one chunk of SMILES and run every check (runs in a worker process)."""
    chunk, direct = task
    if not _GENS:
        RDLogger.DisableLog("rdApp.*")
        _GENS.update(generators())
    tally, timing = Tally(), defaultdict(float)
    t = time.perf_counter()
    parsed = [(s, Chem.MolFromSmiles(s)) for s in chunk if s]
    parsed = [(s, m) for s, m in parsed if m is not None]
    timing["parse (MolFromSmiles)"] += time.perf_counter() - t
    if parsed:
        check_batch([m for _, m in parsed], [s for s, _ in parsed], tally, timing, direct, _GENS)
    return tally, dict(timing), len(parsed)


def generators() -> dict:
    gens: dict = {}
    feat = rdFingerprintGenerator.GetMorganFeatureAtomInvGen
    for features, chirality in MORGAN_SETTINGS:
        kw = {"atomInvariantsGenerator": feat()} if features else {}
        gens["morgan4", features, chirality] = rdFingerprintGenerator.GetMorganGenerator(
            radius=4, includeChirality=chirality, **kw)
        for r in RADII:
            for size in SIZES:
                kw = {"atomInvariantsGenerator": feat()} if features else {}
                gens["morgan", features, chirality, r, size] = rdFingerprintGenerator.GetMorganGenerator(
                    radius=r, fpSize=size, includeChirality=chirality, **kw)
    for size in SIZES:
        gens["atompair", size] = rdFingerprintGenerator.GetAtomPairGenerator(fpSize=size)
        gens["torsion", size] = rdFingerprintGenerator.GetTopologicalTorsionGenerator(fpSize=size)
    return gens


def pool_map(func, tasks: list, jobs: int):
    """``map`` in order, in ``jobs`` worker processes when ``jobs > 1``."""
    if jobs <= 1:
        yield from map(func, tasks)
        return
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        yield from pool.imap(func, tasks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data",
                        help="folder holding screening_libraries/ (default: ../shared/data)")
    parser.add_argument("--files", nargs="+", default=list(LIBRARIES), choices=list(LIBRARIES))
    parser.add_argument("--limit", type=int, default=None, help="only the first N lines of each file")
    parser.add_argument("--direct", type=int, default=1000,
                        help="molecules per file also checked against RDKit's folded fingerprints "
                             "directly for every Morgan setting (default 1000)")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "fingerprint_identity.md")
    args = parser.parse_args(argv)
    RDLogger.DisableLog("rdApp.*")
    # compile (or load from the cache) the kernels before anything is timed
    check_chunk((["C[C@H](N)c1ccccc1/C=C/C"], 1))

    lines: list[str] = []
    failed = False
    started = time.perf_counter()

    def write(done: list[str]) -> None:
        """(Re)write the results file; called after every library so a long run leaves partial results."""
        pending = [f for f in args.files if f not in done]
        header = [
            "# Fingerprint identity with RDKit on the shared libraries",
            "",
            f"RDKit {rdkit.__version__}. Command: `python bench/fingerprint_identity.py "
            + " ".join(argv if argv is not None else sys.argv[1:]) + "`"
            + f" ({time.perf_counter() - started:.0f} s"
            + (f" so far; not yet checked: {', '.join(pending)}" if pending else " in all") + ").",
            "",
            "What is compared (see the script's docstring): Morgan settings (ECFP/FCFP, radius 0-4, "
            "with/without chirality) at fp_size 2048 (fused kernel) and 1000 (unfolded ids, then fold_csr) "
            "against RDKit's radius-4 environments folded by NumPy, and on the first `--direct` molecules "
            "against RDKit's GetFingerprintAsNumPy/GetCountFingerprintAsNumPy directly; atom pairs and "
            "torsions against GetFingerprintAsNumPy (count simulation) and GetCountFingerprintAsNumPy at "
            "2048 for every molecule and 1000 for the `--direct` ones. A row is one molecule; `identical` "
            "means every bit (or count) of that fingerprint is equal.",
            "",
            "RESULT: " + ("MISMATCH" if failed else "all identical") + (" so far" if pending else ""),
            "",
        ]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(header + lines) + "\n")

    done: list[str] = []
    for name in args.files:
        path = args.data_dir / LIBRARIES[name]
        if not path.exists():
            print(f"missing {path}", file=sys.stderr)
            return 2
        smiles_all = read_smiles(path, args.limit)
        tally, timing = Tally(), defaultdict(float)
        n_parsed = 0
        t_file = time.perf_counter()
        tasks = []
        for k, start in enumerate(range(0, len(smiles_all), args.batch_size)):
            # the direct checks cover the first --direct lines of the file
            tasks.append((smiles_all[start:start + args.batch_size],
                          max(0, min(args.batch_size, args.direct - k * args.batch_size))))
        done_lines = 0
        for (chunk, _), (part, part_timing, n) in zip(tasks, pool_map(check_chunk, tasks, args.jobs),
                                                      strict=True):
            tally.merge(part)
            for step, seconds in part_timing.items():
                timing[step] += seconds
            n_parsed += n
            done_lines += len(chunk)
            print(f"[{name}] {done_lines}/{len(smiles_all)} lines, "
                  f"{sum(tally.bad.values())} mismatching rows so far", flush=True)
        n_bad = sum(tally.bad.values())
        failed |= n_bad > 0
        lines.append(f"## {name}: {len(smiles_all)} lines, {n_parsed} parsed, "
                     f"{len(tally.rows)} checks, {n_bad} mismatching rows "
                     f"({time.perf_counter() - t_file:.0f} s)\n")
        lines.append("| check | molecules | identical | mismatching |")
        lines.append("|---|---:|---:|---:|")
        for check in tally.rows:
            rows, bad = tally.rows[check], tally.bad[check]
            lines.append(f"| {check} | {rows} | {rows - bad} | {bad} |")
            for smi in tally.examples[check]:
                lines.append(f"|   mismatch: `{smi}` | | | |")
        lines.append("")
        lines.append("Time per parsed molecule (each step's wall time summed over workers, shared machine; "
                     "the extraction rows are what the featurizers pay on top of the graph):\n")
        lines.append("| step | us/mol |")
        lines.append("|---|---:|")
        for step, seconds in timing.items():
            lines.append(f"| {step} | {seconds / max(n_parsed, 1) * 1e6:.1f} |")
        lines.append("")
        print("\n".join(lines[-(len(timing) + 4):]), flush=True)
        done.append(name)
        write(done)

    print("RESULT:", "MISMATCH" if failed else "all identical", f"-> {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    sys.exit(main())
