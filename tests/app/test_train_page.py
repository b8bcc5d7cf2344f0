"""The Train page without a browser: its controls, its validation and a real (tiny) run."""

import base64

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nn.core.config import MAX_WEIGHTS, PARAMETERS, PRESETS, Kind, RunConfig, TrainConfig
from nn.core.persistence import load_model
from nn.explain.inside import first_layer_features
from services.runs import ACTIVE_POINTER, RUNS
from tests.support.app_driver import button, open_page
from tests.support.figures import drawn
from ui import cache, session

TRAIN_TIMEOUT = 300
SVG_DATA = "data:image/svg+xml;base64,"


def number_inputs(app):
    return {w.key: w for w in app.sidebar.number_input}


def test_sidebar_offers_every_hyperparameter_with_the_defaults(models_dir):
    app = open_page("app_pages/train.py")
    inputs, selects = number_inputs(app), {s.key: s for s in app.sidebar.selectbox}
    defaults = TrainConfig()
    assert inputs["hp_epochs"].value == 20
    assert inputs["hp_hidden_count"].value == 2
    assert (inputs["hp_hidden_0"].value, inputs["hp_hidden_1"].value) == (128, 64)
    assert inputs["hp_lr"].value == defaults.lr
    assert inputs["hp_batch_size"].value == defaults.batch_size
    assert inputs["hp_seed"].value == defaults.seed
    assert inputs["hp_train_size"].value is None  # all 60,000 images
    assert selects["hp_optimizer"].value == defaults.optimizer
    assert list(selects["hp_optimizer"].options) == list(PARAMETERS["optimizer"].choices)
    assert inputs["hp_epochs"].help == PARAMETERS["epochs"].help
    assert not button(app, "Train").disabled
    assert button(app, "Stop").disabled
    assert "No run yet" in app.info[0].value
    # Train on the untouched sidebar: the run is the default preset, every value as the table has it.
    button(app, "Train").click().run()
    trainer = app.session_state[session.TRAINER]
    trainer.stop()  # what Stop (or Cancel, while it waits for a worker) does: 20 epochs are not the point
    assert trainer.task.config == PRESETS["default"]
    assert trainer.join(TRAIN_TIMEOUT)


def test_hidden_layer_count_adds_and_removes_width_controls(models_dir):
    app = open_page("app_pages/train.py")
    number_inputs(app)["hp_hidden_count"].set_value(3).run()
    widths = [k for k in number_inputs(app) if k.startswith("hp_hidden_") and k != "hp_hidden_count"]
    assert widths == ["hp_hidden_0", "hp_hidden_1", "hp_hidden_2"]
    number_inputs(app)["hp_hidden_count"].set_value(1).run()
    assert "hp_hidden_1" not in number_inputs(app)
    spec = PARAMETERS["hidden"]
    count = number_inputs(app)["hp_hidden_count"]
    assert count.max == spec.app_max_layers < spec.max_layers, "the sidebar's own limit, not the engine's"
    count.set_value(spec.app_max_layers).run()
    assert f"hp_hidden_{spec.app_max_layers - 1}" in number_inputs(app)
    assert not app.sidebar.error and not button(app, "Train").disabled, "the engine takes the deepest offered"


def test_too_many_weights_is_explained_beside_the_hidden_layers_and_blocks_training(models_dir):
    app = open_page("app_pages/train.py")
    inputs = number_inputs(app)
    inputs["hp_hidden_0"].set_value(8192)
    inputs["hp_hidden_1"].set_value(8192).run()
    sidebar_errors = [e.value for e in app.sidebar.error]
    assert len(sidebar_errors) == 1
    assert sidebar_errors[0].startswith("Hidden layers")
    assert f"{MAX_WEIGHTS:,} weights" in sidebar_errors[0]
    assert button(app, "Train").disabled
    assert "see the messages in the sidebar" in app.main.error[0].value
    assert not app.exception


def test_holding_out_the_whole_subset_is_explained_beside_validation_images(models_dir):
    app = open_page("app_pages/train.py")
    inputs = number_inputs(app)
    inputs["hp_train_size"].set_value(1000)
    inputs["hp_val_size"].set_value(1000).run()
    messages = [e.value for e in app.sidebar.error]
    assert messages == [
        "Validation images holding out 1000 images leaves none of the 1000 training images to learn from"
    ]
    assert button(app, "Train").disabled


def test_train_uses_a_value_changed_in_the_same_interaction(models_dir):
    """Typing a value and clicking Train at once (the input commits on blur) trains with that value."""
    app = open_page("app_pages/train.py")
    inputs = number_inputs(app)
    inputs["hp_epochs"].set_value(1)
    inputs["hp_hidden_0"].set_value(8)
    inputs["hp_train_size"].set_value(300).run()
    number_inputs(app)["hp_seed"].set_value(7)
    button(app, "Train").click().run()
    trainer = app.session_state[session.TRAINER]
    assert trainer.task.config.model.seed == trainer.task.config.training.seed == 7
    assert trainer.join(TRAIN_TIMEOUT)


