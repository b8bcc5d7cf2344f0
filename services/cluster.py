"""Runs on a Dask cluster: the same jobs as `services.jobs`, trained by the cluster's workers.

A sweep outgrows one machine quickly (nine runs of the `best` preset are about 20 minutes on two
cores), so `DaskRunner` offers the interface of `services.jobs.JobRunner` — `submit(task)`
returns a `Job` whose `progress()` pages read — and sends each training run to the Dask
scheduler at a given address instead of this machine's pool:

- each run is one Dask task (`Client.submit`) calling `services.worker.run_training`, the very
  procedure a local worker runs, so a Dask worker needs only the engine and MNIST;
- the task reports in the very messages a local worker sends (`services.messages`), logged
  with `Worker.log_event` on a topic of this runner, which the scheduler pushes to this client
  (`Client.subscribe_topic`): no polling. Each is pickled into bytes, as a topic carries only
  msgpack's plain values, and the scheduler need not import this project to pass them on. Batch
  progress is thinned to two reports a second; the first-layer features and the map are not
  sent (the scheduler keeps the last events of each topic in memory), the features are drawn
  from the returned model when the run is over;
- the task *returns* the trained model as plain arrays (`nn.core.persistence.model_arrays`), which
  are checked here as strictly as a model file and recorded in this app's run store: the
  store stays the one owner of runs, and no Dask worker ever writes to it;
- Stop reaches a running task through a `distributed.Event` it watches between batches;
- a worker lost mid-run (its process killed, its machine gone) is announced by the scheduler's
  `remove-worker` event on its topic "all": the run that worker had started fails at once, in
  words, and the rest go on. Dask would quietly run that task again elsewhere from scratch; the
  task refuses a second start instead (a second `distributed.Event`), so a run is never silently
  restarted behind the page's back.

Fine-tunes stay on this machine (a local `JobRunner`): they read the user's own digits, which
live here and nowhere on the cluster.
"""

from __future__ import annotations

import functools
import pickle
import threading
import time
import uuid
from dataclasses import dataclass, replace
from queue import Queue
from typing import Any

import numpy as np
from distributed import Client, Event, Future, get_worker
from distributed.client import FutureCancelledError

from nn.core.data import load_mnist
from nn.core.errors import DigitLabError
from nn.core.events import BatchProgress
from nn.core.network import MLP
from nn.core.persistence import model_arrays, model_from_arrays

from .job_states import JobState
from .jobs import Job, JobRunner, PagesServed, Progress
from .messages import Done, Features, Mapped, Report, Saved, Started, Trained
from .runs import RunStore
from .tasks import Task, TrainTask
from .worker import Send, features, keep, run_training, save_run

CONNECT_SECONDS = 10
STOP_POLL_SECONDS = 0.5  # how soon a running task sees Stop, at the latest
BATCH_REPORT_SECONDS = 0.5
CLUSTER_TOPIC = "all"  # where the scheduler announces workers joining and leaving
RESTART_REFUSED = (
    "The Dask worker running this run was lost mid-run and the scheduler started it again "
    "elsewhere; it was not restarted from scratch. Nothing of this run was saved; start it again."
)

SHUT_DOWN = "the app shut down before this run finished; nothing of it was saved"
DROPPED = "the Dask scheduler dropped this run (was the cluster restarted?); nothing of it was saved"


class ClusterError(DigitLabError):
    """The Dask scheduler cannot be reached."""


# -- on a Dask worker ---------------------------------------------------------------------------


def train_on_worker(task: TrainTask, topic: str, job_id: int, key: str) -> dict[str, np.ndarray] | None:
    """The Dask task: train per `task`, report on `topic` as job `job_id`, return the model's arrays
    (or None). `key` is the task's own, which its Dask events are named after."""
    worker = get_worker()
    started = Event(f"{key}-started")
    if started.is_set():  # a second attempt after a lost worker: the client has failed the run
        raise RuntimeError(RESTART_REFUSED)
    started.set()
    send = _reporter(worker, topic, job_id)
    send(Started(worker.address))
    stop, over = threading.Event(), threading.Event()
    watcher = _watch(Event(f"{key}-stop"), stop, over)
    try:
        model = run_training(task, load_mnist(), stop, send)
    finally:
        over.set()
        watcher.join()  # its last wait ends within STOP_POLL_SECONDS
    return model_arrays(model) if model is not None else None


