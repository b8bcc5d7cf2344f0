"""Every benchmark still imports, and every one with a `--quick` mode runs in it.

A benchmark is run by hand, rarely, so nothing else notices when a change elsewhere breaks it
(as `bench.live_map` broke when `ui.layer_maps.live_map` went). The modules are found in `bench/`
itself, so a new one is covered without being listed; one with a command line must either show
how to run it with `--quick` (`bench.quick`) in its docstring, which is the command run here, or
be named in `NO_QUICK` with the reason a tiny run makes no sense. Quick runs check that the
benchmark works, never its figures: they print whatever the machine gives.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import bench

ROOT = Path(__file__).resolve().parents[2]
RUN_SECONDS = 180  # for one quick run; they take seconds
MODULES = sorted(module.name for module in pkgutil.iter_modules(bench.__path__))
NO_QUICK = {
    "app_load": "it measures a real server and Chromium with up to five sessions: minutes at the least",
    "app_timings": "its figures are a server's and Chromium's cold start, which no smaller run has",
    "worker": "one configuration of bench.compare in a process of its own: `compare --quick` runs it",
}


def source(name: str) -> str:
    return (ROOT / "bench" / f"{name}.py").read_text()


def has_command_line(name: str) -> bool:
    return 'if __name__ == "__main__":' in source(name)


def quick_command(name: str) -> list[str] | None:
    """The module's quick run as its docstring shows it (`python -m bench.NAME --quick …  # why`)."""
    usage = ast.get_docstring(ast.parse(source(name))) or ""
    shown = re.search(rf"^\s*python -m bench\.{name} --quick\b([^#\n]*)", usage, re.M)
    return None if shown is None else [sys.executable, "-m", f"bench.{name}", "--quick", *shown[1].split()]


QUICK = {name: command for name in MODULES if has_command_line(name) and (command := quick_command(name))}


@pytest.mark.parametrize("name", MODULES)
def test_every_benchmark_module_imports(name: str) -> None:
    importlib.import_module(f"bench.{name}")


def test_every_benchmark_with_a_command_line_has_a_quick_mode_or_a_reason_not_to() -> None:
    commands = {name for name in MODULES if has_command_line(name)}
    assert QUICK, "no benchmark offers --quick: has the way they declare it changed?"
    assert not commands - set(QUICK) - set(NO_QUICK), "give these --quick, or a reason in NO_QUICK"
    assert set(NO_QUICK) <= commands - set(QUICK), "NO_QUICK names a module that needs no reason"


@pytest.mark.parametrize("name", QUICK)
def test_every_quick_mode_runs(name: str) -> None:
    done = subprocess.run(QUICK[name], cwd=ROOT, capture_output=True, text=True, timeout=RUN_SECONDS)
    said = f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"python -m bench.{name} --quick failed:\n{said}"
    assert done.stdout.strip(), "a benchmark that prints nothing measured nothing"
