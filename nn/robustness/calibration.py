"""Calibration: when the network says "90 % sure", is it right nine times in ten?

**Reliability.** Sort the images by the network's confidence (its largest probability) into
equal-width bins; in each bin compare the average confidence with the share answered right.
A calibrated network's bins lie on the diagonal. The expected calibration error (ECE, Naeini et
al. 2015) is the gap averaged over the bins, each weighted by its share of the images:
ECE = Σ_b (n_b / N) · |accuracy_b − confidence_b|.

**Temperature scaling** (Guo et al. 2017). A network trained to drive its training loss to zero
learns to shout: its logits grow, and its softmax says 100 % where it is right 97 % of the time.
Dividing every logit by one number T > 1 before the softmax softens the probabilities without
changing which digit wins, so accuracy is untouched. T is the one that minimises the negative
log-likelihood on images the network did not train on — never the test set, which must stay
the judge. This module only computes T; the run store saves it with the model
(`services.runs.RunStore.set_temperature`, into `model.record.temperature`), and
`MLP.predict_proba` then applies it everywhere.

**Coverage.** A network allowed to say "not sure" below a confidence threshold answers fewer
images (coverage) and gets more of those right: the curve of one against the other is how a
person picks the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nn.core.data import MNIST, subset, subset_indices, train_validation_split
from nn.core.losses import softmax
from nn.core.network import MLP
from nn.core.record import TEMPERATURE_RANGE
from nn.explain.inside import activations

BINS = 15  # Guo et al.'s choice: enough to see the shape, enough images per bin to trust it
FALLBACK_VALIDATION = 10_000  # training images used when a model held none out
BISECTION_STEPS = 60  # halvings of log T's range: far below any change a probability would show


def confidences(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each image's confidence (its largest probability) and whether its answer is right."""
    return probs.max(axis=1), probs.argmax(axis=1) == np.asarray(labels)


@dataclass(frozen=True)
class Reliability:
    """A reliability diagram: per confidence bin, how many images, how sure, how right."""

    edges: np.ndarray  # (bins + 1,) from 0 to 1
    counts: np.ndarray  # (bins,)
    confidence: np.ndarray  # (bins,) mean confidence in each bin, NaN where empty
    accuracy: np.ndarray  # (bins,) share right in each bin, NaN where empty
    ece: float


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> Reliability:
    """Bin the images by confidence and measure each bin; also the ECE over all of them."""
    confidence, right = confidences(probs, labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bins are (low, high]: a confidence of exactly 1 falls in the last, and none is ever 0.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, weights=confidence, minlength=bins) / counts
        accuracy = np.bincount(which, weights=right, minlength=bins) / counts
    gaps = np.abs(np.nan_to_num(accuracy - mean_confidence))
    ece = float(np.sum(counts * gaps) / len(confidence))
    return Reliability(edges, counts, mean_confidence, accuracy, ece)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean −log p(true digit) under softmax(logits / T): what temperature scaling minimises."""
    scaled = np.asarray(logits, np.float64) / temperature
    shifted = scaled - scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_norm - shifted[np.arange(len(labels)), labels]))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T minimising the negative log-likelihood of `labels` under softmax(logits / T).

    With β = 1/T the NLL is convex in β (a log-sum-exp of functions linear in β, minus one), so
    its derivative, E_softmax(βz)[z] − z_label averaged over the images, rises with β and has one
    zero. Bisection finds it; T is kept within the range a model file accepts.
    """
    z = np.asarray(logits, np.float64)
    true = z[np.arange(len(labels)), labels]

    def slope(log_beta: float) -> float:
        p = softmax(z * np.exp(log_beta))
        return float(np.mean((p * z).sum(axis=1) - true))

    low, high = -np.log(TEMPERATURE_RANGE[1]), -np.log(TEMPERATURE_RANGE[0])  # log β = −log T
    if slope(low) >= 0:
        return TEMPERATURE_RANGE[1]
    if slope(high) <= 0:  # every image right by a wide margin: sharper is always better
        return TEMPERATURE_RANGE[0]
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        low, high = (middle, high) if slope(middle) < 0 else (low, middle)
    return float(np.exp(-(low + high) / 2))


@dataclass(frozen=True)
class ValidationSet:
    """Images to fit a temperature on, and whether the model really never trained on them."""

    images: np.ndarray
    labels: np.ndarray
    held_out: bool
    description: str


