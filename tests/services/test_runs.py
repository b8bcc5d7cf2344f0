"""The run store records runs, survives concurrent writers and refuses to paper over damage."""

import io
import json
import os
import sqlite3
import threading
from dataclasses import asdict, replace

import numpy as np
import pytest

from nn import MLP, ModelConfig, ModelFileError, ModelRecord, RunConfig, TrainConfig, load_mnist, save_model
from nn.core.events import EpochEnd
from nn.core.losses import softmax
from nn.core.persistence import FORMAT, load_model
from nn.robustness.calibration import logits_of
from services import locations
from services.database import RunStoreError
from services.runs import (
    ACTIVE_POINTER,
    RUNS,
    RunDetails,
    RunStore,
    SweepPoint,
    choose_model,
    model_files,
)

EPOCH = EpochEnd(1, 2, 1.0, 0.8, None, 0.9, 1.0, 0.05)


def trained_like(hidden=(8,), seed=0, epochs=2, accuracy=0.9) -> MLP:
    """A small model with the record a training run leaves behind (no training needed)."""
    model = MLP(hidden, seed=seed)
    model.record = ModelRecord(
        training=TrainConfig(epochs=epochs, seed=seed),
        history=tuple(EpochEnd(e, epochs, 1.0 / e, 0.8, None, accuracy, 1.0, 0.05) for e in (1, 2)),
        test_accuracy=accuracy,
        train_seconds=1.5,
        status="completed",
        epochs_done=2,
        trained_at="2026-11-24T07:00:00+00:00",
    )
    return model


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite", models_dir=tmp_path / "models")


def test_add_get_and_load_round_trip(store: RunStore) -> None:
    model = trained_like(hidden=(8, 4))
    run = store.add(model, source="cli", name="  first   run ")
    assert run.name == "first run"
    assert (run.source, run.status, run.test_accuracy, run.seconds) == ("cli", "completed", 0.9, 1.5)
    assert run.created == "2026-11-24T07:00:00+00:00"
    assert run.config == RunConfig(model.config, model.record.training) and run.architecture == "784-8-4-10"
    assert run.history == model.record.history  # typed epochs, as the model file keeps them
    assert run.model_path.parent == store.model_dir and run.model_path.is_file()
    np.testing.assert_array_equal(store.load(run.id).params, model.params)
    assert store.get(run.id) == run
    assert store.runs() == [run]
    assert store.find(run.model_path) == run
    assert store.find(store.model_dir / "run-unknown.npz") is None
    assert store.find(store.model_dir.parent / run.model_path.name) is None  # not the store's folder


def test_list_is_newest_first_and_default_names_describe_the_run(store: RunStore) -> None:
    first = store.add(trained_like(), source="cli")
    second = store.add(trained_like(seed=1), source="app")
    assert [r.id for r in store.runs()] == [second.id, first.id]
    assert first.name == f"784-8-10 · momentum lr {TrainConfig().lr:g} · 2 epochs"


def test_every_run_is_saved_under_a_new_name_of_the_store(store: RunStore) -> None:
    model = trained_like()
    runs = [store.add(model, source="cli") for _ in range(3)]
    paths = {run.model_path for run in runs}
    assert len(paths) == 3 and all(p.parent == store.model_dir and p.is_file() for p in paths)
    assert all(p.name.startswith("run-") and "-8-" in p.name for p in paths)


def test_a_failed_insert_removes_the_file_it_wrote(store: RunStore) -> None:
    with sqlite3.connect(store.path) as db:
        db.execute("DROP TABLE runs")  # damage that only shows when a row is written
    with pytest.raises(RunStoreError, match="no such table"):
        store.add(trained_like(), source="app")
    assert list(store.model_dir.glob("*.npz")) == []


