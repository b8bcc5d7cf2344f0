"""The Inside page without a browser: feature grid, saliency of the chosen digit, distributions."""

import json

import numpy as np
from plotly.colors import sample_colorscale
from streamlit.testing.v1 import AppTest

from nn.core.network import MLP
from nn.core.persistence import save_model
from nn.core.preprocess import mnist_style
from nn.explain.inside import first_layer_features, tile
from nn.explain.saliency import saliency
from tests.support.app_driver import ROOT, SHIPPED_MODEL, open_inside
from tests.support.figures import values
from ui.inside import DIVERGING, feature_grid_picture

PAGE = str(ROOT / "app_pages" / "inside.py")


def figures(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def titled(app: AppTest, start: str) -> dict:
    return next(f for f in figures(app) if f["layout"].get("title", {}).get("text", "").startswith(start))


def test_feature_grid_shows_the_active_models_first_layer(models_dir, shipped_model):
    app = open_inside(models_dir / SHIPPED_MODEL.name)
    grid = values(figures(app)[0]["data"][0]["z"])
    expected = tile(first_layer_features(shipped_model)[:128], columns=16)
    np.testing.assert_allclose(grid, expected, rtol=1e-6)
    assert app.slider[0].label == "Neurons shown" and app.slider[0].value == 128


def test_the_feature_picture_colours_each_weight_as_the_chart_does(shipped_model):
    features = first_layer_features(shipped_model)[:20]
    grid = tile(features, columns=16)  # 2 rows of 28×28 tiles, 1-pixel gaps, 12 empty cells
    picture = feature_grid_picture(features, columns=16, zoom=3)
    assert picture.shape == (grid.shape[0] * 3, grid.shape[1] * 3, 3) and picture.dtype == np.uint8
    assert np.array_equal(picture[::3, ::3], picture[2::3, 2::3])  # each weight a 3×3 block
    seen = picture[::3, ::3]
    assert (seen[np.isnan(grid)] == 255).all()  # gaps and empty cells are white
    # the most negative, the most positive and the weakest weight, coloured from the chart's scale
    for cell in (np.nanargmin(grid), np.nanargmax(grid), np.nanargmin(np.abs(grid))):
        row, col = np.unravel_index(cell, grid.shape)
        step = round((grid[row, col] + 1) / 2 * 255) / 255
        assert "rgb({}, {}, {})".format(*seen[row, col]) == sample_colorscale(DIVERGING, [step])[0]


def test_a_test_image_is_explained_when_nothing_was_drawn(models_dir, shipped_model, mnist):
    app = open_inside(models_dir / SHIPPED_MODEL.name)
    assert app.radio[0].options == ["a test image"]
    expected = saliency(shipped_model, mnist.test_images[0])
    assert app.selectbox[0].label == f"Why {expected.predicted} and not…"
    assert app.selectbox[0].value == expected.runner_up
    chart = titled(app, "red: for")
    assert (
        chart["layout"]["title"]["text"] == f"red: for {expected.predicted} · blue: for {expected.runner_up}"
    )
    np.testing.assert_allclose(values(chart["data"][0]["z"]), expected.attribution, rtol=1e-5, atol=1e-7)

    app.number_input[0].set_value(1).run()
    assert app.selectbox[0].label == f"Why {saliency(shipped_model, mnist.test_images[1]).predicted} and not…"


def test_the_drawn_digit_is_taken_apart_and_another_rival_can_be_chosen(models_dir, shipped_model, mnist):
    three = mnist_style(mnist.test_images[np.flatnonzero(mnist.test_labels == 3)[0]])
    app = open_inside(models_dir / SHIPPED_MODEL.name, drawn=three)
    assert app.radio[0].value == "your drawing"
    assert app.selectbox[0].label == "Why 3 and not…"
    app.selectbox[0].set_value(8).run()
    chart = titled(app, "red: for")
    assert chart["layout"]["title"]["text"] == "red: for 3 · blue: for 8"
    np.testing.assert_allclose(
        values(chart["data"][0]["z"]),
        saliency(shipped_model, three, versus=8).attribution,
        rtol=1e-5,
        atol=1e-7,
    )
    hidden = [f for f in figures(app) if f["data"][0]["type"] == "bar" and len(f["data"]) == 2]
    widths = list(shipped_model.layer_sizes[1:-1])
    assert [len(values(t["y"])) for t in hidden[0]["data"]] == widths  # one bar per neuron, per layer


def test_distributions_compare_the_untrained_and_trained_network(models_dir):
    app = open_inside(models_dir / SHIPPED_MODEL.name)
    overlays = [f for f in figures(app) if f["layout"].get("barmode") == "overlay"]
    assert len(overlays) == 2  # weights, activations
    for figure in overlays:
        names = [t["name"] for t in figure["data"]]
        assert names == ["before training", "after"] * 3  # the shipped model's three weight layers


def test_a_model_without_its_recipe_says_so_instead_of_comparing(models_dir):
    path = save_model(MLP((16,), seed=0), models_dir / "bare.npz")
    app = open_inside(path)
    assert any("does not say how it was initialised" in i.value for i in app.info)
    assert len(app.slider) == 0  # 16 neurons: all shown, nothing to choose


def test_without_a_model_the_page_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_MODELS_DIR", str(tmp_path))
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert "train one on the Train page" in app.info[0].value