def start_tiny_run(app, epochs: int, train_size: int = 500):
    inputs = number_inputs(app)
    inputs["hp_epochs"].set_value(epochs)
    inputs["hp_hidden_count"].set_value(1)
    inputs["hp_train_size"].set_value(train_size).run()
    number_inputs(app)["hp_hidden_0"].set_value(16).run()
    button(app, "Train").click().run()
    trainer = app.session_state[session.TRAINER]
    config = trainer.task.config
    assert config.model.hidden == (16,) and config.training.epochs == epochs
    return trainer


def test_a_tiny_run_finishes_saves_its_model_and_becomes_active(models_dir):
    app = open_page("app_pages/train.py")
    trainer = start_tiny_run(app, epochs=2)
    assert trainer.join(TRAIN_TIMEOUT), "the run did not finish"
    app.run()
    assert not app.exception
    saved = list((models_dir / RUNS).glob("*.npz"))
    assert len(saved) == 1
    model = load_model(saved[0])
    assert model.layer_sizes == (784, 16, 10)
    assert model.record.status == "completed" and model.record.epochs_done == 2
    assert len(model.record.history) == 2
    assert app.sidebar.selectbox(key="active_model").value == str(saved[0])
    assert (models_dir / ACTIVE_POINTER).read_text().strip() == f"{RUNS}/{saved[0].name}"
    assert any(saved[0].name in s.value for s in app.success)
    [curves, *pictures] = app.get("image")
    series, _, _ = drawn(base64.b64decode(curves.proto.imgs[0].url.removeprefix(SVG_DATA)).decode())
    assert [len(series[name]) for name in ("loss", "train accuracy", "held-out accuracy")] == [2, 2, 2]
    assert [m.value for m in app.metric if m.label == "Epochs done"] == ["2 / 2"]
    # the live grid of first-layer features shows the trained weights, as saved
    np.testing.assert_array_equal(trainer.progress().features, first_layer_features(model))
    # the features and the last hidden layer's map of 2,000 test digits, as of the last epoch, drawn
    # as pictures (ui.inside.feature_grid_picture, ui.layer_maps.map_picture)
    assert len(pictures) == 2
    layer_map = trainer.progress().layer_map
    assert layer_map.points.shape == (2000, 2)
    assert any("How hidden 1 (16) sorts 2,000 test digits" in m.value for m in app.markdown)
    restarted = open_page("app_pages/train.py")  # a new session, as after a restart of the app
    assert restarted.sidebar.selectbox(key="active_model").value == str(saved[0])


def test_stop_ends_the_run_early_and_keeps_the_model_trained_so_far(models_dir):
    app = open_page("app_pages/train.py")
    trainer = start_tiny_run(app, epochs=1000, train_size=2000)
    app.run()
    assert not button(app, "Stop").disabled
    # The sidebar, redrawn only with the whole page, names the run without a count that would freeze.
    assert any("A run of 1000 epochs is training" in c.value for c in app.sidebar.caption)
    button(app, "Stop").click().run()
    assert trainer.join(TRAIN_TIMEOUT), "Stop did not end the run"
    app.run()
    [saved] = (models_dir / RUNS).glob("*.npz")
    record = load_model(saved).record
    assert record.status == "stopped"
    assert record.epochs_done < 1000
    assert any("stopped during epoch" in w.value.lower() for w in app.warning)
    assert app.sidebar.selectbox(key="active_model").value == str(saved)


def test_choosing_a_preset_fills_every_control_and_leaves_them_editable(models_dir):
    app = open_page("app_pages/train.py")
    app.sidebar.selectbox(key="hp_preset").set_value("best").run()
    best = PRESETS["best"].values()
    inputs, selects = number_inputs(app), {s.key: s for s in app.sidebar.selectbox}
    assert (inputs["hp_hidden_0"].value, inputs["hp_hidden_1"].value) == best["hidden"]
    assert (inputs["hp_epochs"].value, inputs["hp_batch_size"].value) == (best["epochs"], best["batch_size"])
    assert inputs["hp_lr"].value == best["lr"]
    assert app.sidebar.multiselect(key="hp_augment").value == best["augment"].split("+")
    assert "99" in app.sidebar.caption[0].value  # the preset's description, with its accuracy
    inputs["hp_epochs"].set_value(3).run()
    app.sidebar.selectbox(key="hp_preset").set_value("classic").run()
    inputs, selects = number_inputs(app), {s.key: s for s in app.sidebar.selectbox}
    assert (
        inputs["hp_batch_size"].value == 1 and inputs["hp_epochs"].value == PRESETS["classic"].training.epochs
    )
    assert (selects["hp_optimizer"].value, selects["hp_init"].value) == ("sgd", "small")
    assert not app.exception and not app.sidebar.error


def sidebar_only() -> None:
    """A script of the sidebar alone, keeping what it returns (run by AppTest.from_function)."""
    import streamlit as st

    from ui.params import hyperparameter_sidebar

    st.session_state["returned"] = hyperparameter_sidebar()


