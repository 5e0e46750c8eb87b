"""Atom-pair fingerprints in pure Numba, identical to RDKit's ``GetAtomPairGenerator``.

An atom pair (Carhart, Smith & Venkataraghavan, "Atom pairs as molecular
features in structure-activity studies", *J. Chem. Inf. Comput. Sci.* 1985,
25, 64-73, doi:10.1021/ci00046a002) is two atoms and the number of bonds on
the shortest path between them. This module mirrors RDKit's
``AtomPairEnvGenerator`` / ``AtomPairAtomEnv::getBitId``
(``Code/GraphMol/Fingerprints/AtomPairGenerator.cpp``) with the generator's
defaults (``minDistance=1``, ``maxDistance=30``, ``use2D=True``, no
chirality):

* every atom pair ``i < j`` whose topological distance ``d`` (breadth-first
  search over all bonds, as ``MolOps::getDistanceMat``) is in ``[1, 30]`` is
  one environment; pairs in different fragments are never counted;
* the atom codes ``c`` are RDKit's ``getAtomCode(atom, 0)`` taken modulo
  ``2**9 - 1``; folded fingerprints use the hashed id
  ``hash_combine(hash_combine(hash_combine(0, min(ci, cj)), d), max(ci, cj))``
  (RDKit's 32-bit ``gboost::hash_combine``);
* the count fingerprint (``GetCountFingerprintAsNumPy``) folds the ids modulo
  ``fp_size``; the bit fingerprint (``GetFingerprintAsNumPy``) uses RDKit's
  default *count simulation*: ids folded modulo ``fp_size // 4``, and a folded
  id ``b`` with count ``c`` sets bits ``4 * b + k`` for every bound
  ``(1, 2, 4, 8)[k] <= c`` (see :func:`count_simulation_csr`).
"""

from __future__ import annotations

import numba
import numpy as np

from .checks import as_array, check_int
from .config import jit, parallel_jit
from .morgan import _hash_combine, _validate_graph

__all__ = ["COUNT_BOUNDS", "atom_pair_environments", "count_simulation_csr"]

#: RDKit's default ``countBounds`` for count simulation.
COUNT_BOUNDS = (1, 2, 4, 8)

_CODE_LIMIT = np.uint64((1 << 9) - 1)  # (1 << codeSize) - 1, codeSize = 9
_MAX_DISTANCE = 30
_MIN_DISTANCE = 1


