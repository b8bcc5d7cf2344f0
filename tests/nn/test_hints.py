"""Hints after a run: each rule on a crafted history, and silence where nothing is wrong."""

import numpy as np
import pytest

from nn import MLP, ModelRecord, RunConfig, TrainConfig, load_mnist, load_model
from nn.core.training import EpochEnd
from nn.engines import start_training
from nn.explain.hints import DEAD_SAMPLE, dead_unit_share, diagnose, run_hints

SHIPPED = "models/default.npz"


def history(losses, train, held_out=None, key="test_accuracy"):
    """A run's history as training reports it and the model's record keeps it."""
    held_out = held_out or [None] * len(losses)
    return [
        EpochEnd(**{"epoch": i + 1, "epochs": len(losses), "loss": loss, "train_accuracy": t,
                    "val_accuracy": None, "test_accuracy": None, key: h, "seconds": 0.4, "lr": 0.07})
        for i, (loss, t, h) in enumerate(zip(losses, train, held_out))
    ]  # fmt: skip


HEALTHY = history(
    [0.5, 0.2, 0.12, 0.1, 0.099], [0.85, 0.94, 0.96, 0.97, 0.972], [0.9, 0.95, 0.96, 0.963, 0.962]
)


def problems(hints):
    return [h.problem for h in hints]


def test_a_healthy_run_gets_no_hint():
    assert diagnose(HEALTHY, status="completed", lr=0.07, dead_share=0.05) == []


def test_the_shipped_models_own_run_gets_no_hint():
    assert run_hints(load_model(SHIPPED), load_mnist().train_images) == []


def test_a_diverged_run_is_told_to_lower_the_learning_rate():
    hints = diagnose(HEALTHY[:2], status="diverged", lr=0.5)
    assert problems(hints) == ["diverged"] and hints[0].setting == "learning rate"
    assert "0.05 instead of 0.5" in hints[0].advice
    nan = history([0.5, float("nan")], [0.8, 0.1])
    assert problems(diagnose(nan)) == ["diverged"]


def test_stuck_near_chance_with_a_tiny_learning_rate():
    stuck = history([2.30, 2.29, 2.29], [0.10, 0.11, 0.12], [0.1, 0.11, 0.12])
    hints = diagnose(stuck, status="completed", lr=1e-6, dead_share=0.02)
    assert problems(hints) == ["stuck"]
    assert "Raise it" in hints[0].advice and "1e-05 instead of 1e-06" in hints[0].advice


def test_stuck_near_chance_with_dead_relus():
    stuck = history([2.31, 2.30, 2.30], [0.11, 0.10, 0.10])
    hints = diagnose(stuck, lr=2.0, dead_share=0.8)
    assert problems(hints) == ["stuck"] and "80% of the hidden units never fire" in hints[0].message
    assert "Lower it" in hints[0].advice


def test_overfitting_names_the_epoch_since_which_held_out_accuracy_fell():
    over = history(
        [0.3, 0.1, 0.04, 0.02, 0.01, 0.009],
        [0.90, 0.97, 0.99, 0.995, 0.998, 0.998],
        [0.94, 0.955, 0.958, 0.955, 0.953, 0.952],
        key="val_accuracy",
    )
    hints = diagnose(over, status="completed", lr=0.07, dead_share=0.1)
    assert problems(hints) == ["overfitting"]
    assert "since epoch 3" in hints[0].message and "Stop at 3 epochs" in hints[0].advice


def test_a_large_gap_asks_for_weight_decay_or_augmentation():
    gap = history([0.3, 0.05, 0.0499], [0.9, 1.0, 1.0], [0.85, 0.88, 0.88])
    hints = diagnose(gap, status="completed", lr=0.07)
    assert problems(hints) == ["large gap"] and hints[0].setting == "weight decay or augmentation"
    assert "12.0 points" in hints[0].message


def test_still_improving_at_the_end_asks_for_more_epochs():
    improving = history([0.6, 0.3, 0.2], [0.8, 0.9, 0.93], [0.85, 0.91, 0.94])
    hints = diagnose(improving, status="completed")
    assert problems(hints) == ["still improving"] and hints[0].setting == "epochs"
    assert "fell 33% in the last epoch" in hints[0].message
    # The loss still falls but held-out accuracy is past its best: not "still improving".
    past_best = history([0.6, 0.3, 0.2], [0.8, 0.9, 0.93], [0.85, 0.94, 0.93])
    assert diagnose(past_best) == []


def test_dead_units_are_counted_on_real_images():
    images = load_mnist().train_images[:DEAD_SAMPLE]
    model = MLP((10, 6), seed=0)
    assert dead_unit_share(model, images) == 0.0
    model.biases[0][:5] = -1e3  # five units whose z is negative for any image
    model.biases[1][:1] = -1e3
    assert dead_unit_share(model, images) == pytest.approx(6 / 16)


def test_run_hints_read_the_models_record(tmp_path):
    model = MLP((8,), seed=0)
    model.params[: model.n_weights] = 0.0
    model.biases[0][...] = -1.0  # every hidden unit dead: the network can only guess
    model.record = ModelRecord(
        training=TrainConfig(lr=3.0), history=tuple(history([2.3, 2.3], [0.1, 0.1])), status="completed"
    )
    hints = run_hints(model, load_mnist().train_images)
    assert problems(hints) == ["stuck"] and "100% of the hidden units" in hints[0].message
    assert np.isclose(dead_unit_share(model, load_mnist().train_images[:DEAD_SAMPLE]), 1.0)


@pytest.mark.parametrize(
    ("lr", "problem", "advice"),
    [(10.0, "diverged", "Lower it"), (1e-6, "stuck", "Raise it")],
)
def test_real_runs_that_go_wrong_get_the_right_hint(lr, problem, advice):
    mnist = load_mnist()
    config = RunConfig.from_values(dict(hidden=(32,), epochs=2, lr=lr, train_size=2000, optimizer="sgd"))
    run = start_training(config, mnist)
    for _ in run.events():
        pass
    hints = run_hints(run.model, mnist.train_images)
    assert problems(hints) == [problem] and advice in hints[0].advice