def validation_set(model: MLP, mnist: MNIST) -> ValidationSet:
    """Training-set images the model did not learn from, found from how it was trained.

    A model trained with a validation split (`val_size`) left those images out: the same seed
    picks the same ones as `nn.core.experiment` did. One trained on a subset (`train_size`) never saw
    the rest. A model that learned from all 60,000 left nothing out: then a fixed 10,000 of them
    are used, and `held_out` is False — it is surer of images it has seen, so the temperature
    fitted there corrects less than it should. The test set is never used.
    """
    training = model.record.training
    images, labels = mnist.train_images, mnist.train_labels
    if training is not None and training.val_size:
        seed, train_size, val_size = training.seed, training.train_size, training.val_size
        if train_size is not None:
            images, labels = subset(images, labels, train_size, seed)
        _, (val_images, val_labels) = train_validation_split(images, labels, val_size, seed)
        return ValidationSet(val_images, val_labels, True, f"the {val_size:,} training images it held out")
    if training is not None and training.train_size is not None and training.train_size < len(labels):
        indices = subset_indices(len(labels), training.train_size, training.seed)
        unseen = np.setdiff1d(np.arange(len(labels)), indices)
        return ValidationSet(
            images[unseen], labels[unseen], True, f"the {len(unseen):,} training images outside its subset"
        )
    val_images, val_labels = subset(images, labels, FALLBACK_VALIDATION, seed=0)
    return ValidationSet(
        val_images,
        val_labels,
        False,
        f"{FALLBACK_VALIDATION:,} training images it had learned from (it held none out)",
    )


def logits_of(model: MLP, images: np.ndarray) -> np.ndarray:
    """The raw scores before the softmax (and before any temperature), (N, 10)."""
    return activations(model, images)[-1]


@dataclass(frozen=True)
class Calibration:
    """A model's calibration on the test set before and after temperature scaling."""

    temperature: float  # fitted on `validation`, never on the test set
    validation: str  # what it was fitted on
    held_out: bool
    validation_nll: tuple[float, float]  # before, after
    before: Reliability  # test set, T = 1
    after: Reliability  # test set, fitted T
    coverage_before: Coverage
    coverage_after: Coverage


def calibrate(model: MLP, mnist: MNIST) -> Calibration:
    """Fit a temperature on the model's validation images and judge it on the test set."""
    validation = validation_set(model, mnist)
    val_logits = logits_of(model, validation.images)
    temperature = fit_temperature(val_logits, validation.labels)
    test_logits = logits_of(model, mnist.test_images)
    before, after = softmax(test_logits), softmax(test_logits / temperature)
    labels = mnist.test_labels
    return Calibration(
        temperature=temperature,
        validation=validation.description,
        held_out=validation.held_out,
        validation_nll=(
            negative_log_likelihood(val_logits, validation.labels),
            negative_log_likelihood(val_logits, validation.labels, temperature),
        ),
        before=reliability(before, labels),
        after=reliability(after, labels),
        coverage_before=coverage(before, labels),
        coverage_after=coverage(after, labels),
    )


@dataclass(frozen=True)
class Coverage:
    """As the confidence threshold rises: the share of images answered, and the accuracy on them."""

    thresholds: np.ndarray  # ascending
    coverage: np.ndarray
    accuracy: np.ndarray  # NaN where nothing is answered

    def at(self, threshold: float) -> tuple[float, float]:
        """(coverage, accuracy) when answering only images at least `threshold` sure."""
        i = min(int(np.searchsorted(self.thresholds, threshold)), len(self.thresholds) - 1)
        return float(self.coverage[i]), float(self.accuracy[i])


def coverage(probs: np.ndarray, labels: np.ndarray, points: int = 201) -> Coverage:
    """Coverage and accuracy at `points` thresholds from 0 to 1 (answer when confidence ≥ threshold)."""
    confidence, right = confidences(probs, labels)
    order = np.argsort(confidence)
    sorted_confidence, sorted_right = confidence[order], right[order]
    # Images at or above each threshold are a suffix of the sorted ones: suffix sums count them.
    right_from = np.concatenate([np.cumsum(sorted_right[::-1])[::-1], [0]])
    thresholds = np.linspace(0.0, 1.0, points)
    start = np.searchsorted(sorted_confidence, thresholds, side="left")
    answered = len(confidence) - start
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(answered > 0, right_from[start] / answered, np.nan)
    return Coverage(thresholds, answered / len(confidence), accuracy)
