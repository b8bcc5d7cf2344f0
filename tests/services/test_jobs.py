"""The job runner: real worker processes, a real queue, real crashes (no mocks)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from nn.core.config import RunConfig
from nn.core.errors import ConfigError
from nn.core.events import BatchProgress, EpochEnd, TrainingEnd
from nn.core.persistence import load_model
from nn.core.preprocess import mnist_style
from services import jobs
from services.finetune import DEFAULT_MIX, GENTLE_TRAINING, FineTuneSettings
from services.job_states import JobState
from services.jobs import Job, JobRunner, PagesServed, Progress, blas_threads
from services.journal import Journal
from services.locations import ROOT
from services.messages import Done, Failed, Started, ThreadsUsed, Trained, Unsaved
from services.runs import RunStore
from services.tasks import FineTuneTask, TrainTask
from services.user_digits import UserDigits
from services.worker import NICENESS, should_keep
from tests.support.jobs import ENDLESS, ENDLESS_VALUES, TIMEOUT, wait_for

TINY = RunConfig.from_values(dict(hidden=(16,), epochs=2, train_size=500, seed=1))
SHIPPED_MODEL = ROOT / "models" / "default.npz"


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs.sqlite", tmp_path / "models")


@pytest.fixture
def make_runner(store, tmp_path):
    runners = []

    def make(workers: int, cores: int = 2) -> JobRunner:
        runner = JobRunner(workers, cores=cores, store=store, user_digits_dir=tmp_path / "digits")
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.shutdown()


def quick_finetune(epochs: int) -> FineTuneSettings:
    """The app's fine-tuning for `epochs` epochs, on a small slice of MNIST."""
    return FineTuneSettings(replace(GENTLE_TRAINING, epochs=epochs), replace(DEFAULT_MIX, mnist_size=1_000))


def finished(job: Job) -> bool:
    return not job.running


def training(job: Job) -> bool:
    progress = job.progress()
    return progress.state == JobState.RUNNING and (progress.batch is not None or bool(progress.epochs))


@pytest.mark.parametrize(
    ("cores", "busy", "quiet", "serving"),
    [
        (1, 1, 1, 1),
        (2, 1, 2, 1),
        (2, 2, 1, 1),
        (4, 1, 4, 3),
        (4, 2, 2, 1),
        (8, 1, 8, 7),
        (8, 3, 2, 2),
        (8, 8, 1, 1),
    ],
)
def test_busy_workers_share_the_cores_less_one_while_pages_are_served_with_at_least_one_thread_each(
    cores, busy, quiet, serving
):
    assert blas_threads(cores, busy, serving=False) == quiet
    assert blas_threads(cores, busy, serving=True) == serving


def test_a_lone_run_computes_on_every_core_but_leaves_one_while_a_page_is_served_and_a_moment_after(
    store, tmp_path, monkeypatch
):
    monkeypatch.setattr(jobs, "PAGE_SECONDS", 1.0)
    pages = PagesServed()
    runner = JobRunner(1, cores=2, store=store, user_digits_dir=tmp_path / "digits", pages=pages)
    try:
        job = runner.submit(TrainTask(ENDLESS))
        wait_for(lambda: job.threads == 2, "the lone run's worker to compute with both cores")
        with pages.serving():
            wait_for(lambda: job.threads == 1, "the worker to leave a core to the page being served")
            time.sleep(2 * jobs.PAGE_SECONDS)
            assert job.threads == 1  # however long the page takes
        wait_for(lambda: job.threads == 2, "the worker to take both cores again once pages are quiet")
        assert time.monotonic() - pages.last >= jobs.PAGE_SECONDS
        assert job.state == JobState.RUNNING
    finally:
        runner.shutdown()


def test_workers_started_ahead_are_alive_before_any_run_and_take_the_first_at_once(make_runner, store):
    runner = make_runner(2)
    runner.start()
    pids = runner.worker_pids()
    assert len(pids) == 2 and all(Path(f"/proc/{pid}").exists() for pid in pids)
    job = runner.submit(TrainTask(TINY))
    assert job.progress().state == JobState.RUNNING  # no queue, no start-up: a worker took it on submission
    assert job.join(TIMEOUT) and job.progress().state == JobState.FINISHED
    assert runner.worker_pids() == pids  # the same workers, not new ones


