"""Layers: each keeps its forward pass and its backward pass side by side.

A batch is a (N, features) array. `forward` remembers what `backward` will need; `backward`
takes dL/d(output) and returns dL/d(input), writing the gradients of its own parameters into
arrays it was handed, so the optimizer can update every parameter of the network with a few
operations on one flat buffer instead of a loop over layers.
"""

from __future__ import annotations

import numpy as np


class Dense:
    """y = x W + b, with W of shape (fan_in, fan_out)."""

    def __init__(self, W: np.ndarray, b: np.ndarray, dW: np.ndarray, db: np.ndarray):
        self.W, self.b, self.dW, self.db = W, b, dW, db
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        y = x @ self.W
        y += self.b
        return y

    def backward(
        self, grad: np.ndarray, need_input_grad: bool = True, need_param_grads: bool = True
    ) -> np.ndarray | None:
        # dL/dW = x^T dL/dy, dL/db = sum over the batch of dL/dy, dL/dx = dL/dy W^T.
        if not need_param_grads:
            # An attack follows the gradient to the image and never updates the weights:
            # skipping dW saves a third of the work.
            return grad @ self.W.T
        if len(grad) == 1:
            # For one sample x^T dL/dy is an outer product, which a broadcast multiply computes
            # several times faster than BLAS's general matrix product: it speeds up per-sample SGD.
            np.multiply(self.x.T, grad, out=self.dW)
        else:
            np.matmul(self.x.T, grad, out=self.dW)
        grad.sum(axis=0, out=self.db)
        # The first layer's input is the image: nobody needs its gradient during training,
        # and skipping it saves a third of the largest matrix product.
        return grad @ self.W.T if need_input_grad else None


class ReLU:
    """y = max(x, 0); the gradient passes where the unit fired and stops where it did not."""

    def __init__(self) -> None:
        self.y: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        # In place: the Dense layer below hands over a fresh array it never reads again.
        self.y = np.maximum(x, 0, out=x)
        return self.y

    def backward(self, grad: np.ndarray, need_param_grads: bool = True) -> np.ndarray:
        # (No parameters here: the flag is accepted so that every layer is called alike.)
        # In place too: the gradient comes fresh from the Dense layer above.
        return np.multiply(grad, self.y > 0, out=grad)
