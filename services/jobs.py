"""The job runner: runs wait in a queue and execute in a pool of worker processes.

Training inside the web server shared its GIL with every page and chart, and every run's BLAS
started its own threads: two sessions training at once took 15 times as long per epoch. So the
server only keeps the books here, and `services.worker` processes do the arithmetic:

- a pool of workers (one per core by default), each started with a `spawn` context and owning
  one pipe, so a worker that dies takes nothing down with it but its own run;
- a queue: a job submitted while every worker is busy waits, knows how many runs are ahead of
  it, and can be cancelled;
- BLAS threads shared out among the busy workers (`blas_threads`): all the cores while nobody
  clicks, one core fewer while the server is serving pages (`PagesServed`), re-balanced whenever
  a job starts or ends and whenever pages start or stop being served;
- one dispatcher thread that reads every pipe and every worker's exit, and turns each report it
  reads (`services.messages`) into the job's next `Progress`: one frozen snapshot, replaced
  whole under a lock, which a page reads whole;
- every job is also a row of the journal (`services.journal`), so a job that was waiting or
  running when the server stopped is marked interrupted the next time it starts, and none
  stays "running" for ever.

A worker that dies (SIGKILL, out of memory) is noticed through its process sentinel within
`POLL_SECONDS`: its job fails with a message in words, and a fresh worker takes its place.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nn.core.events import BatchProgress, EpochEnd, TrainingEnd
from nn.core.record import FineTuneRecord
from nn.explain.projection import LayerMap

from . import locations, worker
from .job_states import JobState
from .journal import Journal
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
from .tasks import Task

POLL_SECONDS = 0.5  # how soon a dead worker, a cancelled job or a page served is noticed, at the latest
# How long after a page script ends the workers go on leaving a core to the server and the
# browser: the browser draws the page, and asks for its pictures and components, for a second or so.
PAGE_SECONDS = 2.0


@dataclass(frozen=True)
class Progress:
    """Everything a page shows about one job, as of one moment.

    Frozen: the runner's dispatcher makes the next one from the last and a worker's report
    (`after`), and a page reads one whole, never half of one report and half of the next.
    """

    task: Task
    state: JobState = JobState.WAITING
    ahead: int = 0  # jobs ahead of it in the queue while it waits (counted as it is read)
    stopping: bool = False  # Stop was pressed: it ends after its current batch
    epochs: tuple[EpochEnd, ...] = ()
    batch: BatchProgress | None = None
    end: TrainingEnd | None = None
    saved: Run | None = None
    finetune: FineTuneRecord | None = None  # a fine-tune's account, as its model's record keeps it
    error: str | None = None
    features: np.ndarray | None = None  # first-layer weights as 28×28 images, as of the last epoch
    layer_map: LayerMap | None = None  # the last hidden layer's map of the fixed test sample, likewise
    unsaved: bytes | None = None  # the model as an .npz file, when no disk would take it
    threads: int | None = None  # the BLAS threads its worker computes with, as the worker last said
    device: str | None = None  # where its training computes, in words, once it has started

    @property
    def running(self) -> bool:
        """Not over yet: waiting for a worker or training."""
        return self.state.unfinished

    def after(self, report: Report) -> Progress:
        """The progress once `report` has come in (`Done` is the runner's to act on: `Job.finish`)."""
        match report:
            case Started():
                return replace(self, state=JobState.RUNNING)
            case ThreadsUsed(count):
                return replace(self, threads=count)
            case Computing(device):
                return replace(self, device=device)
            case Trained(BatchProgress() as batch):
                return replace(self, batch=batch)
            case Trained(EpochEnd() as epoch):
                return replace(self, epochs=(*self.epochs, epoch), batch=None)
            case Trained(TrainingEnd() as end):
                return replace(self, end=end)
            case Features(images):
                return replace(self, features=images)
            case Mapped(layer_map):
                return replace(self, layer_map=layer_map)
            case Saved(run):
                return replace(self, saved=run)
            case Unsaved(model):
                return replace(self, unsaved=model)
            case FineTuned(account):
                return replace(self, finetune=account)
            case Failed(message):
                return replace(self, error=message)
            case Done():
                return self


class Runner(Protocol):
    """What pages and sweeps use of a runner: this machine's pool, or a Dask cluster's
    (`services.cluster.DaskRunner`), so neither cares where its runs go."""

    lock: threading.Lock
    place: str  # where runs go, in words
    store: RunStore  # where every run's model is recorded
    journal: Journal  # where every job is noted

    def submit(self, task: Task) -> Job: ...
    def ahead_of(self, job: Job) -> int: ...
    def stop(self, job: Job) -> None: ...
    def shutdown(self) -> None: ...


@dataclass(eq=False)
class Job:
    """One submitted job: its id in the journal, its runner, and its progress as of now.

    `now` is replaced whole, never changed in place, by the runner's dispatcher under
    `runner.lock`; the properties below read one field of one snapshot.
    """

    id: int
    runner: Runner
    now: Progress
    over: threading.Event = field(default_factory=threading.Event)

    def progress(self) -> Progress:
        """The job as of now, with its place in the queue."""
        with self.runner.lock:
            return replace(self.now, ahead=self.runner.ahead_of(self))

    @property
    def task(self) -> Task:
        return self.now.task

    @property
    def state(self) -> JobState:
        return self.now.state

    @property
    def running(self) -> bool:
        return self.now.running

    @property
    def stopping(self) -> bool:
        return self.now.stopping

    @property
    def threads(self) -> int | None:
        return self.now.threads

    def take(self, report: Report) -> None:
        """Take in one report of its worker (call with the runner's lock held)."""
        self.now = self.now.after(report)

    def finish(self, state: JobState, message: str | None) -> None:
        """End the job in `state`, in its progress and in the journal, and wake whoever waits for it
        (call with the runner's lock held). `message` says why it failed or was cancelled."""
        error = message if state is JobState.FAILED else self.now.error
        self.now = replace(self.now, state=state, error=error)
        self.runner.journal.update_job(self.id, state, message, self.now.saved.id if self.now.saved else None)
        self.over.set()

    def stop(self) -> None:
        """A waiting job is cancelled; a running one ends after its current batch, keeping its model."""
        self.runner.stop(self)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to be over (finished, failed or cancelled); True if it is."""
        return self.over.wait(timeout)


@contextmanager
def no_page_script_as_main() -> Iterator[None]:
    """Hide the page script from `spawn` while a worker starts.

    Streamlit runs every page script as the `__main__` module, and `spawn` re-imports
    `__main__` in the child: without this, each worker would first run the whole app in bare
    mode. Streamlit installs a fresh `__main__` at every script run, so restoring it is safe.
    """
    with _SPAWN_LOCK:
        saved = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = saved


_SPAWN_LOCK = threading.Lock()


class PagesServed:
    """Whether the web server is serving a page, or served one a moment ago: one per server.

    A page costs the server and the browser a burst of CPU, and a matrix product split over two
    threads stalls whenever one of them loses its core. So while pages are being served the
    workers leave one core to them; while nobody clicks (a Train page watching its run reruns
    nothing: it polls `ui.live`), a lone run takes every core, as the command line does.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0  # page scripts running now, in any session
        self.last = float("-inf")  # when the last one ended

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Around one run of a page script (ended by a rerun or an error too)."""
        with self.lock:
            self.in_flight += 1
        try:
            yield
        finally:
            with self.lock:
                self.in_flight -= 1
                self.last = time.monotonic()

    def recent(self) -> bool:
        return self.in_flight > 0 or time.monotonic() - self.last < PAGE_SECONDS


class Slot:
    """One worker process, its pipe, the job it is running (if any) and its BLAS threads."""

    def __init__(self, context: Any, threads: int, places: worker.Places):
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=worker.main, args=(child, threads, places), name="digitlab-worker", daemon=True
        )
        with no_page_script_as_main():
            self.process.start()
        child.close()  # the worker's end lives in the worker: an EOF here then means it has gone
        self.job: Job | None = None
        self.threads = threads
        self.send_lock = threading.Lock()

    def send(self, order: Order) -> bool:
        """Send to the worker; False if it has gone (its sentinel will say so, and it is replaced)."""
        with self.send_lock:
            try:
                self.conn.send(order)
            except OSError:  # a broken pipe: the worker died, perhaps just now
                return False
        return True


class JobRunner:
    """A pool of `workers` processes fed from one queue. Create one per server; it starts lazily."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        cores: int | None = None,
        store: RunStore | None = None,
        user_digits_dir: Path | None = None,
        pages: PagesServed | None = None,
    ):
        """`pages`: the server's pages, which the workers make room for (None: no pages to serve)."""
        self.cores = cores or os.cpu_count() or 1
        self.pages = pages or PagesServed()  # one that never serves: every core, always
        self.size = workers or self.cores
        self.place = f"this machine ({self.size} worker process{'es' * (self.size != 1)})"
        self.store = store or RunStore()
        self.places = worker.Places(
            self.store.path, self.store.models_dir, user_digits_dir or locations.user_digits_dir()
        )
        self.journal = Journal(self.store.path)
        self.journal.interrupt_orphaned_jobs()  # what a previous server left waiting or running
        self.lock = threading.Lock()
        self.waiting: deque[Job] = deque()
        self.slots: list[Slot] = []
        self.context = multiprocessing.get_context("spawn")
        self.dispatcher: threading.Thread | None = None
        self.closed = False
        # Registered after multiprocessing's own exit handler, so it runs first: a server on its
        # way out must not take the workers it is ending for crashes and start new ones.
        atexit.register(self._closing)

    # -- what pages call -------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers now rather than with the first run.

        A worker takes a few seconds of CPU to start (imports, MNIST). Started ahead, a first run
        begins at once, and does not share the cores with the other workers' start.
        """
        with self.lock:
            self._start_pool()

    def submit(self, task: Task) -> Job:
        """Queue `task`; it starts as soon as a worker is free (workers start now if not yet)."""
        job = Job(self.journal.open_job(task), self, Progress(task))
        with self.lock:
            self._start_pool()
            self.waiting.append(job)
            self._assign()
        return job

    def ahead_of(self, job: Job) -> int:
        """How many runs will start before `job` (call with the lock held)."""
        return self.waiting.index(job) if job in self.waiting else 0

    def stop(self, job: Job) -> None:
        with self.lock:
            if job in self.waiting:
                self.waiting.remove(job)
                job.finish(JobState.CANCELLED, "cancelled while it waited for a worker")
                return
            slot = next((s for s in self.slots if s.job is job), None)
            if slot is not None and not job.stopping:
                job.now = replace(job.now, stopping=True)
                slot.send(Stop())

    def busy(self) -> int:
        with self.lock:
            return sum(slot.job is not None for slot in self.slots)

    def worker_pids(self) -> list[int]:
        with self.lock:
            return [slot.process.pid for slot in self.slots]

    def shutdown(self) -> None:
        """End every worker (a run still going ends unsaved) and the dispatcher."""
        atexit.unregister(self._closing)
        with self.lock:
            self.closed = True
            for slot in self.slots:
                slot.conn.close()  # the worker reads the end of its pipe and leaves
        for slot in self.slots:
            slot.process.join(timeout=2)
            if slot.process.is_alive():  # busy in a long matrix product, or stuck
                slot.process.kill()
                slot.process.join()
        if self.dispatcher is not None:
            self.dispatcher.join(timeout=5)

    def _closing(self) -> None:
        self.closed = True

    # -- the pool ---------------------------------------------------------------------------

    def _start_pool(self) -> None:
        if self.slots:
            return
        self.slots = [Slot(self.context, self._threads(1), self.places) for _ in range(self.size)]
        self.dispatcher = threading.Thread(target=self._dispatch, name="digitlab jobs", daemon=True)
        self.dispatcher.start()

    def _assign(self) -> None:
        """Give waiting jobs to idle workers, then share the cores out among the busy ones."""
        for slot in self.slots:
            if slot.job is None and self.waiting:
                job = self.waiting[0]
                if slot.send(Start(job.id, job.task)):  # else the worker is dead: its successor takes it
                    slot.job = self.waiting.popleft()
                    job.now = replace(job.now, state=JobState.RUNNING)
                    self.journal.update_job(job.id, JobState.RUNNING)
        self._share_cores()

    def _share_cores(self) -> None:
        busy = [slot for slot in self.slots if slot.job is not None]
        threads = self._threads(len(busy))
        for slot in busy:
            if slot.threads != threads and slot.send(UseThreads(threads)):
                slot.threads = threads

    def _threads(self, busy: int) -> int:
        return blas_threads(self.cores, busy, serving=self.pages.recent())

    def _dispatch(self) -> None:
        while not self.closed:
            with self.lock:
                watched = {slot.conn: slot for slot in self.slots}
                watched |= {slot.process.sentinel: slot for slot in self.slots}
            try:
                readable = wait(list(watched), timeout=POLL_SECONDS)
            except OSError:
                if self.closed:  # `shutdown` closed the pipes after the list above was made
                    return
                raise
            for ready in readable:
                slot = watched[ready]
                if ready is slot.conn:
                    self._read(slot)
                elif not self.closed:
                    self._replace(slot)
            with self.lock:
                self._share_cores()  # pages may have started or stopped being served

    def _read(self, slot: Slot) -> None:
        try:
            while slot.conn.poll():
                self._handle(slot, *slot.conn.recv())
        except (EOFError, OSError):
            pass  # the worker has gone: its sentinel says so next, and `_replace` handles it

    def _handle(self, slot: Slot, job_id: int, report: Report) -> None:
        with self.lock:
            job = slot.job
            if job is None or job.id != job_id:
                return
            match report:
                case Done():
                    slot.job = None
                    job.finish(JobState.FAILED if job.now.error else JobState.FINISHED, job.now.error)
                    self._assign()
                case _:
                    job.take(report)

    def _replace(self, slot: Slot) -> None:
        """A worker died: fail its job in words, start a fresh worker in its place."""
        slot.process.join(timeout=1)
        with self.lock:
            if self.closed:
                return
            job, slot.job = slot.job, None
            if job is not None:
                job.finish(JobState.FAILED, _death_message(slot.process.exitcode))
        slot.conn.close()
        # Started outside the lock, so pages read on meanwhile.
        fresh = Slot(self.context, self._threads(1), self.places)
        with self.lock:
            self.slots[self.slots.index(slot)] = fresh
            self._assign()


def blas_threads(cores: int, busy: int, serving: bool) -> int:
    """BLAS threads for each of `busy` workers: the cores shared out, at least one each, less one
    left to the web server and the browser while the server is `serving` pages.

    A matrix product split over two threads waits for the slower one, so a thread that loses its
    core for a moment stalls the whole product: on a 2-core machine, the default run beside its
    own Train page, back when that page reran every second, took 4.7 × as long per epoch as the
    command line with 2 threads, and 1.5 × as long with 1 thread.
    """
    return max(1, (cores - serving) // max(1, busy))


def _death_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        cause = " (the system may have run out of memory)" if name == "SIGKILL" else ""
        why = f"was killed by {name}{cause}"
    else:
        why = f"exited unexpectedly (code {exitcode})"
    return (
        f"The worker process running this job {why}. Its model was not saved; resume it from its last epoch."
    )
