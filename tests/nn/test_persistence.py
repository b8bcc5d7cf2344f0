"""Saving and loading models: identical round trips, atomic writes, and hostile files refused.

The malformed files are built by hand the way an attacker or a damaged disk would build them:
from a genuine model's arrays with one thing changed.
"""

from __future__ import annotations

import builtins
import json
import os
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

import nn.persistence
from nn import MLP, ModelFileError, load_model, save_model
from nn.persistence import MAX_FILE_BYTES


def small_model(dtype: str = "float32", seed: int = 0) -> MLP:
    model = MLP((16, 8), dtype=dtype, seed=seed)
    model.biases[0][...] = np.linspace(-1, 1, 16)  # biases start at zero; make them count
    model.meta = {"config": {"hidden": [16, 8]}, "history": [{"epoch": 1, "loss": 0.5}], "test_accuracy": 0.5}
    return model


def genuine_arrays(tmp_path: Path) -> dict[str, np.ndarray]:
    path = save_model(small_model(), tmp_path / "genuine.npz")
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def expect_refusal(path: Path, *words: str) -> str:
    with pytest.raises(ModelFileError) as caught:
        load_model(path)
    message = str(caught.value)
    assert str(path) in message, "the message names the file"
    for word in words:
        assert word in message
    return message


def test_save_then_load_gives_identical_predictions_and_meta(
    trained_model: MLP, model_file: Path, mnist
) -> None:
    loaded = load_model(model_file)
    assert loaded.layer_sizes == trained_model.layer_sizes == (784, 128, 64, 10)
    assert loaded.dtype == trained_model.dtype
    np.testing.assert_array_equal(loaded.params, trained_model.params)
    images = mnist.test_images[:2000]
    np.testing.assert_array_equal(loaded.predict_proba(images), trained_model.predict_proba(images))
    assert loaded.meta == json.loads(json.dumps(trained_model.meta))
    assert loaded.meta["test_accuracy"] > 0.9 and len(loaded.meta["history"]) == 2
    assert loaded.meta["config"]["hidden"] == [128, 64]


def test_float64_models_round_trip_too(tmp_path: Path) -> None:
    model = small_model("float64")
    loaded = load_model(save_model(model, tmp_path / "deep" / "dir" / "m.npz"))
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded.params, model.params)
    assert loaded.meta == model.meta


