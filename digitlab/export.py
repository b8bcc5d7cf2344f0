"""Command line: write a saved model in another tool's format.

    python -m digitlab export models/default.npz digits.onnx

The output path is checked before the model is read, so a bad path fails having done nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nn.core.config import N_CLASSES, N_INPUTS
from nn.core.errors import DigitLabError
from nn.core.persistence import check_writable, load_model
from nn.export import to_onnx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m digitlab export",
        description="Write a Digit Lab model as ONNX: input 'pixels' float32 [N, 784] in 0–1, "
        "output 'probabilities' [N, 10], the model's temperature included.",
    )
    parser.add_argument(
        "model", type=Path, metavar="MODEL.npz", help="a model saved by digitlab train or the app"
    )
    parser.add_argument("output", type=Path, metavar="OUT.onnx", help="the ONNX file to write")
    args = parser.parse_args(argv)
    try:
        check_writable(args.output)  # before reading the model: fail fast, having done nothing
        model = load_model(args.model)
        written = to_onnx.export(model, args.output)
    except DigitLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {written} ({written.stat().st_size:,} bytes): {to_onnx.INPUT} float32 [N, {N_INPUTS}] → "
        f"{to_onnx.OUTPUT} [N, {N_CLASSES}], temperature {model.temperature:g}"
    )
    return 0
