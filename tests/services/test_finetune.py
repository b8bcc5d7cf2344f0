"""Fine-tuning on the user's digits: it learns them and does not forget MNIST (real runs)."""

import re
import threading
from dataclasses import asdict, replace

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from nn import MLP, load_model
from nn.core.config import ModelConfig, TrainConfig
from nn.core.engine import NumpyEngine, Training
from nn.core.errors import ConfigError
from nn.core.events import TrainingEnd
from nn.core.preprocess import mnist_style
from nn.core.record import FineTuneMix, FineTuneRecord, ModelRecord
from nn.core.training import TrainingData
from nn.explain.inside import initial_model
from services.finetune import DEFAULT_MIX, GENTLE_TRAINING, FineTune, FineTuneSettings
from services.locations import ROOT
from services.runs import RunStore
from services.user_digits import UserDigits


def typed_digit(digit: int, size: int, angle: float) -> np.ndarray:
    """A digit in Pillow's built-in typeface: a "handwriting" MNIST never saw (≈85 % read)."""
    image = Image.new("L", (120, 120), 0)
    font = ImageFont.load_default(size=size)
    ImageDraw.Draw(image).text((30, 10), str(digit), fill=255, font=font)
    return mnist_style(np.asarray(image.rotate(angle, resample=Image.Resampling.BILINEAR)))


def small(epochs: int, mnist_size: int) -> FineTuneSettings:
    """The app's fine-tuning, for fewer epochs on a smaller slice of MNIST."""
    return FineTuneSettings(
        replace(GENTLE_TRAINING, epochs=epochs), replace(DEFAULT_MIX, mnist_size=mnist_size)
    )


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
    assert (result.user_train, result.user_held_out) == (70, 20)
    assert result.mnist_before == pytest.approx(base.score(*tuning.test))
    assert result.mnist_after >= result.mnist_before - 0.003, result  # at most 0.3 points lost
    assert result.kept_mnist
    assert result.user_before <= 0.9  # the typed digits really are foreign to the base model
    assert result.user_after >= result.user_before + 0.05, result
    assert result.user_change_points == pytest.approx(100 * (result.user_after - result.user_before))
    np.testing.assert_array_equal(base.params, params)  # the original is untouched
    record = tuning.model.record
    assert record.finetune == result  # the account is the fine-tuned model's own
    assert record.test_accuracy == result.mnist_after and record.status == "completed"
    assert [e.epoch for e in record.history] == [1, 2, 3]
    assert tuning.model.config == base.config  # the same network, first built the same way
    assert record.base_training == base.record.training == record.first_training  # how it was first trained
    assert record.training == tuning.settings.training == GENTLE_TRAINING
    np.testing.assert_array_equal(initial_model(tuning.model).params, initial_model(base).params)
    assert record.history[-1].val_accuracy == result.user_after  # per-epoch user accuracy
    run = RunStore(tmp_path / "runs.sqlite", tmp_path / "models").add(tuning.model, source="finetune")
    assert load_model(run.model_path).record.finetune == result  # kept in the model file, read back typed
    assert run.config.training.lr == GENTLE_TRAINING.lr and run.config.model == base.config


def test_the_mix_is_mostly_mnist_with_the_users_digits_repeated(base: MLP, typed: UserDigits) -> None:
    settings = FineTuneSettings(mix=replace(DEFAULT_MIX, mnist_size=5000, user_share=0.1))
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
    tuning = FineTune(base, typed.split(), small(epochs=2, mnist_size=2000))
    stop = threading.Event()
    stop.set()  # as if the user pressed Stop at once: the run ends after its first batch
    *_, end = tuning.events(stop)
    assert isinstance(end, TrainingEnd) and end.status == "stopped"
    assert tuning.model.record.status == "stopped" and tuning.model.record.epochs_done == 0
    assert tuning.model.record.finetune == tuning.account is not None  # measured all the same
    assert not np.array_equal(tuning.model.params, base.params)  # that one batch was learned


def test_needs_some_digits(base: MLP, tmp_path) -> None:
    with pytest.raises(ValueError, match="add some of your own digits"):
        FineTune(base, UserDigits(tmp_path).split())