def a_new_value(spec, value):
    """A valid value other than `value`, from the table alone."""
    if spec.kind is Kind.CHOICE:
        return next(choice for choice in reversed(spec.choices) if choice != value)
    if spec.kind is Kind.WIDTHS:
        return (value[0] + int(spec.step), *value[1:])
    if value is None:  # an optional number left unset
        return int(spec.minimum + spec.step)
    changed = value + spec.step
    return changed if changed <= spec.maximum else value - spec.step


def test_every_parameter_gets_its_control_from_the_table_alone_and_its_value_reaches_the_config():
    app = AppTest.from_function(sidebar_only, default_timeout=60).run()
    assert not app.exception
    [more] = app.sidebar.expander
    tucked_away = {w.key for w in [*more.number_input, *more.selectbox, *more.multiselect]}
    controls = {
        w.key: w for w in [*app.sidebar.number_input, *app.sidebar.selectbox, *app.sidebar.multiselect]
    }
    defaults = PRESETS["default"].values()
    expected = {}
    for name, spec in PARAMETERS.items():
        key = f"hp_{name}_count" if spec.kind is Kind.WIDTHS else f"hp_{name}"
        control = controls.pop(key)
        assert control.label == spec.label, name
        assert (key in tucked_away) == spec.advanced, name
        if spec.kind is Kind.CHOICE:
            shown = [(spec.choice_labels or {}).get(choice, choice) for choice in spec.choices]
            assert list(control.options) == shown and control.help == spec.help, name
            control.set_value(expected.setdefault(name, a_new_value(spec, defaults[name])))
            continue
        if spec.kind is Kind.COMBINATION:  # several of the choices after the first, "none"
            assert list(control.options) == list(spec.choices[1:]) and control.help == spec.help, name
            chosen = list(spec.choices[-2:])
            control.set_value(chosen)
            expected[name] = "+".join(chosen)
            continue
        if spec.kind is Kind.WIDTHS:  # the count, then one control per width
            control = controls.pop(f"hp_{name}_0")
            controls.pop(f"hp_{name}_1")
        assert (control.min, control.max, control.step) == (spec.minimum, spec.maximum, spec.step), name
        assert control.help == spec.help, name
        expected[name] = a_new_value(spec, defaults[name])
        control.set_value(expected[name][0] if spec.kind is Kind.WIDTHS else expected[name])
    assert set(controls) == {"hp_preset"}, "no control that the table does not describe"
    # The one pair of new values that cannot go together: adversarial training needs the numpy engine.
    assert expected["engine"] != "numpy"
    app.sidebar.number_input(key="hp_adversarial").set_value(defaults["adversarial"])
    del expected["adversarial"]
    app.run()
    config, problems = app.session_state["returned"]
    assert problems == {}
    assert config == RunConfig.from_values(defaults | expected)
    assert config.values() != defaults and config.model.seed == config.training.seed == expected["seed"]


def test_a_models_folder_that_cannot_be_written_is_explained_and_the_model_offered_to_download(models_dir):
    (models_dir / RUNS).write_text("a file where the runs folder should be")
    app = open_page("app_pages/train.py")
    trainer = start_tiny_run(app, epochs=1)
    assert trainer.join(TRAIN_TIMEOUT)
    app.run()
    [error] = [e.value for e in app.error]
    assert f"could not be saved in {models_dir}: File exists" in error
    [download] = app.get("download_button")
    assert "Download the trained model" in download.proto.label


def test_a_run_store_that_cannot_be_created_is_explained_and_blocks_training(models_dir, monkeypatch):
    blocker = models_dir / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("DIGITLAB_RUNS_DB", str(blocker / "runs.sqlite"))
    app = open_page("app_pages/train.py")
    assert any(
        "Runs cannot be saved, so none can start" in e.value and "cannot be created" in e.value
        for e in app.error
    )
    assert button(app, "Train").disabled


def test_an_unreachable_dask_scheduler_is_explained_and_blocks_training(models_dir, monkeypatch):
    monkeypatch.setenv("DIGITLAB_DASK_SCHEDULER", "tcp://127.0.0.1:9")  # nothing listens on port 9
    app = open_page("app_pages/train.py")
    assert any(
        "Runs cannot start" in e.value and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in e.value
        for e in app.error
    ), [e.value for e in app.error]
    assert button(app, "Train").disabled


def test_an_unreachable_dask_scheduler_is_not_tried_again_on_every_rerun(models_dir, monkeypatch):
    from services.cluster import ClusterError

    monkeypatch.setenv("DIGITLAB_DASK_SCHEDULER", "tcp://127.0.0.1:9")  # nothing listens on port 9
    cache._unreachable.clear()
    with pytest.raises(ClusterError) as first:
        cache.runner()
    with pytest.raises(ClusterError) as again:
        cache.runner()
    assert again.value is first.value  # told at once, not after another attempt of 10 s
    monkeypatch.setattr(cache, "SCHEDULER_RETRY_SECONDS", 0.0)
    with pytest.raises(ClusterError) as later:
        cache.runner()
    assert later.value is not first.value  # tried again once the time is up
