"""The background fine-tuner: reports its progress, records its model as a run, says what failed."""

import pytest
from app_driver import SHIPPED_MODEL

from nn.persistence import load_model
from nn.preprocess import mnist_style
from services.finetune import FineTuneSettings
from services.runs import RunStore
from services.user_digits import UserDigits
from ui.finetuner import FineTuner

TIMEOUT = 300
QUICK = FineTuneSettings(epochs=2, mnist_size=1_000)


@pytest.fixture
def stores(tmp_path, monkeypatch) -> None:
    """Empty stores of digits and runs for this test alone."""
    monkeypatch.setenv("DIGITLAB_USER_DIGITS", str(tmp_path / "digits"))
    monkeypatch.setenv("DIGITLAB_RUNS_DB", str(tmp_path / "runs.sqlite"))


@pytest.fixture
def shipped(shipped_model):
    return shipped_model, SHIPPED_MODEL


def test_fine_tuning_reports_progress_and_records_the_model_as_a_run(shipped, mnist, stores):
    for image, label in zip(mnist.test_images[:8], mnist.test_labels[:8]):
        UserDigits().add(mnist_style(image), int(label))
    model, path = shipped
    tuner = FineTuner(model, path, QUICK).start()
    seen = set()
    while not tuner.join(0.01):
        seen.add(tuner.progress().text)
    progress = tuner.progress()
    assert not progress.running and progress.error is None and progress.done == 1.0
    assert any(text.startswith("epoch 1 of 2") for text in seen), seen
    result, run = progress.outcome
    assert result.status == "completed" and result.user_train + result.user_held_out == 8
    assert [r.id for r in RunStore().runs()] == [run.id]
    assert run.name == "default + my digits" and run.source == "finetune"
    assert load_model(run.model_path).record.finetune["result"]["status"] == "completed"
    assert model.record.finetune is None, "the model fine-tuned is a copy"


def test_without_digits_it_fails_with_a_message_and_records_nothing(shipped, stores):
    model, path = shipped
    tuner = FineTuner(model, path, QUICK).start()
    assert tuner.join(TIMEOUT)
    progress = tuner.progress()
    assert progress.outcome is None and "add some of your own digits first" in progress.error
    assert RunStore().runs() == []
