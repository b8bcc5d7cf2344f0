"""The worker process: where runs execute, away from the web server.

A worker is started by `services.jobs.JobRunner` with a `spawn` context (the server has
threads, and a forked copy of a threaded process can deadlock). It loads MNIST once, then
serves one job at a time from its end of a pipe, and sends back what happens as the messages of
`services.messages`: every event of the engine's training, the first-layer features and the map
after each epoch, the saved run, or an error in words. It trains through the engine interface
(`nn.core.engine`) only. It never touches Streamlit; the server never trains.

A listener thread reads the pipe while the main thread trains, so Stop is seen after the
current batch. The BLAS thread count is set by the server (`services.jobs.blas_threads`),
applied between batches, when no matrix product is running, and reported back to the job. A
worker runs at the lowest priority (`give_way`), so pages stay quick however many runs train.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
from threadpoolctl import ThreadpoolController

from nn.core.checkpoint import checkpointed, load_checkpoint
from nn.core.data import MNIST, load_mnist
from nn.core.errors import DigitLabError
from nn.core.events import EpochEnd, Event, TrainingEnd
from nn.core.network import MLP
from nn.core.persistence import load_model, model_bytes, reason
from nn.engines import start_training
from nn.explain.inside import first_layer_features
from nn.explain.projection import last_hidden_map, map_sample

from .finetune import FineTune
from .journal import checkpoint_file
from .messages import (
    Computing,
    Done,
    Failed,
    Features,
    FineTuned,
    Mapped,
    Order,
    Report,
    Saved,
    Start,
    Started,
    Stop,
    ThreadsUsed,
    Trained,
    Unsaved,
    UseThreads,
)
from .runs import Run, RunStore
from .tasks import FineTuneTask, Task, TrainTask
from .user_digits import UserDigits

FEATURES_SHOWN = 64  # first-layer neurons drawn live on the Train page


class UnsavedError(DigitLabError):
    """A run ended well but no disk took its model (full, read-only, removed)."""


def should_keep(end: TrainingEnd | None) -> bool:
    """Completed and stopped runs are saved; a diverged run only if an epoch finished first.

    A stopped run keeps whatever it learned, even part of one epoch. A diverged run has been
    rolled back to its last completed epoch, which is worth keeping only if there was one.
    """
    if end is None:
        return False
    return end.status in ("completed", "stopped") or end.epochs_done > 0


Send = Callable[[Report], None]  # how a job reports, whatever carries it


def run_training(
    task: TrainTask,
    mnist: MNIST,
    stop: threading.Event,
    send: Send,
    checkpoint: Path | None = None,
    threads: int | None = None,
) -> MLP | None:
    """Train per `task`, reporting through `send`; the model if it is worth keeping.

    The one training procedure of a task, wherever it runs: in a worker process of this
    machine (which records the model itself, and keeps a `checkpoint` of the training at the
    start and after every epoch) or on a Dask worker (which returns it, and keeps none). A task
    that resumes an interrupted job goes on from the checkpoint it took over, if there is one
    (none: the job had not started), its earlier epochs reported first as if just trained.
    A framework engine computes on `threads` CPU threads (None: its own choice).
    """
    training = start_training(task.config, mnist, threads)
    send(Computing(training.device))
    if task.resumed_from is not None and checkpoint is not None and checkpoint.exists():
        training.restore(load_checkpoint(checkpoint).state)
        for epoch in training.state().history:
            send(Trained(epoch))

    events = training.events(stop) if checkpoint is None else checkpointed(training, checkpoint, stop)
    snapshot(training.model, mnist, send)  # untrained: noise, until an epoch ends
    forward(events, training.model, mnist, send)
    return training.model if should_keep(training.result) else None


def forward(events: Iterator[Event], model: MLP, mnist: MNIST, send: Send) -> None:
    """Send every training event on, and what `model` looks like after each epoch."""
    for event in events:
        send(Trained(event))
        if isinstance(event, EpochEnd):
            snapshot(model, mnist, send)


def snapshot(model: MLP, mnist: MNIST, send: Send) -> None:
    """The first-layer features and the last hidden layer's map of the fixed test sample.

    Computed where the run trains rather than in the server, which only draws them: the map is
    a forward pass of 2,000 images and a PCA, about 1 % of an epoch of the default run.
    """
    send(Features(features(model)))
    sample = map_sample(mnist.test_labels)
    send(Mapped(last_hidden_map(model, mnist.test_images[sample], mnist.test_labels[sample], score=False)))


def save_run(store: RunStore, task: TrainTask, model: MLP) -> Run:
    """Save and record a trained model as `task` says; make it active if the task asks."""
    saved = store.add(model, source=task.source, name=task.name, details=task.details)
    if task.activate:
        store.set_active(saved.model_path)
    return saved


def keep(model: MLP, add: Callable[[], Run], models_dir: Path, send: Send) -> Run:
    """Save a trained model as a run (`add`); if no disk takes it, send it to the page to download."""
    try:
        return add()
    except (OSError, DigitLabError) as exc:
        send(Unsaved(model_bytes(model)))
        why = reason(exc) if isinstance(exc, OSError) else str(exc)
        raise UnsavedError(
            f"The trained model could not be saved in {models_dir}: {why}. "
            "It is not lost: download it below while this page is open."
        ) from None


class ServerGone(Exception):
    """The server's end of the pipe has closed: there is nobody left to report to."""


@dataclass(frozen=True)
class Places:
    """Where the server keeps runs and digits: a worker writes exactly where its server reads."""

    runs_db: Path
    models_dir: Path
    user_digits_dir: Path

    def store(self) -> RunStore:
        return RunStore(self.runs_db, self.models_dir)


