"""Where Digit Lab keeps what it makes, and the environment variables that move it.

The only module that reads these variables: everything else asks here, so a test (or a teacher
running one server per class) moves every store at once by setting them.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR_ENV = "DIGITLAB_MODELS_DIR"
RUNS_DB_ENV = "DIGITLAB_RUNS_DB"
USER_DIGITS_ENV = "DIGITLAB_USER_DIGITS"
WORKERS_ENV = "DIGITLAB_WORKERS"
DASK_SCHEDULER_ENV = "DIGITLAB_DASK_SCHEDULER"


def models_dir() -> Path:
    """Shipped models sit here; trained ones in its `runs/` folder (default: the repository's `models/`)."""
    return Path(os.environ.get(MODELS_DIR_ENV) or ROOT / "models")


def runs_db() -> Path:
    """The SQLite record of runs (default `data/runs.sqlite`)."""
    return Path(os.environ.get(RUNS_DB_ENV) or ROOT / "data" / "runs.sqlite")


def user_digits_dir() -> Path:
    """The user's labelled digits, one file each (default `data/user/digits/`)."""
    return Path(os.environ.get(USER_DIGITS_ENV) or ROOT / "data" / "user" / "digits")


def worker_count() -> int | None:
    """How many worker processes train at once, if set (`DIGITLAB_WORKERS`); None: one per core."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{WORKERS_ENV} must be a whole number of at least 1, got {value!r}")
    return int(value)


def dask_scheduler() -> str | None:
    """The Dask scheduler that runs go to instead of this machine's pool, if set
    (`DIGITLAB_DASK_SCHEDULER`, e.g. tcp://10.0.0.5:8786); None: this machine's pool."""
    value = os.environ.get(DASK_SCHEDULER_ENV, "").strip()
    if not value:
        return None
    if "://" not in value:
        raise ValueError(
            f"{DASK_SCHEDULER_ENV} must be a scheduler address such as tcp://HOST:8786, got {value!r}"
        )
    return value
