"""Adam's step on a fingerprint weight matrix, fused with its gradient ``X.T @ G``.

The first layer of a fingerprint model holds the largest parameter (``W``, 2048 x 1024 in
the ZINC250k benchmark: 2M weights) and its gradient ``X.T @ G`` is dense: an exact,
``torch.optim.Adam``-identical step moves every row of ``W`` (and of its moments ``m``,
``v``), also the rows whose gradient is 0. Written as a graph, the step materialises the
``(n_bits, n_hidden)`` gradient (zeroed, scattered into, then read back by the fused
elementwise update): 3 of the step's ~10 passes over 8 MB arrays. :class:`FingerprintAdam`
computes each row of the gradient into a scratch row and applies Adam to it at once, in
place: one pass over ``W``, ``m`` and ``v``.

The other parameters (biases, hidden and output weights) take :class:`DenseAdam`: the same
arithmetic as one in-place loop over ``p``, ``m`` and ``v``. Written as a graph, each of them
is an elementwise ``Composite`` with its own broadcast pattern, and every one compiles
separately under Numba (~0.3 s each, plus a ``DimShuffle`` per scalar); one ``DenseAdam``
function per rank serves them all.

How it enters a graph
---------------------
:func:`symmol.nn.updates.adam` / ``adamw`` wrap the update of every parameter in
:func:`adam_step`, an inline ``OpFromGraph`` holding the plain elementwise formulas. Graph
rewrites (:mod:`symmol.ops.rewrites`) then decide, per backend:

* ``symmol_fuse_fingerprint_adam`` (tag ``numba``, so only the Numba backend's query runs it;
  before PyTensor inlines ``OpFromGraph`` nodes): ``adam_step(p, X.T @ G, m, v, ...)`` →
  ``FingerprintAdam(indptr, indices, values, G, p, m, v, ...)``, and any other ``adam_step``
  on a vector or matrix → ``DenseAdam(p, g, m, v, ...)``;
* PyTensor's ``inline_ofg_expansion`` (every other backend, and the Numba backend for other
  ranks): the elementwise formulas, exactly the graph written without :func:`adam_step`.

``symmol_adam_inplace`` (tags ``fast_run``, ``inplace``) then lets either Op update ``p``,
``m`` and ``v`` in their storage when PyTensor's destroy handler allows it.

Backends: ``perform`` (a NumPy/SciPy reference) and Numba. ``FingerprintAdam`` with int64
``indptr``, int32 ``indices`` and float32/float64 weights (symmol's training graphs) calls the
parallel :func:`symmol.kernels.sparse.csr_t_adam_step` through a native entry point
(:mod:`symmol.ops.entry_points`); other dtypes compile :func:`symmol.kernels.sparse.
csr_t_adam_update` serially into the graph (:func:`symmol.ops._numba_cache.graph_kernel`).
``DenseAdam`` is a loop over the entries. There is no C code: the rewrites never put these Ops
into a C graph.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import cast

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.builders import OpFromGraph
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key
from pytensor.tensor import TensorLike
from pytensor.tensor.type import TensorType
from pytensor.tensor.variable import TensorVariable

from symmol.kernels import sparse as _sparse_kernels
from symmol.kernels.sparse import csr_t_adam_update
from symmol.ops import entry_points
from symmol.ops._csr import check_csr, scipy_csr
from symmol.ops._numba_cache import cache_version, graph_kernel
from symmol.ops._types import as_float_tensor, as_int_vector, as_values
from symmol.ops.fingerprint import fingerprint_dot_grad_w

__all__ = ["AdamStep", "DenseAdam", "FingerprintAdam", "adam_step", "adam_step_formulas", "dense_adam",
           "fingerprint_adam"]

_SCALARS = ("step_size", "bias_correction2_sqrt", "beta1", "beta2", "epsilon")


def adam_step_formulas(p, g, m, v, step_size, bias_correction2_sqrt, beta1, beta2, epsilon):
    """Adam's elementwise step, in ``torch.optim.Adam``'s arithmetic (symbolic or NumPy).

    Parameters
    ----------
    p, g, m, v : arrays of one float dtype, same shape
        Parameter, gradient, first and second moments.
    step_size : float scalar
        ``lr / (1 - beta1**t)``.
    bias_correction2_sqrt : float scalar
        ``sqrt(1 - beta2**t)``.
    beta1, beta2, epsilon : float scalars
        Adam's hyperparameters, in the dtype of ``p``.

    Returns
    -------
    p_new, m_new, v_new
        ``m_new = beta1 m + (1 - beta1) g``, ``v_new = beta2 v + (1 - beta2) g²``,
        ``p_new = p - (step_size m_new) / (sqrt(v_new) / bias_correction2_sqrt + epsilon)``.
    """
    sqrt = pt.sqrt if isinstance(p, Variable) else np.sqrt
    one = np.asarray(1.0, dtype=p.dtype)
    m_new = beta1 * m + (one - beta1) * g
    v_new = beta2 * v + (one - beta2) * (g * g)
    p_new = p - step_size * m_new / (sqrt(v_new) / bias_correction2_sqrt + epsilon)
    return p_new, m_new, v_new


class AdamStep(OpFromGraph):
    """Inline ``OpFromGraph`` marking one Adam step ``(p, g, m, v, scalars) → (p_new, m_new, v_new)``.

    Holds :func:`adam_step_formulas`; PyTensor inlines it before any other rewrite unless the
    Numba backend's ``symmol_fuse_fingerprint_adam`` has replaced it by :class:`FingerprintAdam`.
    """


@functools.cache
def _adam_step_op(dtype: str, ndim: int) -> AdamStep:
    tensors = [TensorType(dtype, shape=(None,) * ndim)(name) for name in ("p", "g", "m", "v")]
    scalars = [TensorType(dtype, shape=())(name) for name in _SCALARS]
    outputs = adam_step_formulas(*tensors, *scalars)
    return AdamStep([*tensors, *scalars], list(outputs), inline=True, name="AdamStep")


def adam_step(p, g, m, v, step_size, bias_correction2_sqrt, beta1, beta2, epsilon) -> list[Variable]:
    """Symbolic Adam step wrapped in :class:`AdamStep` (see :func:`adam_step_formulas`).

    Parameters
    ----------
    p, g, m, v : float tensors of one dtype and rank, same shape
        Parameter (or the decayed parameter of AdamW), gradient, moments.
    step_size, bias_correction2_sqrt, beta1, beta2, epsilon : float scalars (symbolic or numbers)
        Cast to the dtype of ``p``.

    Returns
    -------
    list of TensorVariable
        ``[p_new, m_new, v_new]``.
    """
    p = pt.as_tensor_variable(p)
    dtype = p.type.dtype
    tensors = [pt.as_tensor_variable(x) for x in (g, m, v)]
    tensors = [x if x.type.dtype == dtype else pt.cast(x, dtype) for x in tensors]
    scalars = [pt.cast(pt.as_tensor_variable(s), dtype) for s in
               (step_size, bias_correction2_sqrt, beta1, beta2, epsilon)]
    return _adam_step_op(dtype, p.type.ndim)(p, *tensors, *scalars, return_list=True)


def _as_scalars(op_name: str, scalars: Sequence, dtype: str) -> list[TensorVariable]:
    """Adam's five scalars (:data:`_SCALARS`) as 0-d tensors of ``dtype``; ``TypeError`` naming a non-scalar."""
    out = []
    for s, arg in zip(scalars, _SCALARS, strict=True):
        s = pt.as_tensor_variable(s)
        if s.type.ndim != 0:
            raise TypeError(f"{op_name}: {arg} must be a scalar, got ndim {s.type.ndim}")
        out.append(s if s.type.dtype == dtype else pt.cast(s, dtype))
    return out


