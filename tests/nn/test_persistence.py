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
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

import nn.core.persistence
from nn import MLP, ModelConfig, ModelFileError, TrainConfig, load_model, save_model
from nn.core.events import EpochEnd
from nn.core.persistence import FORMAT_V1, MAX_FILE_BYTES
from nn.core.record import FineTuneMix, FineTuneRecord, ModelRecord

REPO = Path(__file__).resolve().parents[2]
EPOCH = EpochEnd(1, 1, 0.5, 0.9, None, 0.5, 1.25, 0.05)


def small_model(dtype: str = "float32", seed: int = 0) -> MLP:
    model = MLP((16, 8), dtype=dtype, seed=seed, init="small")
    model.biases[0][...] = np.linspace(-1, 1, 16)  # biases start at zero; make them count
    model.record = ModelRecord(
        training=TrainConfig(epochs=1, lr=0.05, seed=seed),
        history=(EPOCH,),
        trained_at="2026-11-24T06:50:41+00:00",
        train_seconds=1.5,
        status="completed",
        epochs_done=1,
        test_accuracy=0.5,
        temperature=1.3,
    )
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


def test_save_then_load_gives_identical_predictions_and_description(
    trained_model: MLP, model_file: Path, mnist
) -> None:
    loaded = load_model(model_file)
    assert loaded.layer_sizes == trained_model.layer_sizes == (784, 128, 64, 10)
    assert loaded.dtype == trained_model.dtype
    np.testing.assert_array_equal(loaded.params, trained_model.params)
    images = mnist.test_images[:2000]
    np.testing.assert_array_equal(loaded.predict_proba(images), trained_model.predict_proba(images))
    assert loaded.config == trained_model.config and loaded.record == trained_model.record
    assert loaded.record.test_accuracy > 0.9 and len(loaded.record.history) == 2
    assert loaded.config.hidden == (128, 64) and loaded.record.training.epochs == 2


