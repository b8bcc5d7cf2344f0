"""Saving and loading models as `.npz`: plain arrays and JSON strings, never a pickle.

A model file holds `format` (a marker), `layer_sizes`, the weights `W0…` and biases `b0…`,
`config` — the network's `ModelConfig` as JSON — and `record` — its `ModelRecord` (training
config, per-epoch history, test accuracy…) as JSON. Loading uses `allow_pickle=False` — a
pickle can run any code it likes when read — and then checks every key, shape, dtype and value,
the JSON's included, so a file is either a sound model or a clear error. Saving writes a
temporary file beside the target and renames it over, so a crash half-way leaves the old file
intact, never a torn one.

Files written before the network's settings were separated from its training
(`digitlab-mlp-v1`, like the shipped `models/default.npz`) hold one free-form `meta` object
instead; `_description_v1` reads it into the same two types, with the same checks.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from tokenize import TokenError
from typing import Any, BinaryIO

import numpy as np

from .config import MAX_HIDDEN_LAYERS, MAX_WEIGHTS, N_CLASSES, N_INPUTS, Group, ModelConfig, parameters
from .errors import ConfigError, ModelFileError, OutputPathError
from .network import MLP
from .record import ModelRecord

FORMAT = "digitlab-mlp-v2"
FORMAT_V1 = "digitlab-mlp-v1"  # still read: a `meta` object instead of `config` and `record`
DESCRIPTION = {FORMAT: ("config", "record"), FORMAT_V1: ("meta",)}  # the JSON entries of each
# The largest network a config allows, in float64, plus room for its history and the zip.
MAX_FILE_BYTES = 8 * MAX_WEIGHTS + 64 * 1024 * 1024
FLOAT_DTYPES = ("float32", "float64")


def save_model(model: MLP, path: str | Path) -> Path:
    """Write `model` to `path` atomically and return the path."""
    _check_savable(model)
    return write_atomically(path, lambda f: _write(model, f))


def write_atomically(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Create `path` through `write(file)`: into a temporary file beside it, renamed over at the end.

    The rename is atomic, so a crash half-way leaves whatever was at `path` before, never a torn
    file, and nobody reading `path` meanwhile sees a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # Created as open() creates files, so the umask decides who may read it (mkstemp's 0600
    # would survive the rename: on a shared server nobody else could read a model or an export).
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def model_bytes(model: MLP) -> bytes:
    """The `.npz` file `save_model` would write, as bytes (for a download when no disk will take it)."""
    _check_savable(model)
    buffer = io.BytesIO()
    _write(model, buffer)
    return buffer.getvalue()


def _check_savable(model: MLP) -> None:
    """Never write a file that load_model would refuse: its record passes the same checks first."""
    try:
        ModelRecord.from_dict(model.record.to_dict())
    except ValueError as exc:
        raise ValueError(f"the model's record cannot be saved: {exc}") from None


def _write(model: MLP, file: BinaryIO) -> None:
    np.savez(file, **model_arrays(model))


def model_arrays(model: MLP) -> dict[str, np.ndarray]:
    """The plain arrays a model file holds: what `save_model` writes, or a Dask worker sends back."""
    arrays = {
        "format": np.array(FORMAT),
        "layer_sizes": np.array(model.layer_sizes, dtype=np.int64),
        "config": np.array(json.dumps(model.config.to_dict())),
        "record": np.array(json.dumps(model.record.to_dict())),
    }
    for i, (W, b) in enumerate(zip(model.weights, model.biases)):
        arrays[f"W{i}"], arrays[f"b{i}"] = W, b
    return arrays


def model_from_arrays(arrays: dict[str, np.ndarray], origin: str) -> MLP:
    """A model from `model_arrays`' output, checked as strictly as a file (`origin` names its source)."""
    return _model_from_arrays(origin, arrays)


