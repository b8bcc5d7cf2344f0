"""Layers only point down: every import of every module, read from its source, checked.

    engine (nn) ← services ← ui ← app_pages ← the app's scripts; command lines (digitlab) on top

Inside the engine, `nn.core` imports only itself, NumPy and Pillow; explanation, robustness
and export build on it. An import inside a function or under `TYPE_CHECKING` is an edge like any
other, and no two modules may import each other, however far round the circle goes.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.layers import RULES, Rule, cycles, imports, modules, violations

ROOT = Path(__file__).resolve().parents[1]


def test_every_import_points_down() -> None:
    found = violations(ROOT)
    assert not found, "imports that point up or out of their layer:\n" + "\n".join(found)


def test_no_module_imports_itself_round_a_circle() -> None:
    found = cycles(ROOT)
    assert not found, "import cycles:\n" + "\n".join(" → ".join(cycle) for cycle in found)


def test_every_module_belongs_to_a_layer() -> None:
    unruled = [name for name in modules(ROOT) if not any(rule.covers(name) for rule in RULES)]
    assert not unruled, f"modules no rule covers: {unruled}"


def test_the_engine_core_uses_no_framework_or_optional_library() -> None:
    """The engine's core needs NumPy and Pillow only: ONNX, threadpoolctl, Dask, Keras stay out."""
    core = {name: path for name, path in modules(ROOT).items() if name.startswith("nn.core")}
    assert "nn.core.network" in core and "nn.core.training" in core
    outside = {
        (name, imported)
        for name, path in core.items()
        for imported, _ in imports(path, name, core)
        if imported.split(".")[0] not in {"nn", "numpy", "PIL", *sys.stdlib_module_names}
    }
    assert not outside


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("nn/core/network.py", "import services.runs\n"),
        ("nn/core/network.py", "def f():\n    from ui import cache\n"),
        (
            "nn/core/network.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from nn.explain import inside\n",
        ),
        ("services/runs.py", "import streamlit\n"),
        ("ui/cache.py", "from app_pages import train\n"),
        ("nn/core/network.py", "import onnx\n"),
    ],
)
def test_an_upward_import_is_caught(tmp_path: Path, where: str, source: str) -> None:
    """The checker itself: each of these edges, planted in a small tree, is reported."""
    target = tmp_path / where
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(textwrap.dedent(source))
    assert violations(tmp_path), f"{where}: {source!r} went unnoticed"


def test_a_circle_is_caught(tmp_path: Path) -> None:
    (tmp_path / "nn/core").mkdir(parents=True)
    (tmp_path / "nn/core/a.py").write_text("from . import b\n")
    (tmp_path / "nn/core/b.py").write_text("def late():\n    from .a import x\n")
    assert cycles(tmp_path) == [["nn.core.a", "nn.core.b", "nn.core.a"]]


def test_a_rule_reads_its_own_table() -> None:
    rule = Rule("services", may_import=("nn", "services"), libraries=("numpy",))
    assert rule.allows("nn.core.network") and rule.allows("numpy.linalg") and rule.allows("json")
    assert not rule.allows("ui.cache") and not rule.allows("streamlit")
    ast.parse("x = 1")  # the checker reads source with ast, never by importing it