def test_without_held_out_digits_user_accuracy_is_not_invented(base: MLP, tmp_path) -> None:
    digits = UserDigits(tmp_path)
    digits.add(typed_digit(6, 60, 0), 6)
    result = FineTune(base, digits.split(), small(epochs=1, mnist_size=1000)).run()
    assert (result.user_before, result.user_after, result.user_held_out) == (None, None, 0)
    assert result.user_change_points is None


class RecordingEngine:
    """The NumPy engine, noting what fine-tuning asks of it."""

    name, label = "recording", "Recording"

    def __init__(self) -> None:
        self.numpy = NumpyEngine()
        self.calls: list[str] = []

    def device(self) -> str:
        return self.numpy.device()

    def build(self, config: ModelConfig) -> MLP:
        self.calls.append("build")
        return self.numpy.build(config)

    def start(self, model: MLP, config: TrainConfig, data: TrainingData) -> Training:
        self.calls.append("start")
        self.started = (model, config, data)
        return self.numpy.start(model, config, data)


def test_fine_tuning_trains_through_the_engine_it_is_given(base: MLP, typed: UserDigits) -> None:
    engine = RecordingEngine()
    settings = small(epochs=1, mnist_size=1000)
    tuning = FineTune(base, typed.split(), settings, engine=engine)
    assert engine.calls == ["build", "start"]  # the copy is built by the engine, then trained by it
    model, config, data = engine.started
    assert model is tuning.model and config == settings.training
    assert data.train[1] is tuning.labels and data.validation[1].size == 20  # the held-out typed digits
    tuning.run()
    assert tuning.model.record.history[-1].epoch == 1 and engine.calls == ["build", "start"]


def test_the_settings_are_an_ordinary_training_config_checked_by_the_parameter_table() -> None:
    with pytest.raises(ConfigError) as error:
        FineTuneSettings(replace(GENTLE_TRAINING, lr=0.0))
    assert "lr" in error.value.problems
    with pytest.raises(ConfigError) as error:
        FineTuneSettings(mix=replace(DEFAULT_MIX, distortion="smudge"))
    assert "distortion" in error.value.problems


ACCOUNT = FineTuneRecord(
    FineTuneMix(mnist_size=20_000, user_share=0.02, max_repeats=200, distortion="pen"),
    user_train=70,
    user_held_out=20,
    repeats=4,
    mnist_before=0.982,
    mnist_after=0.981,
    user_before=0.85,
    user_after=1.0,
)

ACCOUNT_JSON = asdict(ACCOUNT)


def test_an_account_is_written_and_read_back_as_the_same_typed_record() -> None:
    record = ModelRecord(training=GENTLE_TRAINING, status="completed", finetune=ACCOUNT)
    assert ModelRecord.from_dict(record.to_dict()) == record


def test_an_account_written_before_it_was_typed_reads_into_the_same_fields() -> None:
    # As services.finetune wrote it: the settings repeated the training config, the result its status.
    settings = {"epochs": 3, "lr": 0.003, "batch_size": 64, "mnist_size": 20_000, "user_share": 0.02}
    settings |= {"max_repeats": 200, "augment": "pen", "seed": 0}
    result = {"status": "completed", "mnist_before": 0.982, "mnist_after": 0.981, "user_before": 0.85}
    result |= {"user_after": 1.0, "user_train": 70, "user_held_out": 20, "repeats": 4}
    old = ModelRecord.from_dict({"status": "completed", "finetune": {"settings": settings, "result": result}})
    assert old.finetune == ACCOUNT


@pytest.mark.parametrize(
    ("account", "words"),
    [
        ({"mix": {}}, "finetune must hold exactly mix, user_train"),
        ({**ACCOUNT_JSON, "repeats": -1}, "finetune.repeats must be a whole number"),
        ({**ACCOUNT_JSON, "user_after": 1.5}, "finetune.user_after must be between 0 and 1"),
        ({**ACCOUNT_JSON, "mix": {**ACCOUNT_JSON["mix"], "distortion": "ink"}}, "finetune.mix.distortion"),
        ({"settings": {}, "result": None}, "finetune.result must be a JSON object"),
    ],
)
def test_a_bad_account_is_refused_naming_what_is_wrong(account: dict, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        ModelRecord.from_dict({"finetune": account})
