"""The RDKit boundary: SMILES and molecule files in, the flat graph arrays the kernels read out.

Modules: :mod:`.parse` (SMILES → RDKit molecules, with the reason for every rejection),
:mod:`.native` (SMILES → Morgan graph arrays without RDKit, where the Numba reader can),
:mod:`.mol_arrays` and :mod:`.invariants` (RDKit molecules → per-atom and per-bond arrays),
:mod:`.io` (CSV, SMILES and SDF readers) and :mod:`.scaffolds` (Bemis–Murcko scaffolds).
"""
