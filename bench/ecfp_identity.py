"""Check that symmol's Morgan kernel is bit-for-bit identical to RDKit on whole libraries.

For every parsable SMILES of each library file, and for every requested radius,
compares the bits (``GetFingerprintAsNumPy``) and the counts
(``GetCountFingerprintAsNumPy``) of ``rdFingerprintGenerator.GetMorganGenerator(
radius=r, fpSize=n)`` with ``symmol.kernels.morgan.morgan_csr`` on the graphs from
``symmol.chem.mol_arrays.mol_graph_batch``. With ``--check-graph`` (default on) it also
checks the extracted bonds against the plain RDKit bond API for every molecule.

Prints one table row per (file, radius) and exits with status 1 on any mismatch.

Example::

    python bench/ecfp_identity.py --radius 2 3 --moses
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem import rdFingerprintGenerator

from symmol.chem.mol_arrays import MolGraphBatch, _bonds_python, _extract, mol_graph_batch
from symmol.kernels.morgan import morgan_csr

REPO = Path(__file__).resolve().parents[1]
LIBRARIES = {
    "chembl31": "screening_libraries/chembl31_valid_50k.smi.gz",
    "zinc250k": "screening_libraries/zinc250k_rndm_zinc_drugs_clean.smi.gz",
    "moses_test": "screening_libraries/moses_test.csv.gz",
}


@dataclass
class Row:
    """Tallies for one (file, radius)."""

    name: str
    radius: int
    n_rows: int = 0
    n_parsed: int = 0
    same_bits: int = 0
    same_counts: int = 0
    mismatches: list[str] = field(default_factory=list)
    t_kernel: float = 0.0
    t_rdkit: float = 0.0


def read_smiles(path: Path, limit: int | None) -> list[str]:
    """First whitespace-separated token of every line (no header in these files)."""
    out = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            out.append(line.split()[0] if line.strip() else "")
            if limit is not None and len(out) >= limit:
                break
    return out


def check_graph(mols: list[Chem.Mol], g: MolGraphBatch) -> list[int]:
    """Indices of molecules whose extracted bonds differ from the RDKit bond API."""
    bad = []
    for i, mol in enumerate(mols):
        atoms, types = _bonds_python(mol)
        s = slice(g.bond_offsets[i], g.bond_offsets[i + 1])
        if not (np.array_equal(g.bond_atoms[s], atoms) and np.array_equal(g.bond_types[s], types)):
            bad.append(i)
    return bad


def compare_batch(mols: list[Chem.Mol], smiles: list[str], g: MolGraphBatch, row: Row,
                  gen: rdFingerprintGenerator.FingerprintGenerator64, fp_size: int) -> None:
    """Compare one batch for one radius and add the tallies to ``row``."""
    t0 = time.perf_counter()
    indptr, indices, counts = morgan_csr(g.atom_invariants, g.atom_offsets, g.bond_atoms,
                                         g.bond_types, g.bond_offsets, row.radius, fp_size)
    t1 = time.perf_counter()
    ref_bits = np.stack([gen.GetFingerprintAsNumPy(m) for m in mols])
    ref_counts = np.stack([gen.GetCountFingerprintAsNumPy(m) for m in mols]).astype(np.int64)
    t2 = time.perf_counter()
    row.t_kernel += t1 - t0
    row.t_rdkit += t2 - t1

    dense = np.zeros((len(mols), fp_size), dtype=np.int64)
    dense[np.repeat(np.arange(len(mols)), np.diff(indptr)), indices] = counts
    same_counts = np.all(dense == ref_counts, axis=1)
    same_bits = np.all((dense > 0) == (ref_bits > 0), axis=1)
    row.same_counts += int(same_counts.sum())
    row.same_bits += int(same_bits.sum())
    for i in np.flatnonzero(~(same_counts & same_bits)):
        row.mismatches.append(smiles[i])


def run_file(name: str, path: Path, radii: list[int], fp_size: int, batch_size: int,
             limit: int | None, graph_check: bool) -> tuple[list[Row], dict[str, float]]:
    """All radii for one library file."""
    smiles_all = read_smiles(path, limit)
    rows = [Row(name, r, n_rows=len(smiles_all)) for r in radii]
    gens = {r: rdFingerprintGenerator.GetMorganGenerator(radius=r, fpSize=fp_size) for r in radii}
    stats = {"t_parse": 0.0, "t_graph": 0.0, "graph_mismatches": 0, "n_parsed": 0,
             "fallback": 0}
    for start in range(0, len(smiles_all), batch_size):
        chunk = smiles_all[start:start + batch_size]
        t0 = time.perf_counter()
        parsed = [(s, Chem.MolFromSmiles(s)) for s in chunk if s]
        parsed = [(s, m) for s, m in parsed if m is not None]
        smiles = [s for s, _ in parsed]
        mols = [m for _, m in parsed]
        t1 = time.perf_counter()
        g, status = _extract(mols)
        t2 = time.perf_counter()
        stats["fallback"] += int(np.count_nonzero(status))
        stats["t_parse"] += t1 - t0
        stats["t_graph"] += t2 - t1
        stats["n_parsed"] += len(mols)
        if graph_check:
            bad = check_graph(mols, g)
            stats["graph_mismatches"] += len(bad)
            for i in bad[:5]:
                print(f"graph mismatch in {name}: {smiles[i]}", file=sys.stderr)
        for row in rows:
            row.n_parsed += len(mols)
            compare_batch(mols, smiles, g, row, gens[row.radius], fp_size)
    return rows, stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data",
                        help="folder holding screening_libraries/ (default: ../shared/data "
                             "relative to the repository root)")
    parser.add_argument("--radius", type=int, nargs="+", default=[2, 3],
                        help="Morgan radii to check (default: 2 3, i.e. ECFP4 and ECFP6)")
    parser.add_argument("--fp-size", type=int, default=2048, help="folded size (default 2048)")
    parser.add_argument("--moses", action="store_true", help="also check moses_test.csv.gz")
    parser.add_argument("--limit", type=int, default=None,
                        help="only the first N lines of each file (for a quick run)")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--no-check-graph", dest="check_graph", action="store_false",
                        help="skip comparing extracted bonds with the RDKit bond API")
    args = parser.parse_args(argv)
    RDLogger.DisableLog("rdApp.*")

    # compile (or load from cache) the Numba kernels before anything is timed
    warm = mol_graph_batch([Chem.MolFromSmiles("c1ccccc1CCO")])
    for r in args.radius:
        morgan_csr(warm.atom_invariants, warm.atom_offsets, warm.bond_atoms, warm.bond_types,
                   warm.bond_offsets, r, args.fp_size)

    names = ["chembl31", "zinc250k"] + (["moses_test"] if args.moses else [])
    all_rows: list[Row] = []
    failed = False
    header = (f"{'file':<11} {'radius':>6} {'rows':>7} {'parsed':>7} {'same bits':>9} "
              f"{'same counts':>11} {'mismatch':>8} {'kernel us/mol':>13} {'rdkit us/mol':>12}")
    for name in names:
        path = args.data_dir / LIBRARIES[name]
        if not path.exists():
            print(f"missing {path}", file=sys.stderr)
            return 2
        rows, stats = run_file(name, path, args.radius, args.fp_size, args.batch_size,
                               args.limit, args.check_graph)
        all_rows.extend(rows)
        n = max(stats["n_parsed"], 1)
        check = (f", graph check: {stats['graph_mismatches']} bond mismatches"
                 if args.check_graph else "")
        print(f"[{name}] SMILES parsing {stats['t_parse'] / n * 1e6:.1f} us/mol, graph "
              f"extraction {stats['t_graph'] / n * 1e6:.1f} us/mol ({stats['fallback']} "
              f"molecules via the Python bond loop){check}", flush=True)
        failed |= stats["graph_mismatches"] > 0

    print()
    print(f"ECFP identity vs RDKit {__import__('rdkit').__version__}, fpSize={args.fp_size}")
    print(header)
    print("-" * len(header))
    for r in all_rows:
        n_bad = len(r.mismatches)
        failed |= n_bad > 0 or r.same_bits != r.n_parsed or r.same_counts != r.n_parsed
        n = max(r.n_parsed, 1)
        print(f"{r.name:<11} {r.radius:>6} {r.n_rows:>7} {r.n_parsed:>7} {r.same_bits:>9} "
              f"{r.same_counts:>11} {n_bad:>8} {r.t_kernel / n * 1e6:>13.2f} "
              f"{r.t_rdkit / n * 1e6:>12.1f}")
        for smi in r.mismatches[:5]:
            print(f"    mismatch: {smi}")
    print("rdkit us/mol = GetFingerprintAsNumPy + GetCountFingerprintAsNumPy, one molecule at "
          "a time; kernel us/mol = morgan_csr on the batch (all threads)")
    print("RESULT:", "MISMATCH" if failed else "all identical")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    sys.exit(main())
