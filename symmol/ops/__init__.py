"""symmol's PyTensor Ops; importing the package registers the graph rewrites.

Those of :mod:`symmol.ops.rewrites` (generic forms → symmol's Ops), :mod:`symmol.ops.adam`
(the Numba backend's fused Adam step on fingerprint weights) and :mod:`symmol.ops.reduce`
(the Numba backend's matrix sums, cheap to compile).
"""

from symmol.ops import adam, reduce, rewrites  # noqa: F401  (registers the graph rewrites)
