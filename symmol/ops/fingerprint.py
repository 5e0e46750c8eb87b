"""PyTensor Ops for the first affine map of a fingerprint model: ``X @ W``.

``X`` is a batch of ``n_rows`` fingerprints in CSR form: row ``i`` has the
on-bits ``indices[indptr[i]:indptr[i + 1]]`` with weights ``values`` (1.0 for
bits, counts for count fingerprints); ``W`` is the ``(n_bits, n_hidden)`` weight
matrix. A fingerprint has ~50 of 2048 bits on, so the sparse product does ~40x
less work than a dense ``x @ W``.

Ops
---
FingerprintDot
    ``(indptr, indices, values, W) -> X @ W`` of shape ``(n_rows, n_hidden)``.
FingerprintDotGradW
    ``(indptr, indices, values, G, n_bits) -> X.T @ G`` of shape
    ``(n_bits, n_hidden)``: the gradient wrt ``W``.
FingerprintRowDot
    ``(indptr, indices, G, W) -> dvalues`` of shape ``(nnz,)`` with
    ``dvalues[k] = G[row(k)] . W[indices[k]]``: the gradient wrt ``values``.

The three Ops are closed under differentiation (each pullback is built from the
others), so gradients of any order are available.

Bits and counts: ``values`` holds 1.0 for bit fingerprints and the counts for count
fingerprints (integer counts are cast to ``W``'s dtype); the gradient wrt ``values`` is
what a learned count weighting would use.

Row-sparse gradient
-------------------
:func:`fingerprint_dot_grad_w_rows` returns ``(rows, grad_rows)``: the sorted distinct
on-bits of the batch and ``(X.T @ G)[rows]``, so an optimizer can update only those rows
of ``W`` (``pt.inc_subtensor(W[rows], ...)``). ``pytensor.grad`` still gives the dense
``X.T @ G`` by default.

Adam
----
An exact (``torch.optim.Adam``) step moves every row of ``W``, also those of bits that are
off in the batch, so a row-sparse update is not Adam (and at batch 256 ~84 % of 2048 ECFP4 bits are
on in ZINC250k). Under the Numba backend :func:`symmol.nn.updates.adam` instead fuses the dense
gradient into the step (:class:`symmol.ops.adam.FingerprintAdam`): one in-place pass over
``W`` and its moments, ``X.T @ G`` never stored.

Writing ``pt.dot(X, W)`` with ``X`` a CSR fingerprint matrix compiles to these Ops: see
:mod:`symmol.ops.rewrites`.

Backends
--------
* Python linker (``Mode(linker="py")``, ``FAST_COMPILE``): ``perform``, an
  independent reference built on ``scipy.sparse`` / NumPy, not on the kernels.
* Numba linker (PyTensor 3's default: ``mode="NUMBA"``, or ``"FAST_RUN"`` /
  ``"Mode"`` with ``config.linker="auto"``): the kernels of
  :mod:`symmol.kernels.sparse`, registered below (:mod:`symmol.ops._numba_cache`).
  The forward ``X @ W`` with int64 ``indptr``,
  int32 ``indices`` and float32/float64 ``W`` calls the parallel kernel through a native
  entry point (:mod:`symmol.ops.entry_points`); everything else is compiled serially into
  the graph (see :func:`symmol.ops._numba_cache.graph_kernel` for why).
* C linker (``mode="CVM"``, or ``config.linker="cvm"`` with ``"FAST_RUN"``):
  serial C++ loops (``c_code``). Measured at batch 128, ~46 nnz per row, 2048
  bits, 512 hidden units, float32, best of 300 calls on 2 cores: forward +
  backward takes ~0.7 ms with Numba (2 threads), ~2.5 ms with ``perform``
  under the C linker (3.6x) and ~1.4 ms with the C code, so the C code pays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import cast

import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import disconnected_type
from pytensor.graph.basic import Apply, Constant, Variable
from pytensor.link.c.op import COp
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key
from pytensor.scalar import upcast
from pytensor.tensor import TensorLike
from pytensor.tensor.type import TensorType
from pytensor.tensor.variable import TensorVariable

from symmol.kernels import sparse as _sparse_kernels
from symmol.kernels.sparse import csr_dense_matmul, csr_row_dot, csr_t_dense_matmul
from symmol.ops import entry_points
from symmol.ops._csr import check_csr, scipy_csr
from symmol.ops._numba_cache import cache_version, graph_kernel, register_graph_kernel
from symmol.ops._types import as_float_tensor, as_int_vector, as_n_bits, as_values, n_bits_of, static_n_rows
from symmol.ops.segment import used_rows

__all__ = [
    "FingerprintDot",
    "FingerprintDotGradW",
    "FingerprintRowDot",
    "fingerprint_dot",
    "fingerprint_dot_grad_w",
    "fingerprint_dot_grad_w_rows",
    "fingerprint_row_dot",
]

# --------------------------------------------------------------------------- #
# C implementation (shared support code, one copy per compiled module)
# --------------------------------------------------------------------------- #

_C_SUPPORT_CODE = r"""
#ifndef SYMMOL_FINGERPRINT_SUPPORT_CODE
#define SYMMOL_FINGERPRINT_SUPPORT_CODE

