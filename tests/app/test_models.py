"""The model registry: listing, unique run names, atomic saves, the remembered active model."""

from datetime import datetime

import numpy as np
import pytest

from nn.network import MLP
from nn.persistence import load_model, save_model
from nn.runstore import default_name
from ui import models


def tiny_model(seed: int = 0, accuracy: float = 0.5, at: str = "2026-01-02T03:04:05+00:00") -> MLP:
    model = MLP((8,), seed=seed)
    model.meta.update(test_accuracy=accuracy, trained_at=at, status="completed", epochs_done=1)
    return model


def test_models_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(models.MODELS_DIR_ENV, str(tmp_path))
    assert models.models_dir() == tmp_path
    monkeypatch.delenv(models.MODELS_DIR_ENV)
    assert models.models_dir() == models.DEFAULT_MODELS_DIR


def test_list_models_shows_shipped_models_then_runs_newest_first_and_reports_damage(tmp_path):
    save_model(tiny_model(accuracy=0.9), tmp_path / "default.npz")
    older = models.save_run(tiny_model(1), tmp_path)
    newer = save_model(tiny_model(2), models.new_run_path(tmp_path, (8,), datetime(2099, 1, 1)))
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    listed, problems = models.list_models(tmp_path)
    assert [m.path for m in listed] == [tmp_path / "default.npz", newer, older]
    assert len(problems) == 1 and "broken.npz" in problems[0]
    shipped = listed[0]
    assert shipped.architecture == "784-8-10"
    assert shipped.label == "default · 784-8-10 · 90.0%"
    assert not shipped.trained_in_app and listed[1].trained_in_app
    assert listed[1].label == "run 01 Jan 00:00:00 · 784-8-10 · 50.0%"


def test_a_run_is_labelled_by_its_name_unless_that_is_the_automatic_one(tmp_path):
    named = save_model(tiny_model(1), models.new_run_path(tmp_path, (8,), datetime(2099, 1, 1, 9, 30)))
    plain = save_model(tiny_model(2), models.new_run_path(tmp_path, (8,), datetime(2098, 1, 1)))
    names = {named: "default + my digits", plain: default_name(load_model(plain)), tmp_path / "gone.npz": "x"}
    listed, problems = models.list_models(tmp_path, run_names=names)
    assert not problems
    assert [m.label for m in listed] == [
        "default + my digits (01 Jan 09:30) · 784-8-10 · 50.0%",  # the time tells two fine-tunes apart
        "run 01 Jan 00:00:00 · 784-8-10 · 50.0%",
    ]


def test_run_paths_are_unique_even_within_one_second(tmp_path):
    now = datetime(2026, 1, 1, 12, 0, 0)
    paths = {models.new_run_path(tmp_path, (128, 64), now) for _ in range(200)}
    assert len(paths) == 200
    assert all(p.parent == tmp_path / models.RUNS and "-128x64-" in p.name for p in paths)


def test_active_pointer_round_trips_and_never_leaves_the_models_directory(tmp_path):
    run = models.save_run(tiny_model(), tmp_path)
    assert models.read_active(tmp_path) is None
    models.write_active(tmp_path, run)
    assert models.read_active(tmp_path) == run.resolve()
    assert not list(tmp_path.glob(".*.tmp")), "a temporary file was left behind"
    outside = tmp_path.parent / "elsewhere.npz"
    save_model(tiny_model(), outside)
    (tmp_path / models.ACTIVE_POINTER).write_text("../elsewhere.npz\n")
    assert models.read_active(tmp_path) is None
    run.unlink()
    (tmp_path / models.ACTIVE_POINTER).write_text(f"{models.RUNS}/{run.name}\n")
    assert models.read_active(tmp_path) is None


def test_a_new_session_starts_with_the_remembered_model_else_the_newest_run(tmp_path):
    shipped = save_model(tiny_model(), tmp_path / "default.npz")
    assert models.initial_choice([], tmp_path) is None
    listed, _ = models.list_models(tmp_path)
    assert models.initial_choice(listed, tmp_path).path == shipped
    run = models.save_run(tiny_model(1), tmp_path)
    listed, _ = models.list_models(tmp_path)
    assert models.initial_choice(listed, tmp_path).path == run
    models.write_active(tmp_path, shipped)
    assert models.initial_choice(listed, tmp_path).path == shipped


@pytest.mark.parametrize("hidden", [(8,), (16, 8)])
def test_save_run_writes_a_model_that_loads_back_identically(tmp_path, hidden):
    model = MLP(hidden, seed=3)
    path = models.save_run(model, tmp_path)
    loaded = models.describe(path)
    assert loaded.layer_sizes == model.layer_sizes
    from nn.persistence import load_model

    np.testing.assert_array_equal(load_model(path).params, model.params)


def test_the_sidebar_describes_a_model_in_words(tmp_path):
    from ui.session import describe

    at = "2026-01-02T03:04:05+00:00"
    once = models.SavedModel(tmp_path / "a.npz", (784, 8, 10), 0.5, at, "stopped", 1)
    assert "(1 epoch, stopped)" in describe(once)
    assert "Test accuracy **50.00%**" in describe(once)
    twice = models.SavedModel(tmp_path / "b.npz", (784, 8, 10), None, at, "completed", 2)
    assert "(2 epochs, completed)" in describe(twice) and "Test accuracy" not in describe(twice)
