"""`--quick`: a benchmark's check, in seconds, that it still runs (tests/smoke runs every one).

A quick run is the benchmark's own measurement made tiny through its options' defaults, so
options given explicitly still win and, without `--quick`, nothing changes: no figure a
benchmark reports depends on it. What a quick run prints means nothing as a measurement.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any


def add_quick(
    parser: argparse.ArgumentParser, defaults: Mapping[str, Any], argv: Sequence[str] | None
) -> None:
    """Offer `--quick` on `parser`; when `argv` (None: the command line) holds it, `defaults`
    (option destinations to values) replace the options' own defaults."""
    flags = " ".join(f"--{name.replace('_', '-')} {_shown(value)}" for name, value in defaults.items())
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a check in seconds that it runs, as with {flags} (options given still win)",
    )
    if "--quick" in (sys.argv[1:] if argv is None else argv):
        parser.set_defaults(**defaults)


def _shown(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
