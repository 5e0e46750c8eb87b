"""Pure Numba kernels: fingerprints, packed bit sets, sparse row sums, SMILES and pickle readers.

The readers are those of SMILES (:mod:`.smiles`) and of RDKit's binary molecule pickle
(:mod:`.molpickle`).

Installed as ``symmol.kernels``. Nothing here imports PyTensor or holds RDKit
objects inside compiled code: inputs and outputs are NumPy arrays.
"""
