"""How good a classifier is, class by class: the confusion matrix and what follows from it.

Overall accuracy hides which digits a network confuses. The confusion matrix counts, for every
true digit (row) and predicted digit (column), how many test images landed there; its diagonal
holds the correct answers, so per-class accuracy is the diagonal over each row's total.
"""

from __future__ import annotations

import numpy as np

from nn.core.config import N_CLASSES


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int = N_CLASSES) -> np.ndarray:
    """Counts (n_classes, n_classes): row = true class, column = predicted class."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if labels.shape != predicted.shape:
        raise ValueError(f"labels {labels.shape} and predictions {predicted.shape} differ in shape")
    # One bincount over the flattened (true, predicted) pair index beats a Python loop by far.
    pairs = labels.astype(np.int64) * n_classes + predicted.astype(np.int64)
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Share of each true class predicted correctly; NaN for a class with no examples."""
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / totals, np.nan)