def gave_way(pid: int) -> bool:
    return os.getpriority(os.PRIO_PROCESS, pid) == NICENESS


def test_workers_run_below_the_server_in_a_session_of_their_own(make_runner):
    runner = make_runner(2)
    runner.start()
    for pid in runner.worker_pids():
        wait_for(functools.partial(gave_way, pid), "the worker to give way", timeout=60)
        assert os.getsid(pid) == pid != os.getsid(0)
        autogroup = Path(f"/proc/{pid}/autogroup")
        if autogroup.exists():  # Linux shares the CPU between these sessions before nice values count
            assert autogroup.read_text().split()[-1] == str(NICENESS)


def test_a_run_records_every_epoch_saves_its_model_and_marks_it_active(make_runner, store):
    job = make_runner(1).submit(TrainTask(TINY))
    wait_for(lambda: finished(job), "the run")
    progress = job.progress()
    assert progress.state == JobState.FINISHED and progress.error is None
    assert [e.epoch for e in progress.epochs] == [1, 2]
    assert progress.end.status == "completed"
    assert progress.features.shape == (16, 28, 28)  # first-layer features, sent after each epoch
    assert progress.layer_map.points.shape == (2000, 2) and progress.layer_map.name == "hidden 1 (16)"
    run = progress.saved
    assert run.model_path.parent == store.model_dir and store.active() == run.model_path
    assert (run.source, run.status, len(run.history)) == ("app", "completed", 2)
    model = load_model(run.model_path)
    assert model.config.hidden == (16,)
    assert model.record.history == progress.epochs
    [entry] = Journal(store.path).jobs()
    assert (entry.state, entry.run_id) == (JobState.FINISHED, run.id)


def test_stop_ends_the_run_after_the_current_batch_and_keeps_the_model(make_runner):
    job = make_runner(1).submit(TrainTask(ENDLESS))
    wait_for(lambda: training(job), "the first batch report")
    job.stop()
    assert job.stopping
    wait_for(lambda: finished(job), "the stopped run", timeout=30)
    progress = job.progress()
    assert progress.state == JobState.FINISHED and progress.end.status == "stopped"
    assert len(progress.epochs) < 1000
    assert load_model(progress.saved.model_path).record.status == "stopped"


def test_two_runs_at_once_in_two_workers_write_two_sound_files(make_runner, store):
    runner = make_runner(2)
    jobs = [
        runner.submit(TrainTask(RunConfig.from_values(dict(hidden=(16,), epochs=1, train_size=500, seed=s))))
        for s in (1, 2)
    ]
    assert [job.state for job in jobs] == [JobState.RUNNING, JobState.RUNNING]
    wait_for(lambda: all(finished(j) for j in jobs), "both runs")
    saved = [job.progress().saved for job in jobs]
    assert len({run.model_path for run in saved}) == 2
    assert sorted(store.model_dir.glob("*.npz")) == sorted(run.model_path for run in saved)
    for seed, run in zip((1, 2), saved):
        model = load_model(run.model_path)
        assert model.config.seed == model.record.training.seed == seed
    assert len(set(runner.worker_pids())) == 2
    assert not list(store.models_dir.rglob("*.tmp"))


def test_runs_beyond_the_pool_wait_in_order_and_a_waiting_run_can_be_cancelled(make_runner, store):
    runner = make_runner(1)
    first = runner.submit(TrainTask(ENDLESS))
    second, third = (runner.submit(TrainTask(TINY)) for _ in range(2))
    assert [j.progress().state for j in (first, second, third)] == [
        JobState.RUNNING,
        JobState.WAITING,
        JobState.WAITING,
    ]
    assert [second.progress().ahead, third.progress().ahead] == [0, 1]
    second.stop()  # waiting: cancelled, never started
    assert second.progress().state == JobState.CANCELLED and not second.running
    assert third.progress().ahead == 0
    first.stop()
    wait_for(lambda: finished(third), "the queued run")
    assert third.progress().state == JobState.FINISHED and second.progress().saved is None
    states = {entry.id: entry.state for entry in Journal(store.path).jobs()}
    assert states == {first.id: JobState.FINISHED, second.id: JobState.CANCELLED, third.id: JobState.FINISHED}


