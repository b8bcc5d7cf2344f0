"""`nn.core.optimizers`' update rules as Keras optimizers, operation for operation.

Keras has its own SGD, momentum and Adam, but they are not quite these: Keras' momentum and
Adam round in a different order (m ← m + (g − m)(1 − β₁) rather than β₁m + (1 − β₁)g), and
their `weight_decay` is decoupled (w shrinks apart from the gradient), not the L2 penalty
`nn.core` adds to the gradient of the weights. Written out here as `nn.core` writes them, the two
engines take the same step from the same gradient, to the last bit in float64.

Keras calls `update_step` once per variable with its gradient; a kernel (2-D) is a weight
matrix, a vector a bias, which L2 leaves alone. The learning rate is Keras' own variable, set
before every batch from `nn.core.schedules` (`nn.framework.training`); in float64 training the
optimizer is made while Keras' float type is float64 (`floatx`), or that variable would round it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import keras
from keras import ops

from nn.core.config import TrainConfig


class _Rule(keras.optimizers.Optimizer):
    """What the three have in common: L2 on the weights, as `nn.core.optimizers.Optimizer.step`."""

    def __init__(self, weight_decay: float = 0.0, name: str = "digit_lab", **kwargs):
        super().__init__(learning_rate=0.0, name=name, **kwargs)  # set before every batch
        self.l2 = weight_decay

    def penalised(self, gradient: Any, variable: Any) -> Any:  # backend tensors
        gradient = ops.cast(gradient, variable.dtype)
        if self.l2 and len(variable.shape) == 2:
            return ops.add(gradient, ops.multiply(_constant(self.l2, variable.dtype), variable))
        return gradient


class SGD(_Rule):
    """w ← w − η g."""

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g = self.penalised(gradient, variable)
        self.assign_sub(variable, ops.multiply(g, ops.cast(learning_rate, variable.dtype)))


class Momentum(_Rule):
    """v ← μ v − η g; w ← w + v."""

    def __init__(self, weight_decay: float = 0.0, momentum: float = 0.9, **kwargs):
        super().__init__(weight_decay, **kwargs)
        self.momentum = momentum

    def build(self, variables: list[Any]) -> None:
        if self.built:
            return
        super().build(variables)
        self.velocities = self.add_optimizer_variables(variables, "velocity")

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g = self.penalised(gradient, variable)
        v = self.velocities[self._get_variable_index(variable)]
        decayed = ops.multiply(v, _constant(self.momentum, variable.dtype))
        self.assign(v, ops.subtract(decayed, ops.multiply(g, ops.cast(learning_rate, variable.dtype))))
        self.assign_add(variable, v)


class Adam(_Rule):
    """m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − η √(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε).

    ε is added to √v, not to the bias-corrected √v̂, as in `nn.core.optimizers.Adam`.
    """

    def __init__(
        self, weight_decay: float = 0.0, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, **kwargs
    ):
        super().__init__(weight_decay, **kwargs)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def build(self, variables: list[Any]) -> None:
        if self.built:
            return
        super().build(variables)
        self.firsts, self.seconds = self.add_optimizer_variables(variables, ["first", "second"])

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        dtype = variable.dtype
        g = self.penalised(gradient, variable)
        index = self._get_variable_index(variable)
        m, v = self.firsts[index], self.seconds[index]
        self.assign(
            m,
            ops.add(
                ops.multiply(m, _constant(self.beta1, dtype)),
                ops.multiply(_constant(1 - self.beta1, dtype), g),
            ),
        )
        squared = ops.multiply(g, g)
        self.assign(
            v,
            ops.add(
                ops.multiply(v, _constant(self.beta2, dtype)),
                ops.multiply(_constant(1 - self.beta2, dtype), squared),
            ),
        )
        t = ops.cast(self.iterations + 1, dtype)
        correction = ops.sqrt(1 - ops.power(_constant(self.beta2, dtype), t)) / (
            1 - ops.power(_constant(self.beta1, dtype), t)
        )
        step_size = ops.multiply(ops.cast(learning_rate, dtype), correction)
        self.assign_sub(
            variable, ops.divide(ops.multiply(step_size, m), ops.add(ops.sqrt(v), _constant(self.eps, dtype)))
        )


def _constant(value: float, dtype: Any) -> Any:
    """A Python float as a tensor of `dtype`, rounded once: `ops.cast(0.001, "float64")` would go
    through float32 first, and a float64 step would be off by 5e-8."""
    return ops.convert_to_tensor(value, dtype=dtype)


RULES: dict[str, type[_Rule]] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(config: TrainConfig) -> _Rule:
    """The optimizer `config` names (made under `floatx` of the network's precision)."""
    options = {"momentum": config.momentum} if config.optimizer == "momentum" else {}
    return RULES[config.optimizer](config.weight_decay, **options)


def running_averages(optimizer: _Rule) -> list[list[keras.Variable]]:
    """Its running averages, each a list of one variable per network variable (as `nn.core`'s
    `OptimizerState.averages`: momentum's velocity; Adam's m, then v; none for SGD)."""
    match optimizer:
        case Momentum():
            return [optimizer.velocities]
        case Adam():
            return [optimizer.firsts, optimizer.seconds]
    return []


@contextlib.contextmanager
def floatx(dtype: str) -> Iterator[None]:
    """Keras' default float type set to `dtype` for the block: the type of the variables it makes."""
    before = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        yield
    finally:
        keras.config.set_floatx(before)