def test_float64_models_round_trip_too(tmp_path: Path) -> None:
    model = small_model("float64")
    loaded = load_model(save_model(model, tmp_path / "deep" / "dir" / "m.npz"))
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded.params, model.params)
    assert loaded.config == model.config == ModelConfig(hidden=(16, 8), init="small", dtype="float64")
    assert loaded.record == model.record and loaded.record.history == (EPOCH,)
    assert loaded.record.temperature == 1.3


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

    monkeypatch.setattr(nn.core.persistence.np, "savez", savez_that_dies)
    with pytest.raises(OSError, match="No space left"):
        save_model(small_model(seed=2), path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.npz"], "the temporary file is cleaned up"
    np.testing.assert_array_equal(load_model(path).params, old.params)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_saved_model_is_as_readable_as_the_umask_makes_new_files(tmp_path: Path, umask: int) -> None:
    """On a shared server, others may read models as they may read any file their owner makes."""
    previous = os.umask(umask)
    try:
        path = save_model(small_model(), tmp_path / "model.npz")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_every_garbled_byte_of_an_array_header_is_refused_as_a_damaged_model(tmp_path: Path) -> None:
    """NumPy parses an .npy header as a Python literal: garbled, it raised tokenize.TokenError."""
    data = save_model(small_model(), tmp_path / "whole.npz").read_bytes()
    headers = [i for i in range(len(data)) if data.startswith(b"\x93NUMPY", i)]
    assert len(headers) == 10  # format, layer_sizes, config, record, then W and b of three layers
    path = tmp_path / "garbled.npz"
    for start in headers:
        for offset in range(10, 80):  # past the magic and the length: the header's own text
            for value in (ord("("), ord("'"), 0x00, 0xFF):
                garbled = bytearray(data)
                garbled[start + offset] = value
                path.write_bytes(bytes(garbled))
                try:
                    load_model(path)
                except ModelFileError:
                    continue
                except Exception as exc:
                    where = f"byte {offset} of the header at {start} set to {value}"
                    pytest.fail(f"{where}: {type(exc).__name__}: {exc}")


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


@pytest.mark.parametrize("entry", ["W0", "config", "record"])
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
        (lambda a: a.update(record=np.array("{'history': broken")), ["'record' is not valid JSON"]),
        (lambda a: a.update(record=np.array("[1, 2, 3]")), ["'record' must be a JSON object"]),
        (lambda a: a.update(config=np.array("[" * 100_000 + "]" * 100_000)), ["'config' is not valid JSON"]),
        (lambda a: a.update(record=np.zeros(2)), ["'record' must be a JSON string"]),
        (lambda a: a.update(meta=a.pop("record")), ["expected entries", "record"]),
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
    monkeypatch.setattr(nn.core.persistence, "MAX_FILE_BYTES", 1_000_000)
    source = save_model(small_model(), tmp_path / "whole.npz")
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            out.writestr(name, src.read(name))
        out.writestr("padding.npy", bytes(5_000_000))
    assert path.stat().st_size < 100_000
    expect_refusal(path, "unpack")


# -- the typed description: a file's claims become typed fields, or a clear refusal ------------


def described(tmp_path: Path, config: dict | None = None, **record) -> Path:
    """A genuine small model whose `config` and `record` JSON are replaced (record: merged)."""
    arrays = genuine_arrays(tmp_path)
    if config is not None:
        arrays["config"] = np.array(json.dumps(config))
    merged = json.loads(str(arrays["record"])) | record
    arrays["record"] = np.array(json.dumps(merged))
    return write_npz(tmp_path / "described.npz", arrays)


GOOD_CONFIG = {"hidden": [16, 8], "init": "small", "dtype": "float32", "seed": 0}


@pytest.mark.parametrize(
    ("config", "record", "words"),
    [
        (None, {"test_accuracy": "high"}, ["test_accuracy must be a finite number", "'high'"]),
        (None, {"test_accuracy": 1.5}, ["test_accuracy must be between 0 and 1"]),
        (None, {"train_seconds": -1}, ["train_seconds must be at least 0"]),
        (None, {"epochs_done": 2.5}, ["epochs_done must be a whole number"]),
        (None, {"epochs_done": True}, ["epochs_done must be a whole number"]),
        (None, {"status": "exploded"}, ["status must be one of completed, stopped, diverged"]),
        (None, {"trained_at": "yesterday"}, ["trained_at must be an ISO 8601 time"]),
        (None, {"trained_at": "2026-11-24T06:50:41"}, ["with its UTC offset"]),
        (None, {"temperature": 0}, ["temperature must be between 0.01 and 100"]),
        (None, {"temperature": [1.0]}, ["temperature must be a finite number"]),
        (None, {"finetune": [1, 2]}, ["finetune must be a JSON object"]),
        (None, {"history": {"epoch": 1}}, ["history must be a list of epochs"]),
        (
            None,
            {"history": [{"epoch": 1, "loss": 0.5}]},
            ["history[0] must hold exactly epoch, epochs, loss"],
        ),
        (None, {"history": [asdict(EPOCH) | {"loss": "low"}]}, ["history[0].loss must be a finite number"]),
        (None, {"history": [asdict(EPOCH) | {"epoch": 1.0}]}, ["history[0].epoch must be a whole number"]),
        (None, {"history": [asdict(EPOCH) | {"val_accuracy": "n/a"}]}, ["history[0].val_accuracy"]),
        (None, {"training": {"lr": -1}}, ["training is not a valid training config", "lr: must be greater"]),
        (
            None,
            {"training": {"hidden": [16, 8]}},
            ["training is not a valid", "hidden: is not a TrainConfig"],
        ),
        (None, {"training": "momentum"}, ["training is not a valid training config"]),
        (None, {"base_training": {"epochs": "many"}}, ["base_training is not a valid training config"]),
        (None, {"evil": 1}, ["'evil' is not part of a model's record"]),
        (GOOD_CONFIG | {"seed": "x"}, {}, ["model config is invalid", "seed: must be a number"]),
        (GOOD_CONFIG | {"init": "zeros"}, {}, ["model config is invalid", "init: must be one of"]),
        ({"hidden": [16, 8], "init": "he", "dtype": "float32"}, {}, ["'config' must give exactly"]),
        (GOOD_CONFIG | {"lr": 0.1}, {}, ["'config' must give exactly"]),
        (GOOD_CONFIG | {"hidden": [32, 8]}, {}, ["describes a 784-32-8-10 float32 network", "784-16-8-10"]),
        (
            GOOD_CONFIG | {"dtype": "float64"},
            {},
            ["float64 network, but its weights are 784-16-8-10 float32"],
        ),
    ],
)
def test_a_description_with_wrong_types_or_values_is_refused(
    tmp_path: Path, config: dict | None, record: dict, words: list[str]
) -> None:
    expect_refusal(described(tmp_path, config, **record), "not a valid Digit Lab model", *words)


def test_a_description_that_says_less_is_read_with_nothing_invented(tmp_path: Path) -> None:
    arrays = genuine_arrays(tmp_path)
    arrays["record"] = np.array("{}")
    loaded = load_model(write_npz(tmp_path / "bare.npz", arrays))
    assert loaded.record == ModelRecord()
    assert loaded.record.training is None and loaded.record.test_accuracy is None


def v1_file(tmp_path: Path, meta: dict, model: MLP | None = None) -> Path:
    """A model file as Digit Lab wrote it before the split: format v1 and one free `meta` object."""
    model = model or small_model()
    arrays = {"format": np.array(FORMAT_V1), "layer_sizes": np.array(model.layer_sizes, dtype=np.int64)}
    arrays["meta"] = np.array(json.dumps(meta))
    for i, (W, b) in enumerate(zip(model.weights, model.biases)):
        arrays[f"W{i}"], arrays[f"b{i}"] = W, b
    return write_npz(tmp_path / "v1.npz", arrays)


def test_the_shipped_model_in_the_old_layout_loads_into_the_typed_description() -> None:
    path = REPO / "tests" / "files" / "shipped-2026-11-24.npz"  # the app's model until issue 25
    with np.load(path) as archive:
        assert str(archive["format"]) == FORMAT_V1, "written before the split: this test reads the old layout"
        meta = json.loads(str(archive["meta"]))
    model = load_model(path)
    assert model.config == ModelConfig(hidden=(1024, 256), init="he", dtype="float32", seed=0)
    training = model.record.training
    assert training == TrainConfig(epochs=30, lr=0.05, batch_size=128, schedule="cosine", augment="pen")
    # Nothing lost, nothing invented but what a file from before them leaves out: the engine
    # (it was NumPy's), the input preparation (none) and adversarial training (none).
    before_them = {"engine": "numpy", "prepare": "none", "adversarial": 0.0}
    assert training.to_dict() | model.config.to_dict() == meta["config"] | before_them
    assert model.record.history == tuple(EpochEnd(**epoch) for epoch in meta["history"])
    assert len(model.record.history) == 30 and model.record.history[-1].test_accuracy == meta["test_accuracy"]
    assert (model.record.status, model.record.epochs_done) == ("completed", 30)
    assert model.record.test_accuracy == 0.9914 and model.record.trained_at == "2026-11-24T06:50:41+00:00"
    assert model.record.temperature is None and model.record.first_training == training


def test_an_old_fine_tune_keeps_how_its_network_was_first_built(tmp_path: Path) -> None:
    base = {**GOOD_CONFIG, **TrainConfig(epochs=5).to_dict(), "seed": 9}  # v1: one flat config
    tuned = {**GOOD_CONFIG, **TrainConfig(epochs=3, lr=0.003).to_dict(), "init": "he"}
    settings = {"epochs": 3, "lr": 0.003, "batch_size": 64, "mnist_size": 20_000, "user_share": 0.02}
    settings |= {"max_repeats": 200, "augment": "pen", "seed": 0}
    result = {"status": "completed", "mnist_before": 0.98, "mnist_after": 0.979, "user_before": None}
    result |= {"user_after": None, "user_train": 5, "user_held_out": 0, "repeats": 81}
    finetune = {"settings": settings, "result": result}  # as fine-tuning wrote its account then
    meta = {"config": tuned, "base_config": base, "history": [asdict(EPOCH)], "finetune": finetune}
    model = load_model(
        v1_file(tmp_path, meta | {"test_accuracy": 0.97, "temperature": 1.1, "colour": "blue"})
    )
    assert model.config == ModelConfig(hidden=(16, 8), init="small", seed=9), "the base built the network"
    assert model.record.training == TrainConfig(epochs=3, lr=0.003)
    assert model.record.base_training == TrainConfig(epochs=5, seed=9) == model.record.first_training
    mix = FineTuneMix(mnist_size=20_000, user_share=0.02, max_repeats=200, distortion="pen")
    assert model.record.finetune == FineTuneRecord(mix, 5, 0, 81, 0.98, 0.979, None, None)
    assert model.record.temperature == 1.1
    # Saved again, it is written in the new layout and reads back the same.
    again = load_model(save_model(model, tmp_path / "again.npz"))
    assert (again.config, again.record) == (model.config, model.record)


def test_an_old_file_with_little_or_no_description_still_loads(tmp_path: Path) -> None:
    float64 = small_model("float64")
    model = load_model(v1_file(tmp_path, {}, float64))
    assert model.config == ModelConfig(hidden=(16, 8), dtype="float64"), (
        "shape and precision from the weights"
    )
    assert model.record == ModelRecord()
    partial = load_model(v1_file(tmp_path, {"config": {"hidden": [16, 8]}, "test_accuracy": 0.5}))
    assert partial.record.training == TrainConfig() and partial.record.test_accuracy == 0.5


@pytest.mark.parametrize(
    ("meta", "words"),
    [
        ({"config": {"hidden": [32]}}, ["describes a 784-32-10"]),
        ({"config": {"lr": "fast"}}, ["training is not a valid training config", "lr: must be a number"]),
        ({"config": {"seed": -4}}, ["model config is invalid", "seed: must be at least 0"]),
        ({"config": [16, 8]}, ["'config' must be a JSON object"]),
        ({"history": [{"loss": [1, 2]}]}, ["history[0] must hold exactly"]),
        ({"test_accuracy": "high"}, ["test_accuracy must be a finite number"]),
        ({"status": 3}, ["status must be one of"]),
    ],
)
def test_an_old_file_with_wrong_types_is_refused_too(tmp_path: Path, meta: dict, words: list[str]) -> None:
    expect_refusal(v1_file(tmp_path, meta), "not a valid Digit Lab model", *words)
