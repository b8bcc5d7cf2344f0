"""The background trainer: runs to the end, stops on request, and two at once never collide."""

import threading

import pytest

from nn.config import RunConfig
from nn.errors import ConfigError
from nn.persistence import load_model
from nn.training import RunEnd
from services.runs import RUNS, RunStore, read_active
from ui.trainer import Trainer, should_keep

TIMEOUT = 300
TINY = RunConfig.from_values(dict(hidden=(16,), epochs=2, train_size=500, seed=1))


def test_a_run_records_every_epoch_saves_its_model_and_marks_it_active(tmp_path, mnist):
    trainer = Trainer(TINY, tmp_path, mnist).start()
    assert trainer.join(TIMEOUT)
    progress = trainer.progress()
    assert not progress.running and progress.error is None
    assert [e.epoch for e in progress.epochs] == [1, 2]
    assert progress.end.status == "completed"
    assert progress.saved_to.parent == tmp_path / RUNS
    assert read_active(tmp_path) == progress.saved_to.resolve()
    model = load_model(progress.saved_to)
    assert model.config.hidden == (16,)
    assert model.record.history == progress.epochs


def test_stop_ends_the_run_after_the_current_batch_and_keeps_the_model(tmp_path, mnist):
    config = RunConfig.from_values(
        dict(hidden=(16,), epochs=1000, train_size=2000, batch_size=1, optimizer="sgd", lr=0.01)
    )
    trainer = Trainer(config, tmp_path, mnist).start()
    while trainer.progress().batch is None and not trainer.progress().epochs:
        assert trainer.progress().running, trainer.progress().error
        threading.Event().wait(0.05)  # poll until the first batch report
    trainer.stop()
    assert trainer.join(TIMEOUT)
    progress = trainer.progress()
    assert progress.end.status == "stopped"
    assert len(progress.epochs) < 1000
    assert load_model(progress.saved_to).record.status == "stopped"


def test_two_runs_at_once_write_two_sound_files(tmp_path, mnist):
    trainers = [
        Trainer(RunConfig.from_values(dict(hidden=(16,), epochs=1, train_size=500, seed=s)), tmp_path, mnist)
        for s in (1, 2)
    ]
    for trainer in trainers:
        trainer.start()
    assert all(t.join(TIMEOUT) for t in trainers)
    saved = [t.progress().saved_to for t in trainers]
    assert saved[0] != saved[1]
    assert sorted((tmp_path / RUNS).glob("*.npz")) == sorted(saved)
    for trainer, path in zip(trainers, saved):
        assert load_model(path).record.training.seed == trainer.config.training.seed
    assert not list(tmp_path.rglob("*.tmp"))


def test_an_invalid_configuration_is_refused_before_any_thread_starts(tmp_path):
    with pytest.raises(ConfigError) as error:
        Trainer(RunConfig.from_values({"lr": 0.0}), tmp_path)
    assert "lr" in error.value.problems


@pytest.mark.parametrize(
    ("status", "epochs_done", "kept"),
    [("completed", 3, True), ("stopped", 0, True), ("diverged", 0, False), ("diverged", 2, True)],
)
def test_which_runs_are_kept(status, epochs_done, kept):
    assert should_keep(RunEnd(status, epochs_done, 1.0, "")) is kept
    assert should_keep(None) is False


def test_a_finished_run_is_recorded_for_the_compare_runs_page(tmp_path, mnist):
    trainer = Trainer(TINY, tmp_path, mnist).start()
    assert trainer.join(TIMEOUT)
    saved = trainer.progress().saved_to
    run = RunStore(models_dir=tmp_path).find(saved)
    assert run is not None and run.model_path == saved.resolve()  # recorded in place, not copied
    assert (run.source, run.status, len(run.history)) == ("app", "completed", 2)