def _watch(remote: Any, stop: threading.Event, over: threading.Event) -> threading.Thread:
    """Set `stop` when the client sets the Dask event `remote`, until the run is `over`; the
    watching thread, which the task waits for: a wait still pending at the scheduler when the
    cluster closes is logged there as an error."""
    remote.is_set()  # binds the worker's client in the task's own thread, where Dask finds it

    def watch() -> None:
        try:
            while not over.is_set():
                if remote.wait(timeout=STOP_POLL_SECONDS):
                    stop.set()
                    return
        except (OSError, RuntimeError):  # the worker or the scheduler is closing: no Stop can come
            return

    watcher = threading.Thread(target=watch, name="digitlab stop watch", daemon=True)
    watcher.start()
    return watcher


def _reporter(worker: Any, topic: str, job_id: int) -> Send:
    """A `services.worker.Send` that logs job `job_id`'s reports on `topic`, pickled."""
    last_batch = [0.0]

    def send(report: Report) -> None:
        match report:
            case Features() | Mapped():
                return  # too big to keep in the scheduler (see the module's docstring)
            case Trained(BatchProgress()):
                now = time.monotonic()
                if now - last_batch[0] < BATCH_REPORT_SECONDS:
                    return
                last_batch[0] = now
        worker.log_event(topic, (job_id, pickle.dumps(report)))

    return send


# -- in the app ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerLost:
    """The scheduler says a worker has left the cluster (its `remove-worker` event)."""

    address: str | None


Inbox = tuple[int, Report] | WorkerLost | None  # None: the runner is shutting down


@dataclass(eq=False)
class Remote:
    """One job sent to the cluster: its Dask key and future, and the worker that started it."""

    job: Job
    key: str
    future: Future | None = None
    worker: str | None = None


