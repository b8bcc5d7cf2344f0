"""The Sweeps page without a browser: setting up a grid, a real (tiny) sweep, its results, reopening."""

import json
import time

import pytest

from services.journal import Journal
from services.locations import RUNS_DB_ENV
from services.runs import ACTIVE_POINTER, RUNS, RunStore
from services.sweep_store import SweepStore
from services.sweeps import HONEST_CHOICE
from tests.support.app_driver import button, open_page
from ui import sweeps

TIMEOUT = 300


@pytest.fixture(autouse=True)
def own_run_store(tmp_path, monkeypatch):
    """A run store of this test's own: it sees its own sweeps and no other test's."""
    monkeypatch.setenv(RUNS_DB_ENV, str(tmp_path / "runs.sqlite"))


def number_inputs(app):
    return {w.key: w for w in app.sidebar.number_input}


def tiny_sidebar(app, val_size: int = 100) -> None:
    inputs = number_inputs(app)
    inputs["hp_epochs"].set_value(1)
    inputs["hp_hidden_count"].set_value(1)
    inputs["hp_train_size"].set_value(500)
    inputs["hp_val_size"].set_value(val_size).run()
    number_inputs(app)["hp_hidden_0"].set_value(16).run()


def test_a_sweep_needs_held_out_images_and_the_page_says_why(models_dir):
    app = open_page("app_pages/sweeps.py")
    assert app.multiselect(key="sweep_names").value == ["lr"]
    assert app.text_input(key="sweep_lr").value == "0.01, 0.03, 0.1"
    errors = [e.value for e in app.main.error]
    assert any("chooses its best run by validation accuracy" in e for e in errors), errors
    assert button(app, "Start the sweep").disabled
    button(app, "Hold out 10,000 images for validation").click().run()
    assert number_inputs(app)["hp_val_size"].value == 10_000
    assert not button(app, "Start the sweep").disabled
    assert any(i.value.startswith("3 runs on this machine") for i in app.info)
    app.text_input(key="sweep_lr").set_value("0.1, fast").run()
    assert any("lr: '0.1, fast' is not a list of numbers" in e.value for e in app.main.error)
    assert button(app, "Start the sweep").disabled
    assert "No sweep yet" in app.info[-1].value


def test_the_form_offers_what_the_parameter_table_says_of_sweeping(models_dir):
    app = open_page("app_pages/sweeps.py")
    offered = app.multiselect(key="sweep_names").options
    assert "Random seed" not in offered and "Validation images" not in offered  # not sweepable
    app.multiselect(key="sweep_names").set_value(["lr", "hidden", "optimizer"]).run()
    assert app.text_input(key="sweep_hidden").value == "64, 128 64, 256 128"
    assert "one architecture per comma, layer widths by spaces" in app.text_input(key="sweep_hidden").help
    assert app.multiselect(key="sweep_optimizer").value == ["sgd", "momentum", "adam"]  # every choice


