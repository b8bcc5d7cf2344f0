"""The classic from-scratch network, kept as the yardstick for `nn/`'s per-sample mode.

This is how the textbook code (Nielsen's network.py and its many descendants) trains: one image
at a time as a column vector, in float64, weights stored (fan_out, fan_in), every layer's
gradients returned in fresh lists and the weights replaced by new arrays after each image. It
trains the same network as the benchmark (784-128-64-10, ReLU, softmax cross-entropy, He init,
zero biases); only the implementation style differs.
"""

from __future__ import annotations

import itertools

import numpy as np


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def relu_prime(z: np.ndarray) -> np.ndarray:
    return (z > 0).astype(float)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


class NaiveNetwork:
    def __init__(self, sizes: tuple[int, ...], seed: int = 0):
        rng = np.random.default_rng(seed)
        self.sizes = sizes
        self.weights = [rng.standard_normal((m, n)) * np.sqrt(2.0 / n) for n, m in itertools.pairwise(sizes)]
        self.biases = [np.zeros((m, 1)) for m in sizes[1:]]

    def feedforward(self, a: np.ndarray) -> np.ndarray:
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            a = relu(w @ a + b)
        return self.weights[-1] @ a + self.biases[-1]

    def sgd_epoch(self, images: np.ndarray, labels: np.ndarray, lr: float) -> None:
        for image, label in zip(images, labels):
            x = image.reshape(784, 1) / 255.0
            nabla_b, nabla_w = self.backprop(x, int(label))
            self.weights = [w - lr * nw for w, nw in zip(self.weights, nabla_w)]
            self.biases = [b - lr * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x: np.ndarray, y: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation, activations, zs = x, [x], []
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = w @ activation + b
            zs.append(z)
            activation = relu(z) if i < len(self.weights) - 1 else softmax(z)
            activations.append(activation)
        delta = activations[-1].copy()
        delta[y] -= 1.0  # d(cross-entropy)/dz for a softmax output
        nabla_b[-1] = delta
        nabla_w[-1] = delta @ activations[-2].T
        for layer in range(2, len(self.sizes)):
            delta = (self.weights[-layer + 1].T @ delta) * relu_prime(zs[-layer])
            nabla_b[-layer] = delta
            nabla_w[-layer] = delta @ activations[-layer - 1].T
        return nabla_b, nabla_w

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        hits = sum(
            int(np.argmax(self.feedforward(image.reshape(784, 1) / 255.0)) == label)
            for image, label in zip(images, labels)
        )
        return hits / len(labels)
