"""Looking inside a network: activations, first-layer features, distributions before/after."""

import numpy as np
import pytest

from nn import MLP, ModelConfig, TrainConfig, load_mnist
from nn.core.record import FineTuneMix, FineTuneRecord, ModelRecord
from nn.core.training import train
from nn.explain.inside import (
    activation_distributions,
    activations,
    compare,
    first_layer_features,
    initial_model,
    layer_names,
    tile,
    weight_distributions,
)


def test_activations_are_each_layers_output() -> None:
    model = MLP((20, 10), dtype="float64", seed=2)
    model.biases[0][...] = np.linspace(-0.5, 0.5, 20)
    images = load_mnist().test_images[:4]
    h1, h2, logits = activations(model, images)
    x = images.reshape(4, 784) / 255
    expected_h1 = np.maximum(x @ model.weights[0] + model.biases[0], 0)
    expected_h2 = np.maximum(expected_h1 @ model.weights[1] + model.biases[1], 0)
    np.testing.assert_allclose(h1, expected_h1)
    np.testing.assert_allclose(h2, expected_h2)
    np.testing.assert_allclose(logits, model.forward(x.copy()))
    single = activations(model, images[0])
    assert [a.shape for a in single] == [(20,), (10,), (10,)]
    np.testing.assert_allclose(single[0], expected_h1[0])


def test_first_layer_features_are_each_neurons_weights() -> None:
    model = MLP((6,), seed=0)
    features = first_layer_features(model)
    assert features.shape == (6, 28, 28)
    np.testing.assert_array_equal(features[4].ravel(), model.weights[0][:, 4])
    # A neuron's pre-activation is the image's overlap with its feature image.
    image = load_mnist().test_images[0] / 255
    overlap = float((image * features[4]).sum())
    assert overlap == pytest.approx(float(image.ravel() @ model.weights[0][:, 4]), rel=1e-5)


def test_tile_scales_each_image_and_leaves_nan_gaps() -> None:
    images = np.stack([np.full((2, 3), 4.0), np.full((2, 3), -0.5), np.zeros((2, 3))])
    grid = tile(images, columns=2, gap=1)
    assert grid.shape == (2 * 2 + 1, 2 * 3 + 1)
    np.testing.assert_array_equal(grid[:2, :3], 1.0)
    np.testing.assert_array_equal(grid[:2, 4:], -1.0)
    np.testing.assert_array_equal(grid[3:, :3], 0.0)
    assert np.isnan(grid[2]).all() and np.isnan(grid[:, 3]).all() and np.isnan(grid[3:, 4:]).all()
    with pytest.raises(ValueError, match="at least one image"):
        tile(images[:0], columns=2)


def test_compare_uses_shared_bins_and_counts_everything() -> None:
    dist = compare("layer", np.array([0.0, 0.0, 1.0, 2.0]), np.array([3.0, 0.0]), bins=3)
    np.testing.assert_allclose(dist.edges, [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(dist.before, [2, 1, 1])
    np.testing.assert_array_equal(dist.after, [1, 0, 1])
    assert (dist.zero_before, dist.zero_after) == (0.5, 0.5)
    np.testing.assert_allclose(dist.centres, [0.5, 1.5, 2.5])
    assert dist.width == 1.0
    constant = compare("c", np.ones(3), np.ones(2), bins=4)
    assert constant.before.sum() == 3 and constant.after.sum() == 2


def test_initial_model_recreates_the_untrained_network_and_training_moves_it() -> None:
    mnist = load_mnist()
    config = TrainConfig(epochs=1, train_size=1000, seed=7)
    model = MLP((16,), seed=7)
    untrained = model.params.copy()
    for _ in train(model, mnist.train_images[:1000], mnist.train_labels[:1000], config):
        pass
    before = initial_model(model)
    np.testing.assert_array_equal(before.params, untrained)
    assert not np.array_equal(model.params, untrained)

    weights = weight_distributions(before, model, bins=10)
    assert [d.layer for d in weights] == layer_names(model) == ["hidden 1 (16)", "output (10)"]
    assert weights[0].before.sum() == weights[0].after.sum() == 784 * 16
    acts = activation_distributions(before, model, mnist.test_images[:50], bins=10)
    assert acts[0].before.sum() == acts[0].after.sum() == 50 * 16
    assert 0 < acts[0].zero_after < 1  # some ReLUs fire, some stay silent


# What a fine-tune's record says of it besides its training: here only that it is one matters.
FINE_TUNED = FineTuneRecord(FineTuneMix(1_000, 0.02, 200, "pen"), 8, 2, 3, 0.98, 0.98, 0.5, 1.0)


def test_a_further_trained_model_is_traced_back_to_how_it_was_first_built() -> None:
    # A fine-tune: the base's network (built with seed 9), weights moved, trained again with seed 5.
    tuned = MLP.from_config(ModelConfig(hidden=(16,), seed=9))
    tuned.params[...] = 0.5
    tuned.record = ModelRecord(
        training=TrainConfig(seed=5, lr=0.003), base_training=TrainConfig(seed=9), finetune=FINE_TUNED
    )
    np.testing.assert_array_equal(initial_model(tuned).params, MLP((16,), seed=9).params)


def test_initial_model_is_none_when_the_model_does_not_say_how_it_was_built() -> None:
    model = MLP((16,), seed=0)
    assert initial_model(model) is None  # never trained here: its weights may come from anywhere
    model.record = ModelRecord(training=TrainConfig(), finetune=FINE_TUNED)  # a fine-tune of such a model
    assert initial_model(model) is None
    model.record = ModelRecord(training=TrainConfig())
    assert initial_model(model).config == model.config