class Worker:
    """One worker process's state: its pipe, its MNIST, its stop flag and its BLAS threads."""

    def __init__(self, conn: Connection, threads: int, places: Places):
        self.conn = conn
        self.places = places
        self.send_lock = threading.Lock()
        self.tasks: queue.Queue[Start | None] = queue.Queue()
        self.stop = threading.Event()
        self.threads_wanted = threads
        self.threads_applied = 0
        self.blas = ThreadpoolController()
        self.mnist: MNIST | None = None

    def send(self, job_id: int, report: Report) -> None:
        with self.send_lock:
            try:
                self.conn.send((job_id, report))
            except OSError as exc:  # a broken pipe
                raise ServerGone from exc

    def listen(self) -> None:
        """The listener thread: tasks go to the queue, stop and thread counts take effect at once.

        It ends when the server closes its end of the pipe (or the server has gone).
        """
        try:
            while True:
                self.obey(self.conn.recv())
        except (EOFError, OSError):  # the server has gone: finish nothing more
            pass
        self.stop.set()
        self.tasks.put(None)

    def obey(self, order: Order) -> None:
        match order:
            case Start():
                self.stop.clear()
                self.tasks.put(order)
            case Stop():
                self.stop.set()
            case UseThreads(count):
                self.threads_wanted = count

    def apply_threads(self) -> None:
        self.blas.limit(limits=self.threads_wanted, user_api="blas")
        self.threads_applied = self.threads_wanted

    def use_threads(self, job_id: int) -> None:
        """Apply the BLAS thread count the server last asked for, and tell it: the job's truth."""
        self.apply_threads()
        self.send(job_id, ThreadsUsed(self.threads_applied))

    def serve(self) -> None:
        threading.Thread(target=self.listen, name="digitlab worker pipe", daemon=True).start()
        self.apply_threads()
        self.mnist = load_mnist()  # once per worker, not once per run
        try:
            while (start := self.tasks.get()) is not None:
                self.run(start.job, start.task)
        except ServerGone:
            pass  # killed mid-run, the server marks the run interrupted when it next starts

    def run(self, job_id: int, task: Task) -> None:
        self.send(job_id, Started(str(os.getpid())))
        self.use_threads(job_id)
        try:
            match task:
                case TrainTask():
                    self.train(job_id, task)
                case FineTuneTask():
                    self.finetune(job_id, task)
        except ServerGone:
            raise  # nobody is left to tell
        except (DigitLabError, ValueError) as exc:  # ValueError: e.g. no digits to fine-tune on
            self.send(job_id, Failed(str(exc)))
        except Exception as exc:  # a bug must reach the page in words, and the worker must live on
            detail = "".join(traceback.format_exception_only(exc)).strip()
            self.send(job_id, Failed(f"the run failed unexpectedly: {detail}"))
        self.send(job_id, Done())

    def sender(self, job_id: int) -> Send:
        """Reports of one job to the pipe; BLAS threads brought in line between them."""

        def send(report: Report) -> None:
            self.send(job_id, report)
            if self.threads_wanted != self.threads_applied:
                self.use_threads(job_id)

        return send

    def train(self, job_id: int, task: TrainTask) -> None:
        checkpoint = checkpoint_file(self.places.runs_db, job_id)
        model = run_training(
            task, self.mnist, self.stop, self.sender(job_id), checkpoint, self.threads_applied
        )
        if model is not None:
            add = functools.partial(save_run, self.places.store(), task, model)
            self.send(job_id, Saved(keep(model, add, self.places.models_dir, self.sender(job_id))))

    def finetune(self, job_id: int, task: FineTuneTask) -> None:
        digits = UserDigits(self.places.user_digits_dir).split()
        tuning = FineTune(load_model(task.model_path), digits, task.settings, self.mnist)
        forward(tuning.events(self.stop), tuning.model, self.mnist, self.sender(job_id))
        self.send(job_id, FineTuned(tuning.account))

        def add() -> Run:
            store = self.places.store()
            base = store.find(task.model_path)  # a recorded run goes by its name, a shipped model by file
            name = f"{base.name if base else Path(task.model_path).stem} + my digits"
            return store.add(tuning.model, source="finetune", name=name)  # its account is in its record

        self.send(job_id, Saved(keep(tuning.model, add, self.places.models_dir, self.sender(job_id))))


def main(conn: Connection, threads: int, places: Places) -> None:
    """The worker process's entry point (spawned by `services.jobs`)."""
    give_way()
    Worker(conn, threads, places).serve()


NICENESS = 19  # the lowest priority a process can give itself


def give_way() -> None:
    """Run below the web server and the browsers, on every cycle they leave.

    A run takes whatever CPU is free, but a page waits for every cycle it is refused: with two
    runs on 2 cores, a new visitor's first page took 2.3-3.3 s; with the workers giving way,
    1.8-2.2 s (1.6-1.9 s with nothing training). A lower nice value alone does not do it on
    Linux, which shares the CPU fairly between sessions ("autogroups") before it looks at nice
    values, and the server, its workers and a browser started elsewhere are in different
    sessions. So the worker leaves the server's session for one of its own (the server still
    ends it: the worker leaves when its pipe closes) and gives that session the lowest priority.
    """
    if sys.platform == "win32":
        return
    os.setsid()
    with contextlib.suppress(OSError):  # only Linux with autogroups has the file
        Path("/proc/self/autogroup").write_text(str(NICENESS))
    os.setpriority(os.PRIO_PROCESS, 0, NICENESS)


def features(model: MLP) -> np.ndarray:
    """The first-layer weights of the neurons the Train page draws, as 28×28 images (a copy)."""
    return first_layer_features(model)[:FEATURES_SHOWN].copy()
