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
- one dispatcher thread that reads every pipe and every worker's exit, and turns what it reads
  into each job's progress, which pages read under a lock;
- every job is also a row in the run store's `jobs` table, so a job that was waiting or
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
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nn.core.training import BatchProgress, EpochEnd, Event, TrainingEnd
from nn.explain.projection import LayerMap

from . import locations, worker
from .finetune import FineTuneResult
from .runs import Run, RunStore
from .worker import FineTuneTask, Task, TrainTask

POLL_SECONDS = 0.5  # how soon a dead worker, a cancelled job or a page served is noticed, at the latest
# How long after a page script ends the workers go on leaving a core to the server and the
# browser: the browser draws the page, and asks for its pictures and components, for a second or so.
PAGE_SECONDS = 2.0
WAITING, RUNNING, FINISHED, FAILED, CANCELLED = "waiting", "running", "finished", "failed", "cancelled"


@dataclass(frozen=True)
class Progress:
    """Everything a page shows about one job, as of one moment."""

    task: Task
    state: str  # WAITING, RUNNING, FINISHED, FAILED or CANCELLED
    ahead: int  # runs ahead of it in the queue while it waits
    epochs: tuple[EpochEnd, ...]
    batch: BatchProgress | None
    end: TrainingEnd | None
    saved: Run | None
    result: FineTuneResult | None
    error: str | None
    features: np.ndarray | None  # first-layer weights as 28×28 images, as of the last epoch
    layer_map: LayerMap | None  # the last hidden layer's map of the fixed test sample, likewise
    unsaved: bytes | None  # the model as an .npz file, when no disk would take it

    @property
    def running(self) -> bool:
        """Not over yet: waiting for a worker or training."""
        return self.state in (WAITING, RUNNING)


class Runner(Protocol):
    """What pages and sweeps use of a runner: this machine's pool, or a Dask cluster's
    (`services.cluster.DaskRunner`), so neither cares where its runs go."""

    lock: threading.Lock
    place: str  # where runs go, in words
    store: RunStore  # where every job, and every run's model, is recorded

    def submit(self, task: Task) -> Job: ...
    def ahead_of(self, job: Job) -> int: ...
    def stop(self, job: Job) -> None: ...
    def shutdown(self) -> None: ...