def _store_outputs(output_storage: list[list], new: Sequence[np.ndarray], old: Sequence[np.ndarray],
                   inplace: bool) -> None:
    """Store ``perform``'s outputs of an Adam step: written into ``old`` (in place) or fresh arrays of its dtype."""
    for storage, value, previous in zip(output_storage, new, old, strict=True):
        if inplace:
            previous[...] = value
            storage[0] = previous
        else:
            storage[0] = np.asarray(value, dtype=previous.dtype)


class FingerprintAdam(Op):
    """One Adam step on a fingerprint weight matrix ``W`` with the gradient ``X.T @ G``, fused.

    Inputs
    ------
    indptr : int vector, shape (n_rows + 1,)
        CSR row pointers of the batch ``X``.
    indices : int vector, shape (nnz,)
        On-bit indices in ``[0, n_bits)``.
    values : real vector, shape (nnz,)
        Weights of the on-bits (cast to ``W``'s dtype, see :class:`~symmol.ops.fingerprint.FingerprintDot`).
    G : float32/float64 matrix, shape (n_rows, n_hidden)
        Cotangent of ``X @ W``; the gradient of ``W`` is ``X.T @ G``.
    W, m, v : float32/float64 matrices, shape (n_bits, n_hidden)
        Weights, Adam's first and second moments (``G``, ``m``, ``v`` are cast to ``W``'s dtype).
    step_size, bias_correction2_sqrt, beta1, beta2, epsilon : float scalars
        As in :func:`adam_step_formulas` (cast to ``W``'s dtype).

    Outputs
    -------
    W_new, m_new, v_new : matrices, shape (n_bits, n_hidden), dtype of ``W``
        :func:`adam_step_formulas` applied to ``g = X.T @ G``. With ``inplace=True`` they are
        ``W``, ``m`` and ``v`` updated in their storage (``destroy_map``).

    The Op is differentiable (its pullback differentiates the unfused graph), though
    training never needs it.
    """

    __props__ = ("inplace",)

    def __init__(self, inplace: bool = False):
        self.inplace = bool(inplace)
        if self.inplace:
            self.destroy_map = {0: [4], 1: [5], 2: [6]}

    def make_node(  # type: ignore[override]
        self, indptr: TensorLike, indices: TensorLike, values: TensorLike, G: TensorLike, W: TensorLike,
        m: TensorLike, v: TensorLike, step_size: TensorLike, bias_correction2_sqrt: TensorLike, beta1: TensorLike,
        beta2: TensorLike, epsilon: TensorLike,
    ) -> Apply:
        """Build the ``Apply`` node of the fused step.

        Returns
        -------
        Apply
            The twelve inputs in the order of the class docstring (``values``, ``G``, ``m``, ``v`` and
            the scalars cast to ``W``'s dtype); three outputs of ``W``'s type.

        Raises
        ------
        TypeError
            If an input has the wrong rank or dtype, or a scalar is not 0-d.
        """
        name = type(self).__name__
        indptr = as_int_vector(indptr, name, "indptr")
        indices = as_int_vector(indices, name, "indices")
        W = as_float_tensor(W, 2, name, "W")
        dtype = W.type.dtype
        values = as_values(values, dtype, name, "W")
        tensors = []
        for x, arg in ((G, "G"), (m, "m"), (v, "v")):
            x = as_float_tensor(x, 2, name, arg)
            tensors.append(x if x.type.dtype == dtype else pt.cast(x, dtype))
        scalars = _as_scalars(name, (step_size, bias_correction2_sqrt, beta1, beta2, epsilon), dtype)
        outputs = [TensorType(dtype, shape=W.type.shape)() for _ in range(3)]
        return Apply(self, [indptr, indices, values, tensors[0], W, tensors[1], tensors[2], *scalars], outputs)

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """Compute ``g = X.T @ G`` with ``scipy.sparse`` and apply :func:`adam_step_formulas` in NumPy.

        With ``inplace`` the results are written into ``W``, ``m`` and ``v``; else into fresh arrays of
        their dtype.

        Raises
        ------
        ValueError
            If the CSR structure is invalid, ``G`` does not have ``len(indptr) - 1`` rows and ``W``'s
            columns, or ``m``/``v`` do not have ``W``'s shape.
        """
        indptr, indices, values, G, W, m, v, *scalars = inputs
        name = type(self).__name__
        check_csr(name, indptr, indices, values.shape[0], W.shape[0])
        if G.shape[0] != indptr.shape[0] - 1:
            raise ValueError(f"{name}: G must have len(indptr) - 1 = {indptr.shape[0] - 1} rows")
        if G.shape[1] != W.shape[1] or m.shape != W.shape or v.shape != W.shape:
            raise ValueError(f"{name}: G must have W's columns and m, v W's shape")
        g = np.asarray(scipy_csr(indptr, indices, values, W.shape[0]).T @ G, dtype=W.dtype)
        new = adam_step_formulas(W, g, m, v, *(np.asarray(s, dtype=W.dtype) for s in scalars))
        _store_outputs(output_storage, new, (W, m, v), self.inplace)

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return ``W``'s shape for each of the three outputs."""
        return [input_shapes[4]] * 3

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Connect every output to every input but ``indptr`` and ``indices`` (integer structure)."""
        return [[False] * 3] * 2 + [[True] * 3] * 10

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Differentiate the unfused step (``X.T @ G`` then :func:`adam_step_formulas`).

        Returns
        -------
        list of Variable
            Disconnected gradients for ``indptr`` and ``indices``, then the gradients wrt ``values``,
            ``G``, ``W``, ``m``, ``v`` and the five scalars (zeros where disconnected).
        """
        indptr, indices, values, G, W, m, v, *scalars = cast(Sequence[TensorVariable], inputs)
        g = fingerprint_dot_grad_w(indptr, indices, values, G, W.shape[0])
        # copies: m_new and v_new are also intermediates of W_new, and a known gradient of an
        # intermediate would replace (not add to) what flows into it from W_new
        unfused = [cast(TensorVariable, pt.tensor_copy(x)) for x in adam_step_formulas(W, g, m, v, *scalars)]
        known: dict[Variable, Variable] = {out: cot for out, cot in zip(unfused, cotangents, strict=True)
                 if not isinstance(cot.type, pytensor.gradient.DisconnectedType)}
        wrt = [values, G, W, m, v, *scalars]
        grads = cast(list[Variable], pytensor.gradient.grad(None, wrt, known_grads=known, disconnected_inputs="ignore",
                                                            return_disconnected="zero"))
        return [pytensor.gradient.disconnected_type(), pytensor.gradient.disconnected_type(), *grads]


