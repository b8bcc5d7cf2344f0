"""Optimizers: how a gradient becomes a weight update.

Each works on the network's whole flat parameter vector at once (see `network.py`), so a step
costs the same few NumPy calls for any number of layers. L2 weight decay adds λw to the
gradient of the weights — never the biases, which only shift a unit and cannot overfit.

Momentum and Adam keep running averages that shrink geometrically wherever the gradient is zero,
as it is for the weights of pixels that are blank in every recent image. Below about 1e-38 such
a float32 turns subnormal, and x86 processors compute with subnormals some 100 times slower: they
once took half of each training step. So every few steps the optimizer zeroes the entries too
small to matter — an update below 1e-30 changes no weight, w + 1e-30 == w for any |w| > 1e-23.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEGLIGIBLE = 1e-30  # smaller running averages are zeroed: see the module docstring
FLUSH_EVERY = 16  # steps; at momentum 0.9 an average takes ~170 to fall from 1e-30 to subnormal


@dataclass(frozen=True)
class OptimizerState:
    """What an optimizer remembers between steps: how many it took, and its running averages."""

    steps: int
    averages: tuple[np.ndarray, ...]  # Momentum: (velocity,); Adam: (m, v); SGD: ()


class Optimizer:
    def __init__(self, params: np.ndarray, grads: np.ndarray, n_weights: int, weight_decay: float = 0.0):
        self.params, self.grads = params, grads
        self.decayed_weights, self.decayed_grads = params[:n_weights], grads[:n_weights]
        self.weight_decay = weight_decay
        self.steps = 0
        self.running_averages: list[np.ndarray] = []

    def step(self, lr: float) -> None:
        if self.weight_decay:
            self.decayed_grads += self.weight_decay * self.decayed_weights
        self.update(lr)
        self.steps += 1
        if self.steps % FLUSH_EVERY == 0:
            for average in self.running_averages:
                average[np.abs(average) < NEGLIGIBLE] = 0

    def update(self, lr: float) -> None:
        raise NotImplementedError

    def state(self) -> OptimizerState:
        """A copy of what it remembers, to go on later exactly where it is now."""
        return OptimizerState(self.steps, tuple(average.copy() for average in self.running_averages))

    def restore(self, state: OptimizerState) -> None:
        shapes = [a.shape for a in self.running_averages]
        if [a.shape for a in state.averages] != shapes:
            raise ValueError(f"the optimizer state holds {len(state.averages)} averages, not {len(shapes)}")
        for average, saved in zip(self.running_averages, state.averages):
            average[...] = saved
        self.steps = state.steps


class SGD(Optimizer):
    """w ← w − η g: plain stochastic gradient descent."""

    def update(self, lr: float) -> None:
        self.grads *= lr
        self.params -= self.grads


class Momentum(Optimizer):
    """v ← μ v − η g; w ← w + v: a heavy ball that keeps rolling along consistent gradients."""

    def __init__(
        self,
        params: np.ndarray,
        grads: np.ndarray,
        n_weights: int,
        weight_decay: float = 0.0,
        momentum: float = 0.9,
    ):
        super().__init__(params, grads, n_weights, weight_decay)
        self.momentum = momentum
        self.velocity = np.zeros_like(params)
        self.running_averages = [self.velocity]

    def update(self, lr: float) -> None:
        self.velocity *= self.momentum
        self.grads *= lr
        self.velocity -= self.grads
        self.params += self.velocity


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): per-parameter steps scaled by running gradient statistics.

    m and v are running means of g and g²; dividing by √v̂ gives every parameter a step of
    about η whatever the scale of its gradient. The bias corrections undo m and v starting at 0.
    """

    def __init__(
        self,
        params: np.ndarray,
        grads: np.ndarray,
        n_weights: int,
        weight_decay: float = 0.0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ):
        super().__init__(params, grads, n_weights, weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m, self.v = np.zeros_like(params), np.zeros_like(params)
        self.running_averages = [self.m, self.v]

    def update(self, lr: float) -> None:
        t = self.steps + 1  # this step's number, from 1
        g = self.grads
        self.m *= self.beta1
        self.m += (1 - self.beta1) * g
        g *= g
        self.v *= self.beta2
        self.v += (1 - self.beta2) * g
        step_size = lr * np.sqrt(1 - self.beta2**t) / (1 - self.beta1**t)
        denominator = np.sqrt(self.v, out=g)  # the gradient is spent: reuse its memory
        denominator += self.eps
        self.params -= step_size * self.m / denominator


def make_optimizer(
    name: str,
    params: np.ndarray,
    grads: np.ndarray,
    n_weights: int,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
) -> Optimizer:
    if name == "sgd":
        return SGD(params, grads, n_weights, weight_decay)
    if name == "momentum":
        return Momentum(params, grads, n_weights, weight_decay, momentum)
    if name == "adam":
        return Adam(params, grads, n_weights, weight_decay)
    raise ValueError(f"unknown optimizer {name!r}")
