"""Softmax and cross-entropy, computed so that large logits cannot overflow.

softmax(z)_k = exp(z_k - m) / sum_j exp(z_j - m) for m = max_j z_j gives the same value as the
textbook formula while every exponent is <= 0. The cross-entropy -log softmax(z)_y is then
log(sum_j exp(z_j - m)) - (z_y - m): the log-sum-exp trick. Its gradient with respect to the
logits is simply softmax(z) - onehot(y), which is why the two are fused here.
"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities, row by row."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    exp /= exp.sum(axis=1, keepdims=True)
    return exp


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of the batch and its gradient with respect to the logits."""
    n, rows = len(labels), np.arange(len(labels))
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    loss = (np.log(total).sum() - shifted[rows, labels].sum()) / n
    grad = exp  # softmax(z) - onehot(y), divided by n because the loss is a mean
    grad /= total
    grad[rows, labels] -= 1
    grad /= n
    return float(loss), grad
