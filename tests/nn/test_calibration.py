"""Calibration: ECE measures what it says, temperature scaling helps and is fitted on the right images."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nn import MLP, ModelFileError, ModelRecord, RunConfig, TrainConfig, load_model, save_model
from nn.core.data import subset
from nn.core.engine import Training
from nn.core.losses import softmax
from nn.engines import start_training
from nn.robustness.calibration import (
    calibrate,
    coverage,
    fit_temperature,
    logits_of,
    negative_log_likelihood,
    reliability,
    validation_set,
)


def probabilities_with_confidence(confidence: float, right: np.ndarray) -> np.ndarray:
    """Rows whose largest probability is `confidence`, on digit 0; the rest spread evenly."""
    probs = np.full((len(right), 10), (1 - confidence) / 9)
    probs[:, 0] = confidence
    return probs


def test_ece_is_zero_when_confidence_equals_accuracy_in_every_bin() -> None:
    # 80 % sure and right 8 times in 10, 60 % sure and right 6 times in 10: perfectly calibrated.
    sure = probabilities_with_confidence(0.8, np.ones(50))
    unsure = probabilities_with_confidence(0.6, np.ones(100))
    labels = np.r_[np.zeros(40), np.ones(10), np.zeros(60), np.ones(40)].astype(int)
    result = reliability(np.vstack([sure, unsure]), labels)
    assert result.ece == pytest.approx(0.0, abs=1e-12)
    filled = result.counts > 0
    assert result.counts[filled].tolist() == [100, 50]
    np.testing.assert_allclose(result.accuracy[filled], [0.6, 0.8])
    np.testing.assert_allclose(result.confidence[filled], [0.6, 0.8])


def test_ece_of_an_overconfident_case_is_the_weighted_gap() -> None:
    # 95 % sure but right 70 % of the time (100 images), 55 % sure and right 56 % (28 of 50 images).
    probs = np.vstack(
        [probabilities_with_confidence(0.95, np.ones(100)), probabilities_with_confidence(0.55, np.ones(50))]
    )
    labels = np.r_[np.zeros(70), np.ones(30), np.zeros(28), np.ones(22)].astype(int)
    expected = (100 * abs(0.70 - 0.95) + 50 * abs(0.56 - 0.55)) / 150
    assert reliability(probs, labels).ece == pytest.approx(expected)


def test_fitting_recovers_the_temperature_of_overconfident_logits() -> None:
    rng = np.random.default_rng(0)
    calibrated = rng.normal(0, 2, (20_000, 10))
    # Labels drawn from softmax(calibrated): those probabilities are right by construction.
    cumulative = softmax(calibrated).cumsum(axis=1)
    labels = (rng.uniform(size=(len(calibrated), 1)) > cumulative).sum(axis=1)
    shouting = 3.0 * calibrated
    temperature = fit_temperature(shouting, labels)
    assert temperature == pytest.approx(3.0, rel=0.05)
    assert negative_log_likelihood(shouting, labels, temperature) < negative_log_likelihood(shouting, labels)
    before = reliability(softmax(shouting), labels).ece
    after = reliability(softmax(shouting / temperature), labels).ece
    assert after < before / 3


@pytest.fixture(scope="module")
def held_out_run(mnist) -> Training:
    """A network trained long on few images, holding 3,000 out: overconfident, with a fair split."""
    config = RunConfig.from_values(dict(hidden=(256,), epochs=30, train_size=8_000, val_size=3_000, seed=3))
    run = start_training(config, mnist)
    for _ in run.events():
        pass
    return run


def test_the_validation_set_is_exactly_the_split_training_held_out(held_out_run, mnist) -> None:
    found = validation_set(held_out_run.model, mnist)
    assert found.held_out
    np.testing.assert_array_equal(found.images, held_out_run.data.validation[0])
    np.testing.assert_array_equal(found.labels, held_out_run.data.validation[1])


def test_a_model_trained_on_a_subset_is_calibrated_on_the_rest(mnist) -> None:
    model = MLP(hidden=(8,))
    model.record = ModelRecord(training=TrainConfig(train_size=50_000, seed=5))
    found = validation_set(model, mnist)
    assert found.held_out and len(found.labels) == 10_000
    trained_on, _ = subset(mnist.train_images, mnist.train_labels, 50_000, 5)
    seen = {bytes(image) for image in trained_on}
    assert not any(bytes(image) in seen for image in found.images[:2000])


def test_a_model_that_held_nothing_out_says_so(shipped_model, mnist) -> None:
    found = validation_set(shipped_model, mnist)
    assert not found.held_out
    assert "held none out" in found.description


def test_temperature_scaling_lowers_the_validation_nll_and_helps_on_the_test_set(held_out_run, mnist) -> None:
    result = calibrate(held_out_run.model, mnist)
    before, after = result.validation_nll
    assert result.temperature > 1.2, "a network trained long on few images is overconfident"
    assert after < before
    test_logits = logits_of(held_out_run.model, mnist.test_images)
    labels = mnist.test_labels
    assert negative_log_likelihood(test_logits, labels, result.temperature) < negative_log_likelihood(
        test_logits, labels
    )
    assert result.after.ece < result.before.ece


def test_coverage_starts_at_everything_and_accuracy_rises_as_the_threshold_does(shipped_model, mnist) -> None:
    probs = shipped_model.predict_proba(mnist.test_images)
    curve = coverage(probs, mnist.test_labels)
    assert curve.at(0.0) == (1.0, pytest.approx(shipped_model.score(mnist.test_images, mnist.test_labels)))
    assert np.all(np.diff(curve.coverage) <= 0)
    covered, accurate = curve.at(0.99)
    assert covered < 1 and accurate > curve.at(0.0)[1]
    expected = probs.max(axis=1) >= curve.thresholds[np.searchsorted(curve.thresholds, 0.99)]
    assert covered == pytest.approx(expected.mean())


@pytest.mark.parametrize("bad", [-1.0, 0.0, 1e9, "hot", True, float("nan")])
def test_a_model_file_with_a_nonsense_temperature_is_refused(tmp_path, bad) -> None:
    model = MLP(hidden=(4,))
    model.record = ModelRecord(temperature=bad)
    with pytest.raises(ValueError, match="temperature must be"):
        save_model(model, tmp_path / "bad.npz")
    assert not list(tmp_path.iterdir()), "nothing is written"
    model.record = ModelRecord(temperature=1.0)
    path = save_model(model, tmp_path / "bad.npz")
    with np.load(path) as archive:
        arrays = dict(archive)
    arrays["record"] = np.array(json.dumps({"temperature": bad}))
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError, match="temperature must be"):
        load_model(path)
