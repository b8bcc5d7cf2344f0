"""Take a model to Keras: a `.keras` file that `keras.models.load_model` opens as it is.

    python -m digitlab export --format keras models/default.npz digits.keras

The model is Keras' own layers only (`nn.framework.network.classifier`: Dense with ReLU, then a
Rescaling by 1/temperature when one was fitted, then Softmax), so loading it needs no code of
Digit Lab's and no custom objects:

    pixels  [N, 784], ink from 0 to 1 (28×28 images, row by row), in the model's precision
    → probabilities  [N, 10], as `MLP.predict_proba` gives them

The path is checked before any work and the file written atomically, as models are.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from nn.core.errors import OutputPathError
from nn.core.network import MLP
from nn.core.persistence import check_writable, reason, write_atomically
from nn.export import exportable
from nn.framework.network import classifier

SUFFIX = ".keras"  # Keras refuses to save a model under any other name


def keras_bytes(model: MLP) -> bytes:
    """The `.keras` file's contents, for a download."""
    exportable(model, "a .keras file")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"model{SUFFIX}"
        classifier(model).save(path)
        return path.read_bytes()


def export(model: MLP, path: str | Path) -> Path:
    """Write `model` as a `.keras` file at `path`, atomically; raise `OutputPathError` if it
    cannot be written or is not named `*.keras`."""
    path = check_writable(path)
    if path.suffix != SUFFIX:
        raise OutputPathError(f"a Keras model file must end in {SUFFIX} (got {path.name})")
    data = keras_bytes(model)
    try:
        return write_atomically(path, lambda f: f.write(data))
    except OSError as exc:
        raise OutputPathError(f"cannot write {path}: {reason(exc)}") from None