/* Validate a CSR structure; set a Python ValueError and return -1 if malformed. */
template <typename P, typename I>
static int symmol_fpcheck_csr(const P* indptr, npy_intp n_ptr, const I* indices, npy_intp nnz,
                               npy_intp n_values, npy_intp n_cols)
{
    if (n_ptr < 1) {
        PyErr_SetString(PyExc_ValueError, "indptr must have at least one entry");
        return -1;
    }
    if (n_values != nnz) {
        PyErr_SetString(PyExc_ValueError, "values and indices must have the same length");
        return -1;
    }
    if ((npy_int64)indptr[0] != 0 || (npy_int64)indptr[n_ptr - 1] != (npy_int64)nnz) {
        PyErr_SetString(PyExc_ValueError, "indptr must start at 0 and end at len(indices)");
        return -1;
    }
    for (npy_intp i = 0; i + 1 < n_ptr; ++i) {
        if ((npy_int64)indptr[i + 1] < (npy_int64)indptr[i]) {
            PyErr_SetString(PyExc_ValueError, "indptr must be non-decreasing");
            return -1;
        }
    }
    for (npy_intp k = 0; k < nnz; ++k) {
        const npy_int64 b = (npy_int64)indices[k];
        if (b < 0 || b >= (npy_int64)n_cols) {
            PyErr_SetString(PyExc_ValueError, "indices out of range [0, n_cols)");
            return -1;
        }
    }
    return 0;
}

/* out[i] = sum_k values[k] * W[indices[k]]; all arrays C-contiguous. */
template <typename P, typename I, typename V, typename T>
static void symmol_fp_csr_dense_matmul(const P* indptr, npy_intp n_rows, const I* indices,
                                       const V* values, const T* W, npy_intp n_hidden,
                                       T* out)
{
    for (npy_intp i = 0; i < n_rows; ++i) {
        T* __restrict__ row = out + i * n_hidden;
        for (npy_intp j = 0; j < n_hidden; ++j) row[j] = 0;
        for (npy_int64 k = (npy_int64)indptr[i]; k < (npy_int64)indptr[i + 1]; ++k) {
            const T v = (T)values[k];
            const T* __restrict__ w = W + (npy_intp)indices[k] * n_hidden;
            for (npy_intp j = 0; j < n_hidden; ++j) row[j] += v * w[j];
        }
    }
}

/* dW[b] = sum_{k: indices[k] == b} values[k] * G[row(k)]; all arrays C-contiguous. */
template <typename P, typename I, typename V, typename T>
static void symmol_fp_csr_t_dense_matmul(const P* indptr, npy_intp n_rows, const I* indices,
                                         const V* values, const T* G, npy_intp n_hidden,
                                         npy_intp n_bits, T* dW)
{
    for (npy_intp q = 0; q < n_bits * n_hidden; ++q) dW[q] = 0;
    for (npy_intp i = 0; i < n_rows; ++i) {
        const T* __restrict__ g = G + i * n_hidden;
        for (npy_int64 k = (npy_int64)indptr[i]; k < (npy_int64)indptr[i + 1]; ++k) {
            const T v = (T)values[k];
            T* __restrict__ dst = dW + (npy_intp)indices[k] * n_hidden;
            for (npy_intp j = 0; j < n_hidden; ++j) dst[j] += v * g[j];
        }
    }
}

/* Pairwise (tree) dot product g . w of length n; tmp has room for n values. */
template <typename T>
static T symmol_fp_pairwise_dot(const T* __restrict__ g, const T* __restrict__ w, npy_intp n,
                                T* __restrict__ tmp)
{
    T s = 0;
    if (n <= 16) {
        for (npy_intp j = 0; j < n; ++j) s += g[j] * w[j];
        return s;
    }
    npy_intp half = n / 2, off = n - half;
    for (npy_intp j = 0; j < half; ++j) tmp[j] = g[j] * w[j] + g[off + j] * w[off + j];
    if (off != half) tmp[half] = g[half] * w[half];
    n = off;
    while (n > 16) {
        half = n / 2;
        off = n - half;
        T* __restrict__ hi = tmp + off;
        for (npy_intp j = 0; j < half; ++j) tmp[j] += hi[j];
        n = off;
    }
    for (npy_intp j = 0; j < n; ++j) s += tmp[j];
    return s;
}