def test_rename_and_delete(store: RunStore) -> None:
    a = store.add(trained_like(), source="cli", name="a")
    b = store.add(trained_like(seed=1), source="app", name="b")
    assert store.rename(b.id, "better name").name == "better name"
    store.delete(b.id)
    assert not b.model_path.exists()
    assert [r.id for r in store.runs()] == [a.id]
    with pytest.raises(RunStoreError, match=f"no run {b.id}"):
        store.get(b.id)
    with pytest.raises(RunStoreError, match="no run"):
        store.rename(b.id, "x")
    with pytest.raises(RunStoreError, match="no run"):
        store.delete(b.id)
    with pytest.raises(ValueError, match="empty"):
        store.rename(a.id, "   ")
    with pytest.raises(ValueError, match="at most 80"):
        store.rename(a.id, "x" * 81)
    with pytest.raises(ValueError, match="source"):
        store.add(trained_like(), source="elsewhere")
    assert store.get(a.id).name == "a"


def test_the_index_maps_each_model_file_to_its_runs_id_and_current_name(store: RunStore) -> None:
    a = store.add(trained_like(), source="cli", name="a")
    b = store.add(trained_like(seed=1), source="app", name="b")
    store.rename(b.id, "better name")
    assert store.index() == {a.model_path: (a.id, "a"), b.model_path: (b.id, "better name")}


def test_a_model_that_says_nothing_about_itself_is_recorded_as_unknown(store: RunStore) -> None:
    run = store.add(MLP((8,), seed=0), source="upload")
    assert (run.config, run.history, run.test_accuracy, run.architecture) == (None, (), None, "?")
    assert run.name == "784-8-10"


def test_a_fine_tunes_config_is_its_networks_and_its_own_training(store: RunStore) -> None:
    model = MLP.from_config(ModelConfig(hidden=(8,), seed=9))  # built by the base's first run
    model.record = ModelRecord(training=TrainConfig(lr=0.003, seed=0), base_training=TrainConfig(seed=9))
    run = store.add(model, source="finetune")
    assert run.config == RunConfig(ModelConfig(hidden=(8,), seed=9), TrainConfig(lr=0.003, seed=0))
    assert store.get(run.id).config.model.seed == 9 and run.config.training.seed == 0


def test_runs_recorded_before_the_split_still_read(store: RunStore) -> None:
    """Rows written before ModelConfig and TrainConfig were apart hold one flat config."""
    run = store.add(trained_like(hidden=(8, 4)), source="cli")
    flat = {**TrainConfig(lr=0.01).to_dict(), **ModelConfig(hidden=(8, 4), init="small").to_dict()}
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET config = ? WHERE id = ?", (json.dumps(flat), run.id))
    db.close()
    old = store.get(run.id)
    assert old.config == RunConfig(ModelConfig(hidden=(8, 4), init="small"), TrainConfig(lr=0.01))
    assert old.architecture == "784-8-4-10"


