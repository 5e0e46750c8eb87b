"""Backends: PyTensor linkers by name, OpenBLAS for the C backend, devices for JAX and PyTorch.

===========  ======================================================================================
``numba``    PyTensor's Numba linker (default): the whole graph becomes one LLVM function. On a cold
             cache its node functions compile in two processes
             (:class:`~symmol.compile.parallel.ParallelNumbaLinker`).
``c``        PyTensor's C VM (``CVM``): C thunks per node, compiled with the system compiler.
             Matrix products call OpenBLAS from the ``scipy-openblas32`` wheel when it is
             installed (:func:`configure_blas`), not PyTensor's fallback.
``jax``      PyTensor's JAX linker: the graph is traced into one ``jax.jit`` function (XLA).
``pytorch``  PyTensor's PyTorch linker: the graph becomes one ``torch.compile`` function.
===========  ======================================================================================

``jax`` and ``pytorch`` are optional (``pip install symmol[jax]`` / ``symmol[pytorch]``) and take
``device="cuda"`` to run on a CUDA GPU; symmol's Ops get their JAX/PyTorch implementations from
:mod:`symmol.ops.jax_dispatch` / :mod:`symmol.ops.pytorch_dispatch`, registered when the backend
is first selected. Parameters stay host NumPy arrays in PyTensor's shared storage, so each call
moves them to the device and back: the accelerator backends pay off for large models only.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from typing import Any

import pytensor
from pytensor.compile.mode import Mode, get_mode

from symmol.compile.parallel import ParallelNumbaLinker, linker_enabled
from symmol.ops import jax_dispatch, pytorch_dispatch
from symmol.ops.rewrites import CPU_KERNEL_REWRITES

__all__ = ["ACCELERATOR_BACKENDS", "BACKENDS", "DEVICES", "WHILE_SCAN_BACKENDS", "configure_blas", "cuda_available",
           "device_context", "get_backend_mode"]

BACKENDS = {"numba": "NUMBA", "c": "CVM", "jax": "JAX", "pytorch": "PYTORCH"}
DEVICES = ("cpu", "cuda")
#: The optional backends and the Python package each needs.
ACCELERATOR_BACKENDS = {"jax": "jax", "pytorch": "torch"}
_REGISTER_DISPATCH = {"jax": jax_dispatch.register, "pytorch": pytorch_dispatch.register}
#: Backends that compile a ``scan`` with an ``until`` condition (PyTensor 3.0 converts only fixed-length
#: scans to JAX and PyTorch); elsewhere a graph runs its scans to their full length.
WHILE_SCAN_BACKENDS = frozenset({"numba", "c"})

#: Reference BLAS routines (single and double precision) that PyTensor's C code may call.
_BLAS_ROUTINES = ("gemm", "gemv", "ger", "dot", "axpy", "scal", "copy", "swap", "trsm", "trmm", "trmv", "nrm2",
                  "asum", "symm", "symv", "syrk")


@functools.cache
def configure_blas() -> str:
    """Point PyTensor's C backend at OpenBLAS from the ``scipy-openblas32`` wheel.

    PyTensor's C code calls Fortran BLAS (``sgemm_`` ...); without ``blas__ldflags`` it falls
    back to slower code paths. pip-installed PyTensor finds no system BLAS on machines without
    ``libblas-dev``, so symmol links the ``scipy-openblas32`` wheel (a dependency of the
    ``c`` extra, also installed by SciPy's own build tooling): its symbols carry a
    ``scipy_`` prefix, mapped here with ``-D<routine>_=scipy_<routine>_`` defines that
    PyTensor passes to every BLAS-using C module. Threads follow ``OPENBLAS_NUM_THREADS``.

    Leaves a user's own ``blas__ldflags`` (``PYTENSOR_FLAGS`` / ``.pytensorrc``) untouched;
    ``PYTENSOR_FLAGS=blas__ldflags=`` turns BLAS off.

    Returns
    -------
    str
        The ``blas__ldflags`` in effect ("" when neither the user nor the wheel provide BLAS).
    """
    if "blas__ldflags" in os.environ.get("PYTENSOR_FLAGS", ""):  # the user's choice ("" = no BLAS): keep it
        return pytensor.config.blas__ldflags
    try:  # set in .pytensorrc: keep it
        pytensor.config.fetch_val_for_key("blas__ldflags")
        return pytensor.config.blas__ldflags
    except KeyError:
        pass
    if importlib.util.find_spec("scipy_openblas32") is None:
        return pytensor.config.blas__ldflags  # PyTensor's own search of the system libraries
    import scipy_openblas32  # optional dependency (the ``c`` extra)

    lib_dir, lib = scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library()
    renames = " ".join(f"-D{p}{r}_=scipy_{p}{r}_" for p in "sd" for r in _BLAS_ROUTINES)
    pytensor.config.blas__ldflags = f"-L{lib_dir} -l{lib} -Wl,-rpath,{lib_dir} {renames}"
    return pytensor.config.blas__ldflags


def cuda_available(backend: str) -> bool:
    """Whether ``backend`` (``"jax"`` or ``"pytorch"``) sees a CUDA device on this machine."""
    package = ACCELERATOR_BACKENDS.get(backend)
    if package is None or importlib.util.find_spec(package) is None:
        return False
    if backend == "pytorch":
        import torch  # optional dependency

        return bool(torch.cuda.is_available())
    import jax  # optional dependency

    try:
        return bool(jax.devices("cuda"))
    except RuntimeError:
        return False


def get_backend_mode(backend: str, device: str = "cpu") -> Mode:
    """PyTensor compilation mode for a backend name.

    Parameters
    ----------
    backend
        One of :data:`BACKENDS`.
    device
        ``"cpu"`` or ``"cuda"`` (``jax`` and ``pytorch`` only).

    Raises
    ------
    ValueError
        Unknown backend or device, or ``cuda`` for a CPU-only backend.
    ImportError
        ``jax`` / ``torch`` not installed for those backends.
    RuntimeError
        ``device="cuda"`` without a CUDA device visible to the backend.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {sorted(BACKENDS)}")
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose from {list(DEVICES)}")
    if device == "cuda" and backend not in ACCELERATOR_BACKENDS:
        raise ValueError(f"backend {backend!r} runs on the CPU only; use 'jax' or 'pytorch' for device='cuda'")
    if backend in ACCELERATOR_BACKENDS:
        package = ACCELERATOR_BACKENDS[backend]
        if importlib.util.find_spec(package) is None:
            raise ImportError(f"backend {backend!r} needs {package}: pip install symmol[{backend}]")
        _REGISTER_DISPATCH[backend]()
        if device == "cuda" and not cuda_available(backend):
            raise RuntimeError(f"device='cuda' requested but {package} sees no CUDA device")
        return get_mode(BACKENDS[backend]).excluding(CPU_KERNEL_REWRITES)
    if backend == "c":
        configure_blas()
    if backend == "numba" and linker_enabled():
        return _parallel_numba_mode()
    return get_mode(BACKENDS[backend])


@functools.cache
def _parallel_numba_mode() -> Mode:
    """PyTensor's ``NUMBA`` mode (its rewrites) with :class:`~symmol.compile.parallel.ParallelNumbaLinker`."""
    return Mode(linker=ParallelNumbaLinker(), optimizer=get_mode("NUMBA").provided_optimizer)


def device_context(backend: str, device: str) -> Any:
    """Context manager placing the arrays a backend creates on ``device``."""
    if backend == "pytorch":
        import torch  # optional dependency

        return torch.device(device)
    if backend == "jax":
        import jax  # optional dependency

        return jax.default_device(jax.devices(device)[0])
    return contextlib.nullcontext()