@dataclass(eq=False)
class Job:
    """One submitted run. Its fields are written by the dispatcher thread under `runner.lock`."""

    id: int
    task: Task
    runner: Runner
    state: str = WAITING
    stop_requested: bool = False
    epochs: list[EpochEnd] = field(default_factory=list)
    batch: BatchProgress | None = None
    end: TrainingEnd | None = None
    saved: Run | None = None
    result: FineTuneResult | None = None
    error: str | None = None
    features: np.ndarray | None = None
    layer_map: LayerMap | None = None
    unsaved: bytes | None = None
    threads: int | None = None  # the BLAS threads its worker computes with, as the worker last said
    over: threading.Event = field(default_factory=threading.Event)

    def progress(self) -> Progress:
        with self.runner.lock:
            return Progress(
                self.task,
                self.state,
                self.runner.ahead_of(self),
                tuple(self.epochs),
                self.batch,
                self.end,
                self.saved,
                self.result,
                self.error,
                self.features,
                self.layer_map,
                self.unsaved,
            )

    @property
    def running(self) -> bool:
        return self.state in (WAITING, RUNNING)

    @property
    def stopping(self) -> bool:
        return self.stop_requested

    def note(self, event: Event) -> None:
        """Take in one training event (call with the runner's lock held)."""
        if isinstance(event, BatchProgress):
            self.batch = event
        elif isinstance(event, EpochEnd):
            self.epochs.append(event)
            self.batch = None
        else:
            self.end = event

    def stop(self) -> None:
        """A waiting job is cancelled; a running one ends after its current batch, keeping its model."""
        self.runner.stop(self)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to be over (finished, failed or cancelled); True if it is."""
        return self.over.wait(timeout)


@contextmanager
def _no_page_script_as_main() -> Iterator[None]:
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
        with _no_page_script_as_main():
            self.process.start()
        child.close()  # the worker's end lives in the worker: an EOF here then means it has gone
        self.job: Job | None = None
        self.threads = threads
        self.send_lock = threading.Lock()

    def send(self, kind: str, payload: Any = None) -> bool:
        """Send to the worker; False if it has gone (its sentinel will say so, and it is replaced)."""
        with self.send_lock:
            try:
                self.conn.send((kind, payload))
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
        self.store.interrupt_orphaned_jobs()  # what a previous server left waiting or running
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
        job = Job(self.store.open_job(describe(task)), task, self)
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
                self._finish(job, CANCELLED, "cancelled while it waited for a worker")
                return
            slot = next((s for s in self.slots if s.job is job), None)
            if slot is not None and not job.stop_requested:
                job.stop_requested = True
                slot.send("stop")

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
                if slot.send("task", (job.id, job.task)):  # else the worker is dead: its successor takes it
                    slot.job = self.waiting.popleft()
                    job.state = RUNNING
                    self.store.update_job(job.id, RUNNING)
        self._share_cores()

    def _share_cores(self) -> None:
        busy = [slot for slot in self.slots if slot.job is not None]
        threads = self._threads(len(busy))
        for slot in busy:
            if slot.threads != threads and slot.send("threads", threads):
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

    def _handle(self, slot: Slot, job_id: int, kind: str, payload: Any) -> None:
        with self.lock:
            job = slot.job
            if job is None or job.id != job_id:
                return
            if kind == "event":
                job.note(payload)
            elif kind == "features":
                job.features = payload
            elif kind == "map":
                job.layer_map = payload
            elif kind == "saved":
                job.saved = payload
            elif kind == "result":
                job.result = payload
            elif kind == "unsaved":
                job.unsaved = payload
            elif kind == "threads":
                job.threads = payload
            elif kind == "error":
                job.error = payload
            elif kind == "done":
                slot.job = None
                self._finish(job, FAILED if job.error else FINISHED, job.error)
                self._assign()

    def _replace(self, slot: Slot) -> None:
        """A worker died: fail its job in words, start a fresh worker in its place."""
        slot.process.join(timeout=1)
        with self.lock:
            if self.closed:
                return
            job, slot.job = slot.job, None
            if job is not None:
                self._finish(job, FAILED, _death_message(slot.process.exitcode))
        slot.conn.close()
        # Started outside the lock, so pages read on meanwhile.
        fresh = Slot(self.context, self._threads(1), self.places)
        with self.lock:
            self.slots[self.slots.index(slot)] = fresh
            self._assign()

    def _finish(self, job: Job, state: str, message: str | None) -> None:
        job.state = state
        if state == FAILED:
            job.error = message
        self.store.update_job(job.id, state, message, job.saved.id if job.saved else None)
        job.over.set()


def blas_threads(cores: int, busy: int, serving: bool) -> int:
    """BLAS threads for each of `busy` workers: the cores shared out, at least one each, less one
    left to the web server and the browser while the server is `serving` pages.

    A matrix product split over two threads waits for the slower one, so a thread that loses its
    core for a moment stalls the whole product: on a 2-core machine, the default run beside its
    own Train page, back when that page reran every second, took 4.7 × as long per epoch as the
    command line with 2 threads, and 1.5 × as long with 1 thread.
    """
    return max(1, (cores - serving) // max(1, busy))


def describe(task: Task) -> dict[str, Any]:
    """A task as its row in the run store's `jobs` table shows it."""
    if isinstance(task, TrainTask):
        return {"kind": "train", "config": task.config.to_dict()}
    return {"kind": "finetune", "model": str(task.model_path)}


def _death_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        cause = " (the system may have run out of memory)" if name == "SIGKILL" else ""
        why = f"was killed by {name}{cause}"
    else:
        why = f"exited unexpectedly (code {exitcode})"
    return f"The worker process running this job {why}. Nothing of this run was saved; start it again."


__all__ = ["FineTuneTask", "Job", "JobRunner", "Progress", "TrainTask"]
