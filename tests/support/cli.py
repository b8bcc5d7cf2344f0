"""The command line as a person runs it: `python -m digitlab VERB …` in the project's Python."""

from __future__ import annotations

import sys
from pathlib import Path


def digitlab(verb: str, *args: str | Path) -> list[str]:
    """The command for `python -m digitlab VERB ARGS`, for subprocess."""
    return [sys.executable, "-m", "digitlab", verb, *map(str, args)]
