"""Compile symbolic networks into a training step and a predict function, per backend.

Backends map to PyTensor linkers:

===========  ======================================================================================
``numba``    PyTensor's Numba linker (default): the whole graph becomes one LLVM function.
``c``        PyTensor's C VM (``CVM``): C thunks per node, compiled with the system compiler.
             Matrix products call OpenBLAS from the ``scipy-openblas32`` wheel when it is
             installed (:func:`configure_blas`), not PyTensor's fallback.
``jax``      PyTensor's JAX linker: the graph is traced into one ``jax.jit`` function (XLA).
``pytorch``  PyTensor's PyTorch linker: the graph becomes one ``torch.compile`` function.
===========  ======================================================================================

``jax`` and ``pytorch`` are optional (``pip install symmol[jax]`` / ``symmol[pytorch]``) and
take ``device="cuda"`` to run on a CUDA GPU; symmol's Ops get their JAX/PyTorch
implementations from :mod:`symmol.ops.jax_dispatch` / :mod:`symmol.ops.pytorch_dispatch`,
registered when the backend is first selected. Parameters stay host NumPy arrays in
PyTensor's shared storage, so each call moves them to the device and back: the accelerator
backends pay off for large models only.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
from collections.abc import Callable, Sequence

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import get_mode

from symmol.nn.layers import (
    FingerprintInputLayer,
    Layer,
    get_all_layers,
    get_all_params,
    get_output,
    get_state_updates,
)
from symmol.nn.objectives import l2_penalty
from symmol.nn.updates import DECOUPLED_WEIGHT_DECAY, total_norm_constraint
from symmol.ops import jax_dispatch, pytorch_dispatch

BACKENDS = {"numba": "NUMBA", "c": "CVM", "jax": "JAX", "pytorch": "PYTORCH"}
DEVICES = ("cpu", "cuda")
#: The Python package each optional backend needs.
_BACKEND_PACKAGES = {"jax": "jax", "pytorch": "torch"}

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
    import scipy_openblas32

    lib_dir, lib = scipy_openblas32.get_lib_dir(), scipy_openblas32.get_library()
    renames = " ".join(f"-D{p}{r}_=scipy_{p}{r}_" for p in "sd" for r in _BLAS_ROUTINES)
    pytensor.config.blas__ldflags = f"-L{lib_dir} -l{lib} -Wl,-rpath,{lib_dir} {renames}"
    return pytensor.config.blas__ldflags


def cuda_available(backend: str) -> bool:
    """Whether ``backend`` (``"jax"`` or ``"pytorch"``) sees a CUDA device on this machine."""
    if backend not in _BACKEND_PACKAGES or importlib.util.find_spec(_BACKEND_PACKAGES[backend]) is None:
        return False
    if backend == "pytorch":
        import torch

        return torch.cuda.is_available()
    import jax

    try:
        return bool(jax.devices("cuda"))
    except RuntimeError:
        return False


def get_backend_mode(backend: str, device: str = "cpu"):
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
    if device == "cuda" and backend not in _BACKEND_PACKAGES:
        raise ValueError(f"backend {backend!r} runs on the CPU only; use 'jax' or 'pytorch' for device='cuda'")
    if backend in _BACKEND_PACKAGES:
        package = _BACKEND_PACKAGES[backend]
        if importlib.util.find_spec(package) is None:
            raise ImportError(f"backend {backend!r} needs {package}: pip install symmol[{backend}]")
        (jax_dispatch.register if backend == "jax" else pytorch_dispatch.register)()
        if device == "cuda" and not cuda_available(backend):
            raise RuntimeError(f"device='cuda' requested but {package} sees no CUDA device")
    if backend == "c":
        configure_blas()
    return get_mode(BACKENDS[backend])


def _device_context(backend: str, device: str):
    """Context manager placing the arrays a backend creates on ``device``."""
    if backend == "pytorch":
        import torch

        return torch.device(device)
    if backend == "jax":
        import jax

        return jax.default_device(jax.devices(device)[0])
    return contextlib.nullcontext()


def csr_bucket_size(nnz: int) -> int:
    """Smallest size ≥ ``nnz`` of the form ``m * 2**k`` with ``8 <= m <= 16`` (at most 12.5 % more).

    JAX and ``torch.compile`` specialise a compiled function on its input shapes, and the
    number of on-bits of a minibatch differs from batch to batch: unpadded, every training
    step of the ``jax`` backend would trace and compile anew. Padded to these sizes, a
    ZINC250k epoch (batches of 256, ~11,500 on-bits each) sees two or three shapes.
    """
    if nnz <= 16:
        return 16
    shift = nnz.bit_length() - 4
    return -(-nnz >> shift) << shift


def pad_csr(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pad a CSR batch to :func:`csr_bucket_size` entries without changing ``X``.

    The padding entries are bit 0 with value 0, appended to the last row: they add
    ``0 * W[0]`` to its output and nothing to any gradient. A batch without rows is returned
    unchanged.
    """
    nnz = indices.shape[0]
    size = csr_bucket_size(nnz)
    if indptr.shape[0] < 2 or size == nnz:
        return indptr, indices, values
    indptr = np.array(indptr, copy=True)
    indptr[-1] = size
    return (indptr, np.concatenate([indices, np.zeros(size - nnz, indices.dtype)]),
            np.concatenate([values, np.zeros(size - nnz, values.dtype)]))


