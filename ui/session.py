"""State shared by the pages of one browser session: the active model, its training run and fine-tune.

Each browser tab is its own Streamlit session with its own `st.session_state`, so each tab
has its own active model and its own run. The choice is also written to the models directory,
so the next session (after a restart, say) starts with the model last chosen or trained.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from nn.core.config import RunConfig
from nn.core.errors import DigitLabError
from nn.explain.hints import Hint, diagnose, run_hints
from services import runs
from services.database import RunStoreError
from services.finetune import FineTuneSettings
from services.job_states import JobState
from services.jobs import Job, Progress
from services.locations import models_dir
from services.tasks import FineTuneTask, TrainTask

from . import cache, models

ACTIVE = "active_model"  # the sidebar picker's key: the active model's path, as a string
TRAINER = "trainer"
FINETUNER = "finetuner"
SETTLED = "settled_run"  # the finished run already acted upon, so that happens only once


def active_model() -> models.SavedModel | None:
    """The model the pages use, as chosen in the sidebar (None when no model exists yet)."""
    saved, _ = cache.saved_models()
    by_path = {str(m.path): m for m in saved}
    return by_path.get(st.session_state.get(ACTIVE))


def require_active_model(task: str) -> models.SavedModel:
    """The active model; without one, say so (`task`: what it would have done) and end the page."""
    active = active_model()
    if active is None:
        st.info(f"There is no model {task} yet: train one on the Train page.", icon=":material/info:")
        st.stop()
    return active


def model_picker() -> models.SavedModel | None:
    """The sidebar's model section: pick a saved model and read what it is."""
    adopt_finished_run()
    saved, problems = cache.saved_models()
    by_path = {str(m.path): m for m in saved}
    with st.sidebar:
        st.header("Active model")
        for problem in problems:
            st.warning(problem, icon=":material/broken_image:")
        if not saved:
            st.info("No model yet: train one on the Train page.", icon=":material/info:")
            return None
        if st.session_state.get(ACTIVE) not in by_path:
            st.session_state[ACTIVE] = str(models.initial_choice(saved, models_dir()).path)
        chosen = st.selectbox(
            "Model",
            list(by_path),
            format_func=lambda path: by_path[path].label,
            key=ACTIVE,
            on_change=_remember_choice,
            help="every page uses this model; models you train appear here",
        )
        st.caption(models.describe(by_path[chosen]))
        _training_note()
    return by_path[chosen]


def start_training(config: RunConfig) -> None:
    """Queue a run for the worker pool (one per session), unless one is on or `config` is invalid.

    The sidebar has already explained an invalid configuration next to its controls.
    """
    if not config.problems():
        submit_run(TrainTask(config))


def submit_run(task: TrainTask) -> None:
    """Queue `task` (a new run, or one going on from an interrupted run's checkpoint) as this
    session's run, unless one is on."""
    current = trainer()
    if current is None or not current.running:
        st.session_state[TRAINER] = cache.runner().submit(task)


def job_runner_problem() -> str | None:
    """Why runs cannot start here (the run store cannot be opened or created, or the Dask
    scheduler runs are sent to cannot be reached), if they cannot."""
    try:
        cache.runner()
    except RunStoreError as exc:
        return f"Runs cannot be saved, so none can start: {exc}."
    except DigitLabError as exc:  # a Dask scheduler (DIGITLAB_DASK_SCHEDULER) that cannot be reached
        return f"Runs cannot start: {exc}."
    return None


def hints_after(progress: Progress) -> list[Hint]:
    """What to change, diagnosed from a finished run's history and, if it was saved, its network."""
    if progress.end is None:
        return []
    if progress.saved is not None:
        model = cache.model(progress.saved.model_path)
        return run_hints(model, cache.mnist().train_images)
    return diagnose(progress.epochs, status=progress.end.status, lr=progress.task.config.training.lr)


def trainer() -> Job | None:
    """This session's training run, waiting, running or over."""
    return st.session_state.get(TRAINER)


def start_finetune(model_path: Path, settings: FineTuneSettings) -> None:
    """Queue fine-tuning the model at `model_path` for the worker pool, unless one is on."""
    current = finetuner()
    if current is None or not current.running:
        st.session_state[FINETUNER] = cache.runner().submit(FineTuneTask(model_path, settings))


def finetuner() -> Job | None:
    return st.session_state.get(FINETUNER)


def adopt_finished_run() -> None:
    """Once a run has ended, make its saved model active (once); call before the picker is drawn."""
    run = trainer()
    if run is None or run_settled():
        return
    progress = run.progress()
    if not progress.running:
        st.session_state[SETTLED] = run
        if progress.saved is not None:  # spelt as the picker lists it
            st.session_state[ACTIVE] = str(models_dir() / runs.RUNS / progress.saved.model_path.name)


def run_settled() -> bool:
    """Whether the session's last run has ended and the app has caught up with its outcome."""
    return st.session_state.get(SETTLED) is trainer()


def _remember_choice() -> None:
    runs.write_active(models_dir(), Path(st.session_state[ACTIVE]))


def _training_note() -> None:
    run, tuner = trainer(), finetuner()
    if run is not None and run.running:
        progress = run.progress()
        if progress.state is JobState.WAITING:
            st.caption(":material/hourglass_top: A training run is waiting for a free worker.")
        else:
            # No count of epochs done: the sidebar is drawn when the whole page reruns, not with
            # the Train page's live progress, and a count frozen at 0 beside it misled.
            st.caption(
                f":material/model_training: A run of {progress.task.config.training.epochs} epochs is "
                "training; it goes on while you use other pages, and the Train page shows its progress."
            )
    if tuner is not None and tuner.running:
        st.caption(":material/school: Fine-tuning on your digits; it goes on while you use other pages.")
