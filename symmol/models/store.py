"""Model directories: ``model.json`` (spec and provenance) + ``params.npz`` (weights) [+ ``calibration.json``].

No pickle anywhere: the spec is JSON and the weights are loaded with
``numpy.load(..., allow_pickle=False)``. Loading rebuilds the symbolic graph from the spec through
the model registry (plug-in kinds included), checks every parameter's name, shape and the file
checksum, and recompiles on first use.

Format versions: 2 (this version) stores named inputs (``spec["inputs"]``) and the architecture;
version 1 files (one ``spec["featurizer"]`` of the ``"morgan"``/``"graph"`` vocabulary) still load.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from symmol.evaluation.calibration import Calibration
from symmol.models.base import CompiledModel
from symmol.models.registry import architecture_of, model_class
from symmol.provenance import atomic_write_bytes, atomic_write_json, sha256_file, versions

__all__ = ["FORMAT", "FORMAT_VERSION", "ModelFileError", "load_model", "save_calibration", "save_model"]

FORMAT = "symmol-model"
#: Version written by :func:`save_model`.
FORMAT_VERSION = 2
#: Versions :func:`load_model` reads.
READABLE_VERSIONS = (1, 2)
SPEC_FILE = "model.json"
PARAMS_FILE = "params.npz"
#: Optional: the training set's packed fingerprints, for applicability-domain scores.
TRAIN_FINGERPRINTS_FILE = "train_fingerprints.npy"
#: Optional: calibrators fitted on held-out rows (JSON; ``symmol calibrate`` rewrites it alone).
CALIBRATION_FILE = "calibration.json"


class ModelFileError(ValueError):
    """A model directory is missing, corrupt, or does not match its spec."""


def save_model(model: CompiledModel, directory: str | Path) -> Path:
    """Write ``model`` to ``directory`` (created if needed); returns the directory.

    Every file is replaced atomically; ``model.json``, which names the others' checksums, last.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    values = model.get_param_values()
    buffer = io.BytesIO()
    np.savez(buffer, **values)  # type: ignore[arg-type]
    params_path = directory / PARAMS_FILE
    atomic_write_bytes(params_path, buffer.getvalue())
    document: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": model.KIND,
        "architecture": architecture_of(model).name,
        "spec": model.spec.to_dict(),
        "params": {name: list(v.shape) for name, v in values.items()},
        "params_sha256": sha256_file(params_path),
        "versions": versions(),
    }
    if model.train_config is not None:
        document["training"] = model.train_config
    train_path = directory / TRAIN_FINGERPRINTS_FILE
    if model.train_fingerprints is not None:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(model.train_fingerprints, dtype=np.uint64))
        atomic_write_bytes(train_path, buffer.getvalue())
        document["train_fingerprints_sha256"] = sha256_file(train_path)
    elif train_path.exists():
        train_path.unlink()
    save_calibration(model, directory)
    atomic_write_json(directory / SPEC_FILE, document)
    return directory


def save_calibration(model: CompiledModel, directory: str | Path) -> Path | None:
    """Write ``model.calibration`` to ``directory/calibration.json`` (removed when the model has none)."""
    path = Path(directory) / CALIBRATION_FILE
    if model.calibration is None:
        path.unlink(missing_ok=True)
        return None
    atomic_write_json(path, model.calibration.to_dict())
    return path


def _load_calibration(directory: Path, model: CompiledModel) -> Calibration | None:
    path = directory / CALIBRATION_FILE
    if not path.is_file():
        return None
    try:
        calibration = Calibration.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{path}: unreadable calibration ({exc})") from None
    if calibration.task != model.task or calibration.targets != model.targets:
        raise ModelFileError(f"{path}: calibrated for a {calibration.task} model of targets "
                             f"{list(calibration.targets)}, not this {model.task} model of {list(model.targets)}")
    return calibration


def _read_document(directory: Path) -> dict[str, Any]:
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
    if document.get("format_version") not in READABLE_VERSIONS:
        raise ModelFileError(
            f"{spec_path}: format version {document.get('format_version')} is not supported "
            f"(this symmol reads versions {', '.join(map(str, READABLE_VERSIONS))})"
        )
    if document.get("params_sha256") != sha256_file(params_path):
        raise ModelFileError(f"{params_path}: checksum does not match {SPEC_FILE}; the file is corrupt or was replaced")
    training = document.get("training")
    if training is not None and not isinstance(training, dict):
        raise ModelFileError(f"{spec_path}: \"training\" must be an object, got {type(training).__name__}")
    return document


def load_model(directory: str | Path, backend: str = "numba") -> CompiledModel:
    """Rebuild a model saved by :func:`save_model` (any registered kind).

    Raises
    ------
    ModelFileError
        If ``model.json`` or ``params.npz`` is missing, unreadable, from another format
        version or an unknown model kind, fails its checksum, or holds parameters that do not fit the spec.
    ValueError
        If ``backend`` cannot compile the model (a graph network needs ``numba`` or ``c``).
    """
    directory = Path(directory)
    document = _read_document(directory)
    spec_path, params_path = directory / SPEC_FILE, directory / PARAMS_FILE
    try:
        cls = model_class(document.get("model"))  # type: ignore[arg-type]
    except ValueError as exc:
        raise ModelFileError(f"{spec_path}: {exc}") from None
    if backend not in cls.BACKENDS:
        raise ValueError(f"{directory}: a {cls.KIND} model compiles with the {' or '.join(cls.BACKENDS)} backend, "
                         f"not {backend!r}")
    try:
        spec = cls.SPEC.from_dict(document["spec"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{spec_path}: invalid model spec ({exc})") from None
    try:
        with np.load(params_path, allow_pickle=False) as archive:
            values = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ModelFileError(f"{params_path}: unreadable parameter file ({exc})") from None
    try:
        model = cls(spec, backend=backend)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{spec_path}: invalid featurizer or architecture ({exc})") from None
    try:
        model.set_param_values(values)
    except ValueError as exc:
        raise ModelFileError(f"{params_path}: {exc}") from None
    model.train_config = document.get("training")
    if "train_fingerprints_sha256" in document:
        model.train_fingerprints = _load_train_fingerprints(directory, document["train_fingerprints_sha256"])
    model.calibration = _load_calibration(directory, model)
    return model


def _load_train_fingerprints(directory: Path, sha256: str) -> np.ndarray:
    path = directory / TRAIN_FINGERPRINTS_FILE
    if not path.is_file() or sha256 != sha256_file(path):
        raise ModelFileError(f"{path}: missing, or its checksum does not match {SPEC_FILE}")
    words = np.load(path, mmap_mode="r", allow_pickle=False)
    if words.dtype != np.uint64 or words.ndim != 2:
        raise ModelFileError(f"{path}: expected (n, n_words) uint64 packed fingerprints, found {words.shape} "
                             f"{words.dtype}")
    return words
