"""symmol's PyTensor Ops; importing the package registers the graph rewrites.

Those of :mod:`symmol.ops.rewrites` (generic forms → symmol's Ops) and :mod:`symmol.ops.adam`
(the Numba backend's fused Adam step on fingerprint weights).
"""

from symmol.ops import adam, rewrites  # noqa: F401  (registers the graph rewrites)