/* out[k] = G[row(k)] . W[indices[k]]; all arrays C-contiguous. Returns -1 on OOM. */
template <typename P, typename I, typename T>
static int symmol_fp_csr_row_dot(const P* indptr, npy_intp n_rows, const I* indices,
                                 const T* G, const T* W, npy_intp n_hidden, T* out)
{
    T* tmp = (T*)malloc((n_hidden > 0 ? n_hidden : 1) * sizeof(T));
    if (!tmp) {
        PyErr_NoMemory();
        return -1;
    }
    for (npy_intp i = 0; i < n_rows; ++i) {
        const T* g = G + i * n_hidden;
        for (npy_int64 k = (npy_int64)indptr[i]; k < (npy_int64)indptr[i + 1]; ++k) {
            out[k] = symmol_fp_pairwise_dot(g, W + (npy_intp)indices[k] * n_hidden, n_hidden, tmp);
        }
    }
    free(tmp);
    return 0;
}

/* Ensure *z is a C-contiguous array of the given shape and type; -1 on failure. */
static int symmol_fp_prepare_output(PyArrayObject** z, int ndim, npy_intp* dims, int typenum)
{
    int ok = *z != NULL && PyArray_NDIM(*z) == ndim && PyArray_TYPE(*z) == typenum
             && PyArray_IS_C_CONTIGUOUS(*z);
    for (int d = 0; ok && d < ndim; ++d) ok = PyArray_DIMS(*z)[d] == dims[d];
    if (ok) return 0;
    Py_XDECREF(*z);
    *z = (PyArrayObject*)PyArray_EMPTY(ndim, dims, typenum, 0);
    return *z ? 0 : -1;
}

