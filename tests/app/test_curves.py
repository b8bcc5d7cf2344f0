"""The Train page's curves picture: every epoch's numbers drawn where its axes say they are."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from nn.core.training import EpochEnd
from tests.support.figures import SVG, drawn
from ui.curves import BOTTOM, LEFT, RIGHT, TOP, nice_step, training_curves


def epoch(n: int, loss: float, train: float, held_out: float | None) -> EpochEnd:
    return EpochEnd(
        epoch=n, epochs=20, loss=loss, train_accuracy=train, val_accuracy=None,
        test_accuracy=held_out, seconds=0.5, lr=0.1,
    )  # fmt: skip


def read_back(heights: np.ndarray, ticks: list[tuple[str, float]]) -> np.ndarray:
    """Values at `heights`, read off an axis by its tick labels, as a person reads the picture."""
    values = [float(label.rstrip("%")) / (100 if label.endswith("%") else 1) for label, _ in ticks]
    levels = [y for _, y in ticks]
    slope, intercept = np.polyfit(levels, values, 1)
    return slope * heights + intercept


HISTORY = [
    epoch(1, 0.412, 0.881, 0.934),
    epoch(2, 0.171, 0.951, 0.958),
    epoch(3, 0.118, 0.966, 0.967),
    epoch(4, 0.087, 0.975, 0.971),
]


def test_every_value_sits_where_its_axis_says():
    series, left, right = drawn(training_curves(HISTORY, total_epochs=20))
    assert set(series) == {"loss", "train accuracy", "held-out accuracy"}
    np.testing.assert_allclose(read_back(series["loss"][:, 1], left), [e.loss for e in HISTORY], atol=2e-3)
    for name, values in (
        ("train accuracy", [e.train_accuracy for e in HISTORY]),
        ("held-out accuracy", [e.test_accuracy for e in HISTORY]),
    ):
        np.testing.assert_allclose(read_back(series[name][:, 1], right), values, atol=2e-4)
    # The axes cover the data: loss from 0, accuracy up to 100 %, every dot inside the plot.
    assert left[0][0] == "0" and float(left[-1][0]) >= 0.412
    assert right[-1][0] == "100%" and float(right[0][0].rstrip("%")) <= 88.1
    for dots in series.values():
        assert ((dots[:, 1] >= TOP - 1e-6) & (dots[:, 1] <= BOTTOM + 1e-6)).all()


def test_the_x_axis_spans_every_planned_epoch_from_the_start():
    """Four epochs of twenty fill the first fifth: the picture shows how far the run has come."""
    series, _, _ = drawn(training_curves(HISTORY, total_epochs=20))
    x = series["loss"][:, 0]
    width = (RIGHT - LEFT) / 20
    np.testing.assert_allclose(x, LEFT + (np.arange(1, 5) - 0.5) * width, atol=0.1)
    assert all(np.array_equal(dots[:, 0], x) for dots in series.values())


def test_a_long_run_is_drawn_as_lines_through_every_epoch_without_dots():
    history = [epoch(n, 1 / n, 1 - 0.1 / n, 1 - 0.2 / n) for n in range(1, 301)]
    root = ET.fromstring(training_curves(history, total_epochs=400))
    assert not list(root.iter(f"{SVG}circle"))
    lines = [g.find(f"{SVG}polyline").get("points").split() for g in root.iter(f"{SVG}g")]
    assert [len(points) for points in lines] == [300, 300, 300]


def test_epochs_without_a_held_out_score_leave_that_curve_out():
    history = [epoch(1, 0.4, 0.9, None), epoch(2, 0.2, 0.95, None)]
    series, _, _ = drawn(training_curves(history, total_epochs=5))
    assert [len(series[name]) for name in ("loss", "train accuracy")] == [2, 2]
    assert len(series["held-out accuracy"]) == 0


def test_before_the_first_epoch_the_axes_are_drawn_empty():
    series, left, right = drawn(training_curves([], total_epochs=20))
    assert all(len(dots) == 0 for dots in series.values())
    assert (left[0][0], right[0][0], right[-1][0]) == ("0", "0%", "100%")


@pytest.mark.parametrize(
    ("span", "ticks", "step"), [(1.0, 5, 0.2), (0.412, 5, 0.1), (0.03, 5, 0.01), (200, 10, 20), (8, 10, 1)]
)
def test_tick_steps_are_round(span, ticks, step):
    assert nice_step(span, ticks) == pytest.approx(step)


def test_the_held_out_curve_is_the_validation_accuracy_when_the_run_held_images_out():
    validated = EpochEnd(
        epoch=1, epochs=2, loss=0.3, train_accuracy=0.95, val_accuracy=0.91, test_accuracy=0.97,
        seconds=1.0, lr=0.1,
    )  # fmt: skip
    series, _, right = drawn(training_curves([validated, validated], total_epochs=2))
    np.testing.assert_allclose(read_back(series["held-out accuracy"][:, 1], right), [0.91, 0.91], atol=2e-4)