@jit
def _adjacency(n: int, bond_atoms: np.ndarray, skip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR adjacency ``(start (n + 1,), neighbours)`` of one molecule.

    Bonds touching an atom with ``skip[atom]`` set are left out.
    """
    m = bond_atoms.shape[0]
    start = np.zeros(n + 1, dtype=np.int64)
    for b in range(m):
        u = bond_atoms[b, 0]
        v = bond_atoms[b, 1]
        if skip[u] or skip[v]:
            continue
        start[u + 1] += 1
        start[v + 1] += 1
    for a in range(n):
        start[a + 1] += start[a]
    nbr = np.empty(start[n], dtype=np.int64)
    fill = start[:n].copy()
    for b in range(m):
        u = bond_atoms[b, 0]
        v = bond_atoms[b, 1]
        if skip[u] or skip[v]:
            continue
        nbr[fill[u]] = v
        fill[u] += 1
        nbr[fill[v]] = u
        fill[v] += 1
    return start, nbr


@jit
def _bfs(source: int, start: np.ndarray, nbr: np.ndarray, dist: np.ndarray, queue: np.ndarray) -> None:
    """Topological distances from ``source`` into ``dist`` (-1 = unreachable)."""
    dist[:] = -1
    dist[source] = 0
    head = 0
    tail = 1
    queue[0] = source
    while head < tail:
        a = queue[head]
        head += 1
        for p in range(start[a], start[a + 1]):
            o = nbr[p]
            if dist[o] < 0:
                dist[o] = dist[a] + 1
                queue[tail] = o
                tail += 1


@jit
def _molecule_pairs(codes: np.ndarray, bond_atoms: np.ndarray, out_ids: np.ndarray, write: bool) -> int:
    """Hashed atom-pair ids of one molecule (written only if ``write``); returns how many."""
    n = codes.shape[0]
    skip = np.zeros(n, dtype=np.bool_)
    start, nbr = _adjacency(n, bond_atoms, skip)
    dist = np.empty(n, dtype=np.int64)
    queue = np.empty(max(n, 1), dtype=np.int64)
    count = 0
    for i in range(n):
        _bfs(i, start, nbr, dist, queue)
        ci = np.uint64(codes[i]) % _CODE_LIMIT
        for j in range(i + 1, n):
            d = dist[j]
            if d < _MIN_DISTANCE or d > _MAX_DISTANCE:
                continue
            if write:
                cj = np.uint64(codes[j]) % _CODE_LIMIT
                lo = min(ci, cj)
                hi = max(ci, cj)
                h = _hash_combine(np.uint64(0), lo)
                h = _hash_combine(h, np.uint64(d))
                out_ids[count] = np.uint32(_hash_combine(h, hi))
            count += 1
    return count


@parallel_jit
def _pairs_kernel(codes, atom_offsets, bond_atoms, bond_offsets):
    """Two passes over the molecules in parallel: count, then write into exact slices."""
    n_mols = atom_offsets.shape[0] - 1
    sizes = np.zeros(n_mols, dtype=np.int64)
    dummy = np.empty(0, dtype=np.uint32)
    for i in numba.prange(n_mols):
        sizes[i] = _molecule_pairs(codes[atom_offsets[i]:atom_offsets[i + 1]],
                                   bond_atoms[bond_offsets[i]:bond_offsets[i + 1]], dummy, False)
    env_offsets = np.zeros(n_mols + 1, dtype=np.int64)
    for i in range(n_mols):
        env_offsets[i + 1] = env_offsets[i] + sizes[i]
    env_ids = np.empty(env_offsets[-1], dtype=np.uint32)
    for i in numba.prange(n_mols):
        _molecule_pairs(codes[atom_offsets[i]:atom_offsets[i + 1]],
                        bond_atoms[bond_offsets[i]:bond_offsets[i + 1]],
                        env_ids[env_offsets[i]:env_offsets[i + 1]], True)
    return env_ids, env_offsets


@jit
def _simulate_kernel(indptr, indices, counts, bounds):
    """Simulate the counts serially (cheap: a few operations per set bit)."""
    n_rows = indptr.shape[0] - 1
    k = bounds.shape[0]
    out_indptr = np.zeros(n_rows + 1, dtype=np.int64)
    for i in range(n_rows):
        n_out = 0
        for p in range(indptr[i], indptr[i + 1]):
            for b in range(k):
                if counts[p] >= bounds[b]:
                    n_out += 1
        out_indptr[i + 1] = out_indptr[i] + n_out
    out = np.empty(out_indptr[-1], dtype=np.int32)
    q = 0
    for i in range(n_rows):
        for p in range(indptr[i], indptr[i + 1]):
            for b in range(k):
                if counts[p] >= bounds[b]:
                    out[q] = indices[p] * k + b
                    q += 1
    return out_indptr, out


def atom_pair_environments(
    atom_codes: np.ndarray,
    atom_offsets: np.ndarray,
    bond_atoms: np.ndarray,
    bond_offsets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Unfolded 32-bit atom-pair ids of a batch of molecules (parallel over molecules).

    Parameters
    ----------
    atom_codes : (n_atoms_total,) uint32
        RDKit atom-pair atom codes (``rdMolDescriptors.GetAtomPairAtomCode``,
        see :func:`symmol.chem.invariants.atom_pair_codes`).
    atom_offsets : (n_mols + 1,) int64
        Atoms of molecule ``i`` are ``atom_offsets[i]:atom_offsets[i + 1]``.
    bond_atoms : (n_bonds_total, 2) int32
        Begin/end atom of each bond, local to its molecule.
    bond_offsets : (n_mols + 1,) int64
        Bonds of molecule ``i`` are ``bond_offsets[i]:bond_offsets[i + 1]``.

    Returns
    -------
    env_ids : (n_env,) uint32
        RDKit's hashed atom-pair id of every pair ``i < j`` at distance 1-30,
        pairs in ``(i, j)`` order; fold with :func:`symmol.kernels.morgan.fold_csr`
        (``fp_size`` for counts, ``fp_size // 4`` then :func:`count_simulation_csr`
        for RDKit's default bits).
    env_offsets : (n_mols + 1,) int64
        Ids of molecule ``i`` are ``env_ids[env_offsets[i]:env_offsets[i + 1]]``.

    Raises
    ------
    ValueError
        On wrong dtypes or shapes, inconsistent offsets, or a bond outside its
        molecule.
    """
    codes = as_array("atom_codes", atom_codes, np.uint32, 1)
    bond_atoms = as_array("bond_atoms", bond_atoms, np.int32, 2)
    dummy_types = np.zeros(bond_atoms.shape[0], dtype=np.uint32)
    codes, atom_offsets, bond_atoms, _, bond_offsets = _validate_graph(
        codes, atom_offsets, bond_atoms, dummy_types, bond_offsets)
    return _pairs_kernel(codes, atom_offsets, bond_atoms, bond_offsets)


def count_simulation_csr(
    indptr: np.ndarray,
    indices: np.ndarray,
    counts: np.ndarray,
    count_bounds: tuple[int, ...] = COUNT_BOUNDS,
) -> tuple[np.ndarray, np.ndarray]:
    """RDKit's count simulation: folded counts → bits of a ``len(count_bounds)`` times larger space.

    Mirrors ``FingerprintGenerator::getFingerprint`` with ``countSimulation``:
    a set feature ``b`` with count ``c`` sets bits ``len(count_bounds) * b + k``
    for every ``k`` with ``count_bounds[k] <= c``.

    Parameters
    ----------
    indptr : (n_rows + 1,) int64
    indices : (nnz,) int32
        Folded features (modulo ``fp_size // len(count_bounds)``), sorted per row.
    counts : (nnz,) int32
        Their counts.
    count_bounds : tuple of int
        Ascending positive thresholds, RDKit's default ``(1, 2, 4, 8)``.

    Returns
    -------
    indptr : (n_rows + 1,) int64
    indices : (nnz_out,) int32
        Set bits, sorted ascending within each row.

    Raises
    ------
    ValueError
        On wrong dtypes or shapes or empty / non-positive ``count_bounds``.
    """
    indptr = as_array("indptr", indptr, np.int64, 1)
    indices = as_array("indices", indices, np.int32, 1)
    counts = as_array("counts", counts, np.int32, 1)
    if indices.shape != counts.shape or indptr[-1] != indices.shape[0]:
        raise ValueError(f"indices ({indices.shape[0]}), counts ({counts.shape[0]}) and "
                         f"indptr[-1] ({indptr[-1]}) must agree")
    if not count_bounds:
        raise ValueError("count_bounds must not be empty")
    bounds = np.array([check_int("count_bounds", b, 1) for b in count_bounds], dtype=np.int32)
    return _simulate_kernel(indptr, indices, counts, bounds)
