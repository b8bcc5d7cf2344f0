"""The physical floor: how long an epoch's matrix products would take at this machine's best rate.

Training an MLP is almost all matrix products. Per image, the forward pass multiplies by every
weight matrix once, the backward pass once more for the weight gradients, and once more for the
input gradients of every layer but the first (nobody needs the gradient of the image). Each
multiply-add is two floating-point operations. Divided by the rate a large, square float32
product reaches through NumPy's BLAS, that gives a time no implementation can beat without
doing less arithmetic.

The rate of a shared machine moves by half from one minute to the next, so the benchmark
measures it in a fresh process right after every nn/ run. That process also times the very
products an epoch at that batch size makes, on random matrices of the same shapes: how far
BLAS itself stays from the floor on such thin matrices, before any other work is added.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

GEMM_SIZE = 2048  # large enough for BLAS to reach its peak, small enough to time in a second


def epoch_flops(layer_sizes: tuple[int, ...], images: int) -> int:
    """Floating-point operations of one epoch of training, matrix products only."""
    macs = [a * b for a, b in itertools.pairwise(layer_sizes)]
    macs_per_image = 2 * sum(macs) + sum(macs[1:])  # forward + weight gradients, + input gradients
    return 2 * macs_per_image * images


def gemm_rate(repeats: int = 5, size: int = GEMM_SIZE) -> float:
    """Best float32 matrix-product rate of NumPy's BLAS, in FLOP/s, with its current threads."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))
    out = np.empty_like(a)
    np.matmul(a, b, out=out)  # warm up: threads started, pages touched
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def products_seconds(layer_sizes: tuple[int, ...], batch_size: int, images: int) -> float:
    """Seconds that the matrix products alone of one epoch take, at `batch_size`, in float32."""
    rng = np.random.default_rng(0)
    shapes = list(itertools.pairwise(layer_sizes))
    weights = [rng.standard_normal(shape, dtype=np.float32) for shape in shapes]
    inputs = [rng.standard_normal((batch_size, fan_in), dtype=np.float32) for fan_in, _ in shapes]
    grads = [rng.standard_normal((batch_size, fan_out), dtype=np.float32) for _, fan_out in shapes]
    start = time.perf_counter()
    for _ in range(images // batch_size):
        for layer, (x, W, grad) in enumerate(zip(inputs, weights, grads)):
            np.matmul(x, W)  # forward
            np.matmul(x.T, grad)  # weight gradient
            if layer:
                np.matmul(grad, W.T)  # input gradient
    return (time.perf_counter() - start) * images / (images // batch_size * batch_size)
