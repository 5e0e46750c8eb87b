"""Morgan / ECFP / FCFP environments and folded fingerprints in pure Numba.

This module reproduces, bit for bit, the environments (and therefore the bits
and the counts) of RDKit's ``rdFingerprintGenerator.GetMorganGenerator``:
bond-type bond invariants, ``includeRedundantEnvironments=False``,
``onlyNonzeroInvariants=False`` and no count simulation, with whatever atom
invariants it is given (connectivity invariants with ring membership for ECFP,
RDKit's feature invariants for FCFP) and optionally ``includeChirality=True``.
The algorithm is the extended-connectivity fingerprint of Rogers & Hahn,
"Extended-Connectivity Fingerprints", *J. Chem. Inf. Model.* 2010, 50,
742-754, doi:10.1021/ci100050t, as implemented in RDKit's
``MorganEnvGenerator::getEnvironments`` (``Code/GraphMol/Fingerprints/
MorganGenerator.cpp``) and folded as in ``FingerprintGenerator::
getFingerprintHelper`` (bit = environment id modulo ``fpSize``).

The details that matter for exactness, all mirrored here:

* Hashing is RDKit's copy of ``boost::hash_combine`` on 32-bit unsigned seeds,
  ``seed ^= v + 0x9e3779b9 + (seed << 6) + (seed >> 2)`` modulo 2**32; a
  ``(bond invariant, neighbour invariant)`` pair hashes to
  ``hash_combine(hash_combine(0, bond), neighbour)``.
* Layer ``L`` (``L = 0`` builds radius-1 environments) starts its new
  invariant from ``L``, combines the atom's current invariant, then the pairs
  sorted by ``(int32 bond invariant, uint32 neighbour invariant)``.
* With chirality, an atom with a chiral tag whose sorted pairs all have the
  single-bond invariant 1 and pairwise distinct neighbour invariants is
  *chiral* from that layer on: its code (3 for CIP ``R``, 2 for ``S``, 1
  otherwise) is combined into its invariant in that layer and every later one.
  Stereo double bonds then carry the bond invariant ``120 + stereo`` (made by
  :func:`symmol.chem.invariants.chirality_arrays`).
* Every atom emits its radius-0 environment (its atom invariant).
* Each atom carries a bond set (its neighbourhood) that grows by the bonds of
  the atom and the previous-layer bond sets of its neighbours. Within a layer
  the candidates are ordered by (bond set as a big unsigned integer, new
  invariant, atom index); a candidate whose bond set was already emitted (this
  layer or an earlier one) is dropped and its atom becomes *dead*.
* An atom without bonds dies at the first layer. A dead atom is skipped: its
  bond set stops growing and its invariant for the next layer is 0, so its
  neighbours see the invariant it computed in the layer it died once, then 0.

Environments are emitted in RDKit's order: radius 0 by atom index, then each
layer in the sorted candidate order above (the order of RDKit's bitInfoMap).
The unfolded 32-bit ids (:func:`morgan_environments`) fold to any size with
:func:`fold_csr` without recomputing the environments.
"""

from __future__ import annotations

import numba
import numpy as np

from .checks import as_array, check_int
from .config import jit, parallel_jit

__all__ = ["MORGAN_CSR_KERNELS", "fold_csr", "morgan_csr", "morgan_environments"]

_MASK32 = np.uint64(0xFFFFFFFF)
_GOLDEN32 = np.uint64(0x9E3779B9)
_SHIFT6 = np.uint64(6)
_SHIFT2 = np.uint64(2)
_SHIFT32 = np.uint64(32)
_SIGN32 = np.uint64(0x80000000)
_FNV_PRIME = np.uint64(0x100000001B3)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_SHIFT29 = np.uint64(29)
_ZERO64 = np.uint64(0)
_ONE64 = np.uint64(1)

_MAX_FP_SIZE = 2**31 - 1


