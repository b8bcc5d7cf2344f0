"""Fine-tuning on the user's digits: it learns them and does not forget MNIST (real runs)."""

import threading

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from nn import MLP, load_model
from nn.core.preprocess import mnist_style
from nn.core.training import TrainingEnd
from nn.explain.inside import initial_model
from services.finetune import FineTune, FineTuneSettings
from services.locations import ROOT
from services.runs import RunStore
from services.user_digits import UserDigits


def typed_digit(digit: int, size: int, angle: float) -> np.ndarray:
    """A digit in Pillow's built-in typeface: a "handwriting" MNIST never saw (≈85 % read)."""
    image = Image.new("L", (120, 120), 0)
    font = ImageFont.load_default(size=size)
    ImageDraw.Draw(image).text((30, 10), str(digit), fill=255, font=font)
    return mnist_style(np.asarray(image.rotate(angle, resample=Image.Resampling.BILINEAR)))


@pytest.fixture(scope="module")
def base() -> MLP:
    """The model the app ships: well trained, so the hardest one not to make forget MNIST."""
    return load_model(ROOT / "models" / "default.npz")


@pytest.fixture(scope="module")
def typed(tmp_path_factory) -> UserDigits:
    digits = UserDigits(tmp_path_factory.mktemp("typed"))
    for size in (40, 60, 80):
        for angle in (-12, 0, 12):
            for digit in range(10):
                digits.add(typed_digit(digit, size, angle), digit)
    return digits


@pytest.mark.slow  # fine-tunes the shipped model with the default settings: seconds, not milliseconds
def test_learns_the_users_digits_without_forgetting_mnist(base: MLP, typed: UserDigits, tmp_path) -> None:
    params = base.params.copy()
    tuning = FineTune(base, typed.split())
    result = tuning.run()
    assert result.status == "completed"
    assert (result.user_train, result.user_held_out) == (70, 20)
    assert result.mnist_before == pytest.approx(base.score(*tuning.test))
    assert result.mnist_after >= result.mnist_before - 0.003, result  # at most 0.3 points lost
    assert result.kept_mnist
    assert result.user_before <= 0.9  # the typed digits really are foreign to the base model
    assert result.user_after >= result.user_before + 0.05, result
    assert result.user_change_points == pytest.approx(100 * (result.user_after - result.user_before))
    np.testing.assert_array_equal(base.params, params)  # the original is untouched
    record = tuning.model.record
    assert record.test_accuracy == result.mnist_after and record.status == "completed"
    assert [e.epoch for e in record.history] == [1, 2, 3]
    assert tuning.model.config == base.config  # the same network, first built the same way
    assert record.base_training == base.record.training == record.first_training  # how it was first trained
    assert record.training == tuning.config and record.finetune == tuning.details()
    np.testing.assert_array_equal(initial_model(tuning.model).params, initial_model(base).params)
    assert record.history[-1].val_accuracy == result.user_after  # per-epoch user accuracy
    run = RunStore(tmp_path / "runs.sqlite", tmp_path / "models").add(
        tuning.model, source="finetune", details=tuning.details()
    )
    assert run.details["result"]["user_after"] == result.user_after
    assert run.config.training.lr == FineTuneSettings().lr and run.config.model == base.config


def test_the_mix_is_mostly_mnist_with_the_users_digits_repeated(base: MLP, typed: UserDigits) -> None:
    settings = FineTuneSettings(mnist_size=5000, user_share=0.1)
    tuning = FineTune(base, typed.split(), settings)
    assert tuning.repeats == round(0.1 / 0.9 * 5000 / 70)
    assert len(tuning.labels) == 5000 + 70 * tuning.repeats
    assert tuning.images.dtype == np.uint8 and tuning.images.shape[1:] == (28, 28)
    mine = tuning.images[5000:]
    assert (tuning.labels[5000:] == np.tile(typed.split().train_labels, tuning.repeats)).all()
    first = np.rint(typed.split().train_images * 255).astype(np.uint8)
    np.testing.assert_array_equal(mine[:70], first)  # each digit once as drawn…
    assert not np.array_equal(mine[70:140], first)  # …and then distorted copies


def test_stop_ends_the_run_and_reports_it(base: MLP, typed: UserDigits) -> None:
    tuning = FineTune(base, typed.split(), FineTuneSettings(mnist_size=2000, epochs=2))
    stop = threading.Event()
    stop.set()  # as if the user pressed Stop at once: the run ends after its first batch
    *_, end = tuning.events(stop)
    assert isinstance(end, TrainingEnd) and end.status == "stopped"
    assert tuning.result.status == "stopped" and tuning.model.record.epochs_done == 0
    assert not np.array_equal(tuning.model.params, base.params)  # that one batch was learned


def test_needs_some_digits(base: MLP, tmp_path) -> None:
    with pytest.raises(ValueError, match="add some of your own digits"):
        FineTune(base, UserDigits(tmp_path).split())


def test_without_held_out_digits_user_accuracy_is_not_invented(base: MLP, tmp_path) -> None:
    digits = UserDigits(tmp_path)
    digits.add(typed_digit(6, 60, 0), 6)
    result = FineTune(base, digits.split(), FineTuneSettings(mnist_size=1000, epochs=1)).run()
    assert (result.user_before, result.user_after, result.user_held_out) == (None, None, 0)
    assert result.user_change_points is None
