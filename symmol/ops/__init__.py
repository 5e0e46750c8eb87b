"""symmol's PyTensor Ops; importing the package registers the graph rewrites.

Modules
-------
:mod:`symmol.ops.fingerprint`
    ``X @ W`` of a CSR fingerprint batch and its gradients.
:mod:`symmol.ops.segment`
    Row gathers and segment reductions (each the other's gradient).
:mod:`symmol.ops.conv`
    1-D convolution of channels-last sequences and its two gradients.
:mod:`symmol.ops.recurrent`
    The GRU recurrence over a whole sequence and its backpropagation through time.
:mod:`symmol.ops.adam`
    Adam steps fused for the Numba backend.
:mod:`symmol.ops.reduce`
    Matrix sums cheap to compile under Numba.
:mod:`symmol.ops.rewrites`
    Every graph rewrite (generic forms → symmol's Ops, the Numba backend's fusions); imported
    here, so that importing any of symmol's Ops registers them.
:mod:`symmol.ops.entry_points`
    Native entry points of the parallel kernels, called from Numba graphs.
:mod:`symmol.ops.jax_dispatch`, :mod:`symmol.ops.pytorch_dispatch`
    The Ops for PyTensor's JAX and PyTorch linkers (``register()`` once the backend is chosen).

Private: ``_types`` (argument coercion and dtype checks), ``_csr`` (run-time CSR/index checks),
``_numba_cache`` (serial kernel copies, Numba cache keys).
"""

from symmol.ops import rewrites

__all__ = ["rewrites"]