def test_the_default_store_is_where_the_environment_says(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DIGITLAB_RUNS_DB", str(tmp_path / "elsewhere" / "store.sqlite"))
    monkeypatch.setenv("DIGITLAB_MODELS_DIR", str(tmp_path / "my-models"))
    run = RunStore().add(trained_like(), source="cli")
    assert (tmp_path / "elsewhere" / "store.sqlite").is_file()
    assert run.model_path.parent == tmp_path / "my-models" / "runs"
    assert RunStore().get(run.id) == run


def test_a_sweeps_run_keeps_its_grid_point(store: RunStore) -> None:
    point = SweepPoint(sweep_id=3, index=1, values={"lr": 0.1, "hidden": [16, 8]})
    run = store.add(trained_like(), source="sweep", details=RunDetails(point))
    assert store.get(run.id).details.sweep_point == point
    with sqlite3.connect(store.path) as db:  # the column holds what it always has
        [(details,)] = db.execute("SELECT details FROM runs").fetchall()
    db.close()
    assert json.loads(details) == {"sweep": 3, "point": 1, "values": {"lr": 0.1, "hidden": [16, 8]}}
    assert store.add(trained_like(), source="cli").details == RunDetails()


def test_a_run_keeps_where_its_model_was_trained_without_reading_its_file(store: RunStore) -> None:
    model = trained_like()
    device = "TensorFlow on GPU 0"
    model.record = replace(model.record, training=TrainConfig(engine="tensorflow"), device=device)
    point = SweepPoint(sweep_id=1, index=0, values={"engine": "tensorflow"})
    run = store.add(model, source="sweep", details=RunDetails(point))
    run.model_path.unlink()  # what a listing shows comes from the row alone
    assert (store.get(run.id).engine, store.get(run.id).device) == ("tensorflow", device)
    assert store.get(run.id).details == RunDetails(point, device)
    assert store.add(trained_like(), source="cli").device is None  # a record that does not say


def test_a_fine_tunes_account_in_an_old_rows_details_is_passed_over(store: RunStore) -> None:
    """Fine-tunes kept their account in their row too, before it was typed; their file keeps it."""
    run = store.add(trained_like(), source="finetune")
    old = {"settings": {"epochs": 3, "lr": 0.003}, "result": {"user_after": 1.0}}
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET details = ? WHERE id = ?", (json.dumps(old), run.id))
    db.close()
    assert store.get(run.id).details == RunDetails()


def test_two_threads_writing_at_once_lose_nothing(tmp_path) -> None:
    path, models = tmp_path / "runs.sqlite", tmp_path / "runs"
    RunStore(path, models)
    start, errors = threading.Barrier(2), []

    def writer(tag: str) -> None:
        try:
            store = RunStore(path, models)  # each thread with its own handle, as two browser sessions
            start.wait()
            for i in range(15):
                run = store.add(trained_like(seed=i), source="app", name=f"{tag}-{i}")
                store.rename(run.id, f"{tag}-{i}-renamed")
        except Exception as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(tag,)) for tag in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    runs = RunStore(path, models).runs()
    assert sorted(r.name for r in runs) == sorted(f"{t}-{i}-renamed" for t in "ab" for i in range(15))
    assert len({r.id for r in runs}) == 30
    assert all(r.model_path.is_file() for r in runs)
    assert len(list((models / "runs").glob("*.npz"))) == 30


def test_a_file_that_is_not_a_database_is_reported_and_left_alone(tmp_path) -> None:
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"these are not the runs you are looking for" * 100)
    before = path.read_bytes()
    with pytest.raises(RunStoreError, match=r"cannot be used.*not a database.*left exactly as it was"):
        RunStore(path, tmp_path / "runs")
    assert path.read_bytes() == before


def test_a_truncated_store_is_reported_and_left_alone(tmp_path) -> None:
    path = tmp_path / "runs.sqlite"
    store = RunStore(path, tmp_path / "runs")
    for i in range(30):
        store.add(trained_like(seed=i), source="cli", name="padding " + "x" * 60)
    with sqlite3.connect(path) as db:  # fold the WAL into the main file, as on a clean exit
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RunStoreError, match="cannot be used"):
        RunStore(path, tmp_path / "runs").runs()
    assert path.read_bytes() == data[: len(data) // 2]


def test_another_programs_database_is_not_taken_over(tmp_path) -> None:
    path = tmp_path / "runs.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(RunStoreError, match="not a Digit Lab run store"):
        RunStore(path, tmp_path / "runs")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("invoices",)]


