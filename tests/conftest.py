"""Every test runs against throwaway stores, never the user's.

The training CLI records every run, the app saves and records its runs and keeps the user's
digits; without this, running the suite would fill `data/` and `models/runs/` with test runs
that then show up in the user's app. Session-wide (and autouse, so before any other fixture),
so that a server started for the browser tests inherits the same throwaway locations.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def throwaway_stores(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stores")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DIGITLAB_RUNS_DB", str(root / "runs.sqlite"))
        env.setenv("DIGITLAB_MODELS_DIR", str(root / "models"))
        env.setenv("DIGITLAB_USER_DIGITS", str(root / "digits"))
        yield root
