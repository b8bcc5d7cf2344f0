"""Layer maps: PCA against NumPy's SVD, the separation score, and maps of a real network."""

import numpy as np
import pytest

from nn import MLP, load_mnist, load_model
from nn.explain.inside import initial_model
from nn.explain.projection import (
    MAP_SAMPLE,
    knn_accuracy,
    last_hidden_map,
    layer_maps,
    map_sample,
    pca,
    place,
)

SHIPPED = "models/default.npz"


def test_pca_finds_known_axes_and_matches_numpys_svd():
    rng = np.random.default_rng(0)
    # Points spread 3 along one known direction, 1 along a second and 0.1 along a third.
    basis, _ = np.linalg.qr(rng.standard_normal((5, 3)))
    data = rng.standard_normal((400, 3)) * [3.0, 1.0, 0.1] @ basis.T + [1, 2, 3, 4, 5]
    fitted = pca(data)
    assert abs(fitted.axes[0] @ basis[:, 0]) == pytest.approx(1, abs=1e-3)
    assert abs(fitted.axes[1] @ basis[:, 1]) == pytest.approx(1, abs=1e-2)

    centred = data - data.mean(axis=0)
    _, singular, rows = np.linalg.svd(centred, full_matrices=False)
    signs = np.sign(np.sum(fitted.axes * rows[:2], axis=1))
    np.testing.assert_allclose(fitted.axes, rows[:2] * signs[:, None], atol=1e-10)
    np.testing.assert_allclose(fitted.points, centred @ rows[:2].T * signs, atol=1e-9)
    np.testing.assert_allclose(fitted.explained, singular[:2] ** 2 / np.sum(singular**2))
    np.testing.assert_allclose(fitted.transform(data[:5]), fitted.points[:5], atol=1e-12)


def test_pca_of_wide_data_matches_svd_too():
    data = np.random.default_rng(1).standard_normal((30, 200))  # more dimensions than points
    fitted = pca(data, components=3)
    _, singular, rows = np.linalg.svd(data - data.mean(axis=0), full_matrices=False)
    signs = np.sign(np.sum(fitted.axes * rows[:3], axis=1))
    np.testing.assert_allclose(fitted.axes, rows[:3] * signs[:, None], atol=1e-9)
    np.testing.assert_allclose(fitted.explained, singular[:3] ** 2 / np.sum(singular**2))


def test_pca_axes_have_a_fixed_sign():
    data = np.random.default_rng(2).standard_normal((50, 4))
    for axis in pca(data).axes:
        assert axis[np.abs(axis).argmax()] > 0
    # Mirrored data has the same axes (same covariance), so its points are mirrored, not flipped back.
    np.testing.assert_allclose(pca(-data).axes, pca(data).axes, atol=1e-12)
    np.testing.assert_allclose(pca(-data).points, -pca(data).points, atol=1e-12)
    with pytest.raises(ValueError, match="two or more rows"):
        pca(data[:1])


def test_knn_accuracy_on_known_clusters():
    rng = np.random.default_rng(3)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    labels = np.repeat([0, 1, 2], 30)
    apart = centres[labels] + rng.normal(0, 0.5, (90, 2))
    assert knn_accuracy(apart, labels) == 1.0
    mixed = rng.normal(0, 1, (90, 2))
    assert knn_accuracy(mixed, labels) < 0.6
    # One point inside the wrong cluster is out-voted by its neighbours.
    apart[0] = centres[1]
    assert knn_accuracy(apart, labels) == pytest.approx(89 / 90)


def test_layers_of_a_trained_network_separate_digits_better_than_pixels():
    mnist = load_mnist()
    chosen = map_sample(mnist.test_labels)
    assert len(chosen) == MAP_SAMPLE and np.array_equal(chosen, map_sample(mnist.test_labels))
    images, labels = mnist.test_images[chosen], mnist.test_labels[chosen]
    model = load_model(SHIPPED)
    maps = layer_maps(model, images, labels)
    assert [m.name for m in maps] == ["pixels (784)", "hidden 1 (1600)", "hidden 2 (800)", "output (10)"]
    assert all(m.points.shape == (MAP_SAMPLE, 2) for m in maps)
    pixels, last_hidden = maps[0].separation, maps[-2].separation
    assert last_hidden > pixels + 0.2, (pixels, last_hidden)
    untrained = layer_maps(initial_model(model), images, labels)
    assert untrained[0].separation == pixels  # the pixels do not depend on the network
    reused = layer_maps(initial_model(model), images, labels, pixels=maps[0])
    assert reused[0] is maps[0] and [m.separation for m in reused] == [m.separation for m in untrained]
    assert last_hidden > untrained[-2].separation + 0.2
    live = last_hidden_map(model, images, labels)
    np.testing.assert_allclose(live.points, maps[-2].points)
    assert live.separation == last_hidden


def test_last_hidden_map_can_skip_the_score():
    mnist = load_mnist()
    images, labels = mnist.test_images[:100], mnist.test_labels[:100]
    live = last_hidden_map(MLP((16, 8), seed=0), images, labels, score=False)
    assert live.name == "hidden 2 (8)" and live.points.shape == (100, 2) and live.separation is None


def test_a_new_image_lands_where_its_sample_twin_does():
    mnist = load_mnist()
    model = MLP((32, 16), seed=0)
    images, labels = mnist.test_images[:300], mnist.test_labels[:300]
    maps = layer_maps(model, images, labels)
    placed = place(model, maps, images[42])
    assert len(placed) == 4
    for point, layer_map in zip(placed, maps):
        np.testing.assert_allclose(point, layer_map.points[42], atol=1e-5)
