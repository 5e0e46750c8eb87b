"""Pure Numba kernels: fingerprints, packed bit sets, sparse row sums.

Installed as ``symmol.kernels``. Nothing here imports PyTensor or holds RDKit
objects inside compiled code: inputs and outputs are NumPy arrays.
"""
