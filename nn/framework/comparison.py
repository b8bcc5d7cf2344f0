"""What comparing the two engines' gradients of one digit found (`nn.framework.gradients`).

Apart from the code that computes it, and free of Keras, so the web server can hold one: it asks
a process of its own to compute it (`services.framework_calls`), and never loads TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GradientComparison:
    """How TensorFlow's gradients of one digit's loss compare with `nn.core`'s backward pass."""

    code: str  # the function that computed TensorFlow's, as it ran
    largest_difference: float  # the largest |TensorFlow − NumPy| over every weight and bias
    largest_gradient: float  # the largest |NumPy gradient|, to see the difference against
    device: str  # where TensorFlow computed them