#endif
"""

#: Bump when the C code generated by the Ops changes (the support code is hashed in too).
_C_CODE_VERSION = 1
_C_SUPPORT_HASH = int(hashlib.sha256(_C_SUPPORT_CODE.encode()).hexdigest()[:12], 16)


class _FingerprintCOp(COp):
    """Shared C plumbing: support code, cache version, contiguous input views."""

    __props__ = ()

    def c_support_code(self, **kwargs) -> str:
        return _C_SUPPORT_CODE

    def c_code_cache_version(self) -> tuple[int, ...]:
        return (_C_CODE_VERSION, _C_SUPPORT_HASH)

    @staticmethod
    def _c_contiguous_inputs(names: Sequence[str]) -> tuple[str, str, str]:
        """C snippets: take contiguous views ``c_<i>`` of the inputs, test, release."""
        take = "\n".join(
            f"PyArrayObject* c_{i} = PyArray_GETCONTIGUOUS({n});" for i, n in enumerate(names)
        )
        all_ok = " && ".join(f"c_{i}" for i in range(len(names)))
        release = "\n".join(f"Py_XDECREF(c_{i});" for i in range(len(names)))
        return take, all_ok, release


# --------------------------------------------------------------------------- #
# Ops
# --------------------------------------------------------------------------- #


class FingerprintDot(_FingerprintCOp):
    """Sparse CSR fingerprint batch times a dense weight matrix, ``X @ W``.

    Inputs
    ------
    indptr : int vector, shape (n_rows + 1,)
        CSR row pointers.
    indices : int vector, shape (nnz,)
        On-bit indices in ``[0, n_bits)``.
    values : real vector, shape (nnz,)
        Weights of the on-bits. Cast to ``W``'s dtype: integer/bool counts
        always, float values only if that is not a downcast (else TypeError).
    W : float32/float64 matrix, shape (n_bits, n_hidden)
        Weight matrix.

    Output
    ------
    out : matrix, shape (n_rows, n_hidden), dtype of ``W``
        ``out[i] = sum(values[k] * W[indices[k]] for k in row i)``.

    Gradients: disconnected wrt ``indptr``/``indices`` (integer structure),
    :class:`FingerprintRowDot` wrt ``values`` and :class:`FingerprintDotGradW`
    wrt ``W``.
    """

    __props__ = ()

    def make_node(  # type: ignore[override]
        self, indptr: TensorLike, indices: TensorLike, values: TensorLike, W: TensorLike
    ) -> Apply:
        """Build the ``Apply`` node of ``X @ W``.

        Returns
        -------
        Apply
            Inputs ``indptr``, ``indices``, ``values`` (cast to ``W``'s dtype) and ``W``; one output of
            ``W``'s dtype, static shape ``(n_rows, n_hidden)`` where known.

        Raises
        ------
        TypeError
            If ``indptr``/``indices`` are not integer vectors, ``W`` is not a float32/float64 matrix,
            or ``values`` is not a real vector or would be downcast.
        """
        name = type(self).__name__
        indptr = as_int_vector(indptr, name, "indptr")
        indices = as_int_vector(indices, name, "indices")
        W = as_float_tensor(W, 2, name, "W")
        values = as_values(values, W.type.dtype, name, "W")
        out = TensorType(W.type.dtype, shape=(static_n_rows(indptr), W.type.shape[1]))()
        return Apply(self, [indptr, indices, values, W], [out])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """Compute ``X @ W`` with ``scipy.sparse`` into ``output_storage[0][0]``.

        Raises
        ------
        ValueError
            If the CSR structure is invalid (see :func:`symmol.ops._csr.check_csr`).
        """
        indptr, indices, values, W = inputs
        check_csr(type(self).__name__, indptr, indices, values.shape[0], W.shape[0])
        X = scipy_csr(indptr, indices, values, W.shape[0])
        output_storage[0][0] = np.asarray(X @ W, dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return the output shape ``(len(indptr) - 1, n_hidden)``."""
        indptr_shape, _, _, W_shape = input_shapes
        return [(indptr_shape[0] - 1, W_shape[1])]

    def c_code(
        self, node: Apply, name: str, inputs: list[str], outputs: list[str], sub: dict
    ) -> str:
        """Return the C code of the node: contiguous inputs, CSR check, then the serial sparse product.

        Fails with ``ValueError`` for an invalid CSR structure.
        """
        indptr, indices, values, W = inputs
        (z,) = outputs
        take, all_ok, release = self._c_contiguous_inputs(inputs)
        typenum = node.outputs[0].type.dtype_specs()[2]
        return f"""
        {{
        {take}
        int err = ({all_ok}) ? 0 : -1;
        if (!err) {{
            const npy_intp n_ptr = PyArray_DIMS(c_0)[0];
            const npy_intp n_bits = PyArray_DIMS(c_3)[0];
            const npy_intp n_hidden = PyArray_DIMS(c_3)[1];
            err = symmol_fpcheck_csr(
                (const dtype_{indptr}*)PyArray_DATA(c_0), n_ptr,
                (const dtype_{indices}*)PyArray_DATA(c_1), PyArray_DIMS(c_1)[0],
                PyArray_DIMS(c_2)[0], n_bits);
            npy_intp dims[2] = {{n_ptr - 1, n_hidden}};
            if (!err) err = symmol_fp_prepare_output(&{z}, 2, dims, {typenum});
            if (!err) {{
                symmol_fp_csr_dense_matmul(
                    (const dtype_{indptr}*)PyArray_DATA(c_0), n_ptr - 1,
                    (const dtype_{indices}*)PyArray_DATA(c_1),
                    (const dtype_{values}*)PyArray_DATA(c_2),
                    (const dtype_{W}*)PyArray_DATA(c_3), n_hidden,
                    (dtype_{z}*)PyArray_DATA({z}));
            }}
        }}
        {release}
        if (err) {{ {sub["fail"]} }}
        }}
        """

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Connect the output to ``values`` and ``W``; ``indptr`` and ``indices`` are integer structure."""
        return [[False], [False], [True], [True]]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        """Return ``[disconnected, disconnected, dvalues, dW]``.

        ``dvalues`` is :func:`fingerprint_row_dot` of the cotangent, ``dW`` is
        :func:`fingerprint_dot_grad_w` (``X.T @ g``), both in ``W``'s dtype.
        """
        indptr, indices, values, W = cast(Sequence[TensorVariable], inputs)
        (g_out,) = cotangents
        g_out = pt.cast(g_out, W.type.dtype)
        g_values = fingerprint_row_dot(indptr, indices, g_out, W)
        g_W = fingerprint_dot_grad_w(indptr, indices, values, g_out, n_bits_of(W))
        return [disconnected_type(), disconnected_type(), g_values, g_W]


class FingerprintDotGradW(_FingerprintCOp):
    """Transposed product ``X.T @ G``: the gradient of :class:`FingerprintDot` wrt ``W``.

    Inputs
    ------
    indptr : int vector, shape (n_rows + 1,)
        CSR row pointers.
    indices : int vector, shape (nnz,)
        On-bit indices in ``[0, n_bits)``.
    values : real vector, shape (nnz,)
        Weights of the on-bits. Cast to ``G``'s dtype: integer/bool counts
        always, float values only if that is not a downcast (else TypeError).
    G : float32/float64 matrix, shape (n_rows, n_hidden)
        Cotangent of the forward output.
    n_bits : int scalar
        Number of rows of the result.

    Output
    ------
    dW : matrix, shape (n_bits, n_hidden), dtype of ``G``
        ``dW[b] = sum(values[k] * G[row(k)] for k with indices[k] == b)``.

    The Op is bilinear in ``(values, G)``: its pullback is
    :class:`FingerprintRowDot` wrt ``values`` and :class:`FingerprintDot` wrt
    ``G`` (so second derivatives of ``X @ W`` work).
    """

    __props__ = ()

    def make_node(  # type: ignore[override]
        self,
        indptr: TensorLike,
        indices: TensorLike,
        values: TensorLike,
        G: TensorLike,
        n_bits: TensorLike,
    ) -> Apply:
        """Build the ``Apply`` node of ``X.T @ G``.

        Returns
        -------
        Apply
            Inputs ``indptr``, ``indices``, ``values`` (cast to ``G``'s dtype), ``G`` and ``n_bits``;
            one output of ``G``'s dtype, static shape ``(n_bits, n_hidden)`` where known.

        Raises
        ------
        TypeError
            If an input has the wrong rank or dtype (see the class docstring).
        ValueError
            If ``n_bits`` is a negative constant.
        """
        name = type(self).__name__
        indptr = as_int_vector(indptr, name, "indptr")
        indices = as_int_vector(indices, name, "indices")
        G = as_float_tensor(G, 2, name, "G")
        values = as_values(values, G.type.dtype, name, "G")
        n_bits = as_n_bits(n_bits, name)
        static_bits = int(n_bits.data) if isinstance(n_bits, Constant) else None
        if static_bits is not None and static_bits < 0:
            raise ValueError(f"{name}: n_bits must be non-negative, got {static_bits}")
        out = TensorType(G.type.dtype, shape=(static_bits, G.type.shape[1]))()
        return Apply(self, [indptr, indices, values, G, n_bits], [out])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """Compute ``X.T @ G`` with ``scipy.sparse`` into ``output_storage[0][0]``.

        Raises
        ------
        ValueError
            If ``n_bits`` is negative, the CSR structure is invalid or ``G`` does not have
            ``len(indptr) - 1`` rows.
        """
        indptr, indices, values, G, n = inputs
        name = type(self).__name__
        n_bits = int(n)
        if n_bits < 0:
            raise ValueError(f"{name}: n_bits must be non-negative, got {n_bits}")
        check_csr(name, indptr, indices, values.shape[0], n_bits)
        if G.shape[0] != indptr.shape[0] - 1:
            raise ValueError(f"{name}: G must have len(indptr) - 1 = {indptr.shape[0] - 1} rows")
        X = scipy_csr(indptr, indices, values, n_bits)
        output_storage[0][0] = np.asarray(X.T @ G, dtype=node.outputs[0].type.dtype)

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return the output shape ``(n_bits, n_hidden)``."""
        G_shape = input_shapes[3]
        return [(pt.cast(node.inputs[4], "int64"), G_shape[1])]

    def c_code(
        self, node: Apply, name: str, inputs: list[str], outputs: list[str], sub: dict
    ) -> str:
        """Return the C code of the node: contiguous inputs, checks, then the serial transposed product.

        Fails with ``ValueError`` for a negative ``n_bits``, a ``G`` without ``len(indptr) - 1`` rows or
        an invalid CSR structure.
        """
        indptr, indices, values, G, n_bits = inputs
        (z,) = outputs
        take, all_ok, release = self._c_contiguous_inputs(inputs[:4])
        typenum = node.outputs[0].type.dtype_specs()[2]
        return f"""
        {{
        {take}
        int err = ({all_ok}) ? 0 : -1;
        if (!err) {{
            const npy_intp n_ptr = PyArray_DIMS(c_0)[0];
            const npy_intp n_hidden = PyArray_DIMS(c_3)[1];
            const npy_int64 n_bits = (npy_int64)((dtype_{n_bits}*)PyArray_DATA({n_bits}))[0];
            if (n_bits < 0) {{
                PyErr_SetString(PyExc_ValueError, "n_bits must be non-negative");
                err = -1;
            }} else if (PyArray_DIMS(c_3)[0] != n_ptr - 1) {{
                PyErr_SetString(PyExc_ValueError, "G must have len(indptr) - 1 rows");
                err = -1;
            }}
            if (!err) err = symmol_fpcheck_csr(
                (const dtype_{indptr}*)PyArray_DATA(c_0), n_ptr,
                (const dtype_{indices}*)PyArray_DATA(c_1), PyArray_DIMS(c_1)[0],
                PyArray_DIMS(c_2)[0], (npy_intp)n_bits);
            npy_intp dims[2] = {{(npy_intp)n_bits, n_hidden}};
            if (!err) err = symmol_fp_prepare_output(&{z}, 2, dims, {typenum});
            if (!err) {{
                symmol_fp_csr_t_dense_matmul(
                    (const dtype_{indptr}*)PyArray_DATA(c_0), n_ptr - 1,
                    (const dtype_{indices}*)PyArray_DATA(c_1),
                    (const dtype_{values}*)PyArray_DATA(c_2),
                    (const dtype_{G}*)PyArray_DATA(c_3), n_hidden, (npy_intp)n_bits,
                    (dtype_{z}*)PyArray_DATA({z}));
            }}
        }}
        {release}
        if (err) {{ {sub["fail"]} }}
        }}
        """

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Connect the output to ``values`` and ``G``; ``indptr``, ``indices`` and ``n_bits`` are integer."""
        return [[False], [False], [True], [True], [False]]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        """Return ``[disconnected, disconnected, dvalues, dG, disconnected]``.

        ``dvalues`` is :func:`fingerprint_row_dot` and ``dG`` is :func:`fingerprint_dot` of the
        cotangent, both in ``G``'s dtype.
        """
        indptr, indices, values, G, _n_bits = inputs
        (g_out,) = cotangents
        g_out = pt.cast(g_out, G.type.dtype)
        g_values = fingerprint_row_dot(indptr, indices, G, g_out)
        g_G = fingerprint_dot(indptr, indices, values, g_out)
        return [disconnected_type(), disconnected_type(), g_values, g_G, disconnected_type()]


class FingerprintRowDot(_FingerprintCOp):
    """Row-wise dots ``out[k] = G[row(k)] . W[indices[k]]``.

    The gradient of :class:`FingerprintDot` wrt ``values``.

    Inputs
    ------
    indptr : int vector, shape (n_rows + 1,)
        CSR row pointers.
    indices : int vector, shape (nnz,)
        On-bit indices in ``[0, n_bits)``.
    G : float32/float64 matrix, shape (n_rows, n_hidden)
        Cotangent of the forward output.
    W : float32/float64 matrix, shape (n_bits, n_hidden)
        Weight matrix. ``G`` and ``W`` are cast to their common dtype.

    Output
    ------
    out : vector, shape (nnz,), common dtype of ``G`` and ``W``

    The Op is bilinear in ``(G, W)``: its pullback is :class:`FingerprintDot`
    wrt ``G`` and :class:`FingerprintDotGradW` wrt ``W``.
    """

    __props__ = ()

    def make_node(  # type: ignore[override]
        self, indptr: TensorLike, indices: TensorLike, G: TensorLike, W: TensorLike
    ) -> Apply:
        """Build the ``Apply`` node of the row-wise dots.

        Returns
        -------
        Apply
            Inputs ``indptr``, ``indices``, and ``G`` and ``W`` cast to their common dtype; one
            output vector of that dtype and the static length of ``indices``.

        Raises
        ------
        TypeError
            If ``indptr``/``indices`` are not integer vectors or ``G``/``W`` not float32/float64
            matrices.
        """
        name = type(self).__name__
        indptr = as_int_vector(indptr, name, "indptr")
        indices = as_int_vector(indices, name, "indices")
        G = as_float_tensor(G, 2, name, "G")
        W = as_float_tensor(W, 2, name, "W")
        dtype = upcast(G.type.dtype, W.type.dtype)
        G = pt.cast(G, dtype) if G.type.dtype != dtype else G
        W = pt.cast(W, dtype) if W.type.dtype != dtype else W
        out = TensorType(dtype, shape=(indices.type.shape[0],))()
        return Apply(self, [indptr, indices, G, W], [out])

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """Compute ``out[k] = G[row(k)] . W[indices[k]]`` with NumPy (one gemv per row).

        Raises
        ------
        ValueError
            If the CSR structure is invalid, ``G`` does not have ``len(indptr) - 1`` rows, or ``G``
            and ``W`` differ in their number of columns.
        """
        indptr, indices, G, W = inputs
        name = type(self).__name__
        check_csr(name, indptr, indices, indices.shape[0], W.shape[0])
        if G.shape[0] != indptr.shape[0] - 1:
            raise ValueError(f"{name}: G must have len(indptr) - 1 = {indptr.shape[0] - 1} rows")
        if G.shape[1] != W.shape[1]:
            raise ValueError(
                f"{name}: G and W must have the same number of columns, "
                f"got {G.shape[1]} and {W.shape[1]}"
            )
        out = np.empty(indices.shape[0], dtype=node.outputs[0].type.dtype)
        for i in range(G.shape[0]):
            start, stop = indptr[i], indptr[i + 1]
            if stop > start:
                # one small BLAS gemv per row; gathering all rows at once costs 4x more
                out[start:stop] = W[indices[start:stop]] @ G[i]
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return the output shape ``(nnz,)``, the length of ``indices``."""
        return [(input_shapes[1][0],)]

    def c_code(
        self, node: Apply, name: str, inputs: list[str], outputs: list[str], sub: dict
    ) -> str:
        """Return the C code of the node: contiguous inputs, checks, then the serial row-wise dots.

        Fails with ``ValueError`` for a ``G`` without ``len(indptr) - 1`` rows, ``G`` and ``W`` of
        different widths or an invalid CSR structure.
        """
        indptr, indices, G, W = inputs
        (z,) = outputs
        take, all_ok, release = self._c_contiguous_inputs(inputs)
        typenum = node.outputs[0].type.dtype_specs()[2]
        return f"""
        {{
        {take}
        int err = ({all_ok}) ? 0 : -1;
        if (!err) {{
            const npy_intp n_ptr = PyArray_DIMS(c_0)[0];
            const npy_intp nnz = PyArray_DIMS(c_1)[0];
            const npy_intp n_hidden = PyArray_DIMS(c_2)[1];
            if (PyArray_DIMS(c_2)[0] != n_ptr - 1) {{
                PyErr_SetString(PyExc_ValueError, "G must have len(indptr) - 1 rows");
                err = -1;
            }} else if (PyArray_DIMS(c_3)[1] != n_hidden) {{
                PyErr_SetString(PyExc_ValueError,
                                "G and W must have the same number of columns");
                err = -1;
            }}
            if (!err) err = symmol_fpcheck_csr(
                (const dtype_{indptr}*)PyArray_DATA(c_0), n_ptr,
                (const dtype_{indices}*)PyArray_DATA(c_1), nnz, nnz, PyArray_DIMS(c_3)[0]);
            npy_intp dims[1] = {{nnz}};
            if (!err) err = symmol_fp_prepare_output(&{z}, 1, dims, {typenum});
            if (!err) err = symmol_fp_csr_row_dot(
                (const dtype_{indptr}*)PyArray_DATA(c_0), n_ptr - 1,
                (const dtype_{indices}*)PyArray_DATA(c_1),
                (const dtype_{G}*)PyArray_DATA(c_2), (const dtype_{W}*)PyArray_DATA(c_3),
                n_hidden, (dtype_{z}*)PyArray_DATA({z}));
        }}
        {release}
        if (err) {{ {sub["fail"]} }}
        }}
        """

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Connect the output to ``G`` and ``W``; ``indptr`` and ``indices`` are integer structure."""
        return [[False], [False], [True], [True]]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        """Return ``[disconnected, disconnected, dG, dW]``.

        ``dG`` is :func:`fingerprint_dot` and ``dW`` is :func:`fingerprint_dot_grad_w` of the
        cotangent, both in ``G``'s dtype.
        """
        indptr, indices, G, W = cast(Sequence[TensorVariable], inputs)
        (g_out,) = cotangents
        g_out = pt.cast(g_out, G.type.dtype)
        g_G = fingerprint_dot(indptr, indices, g_out, W)
        g_W = fingerprint_dot_grad_w(indptr, indices, g_out, G, n_bits_of(W))
        return [disconnected_type(), disconnected_type(), g_G, g_W]


_fingerprint_dot = FingerprintDot()
_fingerprint_dot_grad_w = FingerprintDotGradW()
_fingerprint_row_dot = FingerprintRowDot()


def fingerprint_dot(
    indptr: TensorLike, indices: TensorLike, values: TensorLike, W: TensorLike
) -> TensorVariable:
    """Symbolic ``X @ W`` for a CSR fingerprint batch ``X``.

    Parameters
    ----------
    indptr : int vector, shape (n_rows + 1,)
        CSR row pointers.
    indices : int vector, shape (nnz,)
        On-bit indices in ``[0, n_bits)``.
    values : real vector, shape (nnz,)
        Weights of the on-bits (cast to ``W``'s dtype).
    W : float32/float64 matrix, shape (n_bits, n_hidden)
        Weight matrix.

    Returns
    -------
    TensorVariable
        Matrix of shape (n_rows, n_hidden) and ``W``'s dtype.

    Raises
    ------
    TypeError
        If an input has the wrong rank or dtype.
    """
    return cast(TensorVariable, _fingerprint_dot(indptr, indices, values, W))


def fingerprint_dot_grad_w(
    indptr: TensorLike, indices: TensorLike, values: TensorLike, G: TensorLike, n_bits: TensorLike
) -> TensorVariable:
    """Symbolic ``X.T @ G`` of shape (n_bits, n_hidden); see :class:`FingerprintDotGradW`."""
    return cast(TensorVariable, _fingerprint_dot_grad_w(indptr, indices, values, G, n_bits))


def fingerprint_row_dot(
    indptr: TensorLike, indices: TensorLike, G: TensorLike, W: TensorLike
) -> TensorVariable:
    """Symbolic ``out[k] = G[row(k)] . W[indices[k]]``; see :class:`FingerprintRowDot`."""
    return cast(TensorVariable, _fingerprint_row_dot(indptr, indices, G, W))


def fingerprint_dot_grad_w_rows(
    indptr: TensorLike, indices: TensorLike, values: TensorLike, G: TensorLike, n_bits: TensorLike
) -> tuple[TensorVariable, TensorVariable]:
    """Row-sparse (lazy) gradient of ``X @ W`` wrt ``W``: only the rows of the bits that are on.

    The dense gradient ``X.T @ G`` (what ``pytensor.grad`` returns, the default) is zero
    except on the ``n_used`` bits present in the batch (~2,000 of 2,048 at batch 128, but
    ~300 at batch 8, or far fewer of a 2**20-bit count fingerprint). This returns those rows
    only, computed by :class:`FingerprintDotGradW` on the batch re-indexed to them.

    Parameters
    ----------
    indptr, indices, values
        The CSR batch (as for :func:`fingerprint_dot`).
    G : float matrix, shape (n_rows, n_hidden)
        Cotangent of the ``fingerprint_dot`` output: ``pytensor.grad(cost, out)`` where
        ``out = fingerprint_dot(indptr, indices, values, W)`` (e.g.
        ``FingerprintDenseLayer.pre_activation`` after :func:`symmol.nn.layers.get_output`).
    n_bits : int scalar
        Rows of ``W``.

    Returns
    -------
    rows : int64 vector, shape (n_used,)
        Sorted distinct on-bits of the batch.
    grad_rows : matrix, shape (n_used, n_hidden)
        ``(X.T @ G)[rows]``.

    Examples
    --------
    SGD touching only the used rows (in place under both backends)::

        rows, grad_rows = fingerprint_dot_grad_w_rows(indptr, indices, values,
                                                      pytensor.grad(cost, out), W.shape[0])
        updates[W] = pt.inc_subtensor(W[rows], -lr * grad_rows)

    Lazy Adam does the same on ``m[rows]``, ``v[rows]`` with ``pt.set_subtensor``.
    """
    rows, inverse = used_rows(indices, n_bits)
    return rows, fingerprint_dot_grad_w(indptr, inverse, values, G, rows.shape[0])


# --------------------------------------------------------------------------- #
# Numba backend
# --------------------------------------------------------------------------- #


#: Bump when the dispatch functions below change.
_NUMBA_DISPATCH_VERSION = 5
_NUMBA_CACHE_VERSION = cache_version(_NUMBA_DISPATCH_VERSION, _sparse_kernels)


def _fingerprint_dot_serial():
    """Build the graph function of :class:`FingerprintDot` calling a serial, uncached copy of the kernel."""
    kernel = graph_kernel(csr_dense_matmul)

    @numba_basic.numba_njit
    def fingerprint_dot_numba(indptr, indices, values, W):
        return kernel(indptr, indices, values, W)

    return fingerprint_dot_numba


def _fingerprint_dot_entry(dtype: str):
    """Build the graph function of :class:`FingerprintDot` calling the parallel kernel through its entry point.

    See :mod:`symmol.ops.entry_points`: the CSR check runs here, serially; the product there.
    """
    entry = entry_points.entry_point("fingerprint_dot", dtype)
    pointer, alive = entry_points.data_pointer, entry_points.keep_alive
    check = graph_kernel(_sparse_kernels.check_csr)

    @numba_basic.numba_njit
    def fingerprint_dot_numba(indptr, indices, values, W):
        n_bits, n_hidden = W.shape
        check(indptr, indices, values.shape[0], n_bits)
        indptr_c, indices_c = np.ascontiguousarray(indptr), np.ascontiguousarray(indices)
        values_c, W_c = np.ascontiguousarray(values), np.ascontiguousarray(W)
        n_rows = indptr.shape[0] - 1
        out = np.empty((n_rows, n_hidden), dtype=W.dtype)
        entry(pointer(indptr_c), n_rows, pointer(indices_c), pointer(values_c), indices.shape[0], pointer(W_c),
              n_bits, n_hidden, pointer(out))
        alive(indptr_c)  # copies of strided inputs live until the kernel has read them
        alive(indices_c)
        alive(values_c)
        alive(W_c)
        return out

    return fingerprint_dot_numba


@register_funcify_default_op_cache_key(FingerprintDot)
def _numba_funcify_fingerprint_dot(op, node=None, **kwargs):
    dtype = node.inputs[3].type.dtype
    if not entry_points.has_entry_point(node.inputs[0].type.dtype, node.inputs[1].type.dtype, dtype):
        return _fingerprint_dot_serial(), _NUMBA_CACHE_VERSION
    # the parallel kernel, through its entry point (see symmol.ops.entry_points)
    return _fingerprint_dot_entry(dtype), _NUMBA_CACHE_VERSION + entry_points.cache_salt()


register_graph_kernel(FingerprintDotGradW, csr_t_dense_matmul, _NUMBA_CACHE_VERSION, size_last=True,
                      compile_weight=6.0)  # ~2 s cold: validation, a counting sort, the product
register_graph_kernel(FingerprintRowDot, csr_row_dot, _NUMBA_CACHE_VERSION)