def test_a_worker_killed_mid_run_is_reported_in_words_and_replaced(make_runner, store):
    runner = make_runner(1)
    job = runner.submit(TrainTask(ENDLESS))
    wait_for(lambda: training(job), "the first batch report")
    [pid] = runner.worker_pids()
    os.kill(pid, signal.SIGKILL)
    noticed = wait_for(lambda: finished(job), "the dead worker to be noticed", timeout=30)
    assert noticed < 5
    progress = job.progress()
    assert (
        progress.state == JobState.FAILED and "killed by SIGKILL" in progress.error and progress.saved is None
    )
    assert store.runs() == [] and not list(store.models_dir.rglob("*.tmp")), "no half-written model"
    assert Journal(store.path).jobs()[0].state == JobState.FAILED
    after = runner.submit(TrainTask(TINY))  # a fresh worker took the dead one's place
    wait_for(lambda: finished(after), "a run after the crash")
    assert after.progress().state == JobState.FINISHED and runner.worker_pids() != [pid]


def dead(pid: int) -> bool:
    """Gone, or dead and not yet reaped by the runner (state Z)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):  # reaped between the open and the read
        return True


def test_every_worker_killed_at_once_fails_the_run_in_words_and_the_runner_lives_on(make_runner, store):
    runner = make_runner(2)
    stopped, job = runner.submit(TrainTask(ENDLESS)), runner.submit(TrainTask(ENDLESS))
    wait_for(lambda: training(job), "the second worker's first batch report")
    stopped.stop()
    wait_for(lambda: finished(stopped), "the first worker to be idle")
    idle, busy = runner.worker_pids()
    os.kill(busy, signal.SIGSTOP)  # no more reports: the runner goes back to waiting for one
    time.sleep(0.2)
    # Held so that the runner sees the idle worker's death first, and starts a worker in its
    # place while the busy one, dead too by then, still has its run.
    with runner.lock:
        for pid in (idle, busy):
            os.kill(pid, signal.SIGKILL)
            wait_for(functools.partial(dead, pid), "the worker to die", timeout=10)
    wait_for(lambda: finished(job), "the dead worker to be noticed", timeout=30)
    assert job.progress().state == JobState.FAILED and "killed by SIGKILL" in job.progress().error
    after = runner.submit(TrainTask(TINY))
    wait_for(lambda: finished(after), "a run after the crash", timeout=60)
    assert after.progress().state == JobState.FINISHED and not {idle, busy} & set(runner.worker_pids())


SERVER_KILLED_MID_RUN = """
import sys, time
from nn.core.config import RunConfig
from services.jobs import JobRunner
from services.runs import RunStore
from services.tasks import TrainTask

if __name__ == "__main__":
    runner = JobRunner(1, store=RunStore(sys.argv[1], sys.argv[2]), user_digits_dir=sys.argv[3])
    job = runner.submit(TrainTask(RunConfig.from_values(VALUES)))
    while job.progress().batch is None:
        time.sleep(0.05)
    print(runner.worker_pids()[0], flush=True)
    time.sleep(600)  # until the test kills this server
