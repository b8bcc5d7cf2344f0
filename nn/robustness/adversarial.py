"""Adversarial examples: changes of pixels too small to matter to a person that fool the network.

The network's loss L(x, y) is a smooth function of the image x, and `MLP.input_gradient` gives
its slope ∇ₓL from the network's own backward pass. Nudging every pixel by ε in the direction
that raises the loss,

    x' = clip(x + ε · sign(∇ₓL(x, y)), 0, 1),

is the fast gradient sign method (FGSM, Goodfellow et al. 2015). The sign, not the gradient
itself, spends the whole budget: no pixel moves more than ε (an L∞ ball), and every pixel moves
that much. For a network as close to linear as a ReLU MLP, the loss rises by about ε·‖∇ₓL‖₁ —
a sum over 784 pixels — so a change invisible pixel by pixel adds up to a large one.

Aimed at a chosen digit t instead, the step goes *down* the loss of t:
x' = clip(x − ε · sign(∇ₓL(x, t))).

PGD (projected gradient descent; BIM when it starts at x, Kurakin et al. 2016, Madry et al.
2018) takes several smaller steps of α, and after each one projects back into the ε-ball around
x and into [0, 1]; it follows the loss where it curves, and finds mistakes FGSM's single
straight step misses. This PGD starts at x, without the random start, so the same image and ε
always give the same answer.

    name   attack                                       implementation
    fgsm   one step of ε                                `fgsm`
    pgd    `steps` steps of α, projected after each     `pgd`
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nn.core.network import MLP, as_batch

DEFAULT_STEPS = 10
STEP_FACTOR = 2.5  # PGD's step α = 2.5·ε/steps: enough to reach the ball's edge and move along it (Madry)
BISECTION_TOLERANCE = 1e-3  # ε is found to a thousandth: a quarter of one grey level (1/255)
MAX_EPSILON = 1.0  # every pixel may become black or white: beyond that nothing changes


def fgsm(
    model: MLP, images: np.ndarray, labels: np.ndarray, epsilon: float, target: int | None = None
) -> np.ndarray:
    """Adversarial copies (N, 784) of `images` after one FGSM step of `epsilon`.

    Untargeted (`target` None): away from `labels`, the true digits (or, for a drawing nobody
    labelled, the network's own answers). Targeted: toward the digit `target`, for every image.
    """
    x, goal, direction = _prepare(model, images, labels, epsilon, target)
    gradient, _ = model.input_gradient(x, goal)
    return _step(x, x, gradient, direction * epsilon, epsilon)


def pgd(
    model: MLP,
    images: np.ndarray,
    labels: np.ndarray,
    epsilon: float,
    target: int | None = None,
    steps: int = DEFAULT_STEPS,
) -> np.ndarray:
    """Adversarial copies (N, 784) after `steps` projected sign-gradient steps within the ε-ball."""
    if steps < 1:
        raise ValueError(f"PGD needs at least one step, got {steps}")
    x, goal, direction = _prepare(model, images, labels, epsilon, target)
    if epsilon == 0:
        return x.copy()  # no budget, no change: spare the gradients
    adversarial, alpha = x, direction * STEP_FACTOR * epsilon / steps
    for _ in range(steps):
        gradient, _ = model.input_gradient(adversarial, goal)
        adversarial = _step(x, adversarial, gradient, alpha, epsilon)
    return adversarial


ATTACKS: dict[str, Callable[..., np.ndarray]] = {"fgsm": fgsm, "pgd": pgd}


def attack(
    model: MLP,
    images: np.ndarray,
    labels: np.ndarray,
    epsilon: float,
    method: str = "fgsm",
    target: int | None = None,
    steps: int = DEFAULT_STEPS,
) -> np.ndarray:
    """Adversarial copies (N, 784) by the attack named `method` (see ATTACKS)."""
    if method not in ATTACKS:
        raise ValueError(f"unknown attack {method!r}; choose one of {', '.join(ATTACKS)}")
    extra = {"steps": steps} if method == "pgd" else {}
    return ATTACKS[method](model, images, labels, epsilon, target, **extra)


def _prepare(
    model: MLP, images: np.ndarray, labels: np.ndarray, epsilon: float, target: int | None
) -> tuple[np.ndarray, np.ndarray, float]:
    """The images as a float batch, the label each step is taken against, and the step's sign."""
    if not 0 <= epsilon <= MAX_EPSILON:
        raise ValueError(f"ε must be between 0 and {MAX_EPSILON}, got {epsilon}")
    x, _ = as_batch(images, model.dtype)
    labels = np.broadcast_to(np.asarray(labels, dtype=np.int64), (len(x),))
    if target is None:
        return x, labels, 1.0  # climb the loss of the right answer
    if not 0 <= target <= 9:
        raise ValueError(f"a target is a digit 0–9, got {target}")
    return x, np.full(len(x), target), -1.0  # descend the loss of the target


def _step(
    original: np.ndarray, current: np.ndarray, gradient: np.ndarray, size: float, epsilon: float
) -> np.ndarray:
    """current + size·sign(gradient), kept within ε of the original image and within [0, 1]."""
    moved = current + size * np.sign(gradient)
    np.clip(moved, original - epsilon, original + epsilon, out=moved)
    return np.clip(moved, 0.0, 1.0, out=moved)


@dataclass(frozen=True)
class Outcome:
    """What an attack on one image did: the images, the answers before and after."""

    original: np.ndarray  # (28, 28) in [0, 1]
    adversarial: np.ndarray  # (28, 28) in [0, 1]
    before: np.ndarray  # (10,) probabilities
    after: np.ndarray  # (10,) probabilities

    @property
    def perturbation(self) -> np.ndarray:
        """adversarial − original: at most ε per pixel, less where clipping to [0, 1] stopped it."""
        return self.adversarial - self.original

    @property
    def flipped(self) -> bool:
        return int(self.after.argmax()) != int(self.before.argmax())


def attack_one(
    model: MLP,
    image: np.ndarray,
    epsilon: float,
    method: str = "fgsm",
    target: int | None = None,
    label: int | None = None,
    steps: int = DEFAULT_STEPS,
) -> Outcome:
    """Attack one image; untargeted attacks push away from `label`, or from the network's answer."""
    x, single = as_batch(image, model.dtype)
    if not single:
        raise ValueError(f"attack_one takes one image, got a batch of {len(x)}")
    before = model.predict_proba(x)[0]
    label = int(before.argmax()) if label is None else label
    adversarial = attack(model, x, np.array([label]), epsilon, method, target, steps)
    return Outcome(
        original=x.reshape(28, 28),
        adversarial=adversarial.reshape(28, 28),
        before=before,
        after=model.predict_proba(adversarial)[0],
    )


def smallest_flipping_epsilon(
    model: MLP,
    image: np.ndarray,
    method: str = "fgsm",
    target: int | None = None,
    label: int | None = None,
    steps: int = DEFAULT_STEPS,
    tolerance: float = BISECTION_TOLERANCE,
) -> float | None:
    """The smallest ε (to `tolerance`) whose attack changes the answer, or None if even ε = 1 fails.

    "Changes" means: to another digit than `label` (default: the network's answer), or, for a
    targeted attack, to `target`. Bisection keeps an ε that fails and one that succeeds and halves
    the gap between them; it assumes a larger budget does not undo success, which holds for all
    but the odd image, where the answer is then an ε that flips, though perhaps not the smallest.
    """
    x, _ = as_batch(image, model.dtype)
    answer = int(model.predict(x)[0])
    label = answer if label is None else label

    def succeeds(epsilon: float) -> bool:
        predicted = int(model.predict(attack(model, x, np.array([label]), epsilon, method, target, steps))[0])
        return predicted == target if target is not None else predicted != label

    if succeeds(0.0):  # already wrong, or already the target: no budget is needed
        return 0.0
    if not succeeds(MAX_EPSILON):
        return None
    fails, works = 0.0, MAX_EPSILON
    while works - fails > tolerance:
        middle = (fails + works) / 2
        if succeeds(middle):
            works = middle
        else:
            fails = middle
    return works


def accuracy_under_attack(
    model: MLP,
    images: np.ndarray,
    labels: np.ndarray,
    epsilons: Sequence[float],
    method: str = "fgsm",
    steps: int = DEFAULT_STEPS,
) -> np.ndarray:
    """Accuracy on (images, labels) after an untargeted attack of each ε, one number per ε."""
    labels = np.asarray(labels)
    if not all(0 <= e <= MAX_EPSILON for e in epsilons):
        raise ValueError(f"every ε must be between 0 and {MAX_EPSILON}, got {list(epsilons)}")
    if method == "fgsm":
        # One step from the same image: the gradient is the same for every ε, so compute it once.
        x, _ = as_batch(images, model.dtype)
        gradient, _ = model.input_gradient(x, labels)
        attacked = (_step(x, x, gradient, e, e) for e in epsilons)
    else:
        attacked = (attack(model, images, labels, e, method, steps=steps) for e in epsilons)
    return np.array([np.mean(model.predict(a) == labels) for a in attacked])
