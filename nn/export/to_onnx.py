"""Take a model out of Digit Lab: write it as ONNX, the format other tools run and inspect.

    python -m digitlab export models/default.npz digits.onnx   (the command line: digitlab/export.py)

The graph is the network itself, layer by layer, as ONNX operators — MatMul and Add for each
Dense layer, Relu between them — then the logits divided by the model's temperature (1 when
none was fitted) and a Softmax:

    pixels  float32 [N, 784], ink from 0 to 1 (28×28 images, row by row)
    → probabilities  float32 [N, 10]

so onnxruntime, Netron or any ONNX consumer sees the same numbers as `MLP.predict_proba`. The
weights are stored as float32, what ONNX runtimes run fastest; a float64 model differs from
its export by float32 rounding only.

Before any work the output path is checked as `digitlab train --save` checks it (`check_writable`:
not a folder, under a folder that takes files; missing folders are made), and the file is
written atomically, as models are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from nn.core.config import N_CLASSES, N_INPUTS
from nn.core.errors import OutputPathError
from nn.core.network import MLP
from nn.core.persistence import check_writable, reason, write_atomically
from nn.export import exportable

OPSET = 17  # every current runtime reads it; nothing here needs a newer operator
IR_VERSION = 8  # the IR version that goes with opset 17
INPUT, OUTPUT = "pixels", "probabilities"


def to_onnx(model: MLP) -> onnx.ModelProto:
    """The model as a checked ONNX graph: pixels [N, 784] in, probabilities [N, 10] out."""
    exportable(model, "an ONNX file")
    nodes, weights, current = [], [], INPUT
    last = len(model.weights) - 1
    for i, (W, b) in enumerate(zip(model.weights, model.biases)):
        weights += [numpy_helper.from_array(W.astype(np.float32), f"W{i}")]
        weights += [numpy_helper.from_array(b.astype(np.float32), f"b{i}")]
        nodes += [
            helper.make_node("MatMul", [current, f"W{i}"], [f"x{i}W{i}"], name=f"dense{i}_matmul"),
            helper.make_node("Add", [f"x{i}W{i}", f"b{i}"], [f"dense{i}"], name=f"dense{i}_add"),
        ]
        current = f"dense{i}"
        if i < last:
            nodes.append(helper.make_node("Relu", [current], [f"relu{i}"], name=f"relu{i}"))
            current = f"relu{i}"
    weights.append(numpy_helper.from_array(np.array(model.temperature, np.float32), "temperature"))
    nodes += [
        helper.make_node("Div", [current, "temperature"], ["scaled_logits"], name="temperature_scaling"),
        helper.make_node("Softmax", ["scaled_logits"], [OUTPUT], axis=1, name="softmax"),
    ]
    graph = helper.make_graph(
        nodes,
        "digit_lab_mlp",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", N_INPUTS])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N", N_CLASSES])],
        initializer=weights,
        doc_string=f"Digit Lab MLP {'-'.join(map(str, model.layer_sizes))}: 28×28 digit images, "
        "ink 0–1 row by row, in; the ten digits' probabilities out.",
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="Digit Lab",
    )
    helper.set_model_props(proto, _properties(model))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _properties(model: MLP) -> dict[str, str]:
    """What a person inspecting the file (in Netron, say) should know about the model."""
    props = {"layer_sizes": "-".join(map(str, model.layer_sizes)), "temperature": f"{model.temperature:g}"}
    if model.record.test_accuracy is not None:
        props["test_accuracy"] = f"{model.record.test_accuracy:.4f}"
    return props


def onnx_bytes(model: MLP) -> bytes:
    """The ONNX file's contents, for a download."""
    return to_onnx(model).SerializeToString()


def export(model: MLP, path: str | Path) -> Path:
    """Write `model` as ONNX at `path`, atomically; raise `OutputPathError` if it cannot be written."""
    path = check_writable(path)
    data = onnx_bytes(model)
    try:
        return write_atomically(path, lambda f: f.write(data))
    except OSError as exc:  # a full disk, say: what the check before the work cannot foresee
        raise OutputPathError(f"cannot write {path}: {reason(exc)}") from None
