"""Symbolic argument coercion, dtype checks and static-shape helpers shared by symmol's Ops.

Every ``make_node`` of :mod:`symmol.ops` converts its arguments with these functions, so the
Ops raise the same ``TypeError`` messages (naming the Op and the argument) for a wrong rank
or dtype. The static helpers read what a graph knows before run time (static shapes,
constant inputs) for the output types and for the JAX/PyTorch dispatch.
"""

from __future__ import annotations

import pytensor.tensor as pt
from pytensor.graph.basic import Apply, Constant, Variable
from pytensor.scalar import upcast
from pytensor.tensor import TensorLike
from pytensor.tensor.type import integer_dtypes
from pytensor.tensor.variable import TensorVariable

__all__ = [
    "FLOAT_DTYPES",
    "as_count",
    "as_float_tensor",
    "as_int_vector",
    "as_n_bits",
    "as_values",
    "n_bits_of",
    "output_dtype",
    "static_n_rows",
    "static_size",
]

#: Float dtypes the Ops accept for weights, features and cotangents (and, after casting, ``values``).
FLOAT_DTYPES = ("float32", "float64")


def as_int_vector(x: TensorLike, op_name: str, arg: str) -> TensorVariable:
    """Convert ``x`` to a tensor and check it is an integer vector.

    Parameters
    ----------
    x : tensor-like
        The argument (CSR ``indptr``/``indices``, row or segment ids).
    op_name, arg : str
        Names of the Op and of the argument, for the error message.

    Returns
    -------
    TensorVariable
        ``x`` as a symbolic vector of its own integer dtype (no cast).

    Raises
    ------
    TypeError
        If ``x`` is not of rank 1 or not of an integer dtype.
    """
    x = pt.as_tensor_variable(x)
    if x.type.ndim != 1:
        raise TypeError(f"{op_name}: {arg} must be a vector (ndim 1), got ndim {x.type.ndim}")
    if x.type.dtype not in integer_dtypes:
        raise TypeError(f"{op_name}: {arg} must have an integer dtype, got {x.type.dtype}")
    return x


def as_float_tensor(x: TensorLike, ndim: int, op_name: str, arg: str) -> TensorVariable:
    """Convert ``x`` to a tensor and check it is a float32/float64 tensor of rank ``ndim``.

    Parameters
    ----------
    x : tensor-like
        The argument (weights, features, cotangents).
    ndim : int
        Required rank.
    op_name, arg : str
        Names of the Op and of the argument, for the error message.

    Returns
    -------
    TensorVariable
        ``x`` as a symbolic tensor of its own dtype (no cast).

    Raises
    ------
    TypeError
        If ``x`` has another rank or a dtype outside :data:`FLOAT_DTYPES`.
    """
    x = pt.as_tensor_variable(x)
    if x.type.ndim != ndim:
        raise TypeError(f"{op_name}: {arg} must have ndim {ndim}, got ndim {x.type.ndim}")
    if x.type.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{op_name}: {arg} must be float32 or float64, got {x.type.dtype}")
    return x


def as_values(values: TensorLike, dtype: str, op_name: str, like: str) -> TensorVariable:
    """Check ``values`` is a real vector and cast it to the float ``dtype``.

    Integer and bool values (counts, bits) are always cast; float values only when that
    is not a downcast.

    Parameters
    ----------
    values : tensor-like, shape (nnz,)
        Weights of the stored CSR entries.
    dtype : {"float32", "float64"}
        Dtype of the tensor ``values`` is combined with.
    op_name, like : str
        Names of the Op and of that tensor, for the error message.

    Returns
    -------
    TensorVariable
        ``values`` as a vector of ``dtype``.

    Raises
    ------
    TypeError
        If ``values`` is not a real vector, or float values would be downcast (float64
        values with a float32 ``like``).
    """
    values = pt.as_tensor_variable(values)
    if values.type.ndim != 1:
        raise TypeError(f"{op_name}: values must be a vector (ndim 1), got ndim {values.type.ndim}")
    v_dtype = values.type.dtype
    if v_dtype not in (*FLOAT_DTYPES, "float16", *integer_dtypes, "bool"):
        raise TypeError(f"{op_name}: values must be real (float, int or bool), got {v_dtype}")
    if v_dtype.startswith("float") and upcast(v_dtype, dtype) != dtype:
        raise TypeError(
            f"{op_name}: values of dtype {v_dtype} would be downcast to {like}'s dtype "
            f"{dtype}; cast values or {like} explicitly"
        )
    if v_dtype != dtype:
        values = pt.cast(values, dtype)
    return values


def as_n_bits(n_bits: TensorLike, op_name: str) -> TensorVariable:
    """Convert ``n_bits`` to an integer scalar tensor.

    Raises
    ------
    TypeError
        If ``n_bits`` is not a scalar of an integer dtype.
    """
    n_bits = pt.as_tensor_variable(n_bits)
    if n_bits.type.ndim != 0:
        raise TypeError(f"{op_name}: n_bits must be a scalar, got ndim {n_bits.type.ndim}")
    if n_bits.type.dtype not in integer_dtypes:
        raise TypeError(f"{op_name}: n_bits must have an integer dtype, got {n_bits.type.dtype}")
    return n_bits


def as_count(n: TensorLike, op_name: str, arg: str) -> tuple[TensorVariable, int | None]:
    """``n`` as an integer scalar tensor, and its value when it is a constant.

    Parameters
    ----------
    n : tensor-like
        A size (``n_segments``, ``n_rows``): Python int or symbolic integer scalar.
    op_name, arg : str
        Names of the Op and of the argument, for the error message.

    Returns
    -------
    n : TensorVariable
        Integer scalar.
    static : int or None
        Its value if it is a graph constant (the static size of an output axis), else None.

    Raises
    ------
    TypeError
        If ``n`` is not an integer scalar.
    ValueError
        If ``n`` is a negative constant.
    """
    n = pt.as_tensor_variable(n)
    if n.type.ndim != 0 or n.type.dtype not in integer_dtypes:
        raise TypeError(f"{op_name}: {arg} must be an integer scalar, got {n.type}")
    static = int(n.data) if isinstance(n, Constant) else None
    if static is not None and static < 0:
        raise ValueError(f"{op_name}: {arg} must be non-negative, got {static}")
    return n, static


def static_n_rows(indptr: TensorVariable) -> int | None:
    """Return the static number of CSR rows (``len(indptr) - 1``) if known, else None."""
    n = indptr.type.shape[0]
    return None if n is None else max(n - 1, 0)


def n_bits_of(W: TensorVariable) -> Variable | int:
    """``W.shape[0]``, as a Python int when it is statically known."""
    n = W.type.shape[0]
    return W.shape[0] if n is None else n


def static_size(node: Apply, position: int) -> int | None:
    """Return the value of the scalar size input ``node.inputs[position]`` when it is a graph constant, else None."""
    var = node.inputs[position]
    return int(var.data) if isinstance(var, Constant) else None


def output_dtype(node: Apply, i: int = 0) -> str:
    """Dtype of the ``i``-th output of ``node``."""
    return node.outputs[i].type.dtype
