"""Fuzz the native SMILES reader against RDKit: ECFP4/ECFP6 counts and rejection texts on mutated SMILES.

The native path (``MorganFingerprint.from_smiles(parse_mode="fast")``: the Numba reader where it proves
it reads like RDKit, RDKit's reduced sanitization elsewhere) must give exactly what
``Chem.MolFromSmiles`` gives: the same ECFP4 and ECFP6 counts (2048 bits) for every molecule RDKit
reads, and the same rejection text for every other line. The inputs are seeded mutations of real
molecules (the bundled Tox21, BBBP, ESOL and ZINC samples) and of hand-written hard families
(macrocycles, bridged and fused ring systems including furanophanes, charged aromatics, organometallics,
isotopes, stereo), made by a grammar of token edits (replace, insert, delete, aromatic case flips, ring
closure changes, bracket atoms with charges, isotopes and hydrogens, crossovers, ring enlargement,
fragment joins). Generation continues until ``--valid`` lines are RDKit-valid.

Run at scale outside CI (``--valid 1000000``, under every supported RDKit), and as a seeded sample in
the tests (``tests/test_fuzz_native_reader.py``). Exit status 1 on any difference, which is listed.

    python bench/fuzz_native_reader.py --valid 1000000 --seed 0 --out bench/results/fuzz_native_reader.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import rdkit

from symmol.chem.io import read_molecules
from symmol.chem.native import native_graphs
from symmol.chem.parse import parse_smiles_list
from symmol.featurizers import MorganFingerprint
from symmol.featurizers.tokens import SMILES_TOKEN_PATTERN

REPO = Path(__file__).resolve().parents[1]
#: Hand-written hard families (each a seed for mutations).
FAMILIES = [
    # macrocycles and bridged aromatics (furanophanes: RDKit releases disagree on them)
    "COCOC1C=CCCCCc2oc(cc2C)C1", "C1CCCCCc2oc(cc2)C1", "C1CCCc2ccc(o2)C1", "C1CCCCCCc2ccc(s2)C1",
    "C1CCCCCCc2ccc([nH]2)C1", "C1CCCCCCc2cccc(c2)C1", "C1CCCCCCCCCCC1", "O=C1CCCCCCCCCCCO1",
    "C1CCOCCOCCOCCOCCO1", "c1cc2ccc1CCc1ccc(cc1)CC2", "C1CC2CCC1C2", "C12C3C4C1C5C2C3C45",
    "c1cc2cc3ccc1n3c2", "C1=CC2=CC=C1C=C2",
    # fused and hetero aromatics
    "c1ccc2ccccc2c1", "c1ccc2cc3ccccc3cc2c1", "c1ccc2c(c1)-c1ccccc1-2", "c1ccc2[nH]ccc2c1", "c1ccn2ccnc2c1",
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C", "O=c1cccc[nH]1", "c1ccc2c(c1)oc1ccccc12", "c1csc2ccccc12", "c1ccc2cnccc2c1",
    "c1ccc2cccc2cc1", "CC1=Nc2cccc3cccc(c23)N1", "c1cc[se]c1", "c1cc[te]c1", "c1ccc2c(c1)[nH]c1ccccc12",
    "O=C1C=CC(=O)C=C1", "C1=CC=CC=CC=C1", "c1cccc1", "C1=CC=CCC=C1", "b1ccccc1", "c1ccpcc1",
    # charged aromatics and zwitterions
    "[O-][n+]1ccccc1", "c1cc[n+](C)cc1", "C[n+]1ccn(C)c1", "[cH-]1cccc1", "c1cc[cH+]cc1", "O=[N+]([O-])c1ccccc1",
    "C[N+](C)(C)CC(=O)[O-]", "CN(=O)=O", "[NH3+]CC(=O)[O-]", "c1ccc2[n+]([O-])cccc2c1",
    # organometallics, salts, unusual valences
    "[Na+].[Cl-]", "C[Mg]Br", "[Fe+2].[Cl-].[Cl-]", "c1ccccc1[Sn](C)(C)C", "CS(=O)(=O)c1ccccc1", "OP(=O)(O)O",
    "F[P-](F)(F)(F)(F)F", "CI(=O)=O", "[Pt](Cl)(Cl)(N)N", "C[Si](C)(C)O[Si](C)(C)C", "ClC(Cl)(Cl)Br",
    # isotopes, explicit hydrogens, stereo
    "[13CH3]C(=O)O", "[2H]OC", "[H]OC", "N[C@@H](C)C(=O)O", "F/C=C/F", "C/C=C\\C", "C[C@H]1CC[C@@H](O)CC1",
    "[C@H]12CC[C@@H](C1)C2", "C[S@](=O)c1ccccc1", "C[N@+]1(C)CC1",
]
#: Tokens inserted or substituted by the mutations.
ATOMS = ["C", "N", "O", "S", "F", "Cl", "Br", "I", "P", "B", "c", "n", "o", "s", "p", "b", "[nH]", "[NH+]", "[N+]",
         "[O-]", "[C@H]", "[C@@H]", "[13C]", "[2H]", "[Se]", "[se]", "[Si]", "[Fe]", "[Na+]", "[cH-]", "[n+]", "[S+]",
         "[N-]", "[CH2]", "[OH]"]
BONDS = ["=", "#", ":", "-", "/", "\\", "."]
BRACKETS = ["[{a}H]", "[{a}+]", "[{a}-]", "[13{a}]", "[{a}H2]", "[{a}@H]", "[{a}@@]", "[{a}+2]", "[{a}:1]"]


def tokenize(smiles: str) -> list[str]:
    """The SMILES tokens (unknown characters become their own token)."""
    tokens, position = [], 0
    for match in SMILES_TOKEN_PATTERN.finditer(smiles):
        tokens.extend(smiles[position:match.start()])
        tokens.append(match.group())
        position = match.end()
    tokens.extend(smiles[position:])
    return tokens


def _flip_case(token: str) -> str:
    if token in ("c", "n", "o", "s", "p", "b"):
        return token.upper()
    if token in ("C", "N", "O", "S", "P", "B"):
        return token.lower()
    return token


def mutate(smiles: str, other: str, rng: np.random.Generator) -> tuple[str, str]:
    """One random edit of ``smiles`` (``other``: a second seed for crossovers and joins); ``(new, edit name)``."""
    tokens = tokenize(smiles)
    if not tokens:
        return other, "empty"
    i = int(rng.integers(len(tokens)))
    edit = rng.choice(["replace", "insert", "delete", "flip", "ring", "bracket", "crossover", "enlarge", "join",
                       "bond", "flip_ring"])
    if edit == "replace":
        tokens[i] = str(rng.choice(ATOMS))
    elif edit == "insert":
        tokens.insert(i, str(rng.choice(ATOMS + BONDS + ["(", ")", "1", "2"])))
    elif edit == "delete":
        del tokens[i]
    elif edit == "flip":
        tokens[i] = _flip_case(tokens[i])
    elif edit == "flip_ring":  # an aromatic ring written Kekule or the other way around
        tokens = [_flip_case(t) for t in tokens]
    elif edit == "ring":
        digits = [j for j, t in enumerate(tokens) if t.isdigit()]
        if digits:
            tokens[int(rng.choice(digits))] = str(int(rng.integers(1, 5)))
        else:
            tokens.insert(i, "1")
            tokens.insert(int(rng.integers(i, len(tokens) + 1)), "1")
    elif edit == "bracket":
        element = tokens[i] if tokens[i].isalpha() else "C"
        tokens[i] = str(rng.choice(BRACKETS)).format(a=element)
    elif edit == "crossover":
        right = tokenize(other)
        tokens = tokens[:i] + right[int(rng.integers(len(right) + 1)):]
    elif edit == "enlarge":  # a longer chain inside whatever ring or branch the position is in
        tokens.insert(i, "C" * int(rng.integers(1, 9)))
    elif edit == "join":
        return smiles + "." + other, edit
    else:
        tokens.insert(i, str(rng.choice(BONDS)))
    return "".join(tokens), str(edit)


def seeds(data_dir: Path | None) -> list[str]:
    """The seed molecules: the bundled samples, the hard families, and (if given) 20,000 ChEMBL molecules."""
    data = REPO / "examples" / "data"
    found = list(FAMILIES)
    for name in ("tox21.csv", "bbbp.csv", "esol.csv", "zinc20k.smi.gz"):
        found += read_molecules(data / name)["smiles"].tolist()
    if data_dir is not None and (data_dir / "screening_libraries").is_dir():
        for path in sorted((data_dir / "screening_libraries").glob("chembl*")):
            found += read_molecules(path)["smiles"].iloc[:20_000].tolist()
    return [s for s in found if isinstance(s, str) and s]


def fuzzed(seed_smiles: list[str], rng: np.random.Generator, batch: int) -> Iterator[tuple[list[str], list[str]]]:
    """Endless batches of ``(SMILES, edit names)``: 1-3 chained edits of random seeds (hard families weighted up)."""
    n_families = len(FAMILIES)
    while True:
        smiles, edits = [], []
        for _ in range(batch):
            pick = int(rng.integers(n_families)) if rng.random() < 0.3 else int(rng.integers(len(seed_smiles)))
            text, names = seed_smiles[pick], []
            for _ in range(int(rng.integers(1, 4))):
                text, name = mutate(text, seed_smiles[int(rng.integers(len(seed_smiles)))], rng)
                names.append(name)
            smiles.append(text)
            edits.append("+".join(names))
        yield smiles, edits


def compare(smiles: list[str]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``(RDKit-valid mask, native-accepted mask, rows that differ)`` for one batch."""
    parsed = parse_smiles_list(smiles, mode="full")
    valid = np.array([not e for e in parsed.errors])
    accepted = native_graphs(smiles).status == 0
    differ: set[int] = set()
    for radius in (2, 3):
        featurizer = MorganFingerprint(radius, 2048, counts=True)
        full = featurizer.from_mols(parsed.mols).to_dense()
        fast = featurizer.from_smiles(smiles, parse_mode="fast")
        differ.update(np.flatnonzero((fast.batch.to_dense() != full).any(axis=1)).tolist())
        differ.update(i for i, (a, b) in enumerate(zip(fast.errors, parsed.errors, strict=True)) if a != b)
    return valid, accepted, sorted(differ)


