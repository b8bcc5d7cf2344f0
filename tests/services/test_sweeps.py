"""Sweeps: grids expanded and checked, their records in the store, a real sweep in the local pool."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from nn.core.config import ModelConfig, RunConfig, TrainConfig
from nn.core.persistence import load_model
from services.database import SCHEMA_VERSION, RunStoreError
from services.job_states import JobState
from services.jobs import JobRunner
from services.journal import Journal
from services.runs import RunDetails, RunStore, SweepPoint
from services.sweep_store import SweepStore
from services.sweeps import (
    HONEST_CHOICE,
    MAX_RUNS,
    Axis,
    Grid,
    SweepError,
    Sweeps,
    config_for,
    parse_values,
    reopen,
    start,
)
from services.tasks import TrainTask

TINY = RunConfig.from_values(dict(hidden=(16,), epochs=1, train_size=500, val_size=100, seed=1))
TIMEOUT = 300


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite", tmp_path / "models")


@pytest.fixture
def sweep_store(store) -> SweepStore:
    return SweepStore(store.path)


@pytest.fixture
def journal(store) -> Journal:
    return Journal(store.path)


# -- the grid ----------------------------------------------------------------------------------


def test_a_grid_is_every_combination_last_axis_fastest() -> None:
    grid = Grid(TINY, (Axis("lr", (0.01, 0.1, 0.3)), Axis("hidden", ((64,), (128, 64)))))
    assert grid.validate().size == 6
    assert grid.points() == [
        {"lr": lr, "hidden": hidden} for lr in (0.01, 0.1, 0.3) for hidden in ((64,), (128, 64))
    ]
    configs = grid.configs()
    assert [(c.training.lr, c.model.hidden) for c in configs[:2]] == [(0.01, (64,)), (0.01, (128, 64))]
    assert {c.training.epochs for c in configs} == {1} and {c.training.val_size for c in configs} == {100}
    assert grid.label(grid.points()[1]) == "lr 0.01 · hidden 128-64"
    assert grid.describe() == "lr × hidden (3 × 2 runs)"


def test_a_grid_survives_its_round_trip_through_json() -> None:
    grid = Grid(TINY, (Axis("hidden", ((16,), (32, 16))), Axis("optimizer", ("sgd", "adam"))))
    stored = json.loads(json.dumps(grid.to_dict()))
    assert stored["base"] == {"model": TINY.model.to_dict(), "training": TINY.training.to_dict()}
    assert Grid.from_dict(stored) == grid


def test_one_place_turns_sweep_values_into_a_configuration_each_value_in_its_own_config() -> None:
    point = config_for(TINY, {"lr": 0.5, "hidden": (8, 8), "init": "small"})
    assert point.model == ModelConfig(hidden=(8, 8), init="small", seed=1)  # the network's settings
    assert point.training == TrainConfig(epochs=1, train_size=500, val_size=100, seed=1, lr=0.5)


# A sweep recorded before the network's settings were separated from its training: its base was
# one flat set of every parameter, exactly as the store kept it then.
FLAT_BASE = {
    "hidden": [16],
    "epochs": 1,
    "lr": 0.07,
    "batch_size": 128,
    "optimizer": "momentum",
    "momentum": 0.9,
    "weight_decay": 0.0,
    "schedule": "cosine",
    "init": "he",
    "augment": "none",
    "seed": 1,
    "train_size": 500,
    "val_size": 100,
    "dtype": "float32",
}


def test_a_grid_recorded_before_the_split_reads_into_the_same_run_config() -> None:
    old = {"base": FLAT_BASE, "axes": [{"name": "lr", "values": [0.03, 0.3]}]}
    assert Grid.from_dict(old) == Grid(TINY, (Axis("lr", (0.03, 0.3)),))


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"axes": []}, "its grid has no 'base'"),
        ({"base": FLAT_BASE | {"colour": 1}, "axes": []}, "colour: is not a hyper-parameter"),
        (
            {"base": {"model": {}, "training": {"depth": 3}}, "axes": []},
            "depth: is not a TrainConfig parameter",
        ),
        (
            {"base": FLAT_BASE, "axes": [{"name": "colour", "values": [1]}]},
            "'colour' is not a hyper-parameter",
        ),
        ({"base": FLAT_BASE, "axes": [{"name": "lr", "values": ["fast"]}]}, "could not convert string"),
        ({"base": FLAT_BASE, "axes": [{"name": "hidden", "values": [16]}]}, "its grid cannot be read"),
        ({"base": 7, "axes": []}, "its grid cannot be read"),
        ([], "its grid cannot be read"),
    ],
)
def test_a_recorded_grid_that_cannot_be_read_is_refused_in_words(definition, message) -> None:
    with pytest.raises(SweepError, match=message.replace("(", r"\(")):
        Grid.from_dict(definition)


@pytest.mark.parametrize(
    ("axes", "base", "message"),
    [
        ((), TINY, "a sweep varies one to 3 hyper-parameters (got 0)"),
        (tuple(Axis(n, (1, 2)) for n in ("epochs", "batch_size", "momentum", "init")), TINY, "(got 4)"),
        ((Axis("lr", (0.1,)), Axis("lr", (0.2,))), TINY, "lr is swept twice"),
        ((Axis("lr", (0.1, 0.1)),), TINY, "lr: 0.1 given twice"),
        ((Axis("seed", (1, 2)),), TINY, "seed cannot be swept: it decides which images are held out"),
        ((Axis("val_size", (100, 200)),), TINY, "val_size cannot be swept"),
        ((Axis("colour", (1, 2)),), TINY, "colour is not a hyper-parameter"),
        ((Axis("lr", ()),), TINY, "lr: give at least one value"),
        ((Axis("lr", (0.1, 20.0)),), TINY, "lr 20: must be at most 10"),
        ((Axis("optimizer", ("sgd", "rmsprop")),), TINY, "optimizer rmsprop: must be one of sgd"),
        ((Axis("lr", (0.1, 0.2)),), RunConfig(), "set the number of validation images (val_size) above 0"),
        ((Axis("epochs", tuple(range(1, 66))),), TINY, f"65 runs is more than the {MAX_RUNS}"),
    ],
)
def test_a_grid_that_cannot_be_swept_says_why(axes, base, message) -> None:
    with pytest.raises(SweepError) as raised:
        Grid(base, axes).validate()
    assert message in str(raised.value)


def test_the_reason_for_choosing_on_validation_is_given() -> None:
    problems = Grid(RunConfig(), (Axis("lr", (0.1, 0.2)),)).problems()
    assert problems == [problems[0]] and "test accuracy" in problems[0]
    assert "validation" in HONEST_CHOICE and "only that run's test accuracy" in HONEST_CHOICE.lower()


@pytest.mark.parametrize(
    ("name", "text", "values"),
    [
        ("lr", "0.01, 0.03 0.1", (0.01, 0.03, 0.1)),
        ("batch_size", "32 128", (32, 128)),
        ("epochs", "5.0", (5,)),
        ("hidden", "64, 128 64, 256-128", ((64,), (128, 64), (256, 128))),
        ("optimizer", "sgd, adam", ("sgd", "adam")),
    ],
)
def test_typed_values_are_parsed_into_the_configurations_types(name, text, values) -> None:
    parsed = parse_values(name, text)
    assert parsed == values and [type(v) for v in parsed] == [type(v) for v in values]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("lr", "0.1, fast", "lr: '0.1, fast' is not a list of numbers"),
        ("batch_size", "32 12.5", "batch_size: '32 12.5' is not a list of whole numbers"),
        ("hidden", "64, 12a", "hidden: '64, 12a' is not a list of layer widths"),
        ("epochs", " , ", "epochs: give at least one value"),
        ("colour", "1", "colour is not a hyper-parameter"),
    ],
)
def test_values_that_cannot_be_read_are_refused_in_words(name, text, message) -> None:
    with pytest.raises(SweepError, match=message.replace("(", r"\(")):
        parse_values(name, text)


# -- the store's records -----------------------------------------------------------------------


def test_the_store_records_a_sweep_and_the_jobs_of_its_points(
    sweep_store: SweepStore, journal: Journal
) -> None:
    grid = Grid(TINY, (Axis("lr", (0.1, 0.2)),))
    first = sweep_store.add("first", grid.to_dict(), "here")
    second = sweep_store.add("second", grid.to_dict(), "tcp://10.0.0.5:8786")
    assert first.job_ids == []
    jobs = [journal.open_job(TrainTask(TINY)) for _ in range(2)]
    sweep_store.set_jobs(first.id, jobs)
    assert [s.name for s in sweep_store.sweeps()] == ["second", "first"]
    again = sweep_store.get(first.id)
    assert (again.job_ids, again.place, Grid.from_dict(again.definition)) == (jobs, "here", grid)
    assert sweep_store.get(second.id).place == "tcp://10.0.0.5:8786"
    assert [j.id for j in journal.jobs(ids=jobs)] == sorted(jobs, reverse=True)
    with pytest.raises(RunStoreError, match="there is no sweep 99"):
        sweep_store.get(99)


def test_a_store_of_the_previous_version_gains_the_sweeps_table(tmp_path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore(path, tmp_path / "models")
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE sweeps; PRAGMA user_version = 2;")
    db.close()
    assert SweepStore(path).sweeps() == []
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3


# -- a real sweep in this machine's pool ---------------------------------------------------------


@pytest.fixture
def runner(store, tmp_path):
    runner = JobRunner(2, cores=2, store=store, user_digits_dir=tmp_path / "digits")
    yield runner
    runner.shutdown()


def test_a_sweep_in_the_local_pool_records_every_run_with_its_sweep(
    runner, store, sweep_store, journal
) -> None:
    grid = Grid(TINY, (Axis("lr", (0.03, 0.3)), Axis("hidden", ((16,), (8,)))))
    sweep = start(grid, runner, sweep_store)
    states = [row.state for row in sweep.view().rows]
    assert states.count(JobState.RUNNING) == 2 and len(states) == 4  # two workers: two run, two wait
    assert sweep.join(TIMEOUT)
    view = sweep.view()
    assert [row.state for row in view.rows] == [JobState.FINISHED] * 4
    for row, point in zip(view.rows, grid.points()):
        assert row.point == point and row.run.source == "sweep"
        values = {"lr": point["lr"], "hidden": list(point["hidden"])}  # as JSON keeps them
        assert row.run.details == RunDetails(SweepPoint(sweep.id, row.index, values), "NumPy on the CPU")
        model = load_model(row.run.model_path)
        assert (model.config.hidden, model.record.training.lr) == (point["hidden"], point["lr"])
        assert row.run.config == RunConfig(model.config, model.record.training)
        assert row.val_accuracy == row.run.history[-1].val_accuracy is not None
        assert row.history == model.record.history  # typed epochs, as the model file keeps them
    ranked = view.ranked()
    assert [r.val_accuracy for r in ranked] == sorted((r.val_accuracy for r in ranked), reverse=True)
    assert view.best() is ranked[0]
    assert store.active() is None  # a sweep's runs wait for a person to choose among them
    reopened = reopen(sweep_store, journal, store, sweep.id)
    assert [(r.state, r.run.id, r.history) for r in reopened.rows] == [
        (r.state, r.run.id, r.history) for r in view.rows
    ]
    assert reopened.best().run.id == view.best().run.id and reopened.place == runner.place


def test_cancelling_a_sweep_stops_the_running_and_drops_the_waiting(
    runner, store, sweep_store, journal
) -> None:
    endless = RunConfig.from_values(
        dict(hidden=(16,), epochs=1000, train_size=2000, val_size=100, batch_size=1, lr=0.01)
    )
    sweeps = Sweeps(runner, sweep_store)
    sweep = sweeps.start(Grid(endless, (Axis("lr", (0.01, 0.02, 0.03)),)), name="endless")
    deadline = time.monotonic() + TIMEOUT
    while not any(job.progress().batch for job in sweep.jobs[:2]):
        assert time.monotonic() < deadline, "no batch reported"
        time.sleep(0.05)
    sweeps.cancel(sweep.id)
    assert sweep.join(30)
    view = sweeps.view(sweep.id)
    assert [row.state for row in view.rows] == [JobState.FINISHED, JobState.FINISHED, JobState.CANCELLED]
    stopped = [f"stopped after {len(row.history)} epochs" for row in view.rows[:2]]
    assert [row.status for row in view.rows[:2]] == stopped
    assert view.name == "endless" and not view.running
    reopened = reopen(sweep_store, journal, store, sweep.id)
    assert [row.state for row in reopened.rows] == [JobState.FINISHED, JobState.FINISHED, JobState.CANCELLED]
    assert reopened.rows[2].message == "cancelled while it waited for a worker"
    assert [row.run.status for row in reopened.rows[:2]] == ["stopped", "stopped"]


def test_a_sweep_recorded_before_the_split_reopens_and_an_unreadable_one_is_refused_in_words(
    store: RunStore, sweep_store: SweepStore, journal: Journal
) -> None:
    old = sweep_store.add("old", {"base": FLAT_BASE, "axes": [{"name": "lr", "values": [0.03, 0.3]}]}, "here")
    view = reopen(sweep_store, journal, store, old.id)
    assert view.grid == Grid(TINY, (Axis("lr", (0.03, 0.3)),))
    assert [(row.label, row.epochs, row.state) for row in view.rows] == [
        ("lr 0.03", 1, JobState.CANCELLED),
        ("lr 0.3", 1, JobState.CANCELLED),
    ]  # no job was recorded for its points
    damaged = sweep_store.add("damaged", {"base": FLAT_BASE | {"colour": 1}, "axes": []}, "here")
    with pytest.raises(SweepError, match=rf"sweep {damaged.id} \(damaged\) cannot be reopened: .*colour"):
        reopen(sweep_store, journal, store, damaged.id)


def test_a_sweep_running_in_another_process_reopens_as_such(
    store: RunStore, sweep_store: SweepStore, journal: Journal
) -> None:
    grid = Grid(TINY, (Axis("lr", (0.1, 0.2)),))
    record = sweep_store.add("from the command line", grid.to_dict(), "this machine")
    jobs = [journal.open_job(TrainTask(TINY)) for _ in range(2)]
    sweep_store.set_jobs(record.id, jobs)
    journal.update_job(jobs[0], JobState.RUNNING)
    view = reopen(sweep_store, journal, store, record.id)
    assert [row.status for row in view.rows] == ["running in another process", "waiting"]
    assert view.running and view.best() is None