_fingerprint_adam = FingerprintAdam()


def fingerprint_adam(indptr, indices, values, G, W, m, v, step_size, bias_correction2_sqrt, beta1, beta2,
                     epsilon) -> list[Variable]:
    """Symbolic fused Adam step on ``W`` with the gradient ``X.T @ G``; see :class:`FingerprintAdam`.

    Returns
    -------
    list of TensorVariable
        ``[W_new, m_new, v_new]``, each of shape (n_bits, n_hidden) and ``W``'s dtype.
    """
    outputs = _fingerprint_adam(indptr, indices, values, G, W, m, v, step_size, bias_correction2_sqrt, beta1,
                                beta2, epsilon, return_list=True)
    return cast(list[Variable], outputs)


class DenseAdam(Op):
    """One Adam step on a vector or matrix parameter, in one loop (see :func:`adam_step_formulas`).

    Inputs
    ------
    p, g, m, v : float32/float64 tensors of rank 1 or 2, one shape
        Parameter, gradient, Adam's first and second moments (``g``, ``m``, ``v`` are cast to
        ``p``'s dtype).
    step_size, bias_correction2_sqrt, beta1, beta2, epsilon : float scalars
        As in :func:`adam_step_formulas` (cast to ``p``'s dtype).

    Outputs
    -------
    p_new, m_new, v_new : shape and dtype of ``p``
        :func:`adam_step_formulas` element by element. With ``inplace=True`` they are ``p``,
        ``m`` and ``v`` updated in their storage (``destroy_map``).

    Raises ``ValueError`` (at run time) if the four tensors' shapes differ. The pullback
    differentiates the formulas.
    """

    __props__ = ("inplace",)

    def __init__(self, inplace: bool = False):
        self.inplace = bool(inplace)
        if self.inplace:
            self.destroy_map = {0: [0], 1: [2], 2: [3]}

    def make_node(  # type: ignore[override]
        self, p: TensorLike, g: TensorLike, m: TensorLike, v: TensorLike, step_size: TensorLike,
        bias_correction2_sqrt: TensorLike, beta1: TensorLike, beta2: TensorLike, epsilon: TensorLike,
    ) -> Apply:
        """Build the ``Apply`` node of the step.

        Returns
        -------
        Apply
            Inputs ``p``, then ``g``, ``m``, ``v`` and the five scalars cast to ``p``'s dtype; three
            outputs of ``p``'s type.

        Raises
        ------
        TypeError
            If ``p`` is not a float32/float64 vector or matrix, ``g``, ``m`` or ``v`` does not have its
            rank or a float dtype, or a scalar is not 0-d.
        """
        name = type(self).__name__
        p = pt.as_tensor_variable(p)
        if p.type.ndim not in (1, 2):
            raise TypeError(f"{name}: p must be a vector or a matrix, got ndim {p.type.ndim}")
        p = as_float_tensor(p, p.type.ndim, name, "p")
        dtype = p.type.dtype
        tensors = []
        for x, arg in ((g, "g"), (m, "m"), (v, "v")):
            x = as_float_tensor(x, p.type.ndim, name, arg)
            tensors.append(x if x.type.dtype == dtype else pt.cast(x, dtype))
        scalars = _as_scalars(name, (step_size, bias_correction2_sqrt, beta1, beta2, epsilon), dtype)
        outputs = [TensorType(dtype, shape=p.type.shape)() for _ in range(3)]
        return Apply(self, [p, *tensors, *scalars], outputs)

    def perform(self, node: Apply, inputs: Sequence[np.ndarray], output_storage: list[list]) -> None:
        """Apply :func:`adam_step_formulas` in NumPy.

        With ``inplace`` the results are written into ``p``, ``m`` and ``v``; else into fresh arrays of
        their dtype.

        Raises
        ------
        ValueError
            If ``p``, ``g``, ``m`` and ``v`` do not have one shape.
        """
        p, g, m, v, *scalars = inputs
        if not (g.shape == m.shape == v.shape == p.shape):
            raise ValueError(f"{type(self).__name__}: p, g, m, v must have one shape, got "
                             f"{p.shape}, {g.shape}, {m.shape}, {v.shape}")
        new = adam_step_formulas(p, g, m, v, *(np.asarray(s, dtype=p.dtype) for s in scalars))
        _store_outputs(output_storage, new, (p, m, v), self.inplace)

    def infer_shape(self, fgraph, node: Apply, input_shapes: list[tuple]) -> list[tuple]:
        """Return ``p``'s shape for each of the three outputs."""
        return [input_shapes[0]] * 3

    def pullback(self, inputs: Sequence[Variable], outputs: Sequence[Variable],
                 cotangents: Sequence[Variable]) -> list[Variable]:
        """Differentiate :func:`adam_step_formulas`.

        Returns
        -------
        list of Variable
            The gradients wrt the nine inputs (zeros where disconnected).
        """
        p, g, m, v, *scalars = inputs
        # copies, for the reason given in FingerprintAdam.pullback
        unfused = [cast(TensorVariable, pt.tensor_copy(x)) for x in adam_step_formulas(p, g, m, v, *scalars)]
        known: dict[Variable, Variable] = {out: cot for out, cot in zip(unfused, cotangents, strict=True)
                 if not isinstance(cot.type, pytensor.gradient.DisconnectedType)}
        grads = pytensor.gradient.grad(None, list(inputs), known_grads=known, disconnected_inputs="ignore",
                                       return_disconnected="zero")
        return cast(list[Variable], grads)