def test_saving_leaves_no_temporary_files_and_overwrites_in_place(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    save_model(small_model(seed=1), path)
    replacement = small_model(seed=2)
    save_model(replacement, path)
    assert os.listdir(tmp_path) == ["model.npz"]
    np.testing.assert_array_equal(load_model(path).params, replacement.params)


def test_a_write_that_fails_half_way_leaves_the_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.npz"
    old = small_model(seed=1)
    save_model(old, path)

    def savez_that_dies(file, **arrays) -> None:
        file.write(b"PK\x03\x04 half of a zip archive")
        raise OSError("No space left on device")

    monkeypatch.setattr(nn.persistence.np, "savez", savez_that_dies)
    with pytest.raises(OSError, match="No space left"):
        save_model(small_model(seed=2), path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.npz"], "the temporary file is cleaned up"
    np.testing.assert_array_equal(load_model(path).params, old.params)


def test_missing_file(tmp_path: Path) -> None:
    expect_refusal(tmp_path / "nope.npz", "does not exist")


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    path.write_text("these are not the weights you are looking for")
    expect_refusal(path, "not a Digit Lab model", "zip")


def test_truncated_zip(tmp_path: Path) -> None:
    data = save_model(small_model(), tmp_path / "whole.npz").read_bytes()
    for cut in (len(data) // 2, len(data) - 10):
        path = tmp_path / f"cut{cut}.npz"
        path.write_bytes(data[:cut])
        expect_refusal(path)


def test_damaged_member_inside_an_intact_zip(tmp_path: Path) -> None:
    source = save_model(small_model(), tmp_path / "whole.npz")
    path = tmp_path / "damaged.npz"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as out:
        for name in src.namelist():
            data = src.read(name)
            out.writestr(name, data[: len(data) // 2] if name == "W1.npy" else data)
    expect_refusal(path)


def test_oversized_file_is_refused_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.npz"
    with open(path, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: takes no disk space
    expect_refusal(path, "bytes", "refusing")


class WritesAMarker:
    """Unpickling this opens (creates) the marker file: a harmless stand-in for any code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return builtins.open, (str(self.marker), "w")


@pytest.mark.parametrize("entry", ["W0", "meta"])
def test_a_pickled_payload_is_refused_and_never_executed(tmp_path: Path, entry: str) -> None:
    marker = tmp_path / "pwned"
    arrays = genuine_arrays(tmp_path)
    payload = np.empty(1, dtype=object)
    payload[0] = WritesAMarker(marker)
    arrays[entry] = payload
    path = write_npz(tmp_path / "evil.npz", arrays)
    expect_refusal(path, "not plain arrays")
    assert not marker.exists(), "loading a model must never unpickle"
    # The payload is live: had the loader unpickled it, the marker would exist.
    with np.load(path, allow_pickle=True) as archive:
        archive[entry]
    assert marker.exists()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda a: a.pop("W1"), ["expected entries", "W1"]),
        (lambda a: a.pop("format"), ["'format'"]),
        (lambda a: a.update(format=np.array("someone-elses-model")), ["'format'"]),
        (lambda a: a.update(extra=np.zeros(3)), ["expected entries", "extra"]),
        (lambda a: a.update(W1=np.zeros((8, 16), np.float32)), ["W1 has shape (8, 16), expected (16, 8)"]),
        (lambda a: a.update(b2=np.zeros((10, 1), np.float32)), ["b2 has shape"]),
        (lambda a: a.update(W0=a["W0"].astype(np.int32)), ["float32 or all float64", "int32"]),
        (lambda a: a.update(b0=a["b0"].astype(np.float64)), ["float32 or all float64"]),
        (lambda a: a.update(W2=a["W2"].astype("U8")), ["float32 or all float64"]),
        (lambda a: a["W1"].__setitem__((3, 4), np.nan), ["NaN or infinite"]),
        (lambda a: a["b1"].__setitem__(0, np.inf), ["NaN or infinite"]),
        (lambda a: a.update(meta=np.array("{'config': broken")), ["not valid JSON"]),
        (lambda a: a.update(meta=np.array("[1, 2, 3]")), ["JSON object"]),
        (lambda a: a.update(meta=np.array("[" * 100_000 + "]" * 100_000)), ["not valid JSON"]),
        (lambda a: a.update(meta=np.zeros(2)), ["JSON string"]),
        (lambda a: a.update(layer_sizes=np.array([784, 10**9, 8, 10])), ["layer sizes", "at most 8192"]),
        (lambda a: a.update(layer_sizes=np.array([784, -16, 8, 10])), ["layer sizes", "greater than 0"]),
        (lambda a: a.update(layer_sizes=np.array([100, 16, 8, 10])), ["must start at 784"]),
        (lambda a: a.update(layer_sizes=np.array([784, 16, 8, 3])), ["end at 10"]),
        (lambda a: a.update(layer_sizes=np.array([784.0, 16.0, 8.0, 10.0])), ["integer layer widths"]),
        (lambda a: a.update(layer_sizes=np.array([784, 10])), ["at least three"]),
        (lambda a: a.update(layer_sizes=np.array([784] + [8] * 10**6 + [10])), ["1000000 hidden layers"]),
    ],
)
def test_malformed_models_are_refused_with_a_reason(tmp_path: Path, change, words: list[str]) -> None:
    arrays = genuine_arrays(tmp_path)
    for key in arrays:
        arrays[key] = arrays[key].copy()  # writable copies to change
    change(arrays)
    expect_refusal(write_npz(tmp_path / "bad.npz", arrays), "not a valid Digit Lab model", *words)


def npy_header_only(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    """A .npy member that declares an array of `shape` and holds none of its data."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode("latin1")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def test_an_array_declaring_an_absurd_size_is_refused_not_allocated(tmp_path: Path) -> None:
    source = save_model(small_model(), tmp_path / "whole.npz")
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w") as out:
        for name in src.namelist():
            out.writestr(name, npy_header_only((784, 10**12)) if name == "W0.npy" else src.read(name))
    expect_refusal(path)


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A member that inflates far beyond the file-size limit (the limit is lowered to keep the test fast).
    monkeypatch.setattr(nn.persistence, "MAX_FILE_BYTES", 1_000_000)
    source = save_model(small_model(), tmp_path / "whole.npz")
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            out.writestr(name, src.read(name))
        out.writestr("padding.npy", bytes(5_000_000))
    assert path.stat().st_size < 100_000
    expect_refusal(path, "unpack")
