"""ONNX export: onnxruntime gives the same probabilities as nn/, and bad paths get clear errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest

from nn import MLP, ModelFileError, ModelRecord, load_model, save_model
from nn.core.network import as_batch
from nn.export.to_onnx import export, onnx_bytes
from tests.support.cli import digitlab

REPO = Path(__file__).resolve().parents[2]
PARITY = 1e-5


def session(source: Path | bytes) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(
        str(source) if isinstance(source, Path) else source, providers=["CPUExecutionProvider"]
    )


def run_export(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        digitlab("export", *args),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_onnxruntime_matches_nn_on_all_10000_test_images(shipped_model, mnist, tmp_path) -> None:
    path = export(shipped_model, tmp_path / "default.onnx")
    runtime = session(path)
    pixels = as_batch(mnist.test_images, "float32")[0]
    (probabilities,) = runtime.run(["probabilities"], {"pixels": pixels})
    expected = shipped_model.predict_proba(mnist.test_images)
    assert probabilities.shape == (10_000, 10) and probabilities.dtype == np.float32
    assert np.abs(probabilities - expected).max() < PARITY
    assert np.mean(probabilities.argmax(axis=1) == mnist.test_labels) == shipped_model.record.test_accuracy


def test_the_graph_declares_its_input_output_and_temperature(shipped_model) -> None:
    proto = onnx.load_from_string(onnx_bytes(shipped_model))
    onnx.checker.check_model(proto, full_check=True)
    (given,), (out,) = proto.graph.input, proto.graph.output
    dims = lambda value: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]  # noqa: E731
    assert (given.name, dims(given), given.type.tensor_type.elem_type) == (
        "pixels",
        ["N", 784],
        onnx.TensorProto.FLOAT,
    )
    assert (out.name, dims(out)) == ("probabilities", ["N", 10])
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["layer_sizes"] == "784-1600-800-10" and props["temperature"] == "1"


def test_a_float64_model_with_a_temperature_exports_with_it(mnist, tmp_path) -> None:
    model = MLP(hidden=(32, 16), dtype="float64", seed=4)
    model.record = ModelRecord(temperature=2.5)
    runtime = session(export(model, tmp_path / "warm.onnx"))
    pixels = as_batch(mnist.test_images[:2000], "float32")[0]
    (probabilities,) = runtime.run(None, {"pixels": pixels})
    assert np.abs(probabilities - model.predict_proba(pixels)).max() < PARITY
    cold = MLP(hidden=(32, 16), dtype="float64", seed=4)
    assert np.abs(probabilities - cold.predict_proba(pixels)).max() > 100 * PARITY, "the temperature matters"


def test_the_command_line_writes_the_file_and_says_what_it_holds(tmp_path) -> None:
    out = tmp_path / "digits.onnx"
    done = run_export(REPO / "models" / "default.npz", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out} (")
    assert "pixels float32 [N, 784] → probabilities [N, 10], temperature 1" in done.stdout
    assert onnx.load(out).graph.output[0].name == "probabilities"
    assert [p.name for p in tmp_path.iterdir()] == ["digits.onnx"], "no temporary file is left behind"


def test_a_model_file_load_model_refuses_gets_the_same_error(tmp_path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(ModelFileError) as refused:
        load_model(bad)
    done = run_export(bad, tmp_path / "out.onnx")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {refused.value}"
    assert not (tmp_path / "out.onnx").exists()


@pytest.mark.parametrize(
    "where, message",
    [
        (".", "it is a folder"),
        ("a_file.txt/out.onnx", "{tmp}/a_file.txt is a file, not a folder"),
        ("/proc/digits.onnx", "/proc does not take new files"),
    ],
)
def test_an_unwritable_output_path_gets_a_clear_error_and_nothing_is_written(tmp_path, where, message):
    (tmp_path / "a_file.txt").write_text("in the way")
    before = sorted(tmp_path.rglob("*"))
    done = run_export(REPO / "models" / "default.npz", tmp_path / where)
    assert done.returncode == 2
    assert done.stderr.startswith("error: cannot write") and message.format(tmp=tmp_path) in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert sorted(tmp_path.rglob("*")) == before


def test_missing_folders_on_the_way_are_made_as_for_a_saved_model(tmp_path) -> None:
    out = tmp_path / "exports" / "today" / "digits.onnx"
    done = run_export(REPO / "models" / "default.npz", out)
    assert done.returncode == 0, done.stderr
    assert onnx.load(out).graph.input[0].name == "pixels"


def test_the_output_path_is_checked_before_the_model_is_read(tmp_path) -> None:
    done = run_export(tmp_path / "no_such_model.npz", tmp_path)
    assert (
        done.returncode == 2
        and done.stderr.strip() == f"error: cannot write {tmp_path}: it is a folder; name a file inside it"
    )


def test_exporting_over_an_existing_file_replaces_it_whole(shipped_model, tmp_path) -> None:
    out = tmp_path / "model.onnx"
    out.write_bytes(b"an older export" * 1000)
    small = MLP(hidden=(8,))
    save_model(small, tmp_path / "small.npz")
    export(load_model(tmp_path / "small.npz"), out)
    assert out.read_bytes() == onnx_bytes(small)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "small.npz"]
