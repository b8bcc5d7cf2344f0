"""The same network, really: the Keras engine takes NumPy's steps, to rounding.

Both engines start from the same weights (NumPy's initialisation), see the same batches in the
same order (NumPy's shuffling), and apply the same update rules; only the gradients come from
different places: `nn.core`'s hand-written backward pass, and the framework's automatic
differentiation. Differences are measured per layer, relative to that layer's largest weight.
"""

from __future__ import annotations

import numpy as np
import pytest

from nn import MLP, ModelConfig, RunConfig, TrainConfig
from nn.core.data import MNIST
from nn.core.engine import Engine, NumpyEngine
from nn.core.events import BatchProgress, EpochEnd
from nn.core.optimizers import make_optimizer as make_numpy_optimizer
from nn.core.training import TrainingData
from nn.engines import engine_named, start_training
from nn.framework.engine import KerasEngine
from nn.framework.network import copy_weights, logits_network, unflat
from nn.framework.optimizers import make_optimizer

BATCH = 64
TOLERANCE = {  # (optimizer, dtype): largest difference after one step, relative per layer
    ("sgd", "float32"): 1e-6,
    ("momentum", "float32"): 1e-6,
    # Not the 1e-5 asked for: the two engines' float32 gradients differ in their last bits (sums
    # taken in another order), and Adam divides by √v, which turns a gradient near ε/√(1 − β₂)
    # into a step of nearly η whose size hangs on those bits. On this batch the worst weight is
    # off by 5.5e-5 (1e-6 to 7e-6 on others), and so is NumPy's own Adam fed TensorFlow's
    # gradients; the rule alone agrees to 1e-7 (`test_each_rule_is_nn_cores_given_the_same_gradients`).
    ("adam", "float32"): 1e-4,
    **{(optimizer, "float64"): 1e-12 for optimizer in ("sgd", "momentum", "adam")},
}
LEARNING_RATES = {"sgd": 0.1, "momentum": 0.05, "adam": 0.002}


def trained(engine: Engine, mnist: MNIST, steps: int, **settings: object) -> tuple[MLP, list]:
    """The small default-shaped network after `steps` batches of 64 by `engine`, and its events."""
    dtype = str(settings.pop("dtype", "float32"))
    prepare = str(settings.pop("prepare", "none"))
    config = TrainConfig(epochs=1, batch_size=BATCH, schedule="constant", **settings)  # type: ignore[arg-type]
    images, labels = mnist.train_images[: steps * BATCH], mnist.train_labels[: steps * BATCH]
    model = engine.build(ModelConfig(hidden=(128, 64), dtype=dtype, seed=3, prepare=prepare))
    training = engine.start(model, config, TrainingData((images, labels)))
    events = list(training.events())
    assert training.result is not None and training.result.status == "completed"
    return model, events


def relative_difference(a: MLP, b: MLP) -> float:
    """The largest |a − b| of any weight or bias, over the largest |weight| of its layer."""
    worst = 0.0
    for Wa, ba, Wb, bb in zip(a.weights, a.biases, b.weights, b.biases, strict=True):
        scale = np.abs(Wa).max()
        worst = max(worst, np.abs(Wa - Wb).max() / scale, np.abs(ba - bb).max() / scale)
    return float(worst)


