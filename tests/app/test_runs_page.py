"""The Compare runs page without a browser: list, tick → curves, make active, rename, delete."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from nn.core.config import TrainConfig
from nn.core.events import EpochEnd
from nn.core.network import MLP
from nn.core.record import ModelRecord
from services.runs import ACTIVE_POINTER, RunStore
from tests.support.app_driver import ROOT, SHIPPED_MODEL, button
from ui import cache
from ui.session import ACTIVE

PAGE = str(ROOT / "app_pages" / "runs.py")


@pytest.fixture
def store(models_dir, tmp_path, monkeypatch) -> RunStore:
    """An empty run store of the app's models directory, as the page will open it."""
    monkeypatch.setenv("DIGITLAB_RUNS_DB", str(tmp_path / "runs.sqlite"))
    return RunStore()


def recorded(store: RunStore, name: str, lr: float, losses: list[float]) -> int:
    model = MLP((8,), seed=0)
    model.record = ModelRecord(
        training=TrainConfig(lr=lr, epochs=len(losses)),
        history=tuple(
            EpochEnd(i + 1, len(losses), loss, 0.5, None, 1 - loss / 3, 1.0, lr)
            for i, loss in enumerate(losses)
        ),
        test_accuracy=1 - losses[-1] / 3,
        train_seconds=12.0,
    )
    return store.add(model, source="cli", name=name).id


def open_runs() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_an_empty_store_says_how_runs_get_there(store):
    app = open_runs()
    assert "No runs recorded yet" in app.info[0].value
    assert len(app.checkbox) == 0


def test_ticking_two_runs_overlays_their_curves(store):
    fast = recorded(store, "fast", 0.1, [0.9, 0.4, 0.2])
    slow = recorded(store, "slow", 0.01, [2.0, 1.5])
    app = open_runs()
    assert [c.label for c in app.checkbox] == ["slow", "fast"]  # newest first
    assert "Tick one or more runs" in app.info[0].value
    app.checkbox(key=f"compare_{fast}").check().run()
    app.checkbox(key=f"compare_{slow}").check().run()
    charts = app.get("plotly_chart")
    assert len(charts) == 1
    traces = json.loads(charts[0].proto.spec)["data"]
    assert [(t["name"], t["xaxis"]) for t in traces] == [
        ("slow", "x"),
        ("slow", "x2"),
        ("fast", "x"),
        ("fast", "x2"),
    ]
    assert traces[0]["y"] == [2.0, 1.5] and traces[2]["y"] == [0.9, 0.4, 0.2]
    assert traces[3]["y"] == pytest.approx([0.7, 1 - 0.4 / 3, 1 - 0.2 / 3])
    captions = [c.value for c in app.caption]
    assert f"784-8-10 · momentum lr 0.01, batch {TrainConfig().batch_size}" in captions
    app.checkbox(key=f"compare_{fast}").uncheck().run()
    assert [t["name"] for t in json.loads(app.get("plotly_chart")[0].proto.spec)["data"]] == ["slow", "slow"]


def test_make_active_switches_the_apps_model_and_remembers_it(store, models_dir):
    run = store.get(recorded(store, "mine", 0.1, [0.5]))
    app = open_runs()
    button(app, "Make active").click().run()
    assert app.session_state[ACTIVE] == str(models_dir / "runs" / run.model_path.name)
    assert (models_dir / ACTIVE_POINTER).read_text().strip() == f"runs/{run.model_path.name}"
    assert "“mine” is now the active model." in [s.value for s in app.success]
    assert app.checkbox[0].label == "mine ★"
    [entry] = [m for m in cache.saved_models()[0] if m.path.name == run.model_path.name]
    assert entry.label.startswith("mine ("), "the sidebar's picker calls a run by its name too"


def test_rename_and_delete(store):
    keep = recorded(store, "keep", 0.1, [0.5])
    doomed = recorded(store, "doomed", 0.1, [0.5])
    doomed_file = store.get(doomed).model_path
    app = open_runs()
    assert app.selectbox[0].value == doomed
    app.text_input(key=f"new_name_{doomed}").input("renamed run").run()
    button(app, "Save name").click().run()
    assert store.get(doomed).name == "renamed run"
    app.text_input(key=f"new_name_{doomed}").input("   ").run()
    button(app, "Save name").click().run()
    assert "A run's name cannot be empty." in [e.value for e in app.error]
    button(app, "Delete for good").click().run()
    assert [r.id for r in store.runs()] == [keep]
    assert not doomed_file.exists()
    assert [c.label for c in app.checkbox] == ["keep"]


def test_a_damaged_store_is_reported_and_left_alone(models_dir, tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"not a database at all" * 50)
    monkeypatch.setenv("DIGITLAB_RUNS_DB", str(path))
    app = open_runs()
    assert "cannot be used" in app.error[0].value and str(path) in app.error[0].value
    assert path.read_bytes() == b"not a database at all" * 50


def test_the_shipped_model_can_be_uploaded_as_a_run(store, models_dir, shipped_model, mnist):
    # The page hands the uploaded bytes to RunStore.import_model; AppTest cannot drive the
    # uploader itself, so this checks the store side of that path with the real shipped file.
    run = store.import_model(SHIPPED_MODEL.read_bytes(), name="default")
    assert run.model_path.parent == models_dir / "runs"
    assert run.test_accuracy == shipped_model.score(mnist.test_images, mnist.test_labels)
    app = open_runs()
    assert app.checkbox[0].label == "default"


def test_a_deskewing_run_offers_its_npz_only_and_says_why(store):
    upright = MLP((8,), seed=0, prepare="deskew")
    upright.record = ModelRecord(training=TrainConfig(epochs=1))
    store.add(upright, source="cli", name="upright")
    app = open_runs()
    labels = [b.label for b in app.get("download_button")]
    assert "Download .npz" in str(labels) and ".onnx" not in str(labels)
    assert not [b for b in app.button if b.label == "Prepare .keras"]
    assert any("deskews every image before reading it" in c.value for c in app.caption)


def test_a_run_whose_file_was_damaged_says_so_and_keeps_its_other_actions(store):
    run = store.add(MLP((8,), seed=0), source="cli", name="damaged")
    run.model_path.write_bytes(b"not a model" * 10)
    app = open_runs()
    assert not app.exception
    assert any("Its model file cannot be read" in e.value for e in app.error)
    labels = [b.label for b in app.get("download_button")]
    assert "Download .npz" in str(labels) and ".onnx" not in str(labels)
    assert button(app, "Make active") is not None
