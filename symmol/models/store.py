"""Model directories: ``model.json`` (spec and provenance) + ``params.npz`` (weights).

No pickle anywhere: the spec is JSON and the weights are loaded with
``numpy.load(..., allow_pickle=False)``. Loading rebuilds the symbolic graph from the spec,
checks every parameter's name, shape and the file checksum, and recompiles on first use.
"""

from __future__ import annotations

import hashlib
import json
import platform
import zipfile
from pathlib import Path

import numpy as np

import symmol
from symmol.models.base import CompiledModel
from symmol.models.graph import GRAPH_BACKENDS, GraphModel, GraphSpec
from symmol.models.mlp import FingerprintMLP, MLPSpec

FORMAT = "symmol-model"
FORMAT_VERSION = 1
SPEC_FILE = "model.json"
PARAMS_FILE = "params.npz"
#: Optional: the training set's packed fingerprints, for applicability-domain scores.
TRAIN_FINGERPRINTS_FILE = "train_fingerprints.npy"
#: ``model.json``'s ``"model"`` → (spec class, model class).
MODEL_KINDS = {FingerprintMLP.KIND: (MLPSpec, FingerprintMLP), GraphModel.KIND: (GraphSpec, GraphModel)}


class ModelFileError(ValueError):
    """A model directory is missing, corrupt, or does not match its spec."""


def _versions() -> dict[str, str]:
    import numba
    import pytensor
    import rdkit

    return {"symmol": symmol.__version__, "rdkit": rdkit.__version__, "pytensor": pytensor.__version__,
            "numba": numba.__version__, "numpy": np.__version__, "python": platform.python_version()}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_model(model: CompiledModel, directory: str | Path) -> Path:
    """Write ``model`` to ``directory`` (created if needed); returns the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    values = model.get_param_values()
    params_path = directory / PARAMS_FILE
    np.savez(params_path, **values)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model.KIND,
        "spec": model.spec.to_dict(),
        "params": {name: list(v.shape) for name, v in values.items()},
        "params_sha256": _sha256(params_path),
        "versions": _versions(),
    }
    if model.train_config is not None:
        document["training"] = model.train_config
    train_path = directory / TRAIN_FINGERPRINTS_FILE
    if model.train_fingerprints is not None:
        np.save(train_path, np.ascontiguousarray(model.train_fingerprints, dtype=np.uint64))
        document["train_fingerprints_sha256"] = _sha256(train_path)
    elif train_path.exists():
        train_path.unlink()
    (directory / SPEC_FILE).write_text(json.dumps(document, indent=2) + "\n")
    return directory


def load_model(directory: str | Path, backend: str = "numba") -> CompiledModel:
    """Rebuild a model saved by :func:`save_model`: a fingerprint MLP or a graph network.

    Raises
    ------
    ModelFileError
        If ``model.json`` or ``params.npz`` is missing, unreadable, from another format
        version or model kind, fails its checksum, or holds parameters that do not fit the spec.
    ValueError
        If ``backend`` cannot compile the model (a graph network needs ``numba`` or ``c``).
    """
    directory = Path(directory)
    spec_path, params_path = directory / SPEC_FILE, directory / PARAMS_FILE
    for path in (spec_path, params_path):
        if not path.is_file():
            raise ModelFileError(f"{directory}: not a symmol model directory ({path.name} is missing)")
    try:
        document = json.loads(spec_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{spec_path}: corrupt JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ModelFileError(f"{spec_path}: not a symmol model file (a JSON {type(document).__name__}, not an object)")
    if document.get("format") != FORMAT:
        raise ModelFileError(f"{spec_path}: not a symmol model file (format {document.get('format')!r})")
    if document.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{spec_path}: format version {document.get('format_version')} is not supported "
            f"(this symmol reads version {FORMAT_VERSION})"
        )
    if document.get("params_sha256") != _sha256(params_path):
        raise ModelFileError(f"{params_path}: checksum does not match {SPEC_FILE}; the file is corrupt or was replaced")
    kind = document.get("model", FingerprintMLP.KIND)
    if not isinstance(kind, str) or kind not in MODEL_KINDS:
        raise ModelFileError(f"{spec_path}: unknown model kind {kind!r} (this symmol reads {sorted(MODEL_KINDS)})")
    spec_class, model_class = MODEL_KINDS[kind]
    if model_class is GraphModel and backend not in GRAPH_BACKENDS:
        raise ValueError(f"{directory}: a graph network compiles with the {' or '.join(GRAPH_BACKENDS)} backend, "
                         f"not {backend!r}")
    try:
        spec = spec_class.from_dict(document["spec"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{spec_path}: invalid model spec ({exc})") from None
    try:
        with np.load(params_path, allow_pickle=False) as archive:
            values = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ModelFileError(f"{params_path}: unreadable parameter file ({exc})") from None
    try:
        model = model_class(spec, backend=backend)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{spec_path}: invalid featurizer or architecture ({exc})") from None
    try:
        model.set_param_values(values)
    except ValueError as exc:
        raise ModelFileError(f"{params_path}: {exc}") from None
    training = document.get("training")
    if training is not None and not isinstance(training, dict):
        raise ModelFileError(f"{spec_path}: \"training\" must be an object, got {type(training).__name__}")
    model.train_config = training
    if "train_fingerprints_sha256" in document:
        model.train_fingerprints = _load_train_fingerprints(directory, document, model.ad_featurizer.fp_size)
    return model


def _load_train_fingerprints(directory: Path, document: dict, fp_size: int) -> np.ndarray:
    path = directory / TRAIN_FINGERPRINTS_FILE
    if not path.is_file() or document["train_fingerprints_sha256"] != _sha256(path):
        raise ModelFileError(f"{path}: missing, or its checksum does not match {SPEC_FILE}")
    words = np.load(path, mmap_mode="r", allow_pickle=False)
    n_words = (int(fp_size) + 63) // 64
    if words.dtype != np.uint64 or words.ndim != 2 or words.shape[1] != n_words:
        raise ModelFileError(f"{path}: expected (n, {n_words}) uint64 packed fingerprints, "
                             f"found {words.shape} {words.dtype}")
    return words