_dense_adam = DenseAdam()


def dense_adam(p, g, m, v, step_size, bias_correction2_sqrt, beta1, beta2, epsilon) -> list[Variable]:
    """Symbolic Adam step on a vector or matrix in one loop; see :class:`DenseAdam`.

    Returns
    -------
    list of TensorVariable
        ``[p_new, m_new, v_new]``, each of ``p``'s shape and dtype.
    """
    outputs = _dense_adam(p, g, m, v, step_size, bias_correction2_sqrt, beta1, beta2, epsilon, return_list=True)
    return cast(list[Variable], outputs)


# --------------------------------------------------------------------------- #
# Numba backend
# --------------------------------------------------------------------------- #

#: Bump when the dispatch function below changes.
_NUMBA_DISPATCH_VERSION = 2
_NUMBA_CACHE_VERSION = cache_version(_NUMBA_DISPATCH_VERSION, _sparse_kernels)


@register_funcify_default_op_cache_key(FingerprintAdam)
def _numba_funcify_fingerprint_adam(op, node=None, **kwargs):
    dtype = node.inputs[4].type.dtype
    if entry_points.has_entry_point(node.inputs[0].type.dtype, node.inputs[1].type.dtype, dtype):
        return _fingerprint_adam_entry(op.inplace, dtype), _NUMBA_CACHE_VERSION + entry_points.cache_salt()
    kernel = graph_kernel(csr_t_adam_update)

    if op.inplace:
        @numba_basic.numba_njit
        def fingerprint_adam_numba(indptr, indices, values, G, W, m, v, step_size, bc2_sqrt, beta1, beta2,
                                   epsilon):
            kernel(indptr, indices, values, G, W, m, v, step_size.item(), bc2_sqrt.item(), beta1.item(),
                   beta2.item(), epsilon.item())
            return W, m, v
    else:
        @numba_basic.numba_njit
        def fingerprint_adam_numba(indptr, indices, values, G, W, m, v, step_size, bc2_sqrt, beta1, beta2,
                                   epsilon):
            W_new, m_new, v_new = W.copy(), m.copy(), v.copy()
            kernel(indptr, indices, values, G, W_new, m_new, v_new, step_size.item(), bc2_sqrt.item(),
                   beta1.item(), beta2.item(), epsilon.item())
            return W_new, m_new, v_new

    return fingerprint_adam_numba, _NUMBA_CACHE_VERSION