def test_a_damaged_row_is_reported(store: RunStore) -> None:
    run = store.add(trained_like(), source="cli")
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE runs SET history = '[{broken' WHERE id = ?", (run.id,))
    with pytest.raises(RunStoreError, match=f"run {run.id} holds malformed JSON"):
        store.runs()


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("history", '[{"epoch": 1}]', r"history\[0\] must hold exactly epoch, epochs, loss"),
        (
            "history",
            json.dumps([{**asdict(EPOCH), "loss": "low"}]),
            r"history\[0\]\.loss must be a finite number",
        ),
        ("details", '{"sweep": 1}', "must give a sweep, a point and values"),
        ("details", '{"sweep": "one", "point": 0, "values": {}}', "whole numbers"),
        ("details", '{"device": 1}', "its device must be words"),
    ],
)
def test_a_row_that_is_not_what_the_store_writes_is_reported(
    store: RunStore, column: str, value: str, message: str
) -> None:
    """Read through the same checks as a model file's record: a renamed field fails loudly."""
    run = store.add(trained_like(), source="cli")
    with sqlite3.connect(store.path) as db:
        db.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, run.id))
    db.close()
    with pytest.raises(RunStoreError, match=f"run {run.id} holds malformed JSON.*{message}"):
        store.get(run.id)


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_upload_of_a_sound_model_is_stored_with_its_accuracy_measured(store: RunStore, tmp_path) -> None:
    model = trained_like(hidden=(16,))
    model.record = replace(model.record, test_accuracy=0.999)  # the file's own claim is not trusted
    path = save_model(model, tmp_path / "mine.npz")
    run = store.import_model(path.read_bytes(), name="uploaded")
    mnist = load_mnist()
    assert run.source == "upload" and run.name == "uploaded"
    assert run.test_accuracy == pytest.approx(model.score(mnist.test_images, mnist.test_labels))
    assert run.config == RunConfig(model.config, model.record.training)
    assert run.created != model.record.trained_at, "recorded as created when it arrived"
    np.testing.assert_array_equal(store.load(run.id).params, model.params)
    assert sorted(p.name for p in store.model_dir.iterdir()) == [run.model_path.name]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"x" * 2001, "2,001 bytes; a model may be at most 2,000 bytes"),
        (b"PK\x03\x04 not really a zip", "not a Digit Lab model"),
        (npz_bytes(format=np.array(FORMAT), record=np.array({"evil": 1}, dtype=object)), "not plain arrays"),
        (npz_bytes(format=np.array("something else")), "format"),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing_behind(store: RunStore, data: bytes, message: str) -> None:
    with pytest.raises(ModelFileError, match=message):
        store.import_model(data, name="bad", max_bytes=2000 if len(data) > 2000 else 10**6)
    assert store.runs() == []
    assert list(store.model_dir.glob("*")) == []


def test_upload_with_wrong_shapes_is_refused(store: RunStore, tmp_path) -> None:
    model = MLP((8,), seed=0)
    arrays = {"format": np.array(FORMAT), "layer_sizes": np.array([784, 8, 10])}
    arrays |= {"config": np.array(json.dumps(model.config.to_dict())), "record": np.array("{}")}
    arrays |= {"W0": model.weights[0][:100], "b0": model.biases[0]}
    arrays |= {"W1": model.weights[1], "b1": model.biases[1]}
    with pytest.raises(ModelFileError, match=r"^the uploaded file is not a valid .*: W0 has shape"):
        store.import_model(npz_bytes(**arrays), name="bad")
    assert store.runs() == []


def test_the_training_command_line_records_its_run(tmp_path, monkeypatch, capsys) -> None:
    from digitlab.train import main

    monkeypatch.setenv("DIGITLAB_RUNS_DB", str(tmp_path / "runs.sqlite"))
    monkeypatch.setenv("DIGITLAB_MODELS_DIR", str(tmp_path / "models"))
    assert main(["--hidden", "8", "--epochs", "1", "--train-size", "300"]) == 0
    [run] = RunStore().runs()
    assert (run.source, run.status, run.config.training.train_size, len(run.history)) == (
        "cli",
        "completed",
        300,
        1,
    )
    assert run.model_path.parent == tmp_path / "models" / "runs" and run.model_path.is_file()
    assert f"recorded as run {run.id}" in capsys.readouterr().out


def test_the_command_line_warns_but_keeps_its_result_when_the_store_is_damaged(
    tmp_path, monkeypatch, capsys
) -> None:
    from digitlab.train import main

    (tmp_path / "runs.sqlite").write_bytes(b"damaged" * 100)
    monkeypatch.setenv("DIGITLAB_RUNS_DB", str(tmp_path / "runs.sqlite"))
    monkeypatch.setenv("DIGITLAB_MODELS_DIR", str(tmp_path / "models"))
    saved = tmp_path / "mine.npz"
    assert main(["--hidden", "8", "--epochs", "1", "--train-size", "300", "--save", str(saved)]) == 0
    assert saved.is_file()
    assert "warning: the run was not recorded" in capsys.readouterr().err
    assert (tmp_path / "runs.sqlite").read_bytes() == b"damaged" * 100


