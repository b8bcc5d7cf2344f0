"""The hidden-layer maps on the Inside page, and the live map for the Train page: nn's numbers, drawn."""

import json

import numpy as np
import pytest
from plotly.colors import hex_to_rgb

from nn.core.network import MLP
from nn.core.persistence import save_model
from nn.core.preprocess import mnist_style
from nn.explain.inside import initial_model
from nn.explain.projection import (
    MAP_SAMPLE,
    LayerMap,
    Projection,
    layer_maps,
    map_sample,
    place,
)
from tests.support.app_driver import SHIPPED_MODEL, open_inside
from tests.support.figures import values
from ui.layer_maps import (
    CLICKED,
    DIGIT_COLOURS,
    MARKER_OPACITY,
    Sample,
    clicked_index,
    map_picture,
)


def maps_on(app) -> dict[str, dict]:
    """The map figures, by title."""
    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    return {
        f["layout"]["title"]["text"]: f
        for f in specs
        if "separated" in f["layout"].get("title", {}).get("text", "")
    }


def points(figure: dict) -> tuple[np.ndarray, np.ndarray]:
    """(test indices, 2-D points) of the ten digit traces of a map."""
    digits = figure["data"][:10]
    indices = np.concatenate([values(t["customdata"]) for t in digits]).astype(int)
    xy = np.concatenate([np.column_stack([values(t["x"]), values(t["y"])]) for t in digits])
    order = np.argsort(indices)
    return indices[order], xy[order]


def sample(mnist):
    chosen = map_sample(mnist.test_labels)
    return chosen, mnist.test_images[chosen], mnist.test_labels[chosen]


@pytest.fixture(scope="module")
def reference(shipped_model, mnist):
    """The shipped model's maps (after, before), computed here independently of the page."""
    _, images, labels = sample(mnist)
    after = layer_maps(shipped_model, images, labels)
    return after, layer_maps(initial_model(shipped_model), images, labels)


def test_the_maps_are_nns_pca_of_each_layer_before_and_after_training(models_dir, mnist, reference):
    chosen, _, _ = sample(mnist)
    after, before = reference
    app = open_inside(models_dir / SHIPPED_MODEL.name)
    radio = next(r for r in app.radio if r.label == "Map of")
    assert radio.options == [m.name for m in after] and radio.value == "hidden 2 (800)"
    shown = maps_on(app)
    trained = shown[f"after training: {after[2].separation:.0%} separated"]
    untrained = shown[f"before training: {before[2].separation:.0%} separated"]
    for figure, expected in ((trained, after[2]), (untrained, before[2])):
        indices, xy = points(figure)
        assert len(indices) == MAP_SAMPLE
        np.testing.assert_array_equal(indices, chosen)
        np.testing.assert_allclose(xy, expected.points, rtol=1e-6, atol=1e-9)
    assert after[2].separation > after[0].separation  # the story the page tells

    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    scores = next(f for f in specs if f["data"] and f["data"][0].get("name") == "before training")
    np.testing.assert_allclose(values(scores["data"][0]["y"]), [m.separation for m in before])
    np.testing.assert_allclose(values(scores["data"][1]["y"]), [m.separation for m in after])

    radio.set_value("pixels (784)").run()
    indices, xy = points(maps_on(app)[f"after training: {after[0].separation:.0%} separated"])
    np.testing.assert_allclose(xy, after[0].points, rtol=1e-6, atol=1e-9)


def test_the_drawn_digit_is_a_star_where_the_network_puts_it(models_dir, shipped_model, mnist, reference):
    drawn = mnist_style(mnist.test_images[np.flatnonzero(mnist.test_labels == 3)[0]])
    app = open_inside(models_dir / SHIPPED_MODEL.name, drawn=drawn)
    expected = place(shipped_model, reference[0], drawn)[2]
    figure = next(f for t, f in maps_on(app).items() if t.startswith("after"))
    star = next(t for t in figure["data"] if t["name"] == "your drawing")
    assert star["marker"]["symbol"] == "star"
    np.testing.assert_allclose([values(star["x"])[0], values(star["y"])[0]], expected, rtol=1e-5)


def test_a_clicked_point_shows_its_image(models_dir, mnist):
    chosen, _, _ = sample(mnist)
    index = int(chosen[17])
    assert clicked_index([{"x": 0.1, "y": 0.2}, {"x": 1, "y": 2, "customdata": [index]}]) == index
    assert clicked_index([{"x": 0.1, "y": 0.2}]) is None  # the star carries no image number
    app = open_inside(models_dir / SHIPPED_MODEL.name)
    app.session_state[CLICKED] = index
    app.run()
    assert [i.captions[0] for i in app.get("image")] == [f"Test image #{index}: a {mnist.test_labels[index]}"]


def test_a_model_without_its_recipe_has_no_before_map(models_dir):
    app = open_inside(save_model(MLP((16,), seed=0), models_dir / "bare.npz"))
    assert any("no map before training" in i.value for i in app.info)
    assert len(maps_on(app)) == 1


def picture_of(points: list[tuple[float, float]], labels: list[int], size=(200, 100), radius=3) -> np.ndarray:
    pca = Projection(np.array(points, float), np.zeros(2), np.eye(2), np.array([0.6, 0.4]))
    chosen = Sample(np.arange(len(labels)), np.zeros((len(labels), 28, 28)), np.array(labels))
    return map_picture(LayerMap("hidden 1", pca, None), chosen, size=size, radius=radius)


def blend(under: np.ndarray, digit: int) -> np.ndarray:
    return under + MARKER_OPACITY * (np.array(hex_to_rgb(DIGIT_COLOURS[digit])) - under)


def test_the_map_picture_puts_pc1_left_to_right_and_pc2_bottom_to_top():
    picture = picture_of([(0, 0), (1, 1), (1, 0)], [0, 1, 2])
    assert picture.shape == (100, 200, 3) and picture.dtype == np.uint8
    white = np.full(3, 255.0)
    # the extremes land `radius + 1` pixels in from the edges, so their dots are whole
    np.testing.assert_array_equal(picture[95, 4], np.rint(blend(white, 0)))  # lowest, leftmost: bottom left
    np.testing.assert_array_equal(picture[4, 195], np.rint(blend(white, 1)))  # top right
    np.testing.assert_array_equal(picture[95, 195], np.rint(blend(white, 2)))  # bottom right
    np.testing.assert_array_equal(picture[4, 4], white)  # nothing at the top left
    assert (picture[95, 0:1] == 255).all() and (picture[95, 8] == 255).all()  # a dot of radius 3


def test_a_later_digits_dot_is_drawn_over_an_earlier_ones_and_a_digits_own_dots_do_not_darken():
    picture = picture_of([(0, 0), (0, 0), (0, 0), (1, 1)], [3, 9, 9, 5])
    np.testing.assert_array_equal(picture[95, 4], np.rint(blend(blend(np.full(3, 255.0), 3), 9)))
