"""Write ``tests/data/pmo_oracle_reference.csv``: PyTDC's PMO oracle values for real molecules.

``tests/test_oracles.py`` checks :mod:`symmol.generation.oracles` against this table, so the suite
needs no PyTDC. The molecules: every 30th library line of ``tests/data/ecfp_sample.smi`` (ChEMBL,
ZINC250k, MOSES) and its hand-written edge cases with at most 100 heavy atoms (PyTDC's pharmacophore
fingerprint takes minutes on the larger ones), plus the tasks' own reference molecules.

PyTDC pins ``rdkit<2024.3`` and imports ``rdkit.six``, which later RDKit releases dropped; install it
beside the project without its pins and run this script, which supplies that one function::

    pip install --no-deps PyTDC==1.1.15 requests fuzzywuzzy huggingface_hub "setuptools<81"
    python bench/pmo_oracle_reference.py
"""

from __future__ import annotations

import sys
import types
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, rdBase

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "tests" / "data" / "ecfp_sample.smi"
OUT = REPO / "tests" / "data" / "pmo_oracle_reference.csv"
REFERENCES = {
    "celecoxib": "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F",
    "albuterol": "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1",
    "osimertinib": "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34",
    "pharmacophore of the hop tasks": "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C",
    "sitagliptin": "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F",
    "valsartan": "CCCCC(=O)N(Cc1ccc(-c2ccccc2-c2nn[nH]n2)cc1)C(C(C)C)C(=O)O",
    "troglitazone": "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O",
    "thiothixene": "CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1",
    "mestranol": "COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1",
    "camphor": "CC1(C)C2CCC1(C)C(=O)C2",
    "menthol": "CC(C)C1CCC(C)CC1O",
    "tadalafil": "O=C1N(CC(N2C1CC3=C(C2C4=CC5=C(OCO5)C=C4)NC6=C3C=CC=C6)=O)C",
    "sildenafil": "CCCC1=NN(C2=C1N=C(NC2=O)C3=C(C=CC(=C3)S(=O)(=O)N4CCN(CC4)C)OCC)C",
    "fexofenadine": "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4",
    "ranolazine": "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2",
    "perindopril": "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC",
    "amlodipine": r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC",
    "zaleplon": "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1",
    "a C7H8N2O2 isomer": "Nc1ccc(N)c(C(=O)O)c1",
}


def molecules() -> pd.DataFrame:
    rows, library_line = [], 0
    for line in SAMPLE.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        smiles, source = line.split("\t")[0], line.split("\t")[-1]
        if not source.startswith("tricky:"):
            library_line += 1
            if library_line % 30 != 1:
                continue
        mol = Chem.MolFromSmiles(smiles)
        if mol is not None and mol.GetNumAtoms() <= 100:
            rows.append({"smiles": smiles, "source": source})
    rows += [{"smiles": smiles, "source": f"reference:{name}"} for name, smiles in REFERENCES.items()]
    return pd.DataFrame(rows)


def main() -> int:
    six = types.ModuleType("rdkit.six")
    six.iteritems = lambda d: iter(d.items())  # type: ignore[attr-defined]
    sys.modules["rdkit.six"] = six
    from tdc import Oracle  # noqa: PLC0415 (needs the module above)

    from symmol.generation.oracles import PMO_TASKS  # noqa: PLC0415

    rdBase.DisableLog("rdApp.*")
    table = molecules()
    for task in PMO_TASKS:
        table[task] = np.asarray(Oracle(task)(list(table["smiles"])), dtype=np.float64)
    header = f"# PyTDC {version('PyTDC')}, RDKit {rdBase.rdkitVersion}; written by bench/pmo_oracle_reference.py\n"
    OUT.write_text(header + table.to_csv(index=False, float_format="%.17g"))
    print(f"{OUT}: {len(table)} molecules x {len(PMO_TASKS)} tasks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