def test_the_models_folder_follows_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(locations.MODELS_DIR_ENV, str(tmp_path))
    assert locations.models_dir() == tmp_path
    monkeypatch.delenv(locations.MODELS_DIR_ENV)
    assert locations.models_dir() == locations.ROOT / "models"


def test_active_pointer_round_trips_and_never_leaves_the_models_directory(store: RunStore) -> None:
    directory = store.models_dir
    run = store.add(trained_like(), source="app").model_path
    assert store.active() is None
    store.set_active(run)
    assert store.active() == run.resolve()
    assert not list(directory.glob(".*.tmp")), "a temporary file was left behind"
    save_model(trained_like(), directory.parent / "elsewhere.npz")
    (directory / ACTIVE_POINTER).write_text("../elsewhere.npz\n")
    assert store.active() is None
    run.unlink()
    (directory / ACTIVE_POINTER).write_text(f"{RUNS}/{run.name}\n")
    assert store.active() is None


def test_the_model_to_use_is_the_active_one_else_the_newest_run_else_the_first_shipped(
    store: RunStore,
) -> None:
    directory = store.models_dir
    assert choose_model(model_files(directory, store.index()), directory) is None
    shipped = [save_model(trained_like(), directory / name) for name in ("mine.npz", "default.npz")]
    assert model_files(directory, store.index()) == sorted(shipped)
    assert choose_model(model_files(directory, store.index()), directory) == directory / "default.npz"
    older, newer = (store.add(trained_like(seed=s), source="cli").model_path for s in (1, 2))
    assert model_files(directory, store.index()) == [*sorted(shipped), newer, older]
    assert choose_model(model_files(directory, store.index()), directory) == newer
    store.set_active(older)
    assert choose_model(model_files(directory, store.index()), directory) == older
    assert choose_model([newer], directory) == newer  # the active one is not among those offered


def test_a_temperature_is_saved_in_place_and_can_be_removed(store: RunStore) -> None:
    run = store.add(trained_like(), source="cli")
    path, before = run.model_path, load_model(run.model_path)
    size = len(path.read_bytes())
    assert store.set_temperature(path, 2.0, fitted_for=path.stat().st_mtime) == path
    warm = load_model(path)
    assert warm.record == replace(before.record, temperature=2.0)
    np.testing.assert_array_equal(warm.params, before.params)
    images = np.random.default_rng(0).random((100, 784))
    expected = softmax(logits_of(before, images) / 2)
    np.testing.assert_allclose(warm.predict_proba(images), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(warm.predict(images), before.predict(images))
    store.set_temperature(path, None)
    np.testing.assert_array_equal(load_model(path).predict_proba(images), before.predict_proba(images))
    assert len(path.read_bytes()) == size
    assert sorted(p.name for p in store.model_dir.iterdir()) == [path.name], "no temporary file is left"
    assert store.get(run.id) == run  # the same run, under the same name, in the same file


def test_a_shipped_model_takes_a_temperature_and_a_file_elsewhere_is_refused(
    store: RunStore, tmp_path
) -> None:
    shipped = save_model(trained_like(), store.models_dir / "default.npz")
    store.set_temperature(shipped, 1.5)
    assert load_model(shipped).temperature == 1.5
    elsewhere = save_model(trained_like(), tmp_path / "elsewhere.npz")
    before = elsewhere.read_bytes()
    with pytest.raises(ModelFileError, match="is not in the models folder"):
        store.set_temperature(elsewhere, 1.5)
    assert elsewhere.read_bytes() == before


def test_a_temperature_is_not_saved_over_a_model_that_changed_since(store: RunStore) -> None:
    path = store.add(trained_like(), source="cli").model_path
    fitted_for = path.stat().st_mtime
    os.utime(path, (fitted_for + 5, fitted_for + 5))  # someone rewrote it meanwhile
    before = path.read_bytes()
    with pytest.raises(ModelFileError, match="changed since its temperature was fitted"):
        store.set_temperature(path, 1.5, fitted_for=fitted_for)
    assert path.read_bytes() == before
