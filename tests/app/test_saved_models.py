"""The sidebar's models: listing, labels from one clock, the remembered active model, in words."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from nn.core.network import MLP
from nn.core.persistence import load_model, save_model
from nn.core.record import ModelRecord
from services.runs import RunStore
from ui import models


def tiny_model(seed: int = 0, accuracy: float = 0.5, at: str | None = "2026-01-02T03:04:05+00:00") -> MLP:
    model = MLP((8,), seed=seed)
    model.record = ModelRecord(test_accuracy=accuracy, status="completed", epochs_done=1, trained_at=at)
    return model


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite", tmp_path / "models")


@pytest.fixture
def time_zone(monkeypatch):
    """Switch this process's local time zone (TZ + tzset), restoring it afterwards."""

    def switch(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield switch
    monkeypatch.undo()
    time.tzset()


def test_list_models_shows_shipped_models_then_runs_newest_first_and_reports_damage(store):
    directory = store.models_dir
    save_model(tiny_model(accuracy=0.9), directory / "default.npz")
    older = store.add(tiny_model(1), source="app").model_path
    newer = store.add(tiny_model(2), source="app").model_path
    (directory / "broken.npz").write_bytes(b"not a zip")
    listed, problems = models.list_models(directory, run_index=store.index())
    assert [m.path for m in listed] == [directory / "default.npz", newer, older]
    assert len(problems) == 1 and "broken.npz" in problems[0]
    shipped = listed[0]
    assert shipped.architecture == "784-8-10"
    assert shipped.label == "default · 784-8-10 · 90.0%"
    assert not shipped.trained_in_app and listed[1].trained_in_app


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_runs_are_named_in_utc_and_shown_in_local_time_whatever_the_zone(store, time_zone, zone):
    """Two runs saved in the same second sort by record, and both read in the reader's local time."""
    time_zone(zone)
    first = store.add(tiny_model(1, at=None), source="cli")
    second = store.add(tiny_model(2, at=None), source="app")
    listed, _ = models.list_models(store.models_dir, run_index=store.index())
    assert [m.path for m in listed] == [second.model_path, first.model_path]
    for model, run in zip(listed, (second, first)):
        stamp = "-".join(run.model_path.stem.split("-")[1:3])  # the file's name, in UTC
        saved = datetime.strptime(stamp, "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
        assert abs(saved - datetime.now(UTC)) < timedelta(minutes=1)
        assert model.label.startswith(f"run {saved.astimezone(ZoneInfo(zone)):%d %b %H:%M:%S}")


def test_a_run_is_labelled_by_its_name_and_local_training_time(store, time_zone):
    time_zone("America/New_York")
    named = store.add(tiny_model(1, at="2099-01-01T14:30:00+00:00"), source="finetune", name="default + mine")
    plain = store.add(tiny_model(2, at="2098-01-01T05:00:00+00:00"), source="app")
    listed, problems = models.list_models(store.models_dir, run_index=store.index())
    assert not problems
    assert {m.path: m.label for m in listed} == {
        # 14:30 UTC is 09:30 in New York
        named.model_path: "default + mine (01 Jan 09:30) · 784-8-10 · 50.0%",
        plain.model_path: "run 01 Jan 00:00:00 · 784-8-10 · 50.0%",
    }


def test_a_new_session_starts_with_the_remembered_model_else_the_newest_run(store):
    directory = store.models_dir
    shipped = save_model(tiny_model(), directory / "default.npz")
    assert models.initial_choice([], directory) is None
    listed, _ = models.list_models(directory)
    assert models.initial_choice(listed, directory).path == shipped
    run = store.add(tiny_model(1), source="app").model_path
    listed, _ = models.list_models(directory, run_index=store.index())
    assert models.initial_choice(listed, directory).path == run
    store.set_active(shipped)
    assert models.initial_choice(listed, directory).path == shipped


@pytest.mark.parametrize("hidden", [(8,), (16, 8)])
def test_a_saved_run_loads_back_identically(store, hidden):
    model = MLP(hidden, seed=3)
    path = store.add(model, source="app").model_path
    assert models.saved_model(path).layer_sizes == model.layer_sizes
    np.testing.assert_array_equal(load_model(path).params, model.params)


def test_the_sidebar_describes_a_model_in_words(tmp_path: Path):
    at = "2026-01-02T03:04:05+00:00"
    once = models.SavedModel(tmp_path / "a.npz", (784, 8, 10), 0.5, at, "stopped", 1)
    assert "(1 epoch, stopped)" in models.describe(once)
    assert "Test accuracy **50.00%**" in models.describe(once)
    twice = models.SavedModel(tmp_path / "b.npz", (784, 8, 10), None, at, "completed", 2)
    assert "(2 epochs, completed)" in models.describe(twice) and "Test accuracy" not in models.describe(twice)
