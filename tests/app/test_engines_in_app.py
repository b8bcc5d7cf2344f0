"""The two engines in the app, without a browser: the sidebar and the sweep form name them, the
Train page says where a run computes, Compare runs shows each run's engine and device and hands
out a `.keras` file, and Step by step sets TensorFlow's gradients beside NumPy's.

TensorFlow runs here in the framework's process and in workers, as in the app; this test process
also imports it, to train a run in-process and to open the `.keras` file (the server's own
process never does: tests/app/test_no_framework_in_server.py).
"""

from __future__ import annotations

import inspect
import json
import textwrap

import keras
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn.core.config import RunConfig
from nn.core.layers import Dense
from nn.core.network import MLP
from nn.core.persistence import load_model
from nn.engines import start_training
from services.framework_calls import FrameworkError
from services.job_states import JobState
from services.jobs import Progress
from services.runs import RUNS, RunStore
from services.tasks import TrainTask
from tests.support.app_driver import ROOT, SHIPPED_MODEL, button, open_page, open_page_alone
from ui import live, runs, session, stepwise

TRAIN_TIMEOUT = 300
# A click that asks the framework process: its first call loads TensorFlow at the lowest priority,
# which on a busy machine takes far longer than the few seconds it takes on an idle one.
FRAMEWORK_TIMEOUT = 300
TINY = dict(hidden=(16,), epochs=1, train_size=500)
LABELS = ["NumPy (from scratch)", "TensorFlow"]
TF_DEVICE = "TensorFlow 2.21.0 on the CPU"  # this machine has no GPU
PREPARE, COMPUTE = "Prepare .keras", "Compute the same gradients in TensorFlow"


@pytest.fixture
def store(models_dir, tmp_path, monkeypatch) -> RunStore:
    """An empty run store of the app's models directory, as the pages will open it."""
    monkeypatch.setenv("DIGITLAB_RUNS_DB", str(tmp_path / "runs.sqlite"))
    return RunStore()


@pytest.fixture(scope="module")
def tiny_models(mnist) -> dict[str, MLP]:
    """The same tiny run trained by each engine, in this process."""
    trained = {}
    for engine in ("numpy", "tensorflow"):
        training = start_training(RunConfig.from_values(TINY | {"engine": engine}), mnist, threads=1)
        for _ in training.events():
            pass
        trained[engine] = training.model
    return trained


def test_the_sidebar_names_the_engines_and_a_tensorflow_run_records_its_engine(models_dir):
    app = open_page("app_pages/train.py")
    engine = app.sidebar.selectbox(key="hp_engine")
    assert list(engine.options) == LABELS and engine.value == "numpy"
    engine.set_value("tensorflow")
    inputs = {w.key: w for w in app.sidebar.number_input}
    inputs["hp_epochs"].set_value(1)
    inputs["hp_hidden_count"].set_value(1)
    inputs["hp_train_size"].set_value(500).run()
    {w.key: w for w in app.sidebar.number_input}["hp_hidden_0"].set_value(16).run()
    button(app, "Train").click().run()
    trainer = app.session_state[session.TRAINER]
    assert trainer.task.config.training.engine == "tensorflow"
    assert trainer.join(TRAIN_TIMEOUT), "the run did not finish"
    app.run()
    assert not app.exception
    captions = [c.value for c in app.caption]
    assert any(c.startswith(f"Trained on {TF_DEVICE}") for c in captions), captions
    [saved] = (models_dir / RUNS).glob("*.npz")
    record = load_model(saved).record
    assert record.training.engine == "tensorflow" and record.device.startswith(TF_DEVICE)
    [run] = RunStore().runs()
    assert (run.engine, run.device) == ("tensorflow", record.device)


def test_the_train_page_says_where_a_run_computes_and_that_tensorflow_is_loading():
    task = TrainTask(RunConfig.from_values(TINY | {"engine": "tensorflow"}))
    assert live.device_line(Progress(task)) is None  # waiting for a worker: the queue is what matters
    loading = Progress(task, state=JobState.RUNNING)
    loading_line = "TensorFlow is starting in the worker: loading it takes a few seconds."
    assert live.device_line(loading) == loading_line
    device = "TensorFlow 2.21.0 on the CPU: no GPU found"
    running = Progress(task, state=JobState.RUNNING, device=device)
    assert live.device_line(running) == f"Training on {device}"
    assert live.answer(running)["device"] == f"Training on {device}"  # what the browser draws
    assert live.device_line(Progress(task, state=JobState.FINISHED, device=device)) == f"Trained on {device}"
    numpy = TrainTask(RunConfig.from_values(TINY))
    assert live.device_line(Progress(numpy, state=JobState.RUNNING)) is None  # NumPy starts at once


def test_the_sweep_form_offers_both_engines_by_their_labels(models_dir):
    app = open_page("app_pages/sweeps.py")
    app.multiselect(key="sweep_names").set_value(["engine"]).run()
    engines = app.multiselect(key="sweep_engine")
    assert list(engines.options) == LABELS and engines.value == ["numpy", "tensorflow"]


