"""How robust and how well calibrated saved models are, and how faithful their ONNX export is.

    python -m digitlab train --save /tmp/default-preset.npz          # the default preset's model
    OPENBLAS_NUM_THREADS=1 python -m bench.robustness models/default.npz /tmp/default-preset.npz
    python -m bench.robustness --quick models/default.npz   # seconds: attacks and corruptions on 100 images

For each model, the figures the Robustness page draws, as numbers (Markdown tables):

- accuracy under FGSM and PGD (10 steps) at ε = 0.05, 0.1, 0.2 and the curve's end, 0.3, on the
  page's fixed 1,000 test images;
- accuracy at the clean level and at the ends of every corruption curve, on the same images;
- ECE on the test set before and after temperature scaling, the fitted T and what it was fitted
  on (never the test set);
- ONNX parity: the largest difference between onnxruntime's probabilities and `nn/`'s on all
  10,000 test images, and whether every answer is the same.

Nothing here is timed: the page's cost is in its cache, and the machine is shared.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import onnxruntime

from nn.core.data import MNIST, ROBUSTNESS_SAMPLE, load_mnist, robustness_sample
from nn.core.network import MLP, as_batch
from nn.core.persistence import load_model
from nn.export.to_onnx import onnx_bytes
from nn.robustness.adversarial import accuracy_under_attack
from nn.robustness.calibration import calibrate
from nn.robustness.corruptions import CORRUPTIONS, accuracy_under_corruption

from .markdown import models_table
from .quick import add_quick

EPSILONS = (0.0, 0.05, 0.1, 0.2, 0.3)
QUICK = {"images": 100}


def measure(path: Path, mnist, attacked: int) -> dict:
    """The figures of one model; attacks and corruptions on the first `attacked` of the page's images."""
    model = load_model(path)
    images, labels = (part[:attacked] for part in robustness_sample(mnist))
    attacks = {m: accuracy_under_attack(model, images, labels, EPSILONS, m) for m in ("fgsm", "pgd")}
    corruptions = {k: accuracy_under_corruption(model, images, labels, k) for k in CORRUPTIONS}
    calibrated = calibrate(model, mnist)
    return {
        "name": path.name,
        "layer_sizes": model.layer_sizes,
        "training": model.record.training,
        "attacks": attacks,
        "corruptions": corruptions,
        "calibration": calibrated,
        "parity": None if model.deskews else onnx_parity(model, mnist),  # not exportable: it deskews
    }


def onnx_parity(model: MLP, mnist: MNIST) -> tuple[float, bool]:
    """The largest difference between onnxruntime's probabilities and `nn/`'s on the test set, and
    whether every answer is the same."""
    runtime = onnxruntime.InferenceSession(onnx_bytes(model), providers=["CPUExecutionProvider"])
    (onnx_probs,) = runtime.run(["probabilities"], {"pixels": as_batch(mnist.test_images, "float32")[0]})
    nn_probs = model.predict_proba(mnist.test_images)
    return float(np.abs(onnx_probs - nn_probs).max()), bool(
        np.array_equal(onnx_probs.argmax(axis=1), nn_probs.argmax(axis=1))
    )


def report(results: list[dict], attacked: int) -> str:
    names = [r["name"] for r in results]
    attacks = {
        f"{method.upper()} ε = {epsilon:g}": [f"{r['attacks'][method][i]:.1%}" for r in results]
        for method in ("fgsm", "pgd")
        for i, epsilon in enumerate(EPSILONS)
    }
    corruptions = {
        f"{kind} {corruption.levels[i]:g} ({corruption.unit})": [
            f"{r['corruptions'][kind][i]:.1%}" for r in results
        ]
        for kind, corruption in CORRUPTIONS.items()
        for i in sorted({0, corruption.levels.index(corruption.clean), len(corruption.levels) - 1})
    }
    calibration = {
        "ECE as trained": [f"{r['calibration'].before.ece:.2%}" for r in results],
        "ECE temperature scaled": [f"{r['calibration'].after.ece:.2%}" for r in results],
        "fitted T": [f"{r['calibration'].temperature:.3f}" for r in results],
        "validation NLL before → after": [
            "{:.4f} → {:.4f}".format(*r["calibration"].validation_nll) for r in results
        ],
        "fitted on held-out images": [
            "yes" if r["calibration"].held_out else "no: it trained on them" for r in results
        ],
    }
    parity = {
        "max abs difference, onnxruntime vs nn/": [
            "— (deskews: not exportable)" if r["parity"] is None else f"{r['parity'][0]:.1e}" for r in results
        ],
        "same answer on every image": [
            "—" if r["parity"] is None else "yes" if r["parity"][1] else "NO" for r in results
        ],
    }
    return "\n".join(
        models_table(f"attack ({attacked:,} test images)", names, attacks)
        + models_table(f"corruption ({attacked:,} test images)", names, corruptions)
        + models_table("calibration (10,000 test images)", names, calibration)
        + models_table("ONNX parity (10,000 test images)", names, parity)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.robustness", description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", help="model .npz files")
    parser.add_argument(
        "--images",
        type=int,
        default=ROBUSTNESS_SAMPLE,
        help="attack and corrupt the first N of the Robustness page's images (default: all of them)",
    )
    add_quick(parser, QUICK, argv)
    args = parser.parse_args(argv)
    mnist = load_mnist()
    started = time.time()
    results = [measure(path, mnist, args.images) for path in args.models]
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {time.time() - started:.0f} s in all")
    versions = (
        f"Python {platform.python_version()}, numpy {np.__version__}, onnxruntime {onnxruntime.__version__}"
    )
    print(f"software: {versions}")
    for r in results:
        shape, training = "-".join(map(str, r["layer_sizes"])), r["training"]
        augment, val_size = (training.augment, training.val_size) if training else (None, None)
        print(f"{r['name']}: {shape}, augment {augment}, val_size {val_size}")
    print()
    print(report(results, args.images))


if __name__ == "__main__":
    main()