"""


def test_a_worker_whose_server_is_killed_mid_run_leaves_quietly(store, tmp_path):
    script = SERVER_KILLED_MID_RUN.replace("VALUES", repr(ENDLESS_VALUES))
    server = subprocess.Popen(
        [sys.executable, "-c", script, str(store.path), str(store.models_dir), str(tmp_path / "digits")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    worker = int(server.stdout.readline())
    server.kill()
    server.wait()
    errors = server.stderr.read()  # to the end: once the worker, which writes to it too, has gone
    # Its files are closed a moment before the kernel marks it a zombie: a busy machine shows it.
    wait_for(lambda: dead(worker), "the worker to leave once its files are closed", timeout=10)
    assert "Traceback" not in errors, errors
    assert store.runs() == []  # nothing saved: the next server marks the run interrupted


def test_jobs_left_by_a_server_that_died_are_marked_interrupted_when_the_next_starts(store, make_runner):
    script = (
        "import sys; from services.journal import Journal; from services.tasks import TrainTask; "
        "from nn.core.config import RunConfig; print(Journal(sys.argv[1]).open_job(TrainTask(RunConfig())))"
    )
    gone = subprocess.run(
        [sys.executable, "-c", script, str(store.path)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    job_id = int(gone.stdout)
    assert Journal(store.path).jobs()[0].state == JobState.WAITING  # as the dead server left it
    make_runner(1)  # a new server starts
    [entry] = Journal(store.path).jobs()
    assert entry.id == job_id and entry.state == JobState.INTERRUPTED and "server stopped" in entry.message


def test_an_invalid_configuration_is_refused_before_it_is_queued():
    with pytest.raises(ConfigError) as error:
        TrainTask(RunConfig.from_values({"lr": 0.0}))
    assert "lr" in error.value.problems


def test_a_jobs_progress_is_the_last_one_and_a_report_never_changed_in_place():
    batch, end = BatchProgress(1, 2, 5, 10, 0.7), TrainingEnd("completed", 2, 3.0, "trained 2 epochs")
    epochs = [EpochEnd(e, 2, 0.5, 0.9, None, 0.9, 1.0, 0.07) for e in (1, 2)]
    reports = [Started("4711"), ThreadsUsed(2), Trained(batch), Trained(epochs[0]), Trained(epochs[1])]
    reports += [Trained(end), Failed("no disk"), Unsaved(b"npz")]
    first = Progress(TrainTask(TINY))
    seen = [first]
    for report in reports:
        seen.append(seen[-1].after(report))
    last = seen[-1]
    assert (last.state, last.threads, last.epochs, last.end) == (JobState.RUNNING, 2, tuple(epochs), end)
    assert last.batch is None, "an epoch's end clears the batch within it"
    assert seen[3].batch == batch and (last.error, last.unsaved) == ("no disk", b"npz")
    assert first == Progress(TrainTask(TINY)) and seen[4].epochs == (epochs[0],)  # earlier ones untouched
    assert last.after(Done()) is last  # the runner ends the job, not its progress


@pytest.mark.parametrize(
    ("status", "epochs_done", "kept"),
    [("completed", 3, True), ("stopped", 0, True), ("diverged", 0, False), ("diverged", 2, True)],
)
def test_which_runs_are_kept(status, epochs_done, kept):
    assert should_keep(TrainingEnd(status, epochs_done, 1.0, "")) is kept
    assert should_keep(None) is False


def test_fine_tuning_runs_in_a_worker_and_records_the_model_as_a_run(make_runner, store, tmp_path, mnist):
    digits = UserDigits(tmp_path / "digits")
    for image, label in zip(mnist.test_images[:8], mnist.test_labels[:8]):
        digits.add(mnist_style(image), int(label))
    job = make_runner(1).submit(FineTuneTask(SHIPPED_MODEL, quick_finetune(epochs=2)))
    wait_for(lambda: finished(job), "the fine-tune")
    progress = job.progress()
    assert progress.state == JobState.FINISHED and progress.error is None
    assert [e.epoch for e in progress.epochs] == [1, 2]
    account, run = progress.finetune, progress.saved
    assert progress.end.status == "completed" and account.user_train + account.user_held_out == 8
    assert [r.id for r in store.runs()] == [run.id]
    assert run.name == "default + my digits" and run.source == "finetune"
    record = load_model(run.model_path).record
    assert record.finetune == account and record.status == "completed"  # the account, kept in the model


def test_fine_tuning_without_digits_fails_with_a_message_and_records_nothing(make_runner, store):
    job = make_runner(1).submit(FineTuneTask(SHIPPED_MODEL, quick_finetune(epochs=1)))
    wait_for(lambda: finished(job), "the fine-tune")
    progress = job.progress()
    assert progress.state == JobState.FAILED and "add some of your own digits first" in progress.error
    assert store.runs() == []


def test_a_model_no_disk_will_take_is_handed_back_to_download(make_runner, store):
    store.model_dir.parent.mkdir(parents=True, exist_ok=True)
    store.model_dir.write_text("a file where the runs folder should be")  # every save there fails
    job = make_runner(1).submit(TrainTask(TINY))
    wait_for(lambda: finished(job), "the run")
    progress = job.progress()
    assert progress.state == JobState.FAILED and progress.saved is None
    assert (
        f"could not be saved in {store.models_dir}" in progress.error
        and "download it below" in progress.error
    )
    download = store.models_dir.parent / "downloaded.npz"
    download.write_bytes(progress.unsaved)
    model = load_model(download)
    assert model.layer_sizes == (784, 16, 10) and model.record.status == "completed"
    assert model.record.history == progress.epochs