class DeviceFunction:
    """A compiled PyTensor function of the ``jax``/``pytorch`` backends, called with stable shapes.

    Pads the CSR batch (the first three arguments) with :func:`pad_csr`, so that the number
    of on-bits takes few distinct values, and calls ``function`` inside
    ``jax.default_device`` / ``torch.device``. Other attributes are the wrapped
    :class:`pytensor.compile.function.types.Function`'s.
    """

    def __init__(self, function, backend: str, device: str):
        self.function, self.backend, self.device = function, backend, device

    def __call__(self, indptr, indices, values, *args):
        indptr, indices, values = pad_csr(np.asarray(indptr), np.asarray(indices), np.asarray(values))
        with _device_context(self.backend, self.device):
            return self.function(indptr, indices, values, *args)

    def __getattr__(self, name: str):
        return getattr(self.function, name)


def _compile(inputs, outputs, backend: str, device: str, name: str, updates=None):
    mode = get_backend_mode(backend, device)
    with _device_context(backend, device):
        function = pytensor.function(inputs, outputs, updates=updates, mode=mode, name=name)
    if backend in _BACKEND_PACKAGES:
        return DeviceFunction(function, backend, device)
    return function


def _members(networks: Layer | Sequence[Layer]) -> list[Layer]:
    return [networks] if isinstance(networks, Layer) else list(networks)


def _input_vars(networks: list[Layer]) -> list:
    firsts = {id(get_all_layers(n)[0]): get_all_layers(n)[0] for n in networks}
    if len(firsts) != 1:
        raise ValueError("ensemble members must share one FingerprintInputLayer")
    (first,) = firsts.values()
    if not isinstance(first, FingerprintInputLayer):
        raise TypeError("the network must start with a FingerprintInputLayer")
    return list(first.input_var)


def _inputs(networks: list[Layer], inputs: Sequence | None, backend: str) -> list:
    """``inputs`` if given, else the fingerprint input of ``networks``.

    The ``jax``/``pytorch`` backends take fingerprint networks only: their functions are
    specialised to input shapes, padded CSR batches keep those few (:func:`pad_csr`), and
    graph batches would not.
    """
    if inputs is None:
        return _input_vars(networks)
    if backend in _BACKEND_PACKAGES and not all(isinstance(get_all_layers(n)[0], FingerprintInputLayer)
                                                for n in networks):
        raise ValueError(f"backend {backend!r} compiles networks on a FingerprintInputLayer only (its functions "
                         "are specialised to input shapes, and graph batches change shape); use 'numba' or 'c'")
    return list(inputs)


