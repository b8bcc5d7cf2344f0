"""Command line: write a saved model in another tool's format: ONNX, or Keras.

    python -m digitlab export models/default.npz digits.onnx
    python -m digitlab export --format keras models/default.npz digits.keras

Keras is loaded only for a Keras export (it takes seconds).

The output path is checked before the model is read, so a bad path fails having done nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nn.core.config import N_CLASSES, N_INPUTS
from nn.core.errors import DigitLabError
from nn.core.network import MLP
from nn.core.persistence import check_writable, load_model
from nn.export import to_onnx

FORMATS = ("onnx", "keras")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m digitlab export",
        description="Write a Digit Lab model as ONNX or as a .keras file: input 'pixels' [N, 784] "
        "in 0–1, output 'probabilities' [N, 10], the model's temperature included.",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="onnx (float32, for onnxruntime, Netron…) or keras (for keras.models.load_model); "
        "default: keras for an OUT ending in .keras, else onnx",
    )
    parser.add_argument(
        "model", type=Path, metavar="MODEL.npz", help="a model saved by digitlab train or the app"
    )
    parser.add_argument("output", type=Path, metavar="OUT", help="the file to write (.onnx or .keras)")
    args = parser.parse_args(argv)
    chosen = args.format or ("keras" if args.output.suffix == ".keras" else "onnx")
    try:
        check_writable(args.output)  # before reading the model: fail fast, having done nothing
        model = load_model(args.model)
        written = (
            export_keras(model, args.output) if chosen == "keras" else to_onnx.export(model, args.output)
        )
    except DigitLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    precision = model.dtype.name if chosen == "keras" else "float32"
    print(
        f"wrote {written} ({written.stat().st_size:,} bytes): {to_onnx.INPUT} {precision} [N, {N_INPUTS}] → "
        f"{to_onnx.OUTPUT} [N, {N_CLASSES}], temperature {model.temperature:g}"
    )
    return 0


def export_keras(model: MLP, path: Path) -> Path:
    """The Keras export, whose module loads Keras: imported only when asked for."""
    from nn.export import to_keras

    return to_keras.export(model, path)