# --------------------------------------------------------------------------
# hashing
# --------------------------------------------------------------------------
@jit
def _hash_combine(seed: np.uint64, value: np.uint64) -> np.uint64:
    """RDKit ``gboost::hash_combine`` on 32-bit seeds (values held in uint64)."""
    mixed = (value + _GOLDEN32 + (seed << _SHIFT6) + (seed >> _SHIFT2)) & _MASK32
    return (seed ^ mixed) & _MASK32


@jit
def _bitset_hash(sets: np.ndarray, row: int) -> np.uint64:
    """64-bit FNV-style hash of bond-set row ``sets[row]`` (only used to bucket rows)."""
    h = _FNV_OFFSET
    for w in range(sets.shape[1]):
        h = (h ^ sets[row, w]) * _FNV_PRIME
    return h ^ (h >> _SHIFT29)


# --------------------------------------------------------------------------
# per-molecule environment generator
# --------------------------------------------------------------------------
@jit
def _insertion_sort(keys: np.ndarray, n: int) -> None:
    """In-place ascending insertion sort of ``keys[:n]`` (n is an atom degree)."""
    for i in range(1, n):
        k = keys[i]
        j = i - 1
        while j >= 0 and keys[j] > k:
            keys[j + 1] = keys[j]
            j -= 1
        keys[j + 1] = k


@jit
def _cand_less(a: int, b: int, nbhd: np.ndarray, new_inv: np.ndarray) -> bool:
    """RDKit's AccumTuple order: (bond set, invariant, atom) for atoms a, b.

    ``boost::dynamic_bitset`` ``operator<`` on equal sizes compares the blocks
    from the most significant one down, i.e. the bond sets as big integers.
    """
    for w in range(nbhd.shape[1] - 1, -1, -1):
        wa = nbhd[a, w]
        wb = nbhd[b, w]
        if wa != wb:
            return wa < wb
    ia = new_inv[a]
    ib = new_inv[b]
    if ia != ib:
        return ia < ib
    return a < b


@jit
def _sort_candidates(cand: np.ndarray, n_cand: int, tmp: np.ndarray, nbhd: np.ndarray,
                     new_inv: np.ndarray) -> None:
    """Stable bottom-up merge sort of the candidate atoms ``cand[:n_cand]``."""
    if n_cand <= 16:
        for i in range(1, n_cand):
            x = cand[i]
            j = i - 1
            while j >= 0 and _cand_less(x, cand[j], nbhd, new_inv):
                cand[j + 1] = cand[j]
                j -= 1
            cand[j + 1] = x
        return
    src = cand
    dst = tmp
    in_tmp = False
    width = 1
    while width < n_cand:
        lo = 0
        while lo < n_cand:
            mid = min(lo + width, n_cand)
            hi = min(lo + 2 * width, n_cand)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if _cand_less(src[j], src[i], nbhd, new_inv):
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
            lo += 2 * width
        src, dst = dst, src
        in_tmp = not in_tmp
        width *= 2
    if in_tmp:
        cand[:n_cand] = tmp[:n_cand]


