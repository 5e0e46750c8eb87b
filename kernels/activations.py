"""The logistic sigmoid and tanh for recurrent kernels, in a form LLVM vectorizes for float32.

Numba lowers ``np.exp`` and ``np.tanh`` to calls into the C maths library, one element at a time:
a loop over a GRU's gates then runs at the speed of those calls (no vector maths library ships with
the llvmlite wheels). For float32 the functions here are branch-free arithmetic instead, which LLVM
turns into SIMD code along with the rest of the loop:

* ``exp`` is Cephes' ``expf`` (S. L. Moshier, Cephes Mathematical Library, 1984–1992; the algorithm
  of ``exp_ps`` in the SSE/AVX ports): ``x = n ln 2 + r`` with ``|r| <= ln 2 / 2`` (Cody–Waite
  reduction, ``ln 2`` split in two), a degree-7 polynomial for ``e^r``, then ``2^n`` built in the
  exponent bits. Arguments are clamped to ``[-87.3, 88.7]`` (``e^x`` stays a normal float32).
* ``tanh`` is Cephes' ``tanhf``: an odd polynomial for ``|x| < 0.625``, ``1 - 2 / (e^{2|x|} + 1)``
  with the sign of ``x`` elsewhere.
* ``sigmoid(x) = 1 / (1 + e^{-x})``.

They agree with ``np.exp``/``np.tanh`` in float32 to a few units in the last place
(at most 3 ulps on a dense grid: ``tests/test_ops_recurrent.py``). float64 arguments take NumPy's
functions unchanged, so the float64 kernels (gradient checks) stay exact.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from .config import jit

__all__ = ["sigmoid", "tanh"]

_F = np.float32
_EXP_HIGH, _EXP_LOW = _F(88.3762626647949), _F(-87.3365447504019)
_LOG2E = _F(1.44269504088896341)
_LN2_HIGH, _LN2_LOW = _F(0.693359375), _F(-2.12194440e-4)
_P0, _P1, _P2 = _F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3)
_P3, _P4, _P5 = _F(4.1665795894e-2), _F(1.6666665459e-1), _F(5.0000001201e-1)
_T0, _T1, _T2 = _F(-5.70498872745e-3), _F(2.06390887954e-2), _F(-5.37397155531e-2)
_T3, _T4 = _F(1.33314422036e-1), _F(-3.33332819422e-1)
_ONE, _TWO, _HALF, _TANH_SMALL = _F(1.0), _F(2.0), _F(0.5), _F(0.625)
_BIAS, _MANTISSA_BITS = np.int32(127), np.int32(23)


@intrinsic
def _bits_to_float32(typingctx, bits):
    """Reinterpret an int32's bits as a float32 (LLVM ``bitcast``)."""
    if bits != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@jit(inline="always")
def _exp32(x: np.float32) -> np.float32:
    x = min(max(x, _EXP_LOW), _EXP_HIGH)
    n = np.floor(x * _LOG2E + _HALF)
    r = x - n * _LN2_HIGH - n * _LN2_LOW
    y = (((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5) * (r * r) + r + _ONE
    return y * _bits_to_float32(np.int32((np.int32(n) + _BIAS) << _MANTISSA_BITS))


def sigmoid(x: float) -> float:
    """Return ``1 / (1 + exp(-x))`` (float32: vectorizable arithmetic; float64: NumPy's ``exp``)."""
    return 1.0 / (1.0 + np.exp(-x))


def tanh(x: float) -> float:
    """Return ``tanh(x)`` (float32: vectorizable arithmetic; float64: NumPy's ``tanh``)."""
    return np.tanh(x)


@overload(sigmoid, jit_options={"cache": True}, inline="always")
def _sigmoid_overload(x):  # type: ignore[no-untyped-def]
    if x == types.float32:
        return lambda x: _ONE / (_ONE + _exp32(-x))
    return lambda x: 1.0 / (1.0 + np.exp(-x))


@overload(tanh, jit_options={"cache": True}, inline="always")
def _tanh_overload(x):  # type: ignore[no-untyped-def]
    if x == types.float32:
        def tanh32(x):  # type: ignore[no-untyped-def]
            ax = abs(x)
            z = x * x
            small = ((((_T0 * z + _T1) * z + _T2) * z + _T3) * z + _T4) * z * x + x
            large = _ONE - _TWO / (_exp32(_TWO * ax) + _ONE)
            return small if ax < _TANH_SMALL else (large if x >= 0 else -large)
        return tanh32
    return lambda x: np.tanh(x)