def run(n_valid: int, seed: int, data_dir: Path | None, batch: int = 2000, progress: bool = True) -> dict:
    """Generate until ``n_valid`` RDKit-valid lines are compared; the counts and the differing lines."""
    rng = np.random.default_rng(seed)
    stats: dict = {"generated": 0, "valid": 0, "accepted": 0, "valid_accepted": 0, "differences": [],
                   "edits": Counter()}
    start = time.perf_counter()
    for smiles, edits in fuzzed(seeds(data_dir), rng, batch):
        valid, accepted, differ = compare(smiles)
        stats["generated"] += len(smiles)
        stats["valid"] += int(valid.sum())
        stats["accepted"] += int(accepted.sum())
        stats["valid_accepted"] += int((valid & accepted).sum())
        stats["edits"].update(e.split("+")[0] for e in edits)
        stats["differences"] += [(smiles[i], edits[i]) for i in differ]
        if progress:
            print(f"\r{stats['valid']:,} valid of {stats['generated']:,} generated, "
                  f"{len(stats['differences'])} differences, {time.perf_counter() - start:.0f} s", end="",
                  file=sys.stderr)
        if stats["valid"] >= n_valid:
            break
    stats["seconds"] = time.perf_counter() - start
    if progress:
        print(file=sys.stderr)
    return stats