class DaskRunner:
    """A runner whose training runs execute on the Dask cluster at `address`.

    `store` records every returned model, the local pool's `journal` every job; `user_digits_dir`,
    `local_workers` and `pages` are for the local pool that fine-tunes; `timeout`: seconds to wait
    for the scheduler.
    """

    def __init__(
        self,
        address: str,
        *,
        store: RunStore | None = None,
        user_digits_dir: Any = None,
        local_workers: int | None = None,
        pages: PagesServed | None = None,
        timeout: float = CONNECT_SECONDS,
    ):
        self.store = store or RunStore()
        # The local pool first: starting, it marks as interrupted whatever jobs a previous server
        # left unfinished, which must happen before this runner opens any.
        self.local = JobRunner(local_workers, store=self.store, user_digits_dir=user_digits_dir, pages=pages)
        self.journal = self.local.journal
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {address} ({exc}); is `dask scheduler` running "
                "there, and is this the address it printed?"
            ) from None
        self.address = address
        self.place = f"the Dask cluster at {address}"
        self.lock = threading.Lock()
        self.remotes: dict[int, Remote] = {}  # by job id, in the order submitted
        self.closing = False
        self.inbox: Queue[Inbox] = Queue()
        self.topic = f"digitlab-{uuid.uuid4().hex}"
        # Handlers run in the client's event loop: they only queue, the dispatcher thread acts.
        self.client.subscribe_topic(self.topic, lambda event: self.inbox.put(_report(event[1])))
        self.client.subscribe_topic(CLUSTER_TOPIC, self._cluster_event)
        self.dispatcher = threading.Thread(target=self._dispatch, name="digitlab dask", daemon=True)
        self.dispatcher.start()

    # -- what pages call -------------------------------------------------------------------

    def submit(self, task: Task) -> Job:
        """Send a training run to the cluster (a fine-tune to this machine's pool)."""
        if not isinstance(task, TrainTask):
            return self.local.submit(task)
        job = Job(self.journal.open_job(task, place=self.address), self, Progress(task))
        remote = Remote(job, f"digitlab-run-{job.id}-{uuid.uuid4().hex[:8]}")
        with self.lock:
            self.remotes[job.id] = remote
        remote.future = self.client.submit(
            train_on_worker, task, self.topic, job.id, remote.key, key=remote.key, pure=False, retries=0
        )
        remote.future.add_done_callback(lambda _: self.inbox.put((job.id, Done())))
        return job

    def ahead_of(self, job: Job) -> int:
        """How many of this runner's runs were sent before `job` and have not started yet."""
        waiting = [r.job for r in self.remotes.values() if r.job.state is JobState.WAITING]
        return waiting.index(job) if job in waiting else 0

    def stop(self, job: Job) -> None:
        """Cancel a waiting run; end a running one after its current batch, keeping its model."""
        with self.lock:
            remote = self.remotes.get(job.id)
            if remote is None or not job.running or job.stopping:
                return
            job.now = replace(job.now, stopping=True)
            if job.state is JobState.WAITING:
                self._finish(remote, JobState.CANCELLED, "cancelled while it waited for a worker")
        # Set even for a cancelled run: it may have started on a worker a moment ago.
        Event(f"{remote.key}-stop", client=self.client).set()
        if job.state is JobState.CANCELLED:
            remote.future.cancel()

    def busy(self) -> int:
        with self.lock:
            return sum(r.job.state is JobState.RUNNING for r in self.remotes.values())

    def workers(self) -> list[str]:
        """The addresses of the cluster's workers, as the scheduler last reported them."""
        return sorted(self.client.scheduler_info()["workers"])

    def shutdown(self) -> None:
        """Leave the cluster: runs still going end unsaved, as in the local pool; fine-tunes too."""
        with self.lock:
            self.closing = True
            remotes = list(self.remotes.values())
        for remote in remotes:
            Event(f"{remote.key}-stop", client=self.client).set()
        self.client.cancel([r.future for r in remotes if r.future is not None])
        deadline = time.monotonic() + CONNECT_SECONDS
        while self.remotes and time.monotonic() < deadline:  # each cancelled run's outcome noted
            time.sleep(0.05)
        self.inbox.put(None)
        self.dispatcher.join(timeout=5)
        for topic in (self.topic, CLUSTER_TOPIC):
            self.client.unsubscribe_topic(topic)
        self.client.close()
        self.local.shutdown()

    # -- the dispatcher ---------------------------------------------------------------------

    def _cluster_event(self, event: tuple[float, Any]) -> None:
        """The scheduler's own events (plain dicts, its format): a worker leaving is the one that matters."""
        message = event[1]
        if isinstance(message, dict) and message.get("action") == "remove-worker":
            self.inbox.put(WorkerLost(message.get("worker")))

    def _dispatch(self) -> None:
        while (item := self.inbox.get()) is not None:
            match item:
                case WorkerLost(address):
                    self._lost(address)
                case (job_id, Done()):
                    self._collect(job_id)
                case (job_id, report):
                    self._note(job_id, report)

    def _note(self, job_id: int, report: Report) -> None:
        with self.lock:
            remote = self.remotes.get(job_id)
            if remote is None or not remote.job.running:
                return
            remote.job.take(report)
            if isinstance(report, Started):
                remote.worker = report.worker
                self.journal.update_job(job_id, JobState.RUNNING)

    def _lost(self, address: str | None) -> None:
        """A worker left the cluster: fail the run it had started, in words."""
        with self.lock:
            lost = [
                r for r in self.remotes.values() if r.worker == address and r.job.state is JobState.RUNNING
            ]
            for remote in lost:
                self._finish(
                    remote,
                    JobState.FAILED,
                    f"The Dask worker {address} running this run was lost mid-run (its process ended, or "
                    "its machine left the cluster). Nothing of this run was saved; the other runs go on.",
                )
        for remote in lost:
            Event(f"{remote.key}-stop", client=self.client).set()
            remote.future.cancel()

    def _collect(self, job_id: int) -> None:
        """A task is over: record the model it returned, or fail the job with what went wrong."""
        with self.lock:
            remote = self.remotes.get(job_id)
            if remote is None or not remote.job.running:
                self.remotes.pop(job_id, None)
                return
        try:
            arrays = remote.future.result()
            model = model_from_arrays(arrays, f"the model sent back by {remote.worker}") if arrays else None
            reports = [] if model is None else self._recorded(remote, model)
        except FutureCancelledError:
            self._end(remote, JobState.FAILED, SHUT_DOWN if self.closing else DROPPED)
        except DigitLabError as exc:
            self._end(remote, JobState.FAILED, str(exc))
        except Exception as exc:  # from the task, or KilledWorker: it must reach the page in words
            self._end(
                remote, JobState.FAILED, f"the run failed on the Dask cluster: {type(exc).__name__}: {exc}"
            )
        else:
            with self.lock:
                for report in reports:
                    remote.job.take(report)
            self._end(remote, JobState.FINISHED, None)

    def _recorded(self, remote: Remote, model: MLP) -> list[Report]:
        """Record a returned model as its task says: what the job then reports, as a local worker would."""
        add = functools.partial(save_run, self.store, remote.job.task, model)
        saved = keep(model, add, self.store.models_dir, functools.partial(self._take, remote))
        return [Saved(saved), Features(features(model))]

    def _take(self, remote: Remote, report: Report) -> None:
        with self.lock:
            remote.job.take(report)

    def _end(self, remote: Remote, state: JobState, message: str | None) -> None:
        with self.lock:
            if remote.job.running:
                self._finish(remote, state, message)

    def _finish(self, remote: Remote, state: JobState, message: str | None) -> None:
        """Call with the lock held."""
        remote.job.finish(state, message)
        self.remotes.pop(remote.job.id, None)


def _report(message: tuple[int, bytes]) -> tuple[int, Report]:
    """A report as a Dask task logged it: (job id, the report pickled)."""
    job_id, data = message
    return job_id, pickle.loads(data)
