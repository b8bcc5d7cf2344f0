"""The model's answers on the 10,000 test images, and the views the Predictions page offers.

Probabilities are computed once per model (see `ui.cache`); everything here is cheap NumPy on
those 10k × 10 numbers, so filtering and sorting can run on every rerun of the page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn.core.network import MLP
from nn.explain.metrics import confusion_matrix, per_class_accuracy

SORTS = {
    "most confident first": "confident",
    "least confident first": "unsure",
    "test-set order": "index",
}


@dataclass(frozen=True)
class Predictions:
    """What the model says about each test image: its probabilities and the label it should say."""

    probs: np.ndarray  # (N, 10)
    labels: np.ndarray  # (N,)

    @property
    def predicted(self) -> np.ndarray:
        return self.probs.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """Probability the model gave its own answer: how sure it was, right or wrong."""
        return self.probs.max(axis=1)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predicted == self.labels))

    @property
    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.labels, self.predicted)

    @property
    def per_class_accuracy(self) -> np.ndarray:
        return per_class_accuracy(self.confusion)


def predict_test_set(model: MLP, images: np.ndarray, labels: np.ndarray) -> Predictions:
    probs = model.predict_proba(images)
    probs.flags.writeable = False  # shared through the cache by every session
    return Predictions(probs=probs, labels=np.asarray(labels))


def select(
    predictions: Predictions,
    *,
    mistakes_only: bool = False,
    true_class: int | None = None,
    predicted_class: int | None = None,
    sort: str = "confident",
) -> np.ndarray:
    """Indices of the test images that pass the filters, in the order asked for.

    `sort` is "confident" (most confident first: among mistakes, the most puzzling ones),
    "unsure" (least confident first) or "index" (test-set order).
    """
    predicted, confidence = predictions.predicted, predictions.confidence
    keep = np.ones(len(predictions.labels), bool)
    if mistakes_only:
        keep &= predicted != predictions.labels
    if true_class is not None:
        keep &= predictions.labels == true_class
    if predicted_class is not None:
        keep &= predicted == predicted_class
    chosen = np.flatnonzero(keep)
    if sort == "index":
        return chosen
    if sort not in ("confident", "unsure"):
        raise ValueError(f"sort must be one of {sorted(SORTS.values())}, got {sort!r}")
    # A stable sort keeps test-set order among equal confidences, so pages never reshuffle.
    order = np.argsort(-confidence[chosen] if sort == "confident" else confidence[chosen], kind="stable")
    return chosen[order]


def page(indices: np.ndarray, number: int, size: int) -> np.ndarray:
    """The `number`-th (1-based) slice of `size` indices; pages past the end are empty."""
    start = (number - 1) * size
    return indices[start : start + size]


def page_count(n_items: int, size: int) -> int:
    """Pages needed for `n_items`, and at least one, so an empty result still has a page 1."""
    return max(1, -(-n_items // size))