def test_a_tiny_two_by_two_sweep_runs_ranks_its_runs_and_offers_the_best(models_dir):
    app = open_page("app_pages/sweeps.py")
    tiny_sidebar(app)
    app.multiselect(key="sweep_names").set_value(["lr", "batch_size"]).run()
    app.text_input(key="sweep_lr").set_value("0.03, 0.3")
    app.text_input(key="sweep_batch_size").set_value("32, 128").run()
    assert any(i.value.startswith("4 runs on this machine") for i in app.info)
    button(app, "Start the sweep").click().run()
    assert not app.exception
    store = RunStore()
    record = SweepStore().sweeps()[0]
    assert app.selectbox(key=sweeps.CURRENT).value == record.id
    assert len(record.job_ids) == 4 and record.name == "lr × batch_size (2 × 2 runs)"
    live = app.table[0].value
    assert list(live.columns) == ["Learning rate", "Batch size", "val. accuracy", "epochs", "status"]
    assert len(live) == 4 and set(live["status"]) <= {
        "waiting",
        "waiting · 1 ahead",
        "running · epoch 1/1",
        "finished",
    }
    assert button(app, "Cancel the sweep") is not None
    wait_until_over(Journal(), record.job_ids)
    app.run()
    assert not app.exception
    results = app.dataframe[0].value
    accuracies = [float(v.rstrip("%")) for v in results["val. accuracy"]]
    assert accuracies == sorted(accuracies, reverse=True) and list(results["rank"]) == [1, 2, 3, 4]
    assert "test" not in " ".join(results.columns)
    metrics = {m.label: m.value for m in app.metric}
    best = store.get(int(results["run"][0]))
    assert metrics["Validation accuracy"] == results["val. accuracy"][0]
    assert metrics["Its test accuracy"] == f"{best.test_accuracy:.2%}"
    assert HONEST_CHOICE in [c.value for c in app.caption]
    [heatmap, curves] = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    assert heatmap["data"][0]["type"] == "heatmap" and heatmap["data"][0]["x"] == ["32", "128"]
    assert heatmap["data"][0]["y"] == ["0.03", "0.3"]
    row = ["0.03", "0.3"].index(results["Learning rate"][0])
    column = ["32", "128"].index(results["Batch size"][0])
    assert f"{heatmap['data'][0]['z'][row][column]:.2%}" == results["val. accuracy"][0]
    assert len(curves["data"]) == 8  # loss and validation accuracy of each of the four runs
    button(app, "Make the best run active").click().run()
    assert (models_dir / ACTIVE_POINTER).read_text().strip() == f"{RUNS}/{best.model_path.name}"
    reopened = open_page("app_pages/sweeps.py")  # a new session: the sweep is reopened from the store
    assert reopened.selectbox(key=sweeps.CURRENT).value == record.id
    assert list(reopened.dataframe[0].value["run"]) == list(results["run"])


def wait_until_over(journal: Journal, job_ids) -> None:
    deadline = time.monotonic() + TIMEOUT
    while any(job.state.unfinished for job in journal.jobs(ids=job_ids)):
        assert time.monotonic() < deadline, "the sweep did not finish"
        time.sleep(0.2)


def test_a_one_parameter_sweep_plots_validation_accuracy_against_its_values(models_dir):
    app = open_page("app_pages/sweeps.py")
    tiny_sidebar(app)
    app.multiselect(key="sweep_names").set_value(["lr"]).run()
    app.text_input(key="sweep_lr").set_value("0.3, 0.003").run()
    button(app, "Start the sweep").click().run()
    record = SweepStore().sweeps()[0]
    wait_until_over(Journal(), record.job_ids)
    app.run()
    assert not app.exception
    assert "Validation accuracy by learning rate" in [h.value for h in app.subheader]
    [by_value, _curves] = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    line = by_value["data"][0]
    assert line["type"] == "scatter" and line["x"] == ["0.3", "0.003"]  # in the order they were given
    results = app.dataframe[0].value
    expected = dict(zip(results["Learning rate"], results["val. accuracy"]))
    assert [f"{a:.2%}" for a in line["y"]] == [expected["0.3"], expected["0.003"]]
    assert line["y"][0] != line["y"][1]  # a hundredfold learning rate learns differently in an epoch


def test_a_recorded_sweep_that_cannot_be_read_is_reported_in_words(models_dir):
    damaged = SweepStore().add(
        "damaged", {"base": {"model": {}, "training": {"depth": 3}}, "axes": []}, "here"
    )
    app = open_page("app_pages/sweeps.py")
    assert not app.exception
    assert app.selectbox(key=sweeps.CURRENT).value == damaged.id
    errors = [e.value for e in app.main.error]
    assert f"sweep {damaged.id} (damaged) cannot be reopened" in errors[-1], errors
    assert "depth: is not a TrainConfig parameter" in errors[-1]
