"""One image step by step: every z, a and δ equals the textbook formulas, and one SGD step is the
hand-computed one."""

import numpy as np
import pytest

from nn import MLP, load_mnist
from nn.core.losses import softmax
from nn.explain.stepwise import largest_changes, neuron_sum, scratch_copy, sgd_steps, softmax_steps, trace

LABEL = 3


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    mnist = load_mnist()
    return mnist.test_images[np.flatnonzero(mnist.test_labels == LABEL)[0]]


@pytest.fixture
def model() -> MLP:
    model = MLP((20, 12), dtype="float64", seed=3)
    # Non-zero biases, so that a forgotten bias term would show.
    for b in model.biases:
        b[...] = np.linspace(-0.2, 0.2, len(b))
    return model


def by_hand(model: MLP, image: np.ndarray, label: int) -> dict:
    """The forward and backward pass written out with plain NumPy, layer by layer."""
    a = image.reshape(784) / 255
    inputs, zs, acts = [], [], []
    for i, (W, b) in enumerate(zip(model.weights, model.biases)):
        inputs.append(a)
        z = a @ W + b
        a = np.maximum(z, 0) if i < len(model.weights) - 1 else z
        zs.append(z)
        acts.append(a)
    p = np.exp(zs[-1] - zs[-1].max())
    p /= p.sum()
    delta = p - np.eye(10)[label]
    deltas = [delta]
    for W, z in zip(model.weights[:0:-1], zs[-2::-1]):
        delta = (delta @ W.T) * (z > 0)
        deltas.insert(0, delta)
    grads = [np.outer(x, d) for x, d in zip(inputs, deltas)]
    return dict(inputs=inputs, z=zs, a=acts, delta=deltas, grads=grads, p=p, loss=-np.log(p[label]))


def test_trace_keeps_each_layers_z_a_and_delta(model, image):
    expected = by_hand(model, image, LABEL)
    traced = trace(model, image, LABEL)
    assert [t.name for t in traced.layers] == ["hidden 1 (20)", "hidden 2 (12)", "output (10)"]
    for i, step in enumerate(traced.layers):
        np.testing.assert_allclose(step.inputs, expected["inputs"][i])
        np.testing.assert_allclose(step.z, expected["z"][i])
        np.testing.assert_allclose(step.a, expected["a"][i])
        np.testing.assert_allclose(step.delta, expected["delta"][i], atol=1e-15)
        np.testing.assert_allclose(step.weight_gradient, expected["grads"][i], atol=1e-15)
        np.testing.assert_array_equal(step.bias_gradient, step.delta)
    np.testing.assert_allclose(traced.probabilities, expected["p"])
    assert traced.loss == pytest.approx(expected["loss"])
    assert traced.hidden[0].firing_share == np.mean(expected["z"][0] > 0)
    assert traced.predicted == int(np.argmax(expected["p"]))


def test_trace_agrees_with_the_models_own_pass_and_leaves_it_alone(model, image):
    before = model.params.copy()
    model.grads[...] = 7.0
    traced = trace(model, image, LABEL)
    loss, _ = model.loss_and_gradients(image.reshape(1, 784) / 255, np.array([LABEL]))
    assert traced.loss == pytest.approx(loss)
    n = model.n_weights
    flat = np.concatenate([t.weight_gradient.ravel() for t in traced.layers])
    np.testing.assert_allclose(flat, model.grads[:n], atol=1e-15)
    np.testing.assert_array_equal(model.params, before)


def test_a_neurons_sum_adds_up_to_its_z(model, image):
    traced = trace(model, image, LABEL)
    for layer, neuron in ((0, 5), (1, 0), (2, LABEL)):
        spelled = neuron_sum(model, traced, layer, neuron, top=4)
        assert len(spelled.terms) == 4 and spelled.others == model.layer_sizes[layer] - 4
        np.testing.assert_allclose(spelled.terms, spelled.weights * spelled.inputs)
        sizes = np.abs(spelled.terms)
        assert np.all(sizes[:-1] >= sizes[1:])  # largest first
        every = np.abs(traced.layers[layer].inputs * model.weights[layer][:, neuron])
        assert np.all(sizes[-1] >= np.delete(every, spelled.sources))  # no larger term left out
        assert spelled.terms.sum() + spelled.rest + spelled.bias == pytest.approx(spelled.z)
        assert spelled.a == (max(spelled.z, 0) if layer < 2 else spelled.z)
    with pytest.raises(ValueError, match="no neuron 20"):
        neuron_sum(model, traced, 0, 20)


def test_softmax_spelled_out_is_nn_softmax():
    logits = np.array([2.0, -1.0, 0.5, 3.0, 0.0, 1.0, -2.0, 0.25, 1.5, -0.5])
    steps = softmax_steps(logits)
    assert steps.largest == 3.0
    np.testing.assert_allclose(steps.shifted, logits - 3.0)
    np.testing.assert_allclose(steps.exps, np.exp(logits - 3.0))
    assert steps.total == pytest.approx(np.exp(logits - 3.0).sum())
    np.testing.assert_allclose(steps.probabilities, softmax(logits[None])[0])


def test_one_step_equals_a_hand_computed_sgd_step(model, image):
    lr = 0.05
    expected = by_hand(model, image, LABEL)
    stepped = sgd_steps(scratch_copy(model), image, LABEL, lr)
    for W, b, W_new, b_new, grad, delta in zip(
        model.weights, model.biases, stepped.weights, stepped.biases, expected["grads"], expected["delta"]
    ):
        np.testing.assert_allclose(W_new, W - lr * grad, atol=1e-15)
        np.testing.assert_allclose(b_new, b - lr * delta, atol=1e-15)
    assert trace(stepped, image, LABEL).loss < expected["loss"]


def test_steps_change_only_the_scratch_copy_and_ten_memorise(image):
    model = MLP((32,), seed=0)
    saved = model.params.copy()
    scratch = scratch_copy(model)
    assert scratch.dtype == model.dtype and scratch.layer_sizes == model.layer_sizes
    sgd_steps(scratch, image, LABEL, 0.1, steps=10)
    np.testing.assert_array_equal(model.params, saved)
    assert trace(scratch, image, LABEL).probabilities[LABEL] > 0.99
    with pytest.raises(ValueError, match="positive learning rate"):
        sgd_steps(scratch, image, LABEL, 0.0)


def test_largest_changes_are_found_and_located(model):
    after = scratch_copy(model)
    after.weights[1][4, 7] += 0.5
    after.weights[0][100, 2] -= 0.3
    after.weights[2][0, 9] += 0.01
    changes = largest_changes(model, after, count=2)
    assert [(c.layer, c.source, c.target) for c in changes] == [(1, 4, 7), (0, 100, 2)]
    assert changes[0].change == pytest.approx(0.5) and changes[1].change == pytest.approx(-0.3)
    assert changes[0].before == model.weights[1][4, 7]
    with pytest.raises(ValueError, match="layers differ"):
        largest_changes(model, MLP((20,)))