def _mean(outputs: list):
    return outputs[0] if len(outputs) == 1 else pt.add(*outputs) / np.float32(len(outputs))


def compile_predict(networks: Layer | Sequence[Layer], backend: str = "numba",
                    output_transform: Callable | None = None, device: str = "cpu",
                    inputs: Sequence | None = None) -> Callable[..., np.ndarray]:
    """Compile ``(indptr, indices, values) → outputs`` with dropout off.

    Parameters
    ----------
    networks
        Output layer of a network starting with a :class:`FingerprintInputLayer`, or the
        output layers of ensemble members sharing that input layer; members' (transformed)
        outputs are averaged inside the compiled graph.
    backend
        A key of :data:`BACKENDS` (see :func:`get_backend_mode`).
    output_transform
        Optional symbolic map applied to the network output (e.g. ``pt.sigmoid``).
    device
        ``"cpu"`` or ``"cuda"`` (``jax`` / ``pytorch`` backends).
    inputs
        The symbolic inputs in call order, for networks that do not start with a
        :class:`FingerprintInputLayer` (graph networks: ``numba`` and ``c`` backends only,
        their batches change shape).

    Returns
    -------
    Callable taking ``indptr`` (n+1,) int64, ``indices`` (nnz,) int32, ``values`` (nnz,)
    float32 (or ``inputs``) and returning an ``(n, n_outputs)`` float32 array.
    """
    members = _members(networks)
    outputs = [get_output(member, deterministic=True) for member in members]
    if output_transform is not None:
        outputs = [output_transform(output) for output in outputs]
    return _compile(_inputs(members, inputs, backend), _mean(outputs), backend, device, "predict")


def compile_train_step(networks: Layer | Sequence[Layer], loss_fn: Callable, optimizer: Callable, learning_rate,
                       backend: str = "numba", weight_decay: float = 0.0, max_grad_norm: float | None = None,
                       device: str = "cpu", inputs: Sequence | None = None,
                       **optimizer_kwargs) -> Callable[..., np.ndarray]:
    """Compile one optimisation step ``(indptr, indices, values, targets) → loss``.

    The step computes the training loss (dropout on), its gradient with respect to every
    ``trainable`` parameter (``pytensor.gradient.grad``), and applies ``optimizer``'s update
    dict in place. For an ensemble (a list of output layers sharing one input layer) the
    objective is the sum of the members' losses, so one call steps every member on the same
    minibatch; the returned loss is the members' mean.

    Parameters
    ----------
    loss_fn
        ``loss_fn(outputs, targets) → scalar``, e.g.
        :func:`~symmol.nn.objectives.masked_binary_crossentropy_from_logits`.
    optimizer
        An update rule from :mod:`symmol.nn.updates`.
    learning_rate
        Float or shared scalar (e.g. a :mod:`symmol.nn.schedules` schedule's ``learning_rate``:
        the schedule then changes it between calls without recompiling).
    backend, device
        See :func:`get_backend_mode`.
    weight_decay
        Coefficient λ on ``regularizable`` parameters. For rules with decoupled decay
        (:data:`~symmol.nn.updates.DECOUPLED_WEIGHT_DECAY`: ``adamw``) it goes to the rule
        (``p ← p·(1 − lr·λ)``); otherwise it adds ``λ/2 · Σ w²`` to the loss.
    max_grad_norm
        Clip the gradients to this global L2 norm before the update
        (:func:`~symmol.nn.updates.total_norm_constraint`); None: no clipping.
    inputs
        Symbolic inputs in call order for networks without a :class:`FingerprintInputLayer`
        (see :func:`compile_predict`); the targets follow them.
    optimizer_kwargs
        Further hyperparameters of the rule (``beta1``, ``momentum``, ...).
    """
    targets = pt.matrix("targets", dtype="float32")
    members = _members(networks)
    losses = [loss_fn(get_output(member, deterministic=False), targets) for member in members]
    objective = pt.add(*losses) if len(losses) > 1 else losses[0]
    params = [p for member in members for p in get_all_params(member, trainable=True)]
    decayed = [p for member in members for p in get_all_params(member, regularizable=True)]
    if weight_decay and optimizer in DECOUPLED_WEIGHT_DECAY:
        optimizer_kwargs = {**optimizer_kwargs, "weight_decay": weight_decay, "decayed": decayed}
    elif weight_decay:
        objective = objective + np.float32(weight_decay / 2) * l2_penalty(decayed)
    elif optimizer in DECOUPLED_WEIGHT_DECAY:
        optimizer_kwargs = {"weight_decay": 0.0, **optimizer_kwargs}
    gradients = pytensor.gradient.grad(objective, params)
    if max_grad_norm is not None:
        gradients = total_norm_constraint(gradients, max_grad_norm)
    updates = optimizer(gradients, params, learning_rate, **optimizer_kwargs)
    for member in members:
        updates.update(get_state_updates(member))  # dropout RNG, BatchNorm running statistics
    return _compile([*_inputs(members, inputs, backend), targets], _mean(losses), backend, device, "train_step",
                    updates)