def check_writable(path: str | Path) -> Path:
    """Raise `OutputPathError` unless a file can be written at `path`; the path.

    Called before any long work, so that hours of training are never lost to a typo. The
    nearest existing folder on the way must take a file — tried for real with a temporary one,
    as permissions alone do not tell (root passes every permission check, yet /proc refuses).
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"cannot write {path}: it is a folder; name a file inside it")
    folder = next(p for p in path.absolute().parents if p.exists())
    if not folder.is_dir():
        raise OutputPathError(f"cannot write {path}: {folder} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".digitlab-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputPathError(
            f"cannot write {path}: {folder} does not take new files ({reason(exc)})"
        ) from None
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"cannot write {path}: the file is read-only")
    return path


def reason(error: OSError) -> str:
    """An OS error in words, without Python's decoration (e.g. "No space left on device")."""
    return error.strerror or str(error)


def load_model(path: str | Path) -> MLP:
    """Read a model saved by `save_model`, or raise `ModelFileError` saying what is wrong."""
    return _model_from_arrays(path, read_arrays(path))


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The plain arrays of an `.npz` file (a model, or a checkpoint holding one), never unpickled;
    `ModelFileError` saying why when the file is missing, too large, damaged or not plain arrays."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ModelFileError(
            f"model file {path} is {size:,} bytes, more than any Digit Lab model "
            f"({MAX_FILE_BYTES:,}); refusing to read it"
        )
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is not a Digit Lab model: a model is an .npz (zip) archive")
    try:
        _check_unpacked_size(path)
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as exc:  # what NumPy raises for pickled members with allow_pickle=False
        raise ModelFileError(
            f"{path} holds data that is not plain arrays ({exc}); "
            "it was not written by Digit Lab and will not be loaded"
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, MemoryError, SyntaxError, TokenError) as exc:
        # MemoryError: a member's header declares an array larger than memory, as no model's does.
        # SyntaxError, TokenError: a garbled member header, which NumPy parses as a Python literal.
        raise ModelFileError(f"{path} is damaged and cannot be read ({exc})") from None


def _check_unpacked_size(path: Path) -> None:
    """Refuse a zip bomb: a small archive whose members inflate beyond any real model."""
    with zipfile.ZipFile(path) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > MAX_FILE_BYTES:
        raise ModelFileError(
            f"model file {path} would unpack to {unpacked:,} bytes, more than any Digit Lab model "
            f"({MAX_FILE_BYTES:,}); refusing to read it"
        )


def _model_from_arrays(path: str | Path, arrays: dict[str, np.ndarray]) -> MLP:
    def bad(problem: str) -> ModelFileError:
        return ModelFileError(f"{path} is not a valid Digit Lab model: {problem}")

    layout = str(arrays["format"]) if "format" in arrays and arrays["format"].shape == () else None
    if layout not in DESCRIPTION:
        raise bad(f"its 'format' entry is missing or is not {FORMAT!r}")
    sizes = arrays.get("layer_sizes")
    if sizes is None or sizes.ndim != 1 or sizes.dtype.kind not in "iu" or len(sizes) < 3:
        raise bad("'layer_sizes' must list at least three integer layer widths")
    if len(sizes) > MAX_HIDDEN_LAYERS + 2:
        raise bad(f"{len(sizes) - 2} hidden layers is more than the {MAX_HIDDEN_LAYERS} a model may have")
    sizes = tuple(int(s) for s in sizes)
    if (sizes[0], sizes[-1]) != (N_INPUTS, N_CLASSES):
        raise bad(f"layer sizes {sizes} must start at {N_INPUTS} inputs and end at {N_CLASSES} classes")
    n_layers = len(sizes) - 1
    weights = {f"{p}{i}" for p in "Wb" for i in range(n_layers)}
    expected = {"format", "layer_sizes", *DESCRIPTION[layout]} | weights
    if set(arrays) != expected:
        raise bad(f"expected entries {sorted(expected)}, found {sorted(arrays)}")
    dtypes = {arrays[name].dtype.name for name in weights}
    if len(dtypes) != 1 or not dtypes <= set(FLOAT_DTYPES):
        raise bad(f"weights must all be float32 or all float64, found {sorted(dtypes)}")
    shape = ModelConfig(hidden=sizes[1:-1], dtype=dtypes.pop())
    if shape.problems():
        raise bad(f"layer sizes {sizes}: {ConfigError(shape.problems())}")
    json_entries = {name: _parse_json(arrays[name], name, bad) for name in DESCRIPTION[layout]}
    try:
        config, record = READ_DESCRIPTION[layout](json_entries, shape)
    except ValueError as exc:  # includes ConfigError
        raise bad(str(exc)) from None
    if (config.hidden, config.dtype) != (shape.hidden, shape.dtype):
        raise bad(
            f"its config describes a {config.architecture} "
            f"{config.dtype} network, but its weights are {'-'.join(map(str, sizes))} {shape.dtype}"
        )
    model = MLP.from_config(config)
    for i, (W, b) in enumerate(zip(model.weights, model.biases)):
        for name, target in ((f"W{i}", W), (f"b{i}", b)):
            if arrays[name].shape != target.shape:
                raise bad(f"{name} has shape {arrays[name].shape}, expected {target.shape}")
            target[...] = arrays[name]
    if not np.isfinite(model.params).all():
        raise bad("some weights are NaN or infinite")
    model.record = record
    return model


