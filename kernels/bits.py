"""Packed bit-set helpers for fingerprints, in pure Numba.

A packed row of an ``fp_size``-bit fingerprint is ``ceil(fp_size / 64)``
``uint64`` words; feature ``f`` lives in word ``f // 64`` at bit ``f % 64``
(least significant bit first), and the unused high bits of the last word are
always 0. Population counts use LLVM's ``ctpop`` intrinsic, which compiles to
the hardware ``popcnt`` instruction where available; :func:`popcount64_swar`
is a portable SWAR version kept as a reference.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from .checks import as_array, check_int
from .config import jit, parallel_jit

__all__ = [
    "PACK_KERNELS",
    "csr_to_dense_uint8",
    "cttz64",
    "pack_csr",
    "popcount64",
    "popcount64_swar",
    "popcount_rows",
    "unpack_bits",
]

_ONE = np.uint64(1)
_SIX = np.uint64(6)
_LOW6 = np.uint64(63)
_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)
_S1 = np.uint64(1)
_S2 = np.uint64(2)
_S4 = np.uint64(4)
_S56 = np.uint64(56)


@intrinsic
def _ctpop(typingctx, x):
    """LLVM ``llvm.ctpop`` on an integer of any width (same type out)."""
    if not isinstance(x, types.Integer):
        return None
    sig = x(x)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@intrinsic
def _cttz(typingctx, x):
    """LLVM ``llvm.cttz`` (count trailing zeros; defined for 0 as the width)."""
    if not isinstance(x, types.Integer):
        return None
    sig = x(x)

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return sig, codegen


@jit
def popcount64(x: np.uint64) -> np.uint64:
    """Count the set bits of a ``uint64`` (LLVM ``ctpop``)."""
    return _ctpop(np.uint64(x))


@jit
def cttz64(x: np.uint64) -> np.uint64:
    """Index of the lowest set bit of a ``uint64`` (LLVM ``cttz``; 64 for 0)."""
    return _cttz(np.uint64(x))


@jit
def popcount64_swar(x: np.uint64) -> np.uint64:
    """Count the set bits of a ``uint64`` by the SWAR bit-slicing method."""
    x = np.uint64(x)
    x = x - ((x >> _S1) & _M1)
    x = (x & _M2) + ((x >> _S2) & _M2)
    x = (x + (x >> _S4)) & _M4
    return (x * _H01) >> _S56


def _n_words(fp_size: int) -> int:
    return (fp_size + 63) // 64






def _check_csr(indptr: np.ndarray, indices: np.ndarray, fp_size: int) -> None:
    if indptr.shape[0] < 1 or indptr[0] != 0:
        raise ValueError("indptr must start with 0 and have n_rows + 1 entries")
    if indptr[-1] != indices.shape[0]:
        raise ValueError(f"indptr[-1] ({indptr[-1]}) must equal len(indices) ({indices.shape[0]})")
    if np.any(indptr[1:] < indptr[:-1]):
        raise ValueError("indptr must be non-decreasing")
    if indices.size and (indices.min() < 0 or indices.max() >= fp_size):
        raise ValueError(f"indices must lie in [0, {fp_size}), got range "
                         f"[{indices.min()}, {indices.max()}]")


@parallel_jit
def _pack_kernel(indptr, indices, n_words):
    n_rows = indptr.shape[0] - 1
    out = np.zeros((n_rows, n_words), dtype=np.uint64)
    for i in numba.prange(n_rows):
        for k in range(indptr[i], indptr[i + 1]):
            f = np.uint64(indices[k])
            out[i, f >> _SIX] |= _ONE << (f & _LOW6)
    return out


@parallel_jit
def _unpack_kernel(words, fp_size):
    n_rows = words.shape[0]
    out = np.zeros((n_rows, fp_size), dtype=np.uint8)
    for i in numba.prange(n_rows):
        for f in range(fp_size):
            out[i, f] = np.uint8((words[i, f >> 6] >> np.uint64(f & 63)) & _ONE)
    return out


@parallel_jit
def _popcount_kernel(words):
    n_rows = words.shape[0]
    out = np.zeros(n_rows, dtype=np.int32)
    for i in numba.prange(n_rows):
        c = np.uint64(0)
        for w in range(words.shape[1]):
            c += _ctpop(words[i, w])
        out[i] = np.int32(c)
    return out


@parallel_jit
def _dense_kernel(indptr, indices, counts, fp_size, use_counts):
    n_rows = indptr.shape[0] - 1
    out = np.zeros((n_rows, fp_size), dtype=np.uint8)
    for i in numba.prange(n_rows):
        for k in range(indptr[i], indptr[i + 1]):
            if use_counts:
                c = counts[k]
                if c > 255:
                    c = 255
                elif c < 0:
                    c = 0
                out[i, indices[k]] = np.uint8(c)
            else:
                out[i, indices[k]] = 1
    return out


def pack_csr(indptr: np.ndarray, indices: np.ndarray, fp_size: int) -> np.ndarray:
    """Pack CSR rows of set features into 64-bit words.

    Parameters
    ----------
    indptr : (n_rows + 1,) int64
        Row ``i`` owns ``indices[indptr[i]:indptr[i + 1]]``.
    indices : (nnz,) int32
        Set features, each in ``[0, fp_size)`` (duplicates are harmless).
    fp_size : int
        Number of features per row, ``>= 1``.

    Returns
    -------
    (n_rows, ceil(fp_size / 64)) uint64
        Feature ``f`` is bit ``f % 64`` (LSB first) of word ``f // 64``.

    Raises
    ------
    ValueError
        On wrong dtypes/shapes, inconsistent ``indptr`` or out-of-range
        indices.
    """
    indptr = as_array("indptr", indptr, np.int64, 1)
    indices = as_array("indices", indices, np.int32, 1)
    fp_size = check_int("fp_size", fp_size, 1)
    _check_csr(indptr, indices, fp_size)
    return _pack_kernel(indptr, indices, _n_words(fp_size))


#: The compiled functions :func:`pack_csr` and :func:`popcount_rows` call
#: (for :class:`~symmol.kernels.tiering.CompileTier`).
PACK_KERNELS = (_pack_kernel, _popcount_kernel)


def unpack_bits(words: np.ndarray, fp_size: int) -> np.ndarray:
    """Expand packed rows into one uint8 (0/1) per feature.

    Parameters
    ----------
    words : (n_rows, ceil(fp_size / 64)) uint64
        Packed rows as produced by :func:`pack_csr`.
    fp_size : int
        Number of features per row, ``>= 1``.

    Returns
    -------
    (n_rows, fp_size) uint8
        ``out[i, f] = (words[i, f // 64] >> (f % 64)) & 1``.

    Raises
    ------
    ValueError
        If ``words`` is not a 2-D uint64 array with ``ceil(fp_size / 64)``
        columns.
    """
    words = as_array("words", words, np.uint64, 2)
    fp_size = check_int("fp_size", fp_size, 1)
    if words.shape[1] != _n_words(fp_size):
        raise ValueError(f"words has {words.shape[1]} columns, expected "
                         f"ceil({fp_size} / 64) = {_n_words(fp_size)}")
    return _unpack_kernel(words, fp_size)


def popcount_rows(words: np.ndarray) -> np.ndarray:
    """Count the set bits in each packed row.

    Parameters
    ----------
    words : (n_rows, n_words) uint64

    Returns
    -------
    (n_rows,) int32

    Raises
    ------
    ValueError
        If ``words`` is not a 2-D uint64 array.
    """
    words = as_array("words", words, np.uint64, 2)
    return _popcount_kernel(words)


def csr_to_dense_uint8(indptr: np.ndarray, indices: np.ndarray, counts: np.ndarray,
                       fp_size: int, use_counts: bool) -> np.ndarray:
    """Dense uint8 matrix from a CSR fingerprint, as bits or clipped counts.

    Parameters
    ----------
    indptr : (n_rows + 1,) int64
    indices : (nnz,) int32
        Features in ``[0, fp_size)``, unique within a row (as from
        :func:`symmol.kernels.morgan.fold_csr`).
    counts : (nnz,) int32
        Count of each stored feature.
    fp_size : int
        Number of columns, ``>= 1``.
    use_counts : bool
        If true write ``min(count, 255)`` (negative counts become 0), else 1
        for every stored feature.

    Returns
    -------
    (n_rows, fp_size) uint8

    Raises
    ------
    ValueError
        On wrong dtypes/shapes, inconsistent ``indptr`` or out-of-range
        indices.
    """
    indptr = as_array("indptr", indptr, np.int64, 1)
    indices = as_array("indices", indices, np.int32, 1)
    counts = as_array("counts", counts, np.int32, 1)
    fp_size = check_int("fp_size", fp_size, 1)
    if counts.shape[0] != indices.shape[0]:
        raise ValueError(f"counts has {counts.shape[0]} entries but indices has "
                         f"{indices.shape[0]}")
    _check_csr(indptr, indices, fp_size)
    return _dense_kernel(indptr, indices, counts, fp_size, bool(use_counts))
