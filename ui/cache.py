"""What the app loads once and shares across reruns, pages and sessions.

MNIST takes a second or two to decompress and verify, and the 10k test predictions a few
hundred milliseconds per model, so neither may happen on every click. Models and predictions
are keyed by file path *and* modification time: a file rewritten in place is read again.
`cache_resource` hands out the same object without copying, so the arrays are read-only.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from nn.core.data import MNIST, load_mnist
from nn.core.network import MLP
from nn.core.persistence import load_model
from services import locations
from services.database import RunStoreError
from services.jobs import JobRunner, PagesServed, Runner
from services.locations import models_dir
from services.runs import RunStore
from services.sweep_store import SweepStore
from services.sweeps import Sweeps

from .models import SavedModel, list_models
from .predictions import Predictions, predict_test_set


@st.cache_resource(show_spinner="Loading MNIST…")
def mnist() -> MNIST:
    return load_mnist()


@st.cache_resource(show_spinner=False)
def pages_served() -> PagesServed:
    """When this server last served a page (the main script notes each): its workers make room."""
    return PagesServed()


# One pool of workers per server. Keyed by where runs are kept, so a test that moves the stores
# gets a pool writing there; the pool it replaces is shut down. With a Dask scheduler set
# (DIGITLAB_DASK_SCHEDULER), training runs go to that cluster instead: pages do not care.
@st.cache_resource(max_entries=1, show_spinner=False, on_release=lambda runner: runner.shutdown())
def _runner(runs_db: str, models: str, user_digits: str, scheduler: str | None) -> Runner:
    store = RunStore(runs_db, models)
    if scheduler:
        from services.cluster import DaskRunner  # dask is imported only when a cluster is used

        return DaskRunner(
            scheduler,
            store=store,
            user_digits_dir=Path(user_digits),
            local_workers=locations.worker_count(),
            pages=pages_served(),
        )
    pool = JobRunner(
        locations.worker_count(), store=store, user_digits_dir=Path(user_digits), pages=pages_served()
    )
    pool.start()  # while the person sets up a run, so it need not wait for them
    return pool


def _places() -> tuple[str, str, str, str | None]:
    where = str(locations.runs_db()), str(models_dir()), str(locations.user_digits_dir())
    return (*where, locations.dask_scheduler())


SCHEDULER_RETRY_SECONDS = 30.0


@st.cache_resource(show_spinner=False)
def _unreachable() -> dict[str, tuple[float, Exception]]:
    """Dask schedulers that could not be reached lately: address → (when, the error)."""
    return {}


def runner() -> Runner:
    """The server's job runner (its workers start with it); raises `ClusterError`
    when a Dask scheduler is set but cannot be reached.

    Failing to reach a scheduler takes `services.cluster.CONNECT_SECONDS`: were every rerun to
    try again, every click on a page that asks for the runner would wait that long. So a failure
    is reported again, without trying, for `SCHEDULER_RETRY_SECONDS`.
    """
    places = _places()
    scheduler = places[-1]
    if scheduler is None:
        return _runner(*places)
    from services.cluster import ClusterError  # dask is imported only when a cluster is used

    failed = _unreachable().get(scheduler)
    if failed is not None and time.monotonic() - failed[0] < SCHEDULER_RETRY_SECONDS:
        raise failed[1].with_traceback(None)
    try:
        return _runner(*places)
    except ClusterError as exc:
        _unreachable()[scheduler] = time.monotonic(), exc
        raise


# The sweeps this server has started, beside the runner that runs them.
@st.cache_resource(max_entries=1, show_spinner=False)
def _sweeps(runs_db: str, models: str, user_digits: str, scheduler: str | None) -> Sweeps:
    return Sweeps(_runner(runs_db, models, user_digits, scheduler), SweepStore(runs_db))


def sweeps() -> Sweeps:
    """The server's sweeps: those running in its runner, and every recorded one."""
    runner()  # a Dask scheduler that could not be reached lately is reported at once
    return _sweeps(*_places())


@st.cache_resource(max_entries=32, show_spinner=False)
def _model(path: str, mtime: float) -> MLP:
    return load_model(path)


def model(path: Path) -> MLP:
    """The model saved at `path`, read once per version of the file."""
    return _model(str(path), path.stat().st_mtime)


@st.cache_resource(max_entries=8, show_spinner="Classifying the 10,000 test images…")
def _test_predictions(path: str, mtime: float) -> Predictions:
    data = mnist()
    return predict_test_set(_model(path, mtime), data.test_images, data.test_labels)


def test_predictions(path: Path) -> Predictions:
    """The model's answers on the whole test set, computed once per model file version."""
    return _test_predictions(str(path), path.stat().st_mtime)


def saved_models() -> tuple[list[SavedModel], list[str]]:
    """Every readable model in the models directory (each file read once), and the problems."""
    return list_models(models_dir(), load=model, run_index=_run_index())


def _run_index() -> dict[Path, tuple[int, str]]:
    try:
        return RunStore().index()
    except RunStoreError:  # the Compare runs page explains it; the picker still lists every model
        return {}