def _fingerprint_adam_entry(inplace: bool, dtype: str):
    """Build the graph function of :class:`FingerprintAdam` calling the parallel kernel through its entry point.

    See :mod:`symmol.ops.entry_points`: validation here, serially; the step there, on both cores.
    """
    entry = entry_points.entry_point("fingerprint_adam", dtype)
    pointer, alive = entry_points.data_pointer, entry_points.keep_alive
    check = graph_kernel(_sparse_kernels.check_csr)

    @numba_basic.numba_njit
    def copy_into(dst, src):
        for i in range(dst.shape[0]):
            for j in range(dst.shape[1]):
                dst[i, j] = src[i, j]

    @numba_basic.numba_njit
    def fingerprint_adam_numba(indptr, indices, values, G, W, m, v, step_size, bc2_sqrt, beta1, beta2, epsilon):
        n_bits, n_hidden = W.shape
        n_rows = indptr.shape[0] - 1
        if G.shape[0] != n_rows or G.shape[1] != n_hidden:
            raise ValueError("FingerprintAdam: G must have len(indptr) - 1 rows and W's columns")
        if m.shape != W.shape or v.shape != W.shape:
            raise ValueError("FingerprintAdam: m and v must have the shape of W")
        check(indptr, indices, values.shape[0], n_bits)
        if inplace:
            W_out, m_out, v_out = np.ascontiguousarray(W), np.ascontiguousarray(m), np.ascontiguousarray(v)
        else:
            W_out, m_out, v_out = W.copy(), m.copy(), v.copy()
        indptr_c, indices_c = np.ascontiguousarray(indptr), np.ascontiguousarray(indices)
        values_c, G_c = np.ascontiguousarray(values), np.ascontiguousarray(G)
        entry(pointer(indptr_c), n_rows, pointer(indices_c), pointer(values_c), indices.shape[0], pointer(G_c),
              pointer(W_out), pointer(m_out), pointer(v_out), n_bits, n_hidden, step_size.item(), bc2_sqrt.item(),
              beta1.item(), beta2.item(), epsilon.item())
        alive(indptr_c)  # copies of strided inputs live until the kernel has read them
        alive(indices_c)
        alive(values_c)
        alive(G_c)
        if inplace:  # non-contiguous storage was updated in a contiguous copy
            if not W.flags.c_contiguous:
                copy_into(W, W_out)
            if not m.flags.c_contiguous:
                copy_into(m, m_out)
            if not v.flags.c_contiguous:
                copy_into(v, v_out)
            return W, m, v
        return W_out, m_out, v_out

    return fingerprint_adam_numba