@jit
def _molecule_environments(atom_inv: np.ndarray, atom_chir: np.ndarray, bond_atoms: np.ndarray,  # noqa: C901, PLR0912, PLR0915 - one hot loop nest; split helpers ran slower
                           bond_types: np.ndarray, radius: int, out_ids: np.ndarray,
                           out_atoms: np.ndarray, out_radius: np.ndarray) -> int:
    """All Morgan environments of one molecule, written to ``out_*[:count]``.

    ``atom_inv`` (n,) uint32, ``atom_chir`` (n,) uint8 chirality codes (0 = no
    chiral tag, see :func:`morgan_environments`), ``bond_atoms`` (m, 2) int32
    local indices, ``bond_types`` (m,) uint32; the outputs need room for
    ``(radius + 1) * n`` entries. Returns the number of environments written.
    """
    n = atom_inv.shape[0]
    m = bond_atoms.shape[0]
    count = 0
    # radius 0: every atom, in index order
    for a in range(n):
        out_ids[count] = atom_inv[a]
        out_atoms[count] = a
        out_radius[count] = 0
        count += 1
    if radius == 0 or n == 0:
        return count

    # adjacency in CSR form: for atom a, its bonds and neighbours
    deg = np.zeros(n + 1, dtype=np.int64)
    for b in range(m):
        deg[bond_atoms[b, 0] + 1] += 1
        deg[bond_atoms[b, 1] + 1] += 1
    for a in range(n):
        deg[a + 1] += deg[a]
    adj_bond = np.empty(2 * m, dtype=np.int64)
    adj_nbr = np.empty(2 * m, dtype=np.int64)
    fill = deg[:n].copy()
    max_deg = 0
    for b in range(m):
        u = bond_atoms[b, 0]
        v = bond_atoms[b, 1]
        adj_bond[fill[u]] = b
        adj_nbr[fill[u]] = v
        fill[u] += 1
        adj_bond[fill[v]] = b
        adj_nbr[fill[v]] = u
        fill[v] += 1
    for a in range(n):
        max_deg = max(max_deg, deg[a + 1] - deg[a])

    n_words = max((m + 63) // 64, 1)
    prev_nbhd = np.zeros((n, n_words), dtype=np.uint64)  # bond sets after last layer
    nbhd = np.zeros((n, n_words), dtype=np.uint64)  # bond sets of this layer
    cur_inv = np.empty(n, dtype=np.uint64)
    new_inv = np.zeros(n, dtype=np.uint64)
    for a in range(n):
        cur_inv[a] = np.uint64(atom_inv[a])
    dead = np.zeros(n, dtype=np.bool_)
    chiral_done = np.zeros(n, dtype=np.bool_)  # RDKit's chiralAtoms
    pair_keys = np.empty(max(max_deg, 1), dtype=np.uint64)
    cand = np.empty(n, dtype=np.int64)
    cand_tmp = np.empty(n, dtype=np.int64)

    # every bond set ever emitted (radius >= 1), with an open-addressing index
    max_stored = radius * n
    stored = np.empty((max_stored, n_words), dtype=np.uint64)
    stored_hash = np.empty(max_stored, dtype=np.uint64)
    n_stored = 0
    table_size = 1
    while table_size < 2 * max_stored + 2:
        table_size *= 2
    table = np.full(table_size, -1, dtype=np.int64)
    table_mask = np.uint64(table_size - 1)

    for layer in range(radius):
        n_cand = 0
        for a in range(n):
            if dead[a]:
                continue
            d0 = deg[a]
            d1 = deg[a + 1]
            if d1 == d0:
                dead[a] = True
                continue
            k = 0
            for p in range(d0, d1):
                b = adj_bond[p]
                o = adj_nbr[p]
                nbhd[a, b >> 6] |= np.uint64(1) << np.uint64(b & 63)
                for w in range(n_words):
                    nbhd[a, w] |= prev_nbhd[o, w]
                # sort key: (int32 bond invariant, uint32 neighbour invariant)
                bt = np.uint64(bond_types[b]) ^ _SIGN32
                pair_keys[k] = (bt << _SHIFT32) | cur_inv[o]
                k += 1
            _insertion_sort(pair_keys, k)
            invar = _hash_combine(np.uint64(layer), cur_inv[a])
            looks_chiral = atom_chir[a] != 0
            check_chiral = looks_chiral and not chiral_done[a]
            for p in range(k):
                bt = (pair_keys[p] >> _SHIFT32) ^ _SIGN32
                nb_inv = pair_keys[p] & _MASK32
                pair_hash = _hash_combine(_hash_combine(_ZERO64, bt), nb_inv)
                invar = _hash_combine(invar, pair_hash)
                if check_chiral and looks_chiral:
                    if bt != _ONE64:  # a non-single bond invariant
                        looks_chiral = False
                    elif p > 0 and nb_inv == (pair_keys[p - 1] & _MASK32):
                        looks_chiral = False
            if looks_chiral:
                chiral_done[a] = True
                invar = _hash_combine(invar, np.uint64(atom_chir[a]))
            new_inv[a] = invar
            cand[n_cand] = a
            n_cand += 1

        _sort_candidates(cand, n_cand, cand_tmp, nbhd, new_inv)
        for c in range(n_cand):
            a = cand[c]
            h = _bitset_hash(nbhd, a)
            slot = h & table_mask
            seen = False
            while True:
                s = table[slot]
                if s < 0:
                    break
                if stored_hash[s] == h:
                    same = True
                    for w in range(n_words):
                        if stored[s, w] != nbhd[a, w]:
                            same = False
                            break
                    if same:
                        seen = True
                        break
                slot = (slot + np.uint64(1)) & table_mask
            if seen:
                dead[a] = True
                continue
            for w in range(n_words):
                stored[n_stored, w] = nbhd[a, w]
            stored_hash[n_stored] = h
            table[slot] = n_stored
            n_stored += 1
            out_ids[count] = np.uint32(new_inv[a])
            out_atoms[count] = a
            out_radius[count] = layer + 1
            count += 1

        # next layer: invariants of atoms skipped this layer are 0
        for a in range(n):
            cur_inv[a] = new_inv[a]
            new_inv[a] = 0
        for a in range(n):
            for w in range(n_words):
                prev_nbhd[a, w] = nbhd[a, w]
        if n_cand == 0:
            break
    return count


@parallel_jit
def _environments_kernel(atom_inv, atom_chir, atom_offsets, bond_atoms, bond_types, bond_offsets,
                         radius):
    """Parallel over molecules: each writes into its own ``(radius + 1) * n_atoms`` slot."""
    n_mols = atom_offsets.shape[0] - 1
    cap = (radius + 1) * atom_offsets[-1]
    buf_ids = np.empty(cap, dtype=np.uint32)
    buf_atoms = np.empty(cap, dtype=np.int32)
    buf_radius = np.empty(cap, dtype=np.uint8)
    counts = np.zeros(n_mols, dtype=np.int64)
    for i in numba.prange(n_mols):
        a0 = atom_offsets[i]
        a1 = atom_offsets[i + 1]
        b0 = bond_offsets[i]
        b1 = bond_offsets[i + 1]
        base = (radius + 1) * a0
        end = (radius + 1) * a1
        counts[i] = _molecule_environments(
            atom_inv[a0:a1], atom_chir[a0:a1], bond_atoms[b0:b1], bond_types[b0:b1], radius,
            buf_ids[base:end], buf_atoms[base:end], buf_radius[base:end])
    env_offsets = np.zeros(n_mols + 1, dtype=np.int64)
    for i in range(n_mols):
        env_offsets[i + 1] = env_offsets[i] + counts[i]
    n_env = env_offsets[-1]
    env_ids = np.empty(n_env, dtype=np.uint32)
    env_atoms = np.empty(n_env, dtype=np.int32)
    env_radius = np.empty(n_env, dtype=np.uint8)
    # cheap serial compaction; element loops, because slice assignments inside a
    # parallel function become nested parfors (one thread launch per molecule)
    for i in range(n_mols):
        src = (radius + 1) * atom_offsets[i]
        dst = env_offsets[i]
        for j in range(counts[i]):
            env_ids[dst + j] = buf_ids[src + j]
            env_atoms[dst + j] = buf_atoms[src + j]
            env_radius[dst + j] = buf_radius[src + j]
    return env_ids, env_offsets, env_atoms, env_radius


# --------------------------------------------------------------------------
# folding
# --------------------------------------------------------------------------
_SHELL_GAPS = np.array([1, 4, 10, 23, 57, 132, 301, 701, 1750, 4376, 10941, 27353, 68383,
                        170958, 427396, 1068491, 2671228, 6678071, 16695178, 41737946,
                        104344866, 260862166, 652155416, 1630388541], dtype=np.int64)


@jit
def _shell_sort(keys: np.ndarray) -> None:
    """In-place ascending Shell sort (Ciura gaps extended by 2.5x)."""
    n = keys.shape[0]
    g = 0
    while g + 1 < _SHELL_GAPS.shape[0] and _SHELL_GAPS[g + 1] < n:
        g += 1
    while g >= 0:
        gap = _SHELL_GAPS[g]
        for i in range(gap, n):
            x = keys[i]
            j = i
            while j >= gap and keys[j - gap] > x:
                keys[j] = keys[j - gap]
                j -= gap
            keys[j] = x
        g -= 1


@jit
def _fold_sorted_in_place(ids: np.ndarray, fp_size: np.uint64) -> int:
    """Replace ``ids`` by ``ids % fp_size`` sorted ascending; return #distinct."""
    k = ids.shape[0]
    for j in range(k):
        ids[j] = np.uint32(np.uint64(ids[j]) % fp_size)
    _shell_sort(ids)
    nnz = 0
    for j in range(k):
        if j == 0 or ids[j] != ids[j - 1]:
            nnz += 1
    return nnz


@jit
def _write_unique(sorted_bits: np.ndarray, indices: np.ndarray, counts: np.ndarray) -> None:
    """Run-length encode ``sorted_bits`` into ``indices``/``counts``."""
    k = sorted_bits.shape[0]
    out = -1
    for j in range(k):
        if j == 0 or sorted_bits[j] != sorted_bits[j - 1]:
            out += 1
            indices[out] = np.int32(sorted_bits[j])
            counts[out] = 1
        else:
            counts[out] += 1


@parallel_jit
def _fold_kernel(env_ids, env_offsets, fp_size):
    """Parallel fold + sort of each row in a copy, then a serial run-length pass."""
    n_rows = env_offsets.shape[0] - 1
    size = np.uint64(fp_size)
    bits = env_ids.copy()
    nnz = np.zeros(n_rows, dtype=np.int64)
    for i in numba.prange(n_rows):
        nnz[i] = _fold_sorted_in_place(bits[env_offsets[i]:env_offsets[i + 1]], size)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    for i in range(n_rows):
        indptr[i + 1] = indptr[i] + nnz[i]
    indices = np.empty(indptr[-1], dtype=np.int32)
    counts = np.empty(indptr[-1], dtype=np.int32)
    for i in range(n_rows):  # cheap run-length pass: serial keeps compile time down
        _write_unique(bits[env_offsets[i]:env_offsets[i + 1]],
                      indices[indptr[i]:indptr[i + 1]], counts[indptr[i]:indptr[i + 1]])
    return indptr, indices, counts


@parallel_jit
def _morgan_csr_kernel(atom_inv, atom_chir, atom_offsets, bond_atoms, bond_types, bond_offsets,
                       radius, fp_size):
    """Fused environments + fold; molecules in parallel, each in its own buffer slot."""
    n_mols = atom_offsets.shape[0] - 1
    size = np.uint64(fp_size)
    cap = (radius + 1) * atom_offsets[-1]
    buf_bits = np.empty(cap, dtype=np.uint32)
    n_env = np.zeros(n_mols, dtype=np.int64)
    nnz = np.zeros(n_mols, dtype=np.int64)
    for i in numba.prange(n_mols):
        a0 = atom_offsets[i]
        a1 = atom_offsets[i + 1]
        b0 = bond_offsets[i]
        b1 = bond_offsets[i + 1]
        base = (radius + 1) * a0
        end = (radius + 1) * a1
        scratch_atoms = np.empty(end - base, dtype=np.int32)
        scratch_radius = np.empty(end - base, dtype=np.uint8)
        c = _molecule_environments(
            atom_inv[a0:a1], atom_chir[a0:a1], bond_atoms[b0:b1], bond_types[b0:b1], radius,
            buf_bits[base:end], scratch_atoms, scratch_radius)
        n_env[i] = c
        nnz[i] = _fold_sorted_in_place(buf_bits[base:base + c], size)
    indptr = np.zeros(n_mols + 1, dtype=np.int64)
    for i in range(n_mols):
        indptr[i + 1] = indptr[i] + nnz[i]
    indices = np.empty(indptr[-1], dtype=np.int32)
    counts = np.empty(indptr[-1], dtype=np.int32)
    for i in range(n_mols):  # cheap run-length pass: serial keeps compile time down
        base = (radius + 1) * atom_offsets[i]
        _write_unique(buf_bits[base:base + n_env[i]],
                      indices[indptr[i]:indptr[i + 1]], counts[indptr[i]:indptr[i + 1]])
    return indptr, indices, counts


@jit
def _first_bad_bond(atom_offsets, bond_atoms, bond_offsets) -> int:
    """Index of the first bond whose atoms are out of range or equal, else -1."""
    for i in range(atom_offsets.shape[0] - 1):
        n = atom_offsets[i + 1] - atom_offsets[i]
        for b in range(bond_offsets[i], bond_offsets[i + 1]):
            u = bond_atoms[b, 0]
            v = bond_atoms[b, 1]
            if u < 0 or v < 0 or u >= n or v >= n or u == v:
                return b
    return -1


# --------------------------------------------------------------------------
# validation helpers and public wrappers
# --------------------------------------------------------------------------


def _check_offsets(name: str, offsets: np.ndarray, total: int) -> None:
    if offsets.shape[0] < 1:
        raise ValueError(f"{name} must have at least one entry (n_mols + 1)")
    if offsets[0] != 0:
        raise ValueError(f"{name}[0] must be 0, got {offsets[0]}")
    if offsets[-1] != total:
        raise ValueError(f"{name}[-1] must equal {total}, got {offsets[-1]}")
    if offsets.shape[0] > 1 and np.any(offsets[1:] < offsets[:-1]):
        raise ValueError(f"{name} must be non-decreasing")






def _chirality_array(atom_chirality, n_atoms: int) -> np.ndarray:
    """``atom_chirality`` checked (``(n_atoms,)`` uint8, values 0-3), or zeros for ``None``."""
    if atom_chirality is None:
        return np.zeros(n_atoms, dtype=np.uint8)
    chir = as_array("atom_chirality", atom_chirality, np.uint8, 1)
    if chir.shape[0] != n_atoms:
        raise ValueError(f"atom_chirality has {chir.shape[0]} entries but there are {n_atoms} atoms")
    if chir.shape[0] and int(chir.max()) > 3:
        bad = int(np.argmax(chir > 3))
        raise ValueError(f"atom_chirality[{bad}] = {int(chir[bad])}; chirality codes are 0-3")
    return chir


def _validate_graph(atom_invariants, atom_offsets, bond_atoms, bond_types, bond_offsets):
    atom_invariants = as_array("atom_invariants", atom_invariants, np.uint32, 1)
    atom_offsets = as_array("atom_offsets", atom_offsets, np.int64, 1)
    bond_atoms = as_array("bond_atoms", bond_atoms, np.int32, 2)
    bond_types = as_array("bond_types", bond_types, np.uint32, 1)
    bond_offsets = as_array("bond_offsets", bond_offsets, np.int64, 1)
    if bond_atoms.shape[1] != 2:
        raise ValueError(f"bond_atoms must have shape (n_bonds, 2), got {bond_atoms.shape}")
    if bond_types.shape[0] != bond_atoms.shape[0]:
        raise ValueError(
            f"bond_types has {bond_types.shape[0]} entries but bond_atoms has "
            f"{bond_atoms.shape[0]} rows")
    if atom_offsets.shape[0] != bond_offsets.shape[0]:
        raise ValueError(
            f"atom_offsets ({atom_offsets.shape[0]}) and bond_offsets "
            f"({bond_offsets.shape[0]}) must both have n_mols + 1 entries")
    _check_offsets("atom_offsets", atom_offsets, atom_invariants.shape[0])
    _check_offsets("bond_offsets", bond_offsets, bond_atoms.shape[0])
    bad = _first_bad_bond(atom_offsets, bond_atoms, bond_offsets)
    if bad >= 0:
        mol = int(np.searchsorted(bond_offsets, bad, side="right") - 1)
        raise ValueError(
            f"bond_atoms[{bad}] = {bond_atoms[bad].tolist()} is not a bond between two "
            f"distinct local atoms of molecule {mol} (which has "
            f"{atom_offsets[mol + 1] - atom_offsets[mol]} atoms)")
    return atom_invariants, atom_offsets, bond_atoms, bond_types, bond_offsets


#: The compiled functions :func:`morgan_csr` calls (for :class:`~symmol.kernels.tiering.CompileTier`).
MORGAN_CSR_KERNELS = (_first_bad_bond, _morgan_csr_kernel)


def morgan_environments(
    atom_invariants: np.ndarray,
    atom_offsets: np.ndarray,
    bond_atoms: np.ndarray,
    bond_types: np.ndarray,
    bond_offsets: np.ndarray,
    radius: int,
    atom_chirality: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unfolded Morgan environments of a batch of molecular graphs.

    Mirrors RDKit's ``MorganEnvGenerator::getEnvironments`` (default
    arguments, see the module docstring) and the ECFP algorithm of Rogers &
    Hahn 2010, doi:10.1021/ci100050t. Molecules are processed in parallel.

    Parameters
    ----------
    atom_invariants : (n_atoms_total,) uint32
        Initial atom invariants (RDKit's connectivity invariants).
    atom_offsets : (n_mols + 1,) int64
        Atoms of molecule ``i`` are ``atom_offsets[i]:atom_offsets[i + 1]``.
    bond_atoms : (n_bonds_total, 2) int32
        Begin/end atom of each bond, local to its molecule (0-based).
    bond_types : (n_bonds_total,) uint32
        Bond invariants (``int(Bond.GetBondType())``, or RDKit's stereo bond
        invariants when chirality is on); compared as int32.
    bond_offsets : (n_mols + 1,) int64
        Bonds of molecule ``i`` are ``bond_offsets[i]:bond_offsets[i + 1]``.
    radius : int
        Number of layers (ECFP4 is radius 2), ``>= 0``.
    atom_chirality : (n_atoms_total,) uint8, optional
        ``includeChirality=True`` codes: 0 = no chiral tag, 1 = chiral tag
        without an R/S CIP code, 2 = S, 3 = R (the values RDKit hashes in).
        An atom with a code ``> 0`` whose neighbours are all joined by single
        bonds and have distinct invariants gets its code combined into its
        invariant in that layer and every later one, as in RDKit's
        ``MorganEnvGenerator``. ``None`` (default) means no chirality.

    Returns
    -------
    env_ids : (n_env,) uint32
        32-bit environment identifiers, one per emitted environment, in
        RDKit's emission order (repeats kept, so counts can be formed).
    env_offsets : (n_mols + 1,) int64
        Environments of molecule ``i`` are ``env_offsets[i]:env_offsets[i + 1]``.
    env_atoms : (n_env,) int32
        Centre atom of each environment, local index.
    env_radius : (n_env,) uint8
        Radius of each environment.

    Raises
    ------
    ValueError
        If an array has the wrong dtype or shape, the offsets are not
        consistent, a bond refers to an atom outside its molecule (or joins an
        atom to itself), or ``radius`` is negative or not an integer.
    """
    inv, offsets, b_atoms, b_types, b_offsets = _validate_graph(
        atom_invariants, atom_offsets, bond_atoms, bond_types, bond_offsets)
    chir = _chirality_array(atom_chirality, inv.shape[0])
    radius = check_int("radius", radius, 0)
    return _environments_kernel(inv, chir, offsets, b_atoms, b_types, b_offsets, radius)


def fold_csr(
    env_ids: np.ndarray, env_offsets: np.ndarray, fp_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fold environment ids to ``fp_size`` bits as a CSR count matrix.

    Mirrors RDKit's ``FingerprintGenerator::getFingerprintHelper``: the bit of
    an environment is ``env_id % fp_size`` and the count of a bit is the number
    of environments folded onto it.

    Parameters
    ----------
    env_ids : (n_env,) uint32
        Environment identifiers (e.g. from :func:`morgan_environments`).
    env_offsets : (n_rows + 1,) int64
        Row ``i`` owns ``env_ids[env_offsets[i]:env_offsets[i + 1]]``.
    fp_size : int
        Number of bits, ``1 <= fp_size <= 2**31 - 1``.

    Returns
    -------
    indptr : (n_rows + 1,) int64
    indices : (nnz,) int32
        Set bits, sorted ascending and unique within each row.
    counts : (nnz,) int32
        Number of environments on each set bit (``>= 1``).

    Raises
    ------
    ValueError
        On wrong dtypes/shapes, inconsistent offsets or a bad ``fp_size``.
    """
    env_ids = as_array("env_ids", env_ids, np.uint32, 1)
    env_offsets = as_array("env_offsets", env_offsets, np.int64, 1)
    _check_offsets("env_offsets", env_offsets, env_ids.shape[0])
    fp_size = check_int("fp_size", fp_size, 1, _MAX_FP_SIZE)
    return _fold_kernel(env_ids, env_offsets, fp_size)


def morgan_csr(
    atom_invariants: np.ndarray,
    atom_offsets: np.ndarray,
    bond_atoms: np.ndarray,
    bond_types: np.ndarray,
    bond_offsets: np.ndarray,
    radius: int,
    fp_size: int,
    atom_chirality: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Folded Morgan count fingerprints of a batch, as CSR (fused, parallel).

    Equivalent to ``fold_csr(*morgan_environments(...)[:2], fp_size)``, i.e.
    RDKit's ``GetMorganGenerator(radius=radius, fpSize=fp_size)``:
    ``GetCountFingerprintAsNumPy`` gives ``counts`` at ``indices`` and
    ``GetFingerprintAsNumPy`` the set bits.

    Parameters
    ----------
    atom_invariants, atom_offsets, bond_atoms, bond_types, bond_offsets
        The molecular graphs, as in :func:`morgan_environments`.
    radius : int
        Number of layers, ``>= 0``.
    fp_size : int
        Number of bits, ``1 <= fp_size <= 2**31 - 1``.
    atom_chirality : (n_atoms_total,) uint8, optional
        Chirality codes as in :func:`morgan_environments`.

    Returns
    -------
    indptr : (n_mols + 1,) int64
    indices : (nnz,) int32
        Set bits, sorted ascending and unique within each row.
    counts : (nnz,) int32
        Environment counts per set bit.

    Raises
    ------
    ValueError
        As :func:`morgan_environments` and :func:`fold_csr`.
    """
    inv, offsets, b_atoms, b_types, b_offsets = _validate_graph(
        atom_invariants, atom_offsets, bond_atoms, bond_types, bond_offsets)
    chir = _chirality_array(atom_chirality, inv.shape[0])
    radius = check_int("radius", radius, 0)
    fp_size = check_int("fp_size", fp_size, 1, _MAX_FP_SIZE)
    return _morgan_csr_kernel(inv, chir, offsets, b_atoms, b_types, b_offsets, radius, fp_size)