def report(stats: dict, args: argparse.Namespace) -> str:
    """The Markdown table of a run."""
    share = stats["valid_accepted"] / max(stats["valid"], 1)
    lines = [
        "# Fuzzing the native SMILES reader against `Chem.MolFromSmiles`", "",
        f"Command: `python bench/fuzz_native_reader.py --valid {args.valid} --seed {args.seed}"
        + (f" --data-dir {args.data_dir}" if args.data_dir else "") + "`; "
        f"RDKit {rdkit.__version__}; {stats['seconds']:.0f} s. Compared per line: ECFP4 and ECFP6 counts (2048 bits) "
        "of the native path and of `MolFromSmiles`, and the rejection text.", "",
        "| lines generated | RDKit-valid | native reader accepted (valid lines) | lines that differ |",
        "|---:|---:|---:|---:|",
        f"| {stats['generated']:,} | {stats['valid']:,} | {stats['valid_accepted']:,} ({share:.2%}) "
        f"| {len(stats['differences'])} |", "",
        "First edit of each line: " + ", ".join(f"{k} {v:,}" for k, v in sorted(stats["edits"].items())) + ".", "",
    ]
    if stats["differences"]:
        lines += ["Differences (SMILES, edits):", ""] + [f"- `{s}` ({e})" for s, e in stats["differences"][:50]]
    else:
        lines.append("RESULT: all identical")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--valid", type=int, default=100_000, help="RDKit-valid lines to compare")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None, help="shared data (adds ChEMBL seeds)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    stats = run(args.valid, args.seed, args.data_dir)
    text = report(stats, args)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 1 if stats["differences"] else 0


if __name__ == "__main__":
    os.environ.setdefault("SYMMOL_COMPILE", "always")  # time and check the kernels (symmol.kernels.tiering)
    sys.exit(main())