@register_funcify_default_op_cache_key(DenseAdam)
def _numba_funcify_dense_adam(op, node=None, **kwargs):
    inplace = op.inplace
    ndim = node.inputs[0].type.ndim
    one = np.dtype(node.inputs[0].type.dtype).type(1)  # a typed constant: 1 - beta1 stays in p's dtype

    @numba_basic.numba_njit
    def adam_entry(p, g, m, v, step_size, bias_correction2_sqrt, beta1, beta2, epsilon, c1, c2):
        m_new = beta1 * m + c1 * g
        v_new = beta2 * v + c2 * (g * g)
        return p - (step_size * m_new) / (np.sqrt(v_new) / bias_correction2_sqrt + epsilon), m_new, v_new

    if ndim == 1:
        @numba_basic.numba_njit
        def as_matrix(x):
            return x[np.newaxis, :]
    else:
        @numba_basic.numba_njit
        def as_matrix(x):
            return x

    @numba_basic.numba_njit
    def dense_adam_numba(p, g, m, v, step_size, bias_correction2_sqrt, beta1, beta2, epsilon):
        if g.shape != p.shape or m.shape != p.shape or v.shape != p.shape:
            raise ValueError("DenseAdam: p, g, m, v must have one shape")
        if not inplace:
            p, m, v = p.copy(), m.copy(), v.copy()
        s, b, b1, b2, eps = step_size.item(), bias_correction2_sqrt.item(), beta1.item(), beta2.item(), \
            epsilon.item()
        c1, c2 = one - b1, one - b2
        P, G, M, V = as_matrix(p), as_matrix(g), as_matrix(m), as_matrix(v)
        for i in range(P.shape[0]):
            for j in range(P.shape[1]):
                P[i, j], M[i, j], V[i, j] = adam_entry(P[i, j], G[i, j], M[i, j], V[i, j], s, b, b1, b2, eps, c1, c2)
        return p, m, v

    return dense_adam_numba, _NUMBA_DENSE_CACHE_VERSION


#: Bump when the DenseAdam dispatch above changes.
_NUMBA_DENSE_CACHE_VERSION = 2
