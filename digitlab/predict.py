"""Command line: classify image files of single digits with a saved model.

    python -m digitlab predict my_seven.png scan.jpg
    python -m digitlab predict --model models/default.npz --json *.png

Without `--model`, the active model: the one the app's sidebar starts a session with (the one
last made active, else the newest run, else the shipped `models/default.npz`), named on stderr.
Each image goes through the same MNIST-style preprocessing as the app's drawing page, so a
digit classifies the same here and there. A file that cannot be classified gets its own error
line (and a non-zero exit status); the others are still classified.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nn.core.errors import DigitLabError
from nn.core.persistence import load_model
from nn.core.preprocess import load_image, mnist_style
from services import locations
from services.database import RunStoreError
from services.runs import RunStore, choose_model, model_files


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m digitlab predict",
        description="Classify images of handwritten digits (PNG/JPEG, any size, either polarity).",
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="a .npz saved by digitlab train or the app (default: the active model, as the app's sidebar "
        "chooses it)",
    )
    parser.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="image files, one digit each")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON array of results instead of lines"
    )
    return parser


def classify_file(model, path: Path) -> dict:
    """{"path", "digit", "confidence", "probabilities"} for one image file, or raises."""
    probs = model.predict_proba(mnist_style(load_image(path)))
    digit = int(probs.argmax())
    return {
        "path": str(path),
        "digit": digit,
        "confidence": round(float(probs[digit]), 4),
        "probabilities": [round(float(p), 4) for p in probs],
    }


def active_model() -> tuple[Path, str] | None:
    """The model the app's sidebar starts a session with (`services.runs.choose_model`), and its
    name in words: a run's id and name when it is one of the run store's, else its file."""
    directory = locations.models_dir()
    try:
        index = RunStore().index()
    except RunStoreError:  # runs then go by their files' UTC stamps; the active one still comes first
        index = {}
    path = choose_model(model_files(directory, index), directory)
    if path is None:
        return None
    run = index.get(path.resolve())
    return path, f"run {run[0]} “{run[1]}” ({path})" if run else str(path)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.model is None:
        active = active_model()
        if active is None:
            print(
                f"error: there is no model in {locations.models_dir()} yet: train one "
                "(python -m digitlab train) or give --model",
                file=sys.stderr,
            )
            return 2
        args.model, name = active
        print(f"using the active model: {name}", file=sys.stderr)
    try:
        model = load_model(args.model)
    except DigitLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results, failed = [], False
    for path in args.images:
        try:
            result = classify_file(model, path)
        except DigitLabError as exc:
            failed = True
            result = {"path": str(path), "error": str(exc)}
            if not args.json:
                print(f"{path}: error: {exc}", file=sys.stderr)
        else:
            if not args.json:
                print(f"{path}: {result['digit']} ({result['confidence']:.2f})")
        results.append(result)
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failed else 0
