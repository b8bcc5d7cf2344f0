"""Teaching the network your handwriting, without a browser: add, view, delete, fine-tune."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn.core.persistence import load_model
from nn.core.preprocess import mnist_style
from services.runs import RunStore
from services.user_digits import UserDigits
from tests.support.app_driver import ROOT, SHIPPED_MODEL, button
from ui.session import ACTIVE, FINETUNER

PAGE = str(ROOT / "app_pages" / "my_digits.py")


@pytest.fixture
def digits(models_dir, tmp_path, monkeypatch) -> UserDigits:
    """Empty stores of digits and runs for the app under test (never the repository's)."""
    monkeypatch.setenv("DIGITLAB_USER_DIGITS", str(tmp_path / "digits"))
    monkeypatch.setenv("DIGITLAB_RUNS_DB", str(tmp_path / "runs.sqlite"))
    return UserDigits()


def some_digits(digits: UserDigits, mnist, count: int) -> None:
    for image, label in zip(mnist.test_images[:count], mnist.test_labels[:count]):
        digits.add(mnist_style(image), int(label))


def open_my_digits(models_dir) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=180)
    app.session_state[ACTIVE] = str(models_dir / SHIPPED_MODEL.name)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_without_digits_the_page_says_how_to_add_them(digits, models_dir):
    app = open_my_digits(models_dir)
    assert "You have no digits yet" in app.info[0].value
    assert button(app, "Fine-tune on my digits").disabled


def test_digits_are_shown_and_can_be_deleted(digits, models_dir, mnist):
    some_digits(digits, mnist, 3)
    app = open_my_digits(models_dir)
    assert app.subheader[0].value == "Your 3 digits"
    labels = [f"a {label}" for label in mnist.test_labels[:3]]
    assert [image.captions[0] for image in app.get("image")] == labels
    first, *rest = digits.all()
    app.button(key=f"delete_{first.id}").click().run()
    assert [d.id for d in digits.all()] == [d.id for d in rest]
    assert app.subheader[0].value == "Your 2 digits"


def test_an_unreachable_dask_scheduler_is_explained_and_blocks_fine_tuning(
    digits, models_dir, mnist, monkeypatch
):
    some_digits(digits, mnist, 3)
    monkeypatch.setenv("DIGITLAB_DASK_SCHEDULER", "tcp://127.0.0.1:9")  # nothing listens on port 9
    app = open_my_digits(models_dir)
    assert any("cannot reach the Dask scheduler at tcp://127.0.0.1:9" in e.value for e in app.error)
    assert button(app, "Fine-tune on my digits").disabled


def finish_fine_tuning(app: AppTest) -> None:
    """Fine-tuning runs in a background thread: wait for it, then redraw the page as its poll would."""
    assert app.session_state[FINETUNER].join(timeout=180)
    app.run()
    assert not app.exception, [e.value for e in app.exception]


def test_fine_tuning_records_a_run_and_can_make_it_active(digits, models_dir, mnist):
    some_digits(digits, mnist, 12)
    app = open_my_digits(models_dir)
    app.slider[0].set_value(1).run()  # epochs
    app.select_slider[0].set_value(1_000).run()  # MNIST images mixed in
    button(app, "Fine-tune on my digits").click().run()
    assert not app.exception, [e.value for e in app.exception]
    finish_fine_tuning(app)
    [run] = RunStore().runs()
    assert run.source == "finetune" and run.name == "default + my digits"
    assert run.config.training.epochs == 1
    assert load_model(run.model_path).record.finetune.mix.mnist_size == 1_000  # the account, in the model
    labels = [m.label for m in app.metric]
    assert labels[0] == "MNIST test accuracy"
    assert app.metric[0].value == f"{run.test_accuracy:.2%}"
    assert "Saved as the run “default + my digits”" in app.caption[-1].value
    assert not button(app, "Fine-tune on my digits").disabled and button(app, "Stop").disabled
    button(app, "Use the fine-tuned model").click().run()
    assert app.session_state[ACTIVE] == str(models_dir / "runs" / run.model_path.name)
    button(app, "Fine-tune on my digits").click().run()  # now of the fine-tuned run: named after it
    finish_fine_tuning(app)
    assert [r.name for r in RunStore().runs()] == ["default + my digits + my digits", "default + my digits"]


def test_a_stopped_fine_tune_is_still_saved_as_a_run(digits, models_dir, mnist):
    some_digits(digits, mnist, 12)
    app = open_my_digits(models_dir)
    app.select_slider[0].set_value(60_000).run()  # minutes of work: it will be stopped long before
    button(app, "Fine-tune on my digits").click().run()
    assert button(app, "Fine-tune on my digits").disabled, "one fine-tune at a time"
    assert app.get("progress"), "the progress bar of the running fine-tune"
    button(app, "Stop").click().run()
    finish_fine_tuning(app)
    [run] = RunStore().runs()
    assert run.source == "finetune" and run.status == "stopped"
    assert "Stopped before the end" in app.warning[0].value
    assert run.model_path.exists()


def add_block_script() -> None:
    """The Draw page's "add to my digits" block, on a fixed drawing predicted as a 7."""
    import numpy as np

    from ui.teach import add_to_my_digits

    image = np.zeros((28, 28), np.float32)
    image[5:23, 13:15] = 1.0
    add_to_my_digits(image, predicted=7)


def test_the_draw_page_block_stores_the_drawing_with_the_chosen_label(digits):
    app = AppTest.from_function(add_block_script, default_timeout=60).run()
    assert app.selectbox(key="teach_label").value == 7
    app.selectbox(key="teach_label").set_value(1).run()
    app.button(key="teach_add").click().run()
    [stored] = digits.all()
    assert stored.label == 1 and stored.image[10, 13] == 1.0 and np.count_nonzero(stored.image) == 36
    assert "Added as a 1: you have 1 digit." in app.success[0].value
    app.run()  # the confirmation is said once
    assert len(app.success) == 0 and len(digits.all()) == 1
