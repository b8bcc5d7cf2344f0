"""The Predictions page without a browser: accuracy figures, filters, sorting, paging, inspecting."""

import re

import numpy as np
import pytest

from tests.support.app_driver import button, open_page
from ui import browser


@pytest.fixture
def expected(shipped_model, mnist):
    """The shipped model's answers, computed here independently of the page's cache."""
    probs = shipped_model.predict_proba(mnist.test_images)
    return probs, probs.argmax(axis=1), mnist.test_labels


def tiles(app):
    """(index, shown text) of every image tile on the current page of the grid, in order."""
    found = []

    def walk(node):
        tile = re.search(r"-tile_(\d+)$", getattr(getattr(node, "proto", None), "id", "") or "")
        if tile:
            found.append((int(tile.group(1)), node.markdown[0].value))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(app.main)
    return found


def matching_caption(app) -> int:
    caption = next(c.value for c in app.caption if "images match" in c.value)
    return int(re.match(r"([\d,]+) images match", caption).group(1).replace(",", ""))


def test_overall_accuracy_and_mistake_count_match_the_model(models_dir, expected):
    _probs, predicted, labels = expected
    app = open_page("app_pages/predictions.py")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Test accuracy"] == f"{np.mean(predicted == labels):.2%}"
    assert metrics["Mistakes"] == f"{int(np.sum(predicted != labels)):,} of 10,000"
    assert [c.label for c in app.selectbox if c.key in (browser.TRUE, browser.PREDICTED)] == [
        "True digit",
        "Predicted digit",
    ]


def test_the_grid_starts_on_misclassified_images_most_confident_first(models_dir, expected):
    probs, predicted, labels = expected
    app = open_page("app_pages/predictions.py")
    wrong = np.flatnonzero(predicted != labels)
    assert matching_caption(app) == len(wrong)
    shown = tiles(app)
    assert len(shown) == min(browser.PER_PAGE, len(wrong))
    indices = [i for i, _ in shown]
    assert all(predicted[i] != labels[i] for i in indices)
    confidences = probs.max(axis=1)[indices]
    assert np.all(np.diff(confidences) <= 0), "not sorted most confident first"
    assert confidences[0] == pytest.approx(probs.max(axis=1)[wrong].max())
    index, text = shown[0]
    assert text.startswith(f"{labels[index]} → :red[**{predicted[index]}**]")


def test_filtering_by_true_and_predicted_digit_shows_exactly_that_pair(models_dir, expected):
    _probs, predicted, labels = expected
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels, predicted), 1)
    np.fill_diagonal(confusion, 0)
    true, said = np.unravel_index(confusion.argmax(), confusion.shape)  # the commonest mistake
    app = open_page("app_pages/predictions.py")
    app.selectbox(key=browser.TRUE).set_value(int(true))
    app.selectbox(key=browser.PREDICTED).set_value(int(said)).run()
    assert matching_caption(app) == confusion[true, said]
    assert sorted(i for i, _ in tiles(app)) == sorted(np.flatnonzero((labels == true) & (predicted == said)))


def test_showing_all_images_of_a_digit_includes_the_correct_ones(models_dir, expected):
    _probs, _predicted, labels = expected
    app = open_page("app_pages/predictions.py")
    app.segmented_control(key=browser.SHOW).set_value(browser.ALL)
    app.selectbox(key=browser.TRUE).set_value(7).run()
    assert matching_caption(app) == int(np.sum(labels == 7))
    app.selectbox(key=browser.SORT).set_value("test-set order").run()
    assert [i for i, _ in tiles(app)] == list(np.flatnonzero(labels == 7)[: browser.PER_PAGE])
    button(app, "Clear filters").click().run()
    assert matching_caption(app) == 10_000


def test_pages_move_through_the_selection_and_inspect_shows_one_image(models_dir, expected):
    _probs, predicted, labels = expected
    app = open_page("app_pages/predictions.py")
    first_page = [i for i, _ in tiles(app)]
    app.pagination(key=browser.PAGE).set_value(2).run()
    second_page = [i for i, _ in tiles(app)]
    assert second_page and not set(first_page) & set(second_page)
    target = second_page[3]
    app.button(key=f"inspect_{target}").click().run()
    assert any(h.value == f"Test image #{target}" for h in app.subheader)
    assert f"True digit **{labels[target]}**, the network says **{predicted[target]}**." in [
        m.value for m in app.markdown
    ]


def test_the_page_explains_itself_when_there_is_no_model(models_dir):
    (models_dir / "default.npz").unlink()
    app = open_page("app_pages/predictions.py")
    assert "train one on the Train page" in app.main.info[0].value
    assert not app.metric
