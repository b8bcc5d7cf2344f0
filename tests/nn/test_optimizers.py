"""Optimizers and learning-rate schedules against updates worked out by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from nn.core.optimizers import SGD, Adam, Momentum, make_optimizer
from nn.core.schedules import learning_rate

# A toy parameter vector: three weights, then two biases (the layout MLP uses).
N_WEIGHTS = 3
START = np.array([1.0, -2.0, 0.5, 0.25, -0.75])
GRADIENTS = [np.array([0.5, -1.0, 2.0, 0.1, -0.3]), np.array([-0.2, 0.4, 1.0, 0.3, 0.6])]


def run_steps(optimizer_class, lrs, **kwargs) -> list[np.ndarray]:
    """Parameters after each step, the gradient being refilled before every step as training does."""
    params, grads = START.copy(), np.zeros(5)
    optimizer = optimizer_class(params, grads, N_WEIGHTS, **kwargs)
    trajectory = []
    for g, lr in zip(GRADIENTS, lrs):
        grads[...] = g
        optimizer.step(lr)
        trajectory.append(params.copy())
    return trajectory


def test_sgd_steps_against_the_gradient() -> None:
    first, second = run_steps(SGD, [0.1, 0.05])
    np.testing.assert_allclose(first, START - 0.1 * GRADIENTS[0])
    np.testing.assert_allclose(second, START - 0.1 * GRADIENTS[0] - 0.05 * GRADIENTS[1])


def test_momentum_accumulates_velocity() -> None:
    first, second = run_steps(Momentum, [0.1, 0.1], momentum=0.9)
    v1 = -0.1 * GRADIENTS[0]
    v2 = 0.9 * v1 - 0.1 * GRADIENTS[1]
    np.testing.assert_allclose(first, START + v1)
    np.testing.assert_allclose(second, START + v1 + v2)


def test_adam_matches_the_textbook_update() -> None:
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    trajectory = run_steps(Adam, [lr, lr])
    expected, m, v = START.copy(), np.zeros(5), np.zeros(5)
    for t, (g, params) in enumerate(zip(GRADIENTS, trajectory), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        expected -= lr * m_hat / (np.sqrt(v_hat) + eps)
        # Adam's first steps are about lr in size whatever the gradient's scale.
        np.testing.assert_allclose(params, expected, rtol=1e-6)
    np.testing.assert_allclose(np.abs(trajectory[0] - START), lr, rtol=1e-4)


@pytest.mark.parametrize("optimizer_class", [SGD, Momentum, Adam])
def test_weight_decay_shrinks_weights_but_not_biases(optimizer_class) -> None:
    params, grads = START.copy(), np.zeros(5)
    optimizer = optimizer_class(params, grads, N_WEIGHTS, weight_decay=0.1)
    optimizer.step(0.01)
    assert np.all(np.abs(params[:N_WEIGHTS]) < np.abs(START[:N_WEIGHTS])), "weights should shrink"
    np.testing.assert_array_equal(params[N_WEIGHTS:], START[N_WEIGHTS:])


def test_weight_decay_adds_lambda_w_to_the_weight_gradient() -> None:
    (after,) = run_steps(SGD, [0.1], weight_decay=0.01)
    decayed = GRADIENTS[0] + 0.01 * np.r_[START[:N_WEIGHTS], 0.0, 0.0]
    np.testing.assert_allclose(after, START - 0.1 * decayed)


@pytest.mark.parametrize("optimizer_class", [Momentum, Adam])
def test_running_averages_fade_to_exact_zeros_not_slow_subnormals(optimizer_class) -> None:
    params, grads = np.ones(5, np.float32), np.zeros(5, np.float32)
    optimizer = optimizer_class(params, grads, N_WEIGHTS)
    grads[...] = 1.0
    optimizer.step(0.01)
    for _ in range(850):  # the gradient vanishes: the averages decay as 0.9^k, to 1e-40 by now
        grads[...] = 0.0
        optimizer.step(0.01)
    averages = [optimizer.velocity] if optimizer_class is Momentum else [optimizer.m]
    for average in averages:
        tiny = average[average != 0]
        assert np.all(np.abs(tiny) >= np.finfo(np.float32).tiny), f"subnormal values left: {tiny}"
    assert np.isfinite(params).all() and np.all(params < 1.0)


def test_make_optimizer_builds_each_by_name_and_rejects_others() -> None:
    params, grads = np.zeros(5), np.zeros(5)
    for name, cls in (("sgd", SGD), ("momentum", Momentum), ("adam", Adam)):
        assert type(make_optimizer(name, params, grads, N_WEIGHTS)) is cls
    assert make_optimizer("momentum", params, grads, N_WEIGHTS, momentum=0.5).momentum == 0.5
    with pytest.raises(ValueError, match="rmsprop"):
        make_optimizer("rmsprop", params, grads, N_WEIGHTS)


@pytest.mark.parametrize(
    ("schedule", "at_start", "half_way", "near_end"),
    [
        ("constant", 1.0, 1.0, 1.0),
        ("linear", 1.0, 0.5, 0.001),
        ("cosine", 1.0, 0.5, 0.5 * (1 + math.cos(math.pi * 0.999))),
        ("step", 1.0, 0.1, 0.01),
    ],
)
def test_schedules(schedule: str, at_start: float, half_way: float, near_end: float) -> None:
    base = 0.2
    assert learning_rate(schedule, base, 0.0) == pytest.approx(base * at_start)
    assert learning_rate(schedule, base, 0.5) == pytest.approx(base * half_way)
    assert learning_rate(schedule, base, 0.999) == pytest.approx(base * near_end)
    values = [learning_rate(schedule, base, p) for p in np.linspace(0, 0.999, 50)]
    assert all(a >= b for a, b in itertools.pairwise(values)), "a schedule never raises the rate"


def test_step_schedule_drops_at_three_quarters() -> None:
    assert learning_rate("step", 1.0, 0.74) == pytest.approx(0.1)
    assert learning_rate("step", 1.0, 0.75) == pytest.approx(0.01)


def test_unknown_schedule_is_rejected() -> None:
    with pytest.raises(ValueError, match="warmup"):
        learning_rate("warmup", 0.1, 0.0)
