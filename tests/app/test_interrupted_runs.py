"""Interrupted runs on the Train page and Compare runs: shown after a restart, resumed, discarded."""

from __future__ import annotations

from pathlib import Path

import pytest

from nn.core.checkpoint import save_checkpoint
from nn.core.config import ModelConfig, RunConfig, TrainConfig
from nn.core.events import EpochEnd
from nn.engines import start_training
from services.job_states import JobState
from services.journal import Journal
from services.locations import RUNS_DB_ENV
from services.tasks import TrainTask
from tests.support.app_driver import open_page
from ui import session

TASK = TrainTask(RunConfig(ModelConfig(hidden=(16,)), TrainConfig(epochs=4, train_size=1000, batch_size=50)))
TIMEOUT = 300


@pytest.fixture
def journal(tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Journal:
    """A run store of the test's own: the app's runner is made afresh for it, as after a restart."""
    monkeypatch.setenv(RUNS_DB_ENV, str(tmp_path / "runs.sqlite"))
    return Journal(tmp_path / "runs.sqlite")


def interrupted_at(journal: Journal, epochs: int, mnist) -> tuple[int, list[EpochEnd]]:
    """A job left running by a server that has gone, with a checkpoint after `epochs` epochs."""
    job = journal.open_job(TASK)  # noted by this process, which the next runner takes as gone
    journal.update_job(job, JobState.RUNNING)
    training = start_training(TASK.config, mnist)
    history = []
    for event in training.events():
        if isinstance(event, EpochEnd):
            history.append(event)
            if event.epoch == epochs:
                break
    journal.checkpoint(job).parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(training.model, training.state(), journal.checkpoint(job))
    return job, history


def lines(app) -> list[str]:
    return [m.value for m in app.markdown]


@pytest.mark.parametrize("page", ["app_pages/train.py", "app_pages/runs.py"])
def test_a_run_the_server_lost_is_shown_and_can_be_discarded(journal, mnist, page) -> None:
    job, _ = interrupted_at(journal, 2, mnist)
    app = open_page(page)
    assert "**784-16-10 · momentum lr 0.07** — interrupted at epoch 2 of 4 when the server stopped." in lines(
        app
    )
    [discard] = [b for b in app.button if b.label == "Discard"]
    discard.click().run()
    assert not any("interrupted at epoch" in line for line in lines(app))
    assert app.success[0].value == "Discarded 784-16-10 · momentum lr 0.07."
    assert not journal.checkpoint(job).exists()
    assert journal.jobs(ids=[job])[0].state is JobState.DISCARDED


def test_resume_goes_on_from_the_checkpoint_as_this_sessions_run(journal, mnist) -> None:
    job, before = interrupted_at(journal, 2, mnist)
    app = open_page("app_pages/train.py")
    [resume] = [b for b in app.button if b.label == "Resume"]
    resume.click().run()
    trainer = app.session_state[session.TRAINER]
    assert trainer.task == TrainTask(TASK.config, resumed_from=job)
    assert trainer.join(TIMEOUT)
    progress = trainer.progress()
    assert progress.state is JobState.FINISHED and progress.saved is not None, progress.error
    assert [e.epoch for e in progress.epochs] == [1, 2, 3, 4]
    assert [e.loss for e in progress.epochs[:2]] == [e.loss for e in before]  # reported from the checkpoint
    assert [e.loss for e in progress.saved.history[:2]] == [e.loss for e in before]
    states = {e.id: e.state for e in journal.jobs()}
    assert states == {job: JobState.RESUMED, trainer.id: JobState.FINISHED}
    assert not list(journal.checkpoint(job).parent.iterdir())


def test_a_run_whose_checkpoint_is_damaged_says_so_and_offers_only_discard(journal, mnist) -> None:
    job, _ = interrupted_at(journal, 1, mnist)
    journal.checkpoint(job).write_bytes(b"damaged")
    app = open_page("app_pages/train.py")
    [line] = [line for line in lines(app) if "interrupted at epoch" in line or "cannot be resumed" in line]
    assert "cannot be resumed: the checkpoint" in line and "cannot be read" in line
    assert [b.disabled for b in app.button if b.label == "Resume"] == [True]


def test_a_run_with_no_checkpoint_says_resume_starts_it_again(journal) -> None:
    job = journal.open_job(TASK)  # left waiting: it never trained, so it kept no checkpoint
    app = open_page("app_pages/train.py")
    [line] = [line for line in lines(app) if "no checkpoint" in line]
    assert line.endswith("interrupted when the server stopped, with no checkpoint kept: "
                         "Resume starts it again from the beginning.")  # fmt: skip
    [resume] = [b for b in app.button if b.label == "Resume"]
    assert not resume.disabled
    resume.click().run()
    trainer = app.session_state[session.TRAINER]
    assert trainer.join(TIMEOUT) and trainer.progress().state is JobState.FINISHED
    assert [e.epoch for e in trainer.progress().epochs] == [1, 2, 3, 4]
    assert journal.jobs(ids=[job])[0].state is JobState.RESUMED
