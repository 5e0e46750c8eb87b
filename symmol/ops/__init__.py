"""symmol's PyTensor Ops; importing the package registers the rewrites of :mod:`symmol.ops.rewrites`."""

from symmol.ops import rewrites  # noqa: F401  (registers the graph rewrites)