def _parse_json(entry: np.ndarray, name: str, bad: Callable[[str], ModelFileError]) -> Any:
    if entry.shape != () or entry.dtype.kind != "U":
        raise bad(f"{name!r} must be a JSON string")
    try:
        value = json.loads(str(entry))
    except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise bad(f"{name!r} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise bad(f"{name!r} must be a JSON object")
    return value


# ModelConfig fields added after the format, with what a file written before them meant.
ADDED_SINCE = {"prepare": "none"}  # it read its images as they were


def _description_v2(entries: dict[str, dict], shape: ModelConfig) -> tuple[ModelConfig, ModelRecord]:
    """`config` states every ModelConfig field (a missing seed would silently become 0), except
    the ones added since, which a file written before them could not state (`ADDED_SINCE`)."""
    config = ADDED_SINCE | entries["config"]
    if set(config) != set(shape.to_dict()):
        raise ValueError(f"'config' must give exactly {', '.join(shape.to_dict())}")
    return _model_config(config), _record("record", entries["record"])


def _description_v1(entries: dict[str, dict], shape: ModelConfig) -> tuple[ModelConfig, ModelRecord]:
    """The free-form `meta` of format v1, read into the same types with the same checks.

    Its "config" mixed the network's settings with the training's; a fine-tune kept its base's
    in "base_config", which is how the network was first built. Settings it leaves out take
    their defaults (the network's shape and precision: from the weights), and keys v1 never
    defined are ignored: before v2 anyone could add any.
    """
    meta = entries["meta"]
    built = _flat_config(meta, "base_config") or _flat_config(meta, "config") or {}
    config = _model_config({**shape.to_dict(), **_part(built, Group.MODEL)})
    record = {name: meta[name] for name in RECORD_KEYS_V1 if name in meta}
    for old, new in (("config", "training"), ("base_config", "base_training")):
        if _flat_config(meta, old) is not None:
            record[new] = _part(_flat_config(meta, old), Group.TRAINING)
    return config, _record("meta", record)


READ_DESCRIPTION = {FORMAT: _description_v2, FORMAT_V1: _description_v1}
RECORD_KEYS_V1 = (
    "history",
    "trained_at",
    "train_seconds",
    "status",
    "epochs_done",
    "test_accuracy",
    "finetune",
    "temperature",
)


def _flat_config(meta: dict, key: str) -> dict | None:
    value = meta.get(key)
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"'meta' {key!r} must be a JSON object")
    return value


def _part(flat: dict, group: Group) -> dict:
    names = {spec.name for spec in parameters(group)}
    return {name: value for name, value in flat.items() if name in names}


def _model_config(data: dict) -> ModelConfig:
    try:
        return ModelConfig.from_dict(data).validate()
    except ConfigError as exc:
        raise ValueError(f"its model config is invalid ({exc})") from None


def _record(entry: str, data: dict) -> ModelRecord:
    try:
        return ModelRecord.from_dict(data)
    except ValueError as exc:
        raise ValueError(f"{entry!r}: {exc}") from None