def open_runs() -> AppTest:
    app = AppTest.from_file(str(ROOT / "app_pages" / "runs.py"), default_timeout=120).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_compare_runs_shows_each_runs_engine_and_device_and_overlays_both(store, tiny_models):
    ids = {engine: store.add(model, source="cli").id for engine, model in tiny_models.items()}
    app = open_runs()
    assert "NumPy (from scratch)  \nNumPy on the CPU" in [c.value for c in app.caption]
    [tensorflow] = [c.value for c in app.caption if c.value.startswith("TensorFlow  \n")]
    assert tensorflow.endswith(TF_DEVICE + ": no GPU found")
    for run_id in ids.values():
        app.checkbox(key=f"compare_{run_id}").check().run()
    traces = json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
    name = store.get(ids["numpy"]).name
    assert name == store.get(ids["tensorflow"]).name, "the same settings: the same default name"
    assert [t["name"] for t in traces[::2]] == [f"{name} (TensorFlow)", f"{name} (NumPy (from scratch))"]
    assert [len(t["y"]) for t in traces] == [1, 1, 1, 1]


def test_the_keras_download_answers_as_the_model_does(store, mnist, tmp_path):
    run = store.import_model(SHIPPED_MODEL.read_bytes(), name="default")
    app = open_runs()
    assert "Download .keras" not in labels(app)
    button(app, PREPARE).click().run(timeout=FRAMEWORK_TIMEOUT)
    assert not app.exception and not app.error
    assert "Download .keras" in labels(app) and PREPARE not in [b.label for b in app.button]
    key, data = app.session_state[runs.KERAS]
    assert key[0] == run.id
    path = tmp_path / "default.keras"
    path.write_bytes(data)
    loaded = keras.models.load_model(path)
    images = mnist.test_images[:500].reshape(-1, 784).astype(np.float32) / 255
    model = load_model(run.model_path)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict_proba(images), atol=1e-5)
    app.run()  # a rerun offers the prepared file again, without writing it again
    assert "Download .keras" in labels(app) and app.session_state[runs.KERAS][1] is data


def labels(app: AppTest) -> list[str]:
    return [d.proto.label for d in app.get("download_button")]


def test_a_keras_file_that_cannot_be_written_is_said_in_words(store, monkeypatch):
    store.import_model(SHIPPED_MODEL.read_bytes(), name="default")

    def broken(model):
        raise FrameworkError("the framework process stopped unexpectedly; try again")

    monkeypatch.setattr(runs, "keras_file", broken)
    app = open_runs()
    button(app, PREPARE).click().run()
    assert [e.value for e in app.error] == [
        "The .keras file could not be written: the framework process stopped unexpectedly; try again"
    ]
    assert PREPARE in [b.label for b in app.button], "asking again stays possible"


def first_mistake(model: MLP, mnist) -> int:
    """A digit the network finds hard: its gradients are large, so float32 rounding is small beside them."""
    return int(np.flatnonzero(model.predict(mnist.test_images[:1000]) != mnist.test_labels[:1000])[0])


def test_step_by_step_sets_tensorflows_gradients_beside_numpys(models_dir, shipped_model, mnist):
    app = open_page_alone(ROOT / "app_pages" / "step_by_step.py", models_dir / SHIPPED_MODEL.name)
    app.number_input[0].set_value(first_mistake(shipped_model, mnist)).run()
    assert not app.code
    button(app, COMPUTE).click().run(timeout=FRAMEWORK_TIMEOUT)
    assert not app.exception and not app.error
    tensorflow, numpy = (c.value for c in app.code)
    assert "with tf.GradientTape() as tape:" in tensorflow and "tape.gradient(loss" in tensorflow
    assert textwrap.dedent(inspect.getsource(Dense.backward)).strip() in numpy, "nn.core's real source"
    assert "def loss_and_gradients" in numpy and "def cross_entropy" in numpy
    relative = next(m.value for m in app.metric if m.label == "Relative to the largest gradient")
    assert float(relative) < 1e-5
    assert any(f"Computed by {TF_DEVICE}" in c.value for c in app.caption)
    app.run()  # any rerun: the answer is kept for this model and digit, not asked for again
    assert COMPUTE not in [b.label for b in app.button] and len(app.code) == 2
    app.number_input[0].set_value(0).run()  # another digit: asked for only when wanted
    assert COMPUTE in [b.label for b in app.button] and not app.code


def test_a_failed_tensorflow_step_is_said_in_words(models_dir, monkeypatch):
    def missing(model, image, label):
        raise FrameworkError("this needs Keras 3 and TensorFlow, which are not installed here")

    monkeypatch.setattr(stepwise, "compare_step", missing)
    app = open_page_alone(ROOT / "app_pages" / "step_by_step.py", models_dir / SHIPPED_MODEL.name)
    button(app, COMPUTE).click().run()
    assert [e.value for e in app.error] == [
        "TensorFlow could not compute them: this needs Keras 3 and TensorFlow, which are not installed here"
    ]
    assert not app.code
