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
    rows = np.arange(len(labels))
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    sample_losses = np.log(total[:, 0]) - shifted[rows, labels]
    grad = exp
    grad /= total
    grad[rows, labels] -= 1
    grad /= len(labels)
    return float(sample_losses.mean()), grad