def warm_cache(backends: Sequence[str] = ("numba",), hidden: Sequence[int] = (1024,)) -> dict[str, float]:
    """Compile and run symmol's standard graphs once, filling PyTensor's on-disk caches.

    A cold Numba compile of the MLP training step costs ~15 s of CPU (PyTensor's generic
    Elemwise/CAReduce functions and Numba's own helpers, ~83 %; symmol's Ops, ~17 %;
    ``bench/results/compile_time.md``). PyTensor keys its cache on the graph, not on the
    sizes (parameters have no static shapes), and caches every node's function separately, so
    after this one call

    * any process compiling an MLP of the same depth, loss and optimizer (any input or hidden
      sizes) loads the whole step from the cache (~1 s), and
    * other architectures recompile only their top-level graph function (a few seconds).

    Run it once after installing (``python -c "import symmol.compile as c; c.warm_cache()"``)
    or in a container's build step; the caches live in PyTensor's ``base_compiledir``
    (``~/.pytensor`` by default) and survive upgrades only when the cache keys still match.

    Parameters
    ----------
    backends
        Keys of :data:`BACKENDS` to warm.
    hidden
        Hidden layer sizes of the MLPs compiled (the sizes do not matter for the cache, the
        number of layers does).

    Returns
    -------
    dict
        Wall seconds per backend.
    """
    import time

    from symmol.models.mlp import MLPSpec, build_mlp
    from symmol.nn.objectives import masked_binary_crossentropy_from_logits, masked_squared_error
    from symmol.nn.updates import adam

    rng = np.random.default_rng(0)
    indptr = np.arange(0, 8 * 4 + 1, 4, dtype=np.int64)
    indices = rng.integers(0, 2048, size=indptr[-1]).astype(np.int32)
    values = np.ones(indices.size, np.float32)
    seconds = {}
    for backend in backends:
        t0 = time.perf_counter()
        for task, loss in (("regression", masked_squared_error), ("classification",
                                                                   masked_binary_crossentropy_from_logits)):
            _, members = build_mlp(MLPSpec(targets=("a", "b"), task=task, hidden=tuple(hidden), dropout=0.0))
            step = compile_train_step(members, loss, adam, 1e-3, backend=backend)
            step(indptr, indices, values, np.zeros((8, 2), np.float32))
            transform = pt.sigmoid if task == "classification" else None
            compile_predict(members, backend, transform)(indptr, indices, values)
        seconds[backend] = time.perf_counter() - t0
    return seconds
