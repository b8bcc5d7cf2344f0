"""Saving and loading models as `.npz`: plain arrays and one JSON string, never a pickle.

A model file holds `format` (a marker), `layer_sizes`, the weights `W0…` and biases `b0…`,
and `meta`: JSON with the hyper-parameters, the per-epoch history and the test accuracy.
Loading uses `allow_pickle=False` — a pickle can run any code it likes when read — and then
checks every key, shape, dtype and value, so a file is either a sound model or a clear error.
Saving writes a temporary file beside the target and renames it over, so a crash half-way
leaves the old file intact, never a torn one.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .config import MAX_HIDDEN_LAYERS, MAX_WEIGHTS
from .errors import ModelFileError, OutputPathError
from .network import MLP, N_CLASSES, N_INPUTS

FORMAT = "digitlab-mlp-v1"
# The largest network a config allows, in float64, plus room for its history and the zip.
MAX_FILE_BYTES = 8 * MAX_WEIGHTS + 64 * 1024 * 1024
FLOAT_DTYPES = ("float32", "float64")
# A softmax temperature (nn/calibration.py) outside these bounds is no calibration but a broken file:
# fitted ones land between about 0.5 and 3.
TEMPERATURE_RANGE = (0.01, 100.0)


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
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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
    problem = temperature_problem(model.meta)
    if problem:
        raise ValueError(problem)  # never write a file that load_model would refuse


def _write(model: MLP, file: BinaryIO) -> None:
    np.savez(file, **model_arrays(model))


def model_arrays(model: MLP) -> dict[str, np.ndarray]:
    """The plain arrays a model file holds: what `save_model` writes, or a Dask worker sends back."""
    arrays = {
        "format": np.array(FORMAT),
        "layer_sizes": np.array(model.layer_sizes, dtype=np.int64),
        "meta": np.array(json.dumps(model.meta)),
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
            return _model_from_arrays(path, {key: archive[key] for key in archive.files})
    except ModelFileError:
        raise
    except ValueError as exc:  # what NumPy raises for pickled members with allow_pickle=False
        raise ModelFileError(
            f"{path} holds data that is not plain arrays ({exc}); "
            "it was not written by Digit Lab and will not be loaded"
        ) from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, MemoryError) as exc:
        # MemoryError: a member's header declares an array larger than memory, as no model's does.
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

    if "format" not in arrays or arrays["format"].shape != () or str(arrays["format"]) != FORMAT:
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
    expected = {"format", "layer_sizes", "meta"} | {f"{p}{i}" for p in "Wb" for i in range(n_layers)}
    if set(arrays) != expected:
        raise bad(f"expected entries {sorted(expected)}, found {sorted(arrays)}")
    dtypes = {arrays[f"{p}{i}"].dtype.name for p in "Wb" for i in range(n_layers)}
    if len(dtypes) != 1 or not dtypes <= set(FLOAT_DTYPES):
        raise bad(f"weights must all be float32 or all float64, found {sorted(dtypes)}")
    try:
        model = MLP(hidden=sizes[1:-1], dtype=dtypes.pop())
    except ValueError as exc:
        raise bad(f"layer sizes {sizes}: {exc}") from None
    for i, (W, b) in enumerate(zip(model.weights, model.biases)):
        for name, target in ((f"W{i}", W), (f"b{i}", b)):
            if arrays[name].shape != target.shape:
                raise bad(f"{name} has shape {arrays[name].shape}, expected {target.shape}")
            target[...] = arrays[name]
    if not np.isfinite(model.params).all():
        raise bad("some weights are NaN or infinite")
    model.meta = _parse_meta(arrays["meta"], bad)
    problem = temperature_problem(model.meta)
    if problem:
        raise bad(problem)
    return model


def temperature_problem(meta: dict) -> str | None:
    """What is wrong with `meta`'s softmax temperature, if anything (a model need not have one)."""
    if "temperature" not in meta:
        return None
    value, (low, high) = meta["temperature"], TEMPERATURE_RANGE
    # bool is an int to Python, but `true` is no temperature
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        return f"its temperature must be a number from {low} to {high}, found {value!r}"
    return None


def _parse_meta(entry: np.ndarray, bad) -> dict:
    if entry.shape != () or entry.dtype.kind != "U":
        raise bad("'meta' must be a JSON string")
    try:
        meta = json.loads(str(entry))
    except (json.JSONDecodeError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise bad(f"'meta' is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise bad("'meta' must be a JSON object")
    return meta