@pytest.mark.parametrize(("optimizer", "dtype"), list(TOLERANCE))
def test_one_step_from_the_same_weights_and_batch_is_the_same_step(mnist, optimizer, dtype) -> None:
    settings = {"optimizer": optimizer, "lr": LEARNING_RATES[optimizer], "weight_decay": 1e-3, "dtype": dtype}
    by_hand, _ = trained(NumpyEngine(), mnist, 1, **settings)
    by_keras, _ = trained(KerasEngine(threads=1), mnist, 1, **settings)
    start = MLP.from_config(by_hand.config)
    assert relative_difference(by_hand, start) > 1e-4, "the step moved the weights"
    assert relative_difference(by_keras, by_hand) < TOLERANCE[optimizer, dtype]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_each_rule_is_nn_cores_given_the_same_gradients(mnist, optimizer) -> None:
    """Each rule alone, fed the same gradients three steps running, in float32."""
    config = TrainConfig(optimizer=optimizer, weight_decay=1e-3, momentum=0.9)
    by_hand, by_keras = MLP(seed=5), MLP(seed=5)
    network = logits_network(by_keras)
    rule = make_optimizer(config)
    rule.build(network.trainable_variables)
    numpy_rule = make_numpy_optimizer(
        optimizer, by_hand.params, by_hand.grads, by_hand.n_weights, config.weight_decay, config.momentum
    )
    x, labels = mnist.train_images[:64].reshape(64, -1) / 255, mnist.train_labels[:64]
    for step in range(3):
        by_hand.loss_and_gradients(x[step::3].astype("float32"), labels[step::3])
        rule.learning_rate.assign(LEARNING_RATES[optimizer])
        rule.apply(unflat(by_hand, by_hand.grads.copy()), network.trainable_variables)
        numpy_rule.step(LEARNING_RATES[optimizer])
    copy_weights(network, by_keras)
    assert relative_difference(by_keras, by_hand) < 1e-6


def test_a_deskewing_network_sees_the_same_deskewed_batches_in_both_engines(mnist) -> None:
    settings = {"optimizer": "momentum", "lr": 0.05, "augment": "affine", "prepare": "deskew"}
    by_hand, _ = trained(NumpyEngine(), mnist, 3, **settings)
    by_keras, _ = trained(KerasEngine(threads=1), mnist, 3, **settings)
    assert by_keras.deskews and relative_difference(by_keras, by_hand) < 1e-6


def test_the_frameworks_gradients_are_its_own_not_the_hand_written_ones(mnist, monkeypatch) -> None:
    settings = {"optimizer": "momentum", "lr": 0.05}
    before, _ = trained(KerasEngine(threads=1), mnist, 2, **settings)
    honest_numpy, _ = trained(NumpyEngine(), mnist, 2, **settings)

    def broken_backward(self: MLP, grad_logits: np.ndarray) -> None:
        self.grads[...] = 1.0  # every gradient wrong

    monkeypatch.setattr(MLP, "backward", broken_backward)
    broken_numpy, _ = trained(NumpyEngine(), mnist, 2, **settings)
    after, _ = trained(KerasEngine(threads=1), mnist, 2, **settings)
    assert relative_difference(broken_numpy, honest_numpy) > 0.1, "the break reaches NumPy's steps"
    np.testing.assert_array_equal(after.params, before.params)


def test_a_hundred_steps_keep_the_same_losses(mnist) -> None:
    settings = {"optimizer": "adam", "lr": 0.001, "augment": "affine"}
    _, numpy_events = trained(NumpyEngine(), mnist, 100, **settings)
    _, keras_events = trained(KerasEngine(threads=1), mnist, 100, **settings)
    losses = [
        [e.loss for e in events if isinstance(e, BatchProgress | EpochEnd)]
        for events in (numpy_events, keras_events)
    ]
    assert len(losses[0]) == len(losses[1]) == 50  # 49 progress reports (every 2 batches) and the epoch
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4)


def test_the_default_run_reaches_numpys_test_accuracy(mnist) -> None:
    accuracy = {}
    for engine in ("numpy", "tensorflow"):
        training = start_training(RunConfig(training=TrainConfig(engine=engine)), mnist, threads=2)
        for _ in training.events():
            pass
        assert training.model.record.training.engine == engine
        accuracy[engine] = training.model.record.test_accuracy
    assert accuracy["numpy"] > 0.97
    assert abs(accuracy["tensorflow"] - accuracy["numpy"]) <= 0.003, accuracy


def test_the_engines_are_found_by_the_names_configs_give() -> None:
    assert isinstance(engine_named("tensorflow"), KerasEngine)
    assert isinstance(engine_named("numpy"), NumpyEngine)
    assert KerasEngine().device().startswith("TensorFlow 2.") and "CPU" in KerasEngine().device()
