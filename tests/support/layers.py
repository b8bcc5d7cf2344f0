"""Reading the project's imports from source (`ast`), and the table of what each layer may import.

`tests/test_layers.py` checks the tree against `RULES`; the functions take the tree's root, so the
checker can be shown to catch a planted upward import in a small tree of its own.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SKIPPED = {".venv", ".git", "data", "models", "node_modules"}
TESTING = ("numpy", "pytest", "playwright", "PIL", "onnx", "onnxruntime", "streamlit", "plotly", "pandas")
OPTIONAL = (
    "distributed",
    "dask",
    "msgpack",
    "threadpoolctl",
    "torch",
    "tensorflow",
    "keras",
    "jax",
    "starlette",
)


@dataclass(frozen=True)
class Rule:
    """Modules under `prefix` may import these project packages and these outside libraries."""

    prefix: str
    may_import: tuple[str, ...]
    libraries: tuple[str, ...] = ()

    def covers(self, module: str) -> bool:
        return _under(module, self.prefix)

    def allows(self, imported: str) -> bool:
        top = imported.split(".")[0]
        if top in PROJECT:
            return any(_under(imported, allowed) for allowed in self.may_import)
        return top in sys.stdlib_module_names or top in self.libraries


ENGINE = ("nn.core", "nn.explain", "nn.robustness", "nn.export", "nn.framework", "nn")
KERAS = ("keras", "tensorflow", "torch", "jax")  # Keras 3 and the backends it may run on
APP = ("ui", "services", *ENGINE)
# The most specific rule first: a module follows the first rule that covers it.
RULES: tuple[Rule, ...] = (
    Rule("nn.core", ("nn.core",), ("numpy", "PIL")),
    Rule("nn.explain", ("nn.core", "nn.explain"), ("numpy",)),
    Rule("nn.robustness", ("nn.core", "nn.explain", "nn.robustness"), ("numpy",)),
    Rule("nn.framework", ("nn.core", "nn.framework"), ("numpy", *KERAS)),
    Rule("nn.export", ("nn.core", "nn.framework", "nn.export"), ("numpy", "onnx", *KERAS)),
    Rule("nn", ENGINE),  # the package's front door re-exports the core
    Rule("services", ("services", *ENGINE), ("numpy", "threadpoolctl", "distributed", "dask")),
    Rule(
        "ui", APP, ("numpy", "PIL", "streamlit", "plotly", "pandas", "starlette", "streamlit_drawable_canvas")
    ),
    Rule("app_pages", ("app_pages", *APP), ("numpy", "streamlit", "pandas", "streamlit_drawable_canvas")),
    Rule("app_navigation", ("ui",), ("streamlit",)),
    Rule("streamlit_app", ("ui",), ("streamlit",)),
    Rule("digitlab", ("digitlab", "services", *ENGINE), ("numpy",)),
    Rule("bench", ("bench", "digitlab", "tests.support", *APP), (*TESTING, *OPTIONAL)),
    Rule("tests.support", ("tests.support", "digitlab", *APP), (*TESTING, *OPTIONAL)),
    Rule("tests", ("tests.support", "bench", "digitlab", *APP), (*TESTING, *OPTIONAL)),
)
PROJECT = {rule.prefix.split(".")[0] for rule in RULES}


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def modules(root: Path) -> dict[str, Path]:
    """Every Python module of the tree, by its dotted name."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[0] in SKIPPED or parts[0] not in PROJECT:
            continue
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        found[".".join(parts)] = path
    return found


def imports(path: Path, module: str, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in the file: top level, in functions, under
    TYPE_CHECKING alike. `from a import b` imports `a.b` when that is a module of the tree, else `a`."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield (submodule if submodule in known else base), node.lineno


def violations(root: Path) -> list[str]:
    """'path:line: module imports X' for every import its layer's rule refuses."""
    known = modules(root)
    found = set()
    for name, path in known.items():
        rule = next((rule for rule in RULES if rule.covers(name)), None)
        for imported, line in imports(path, name, known):
            if rule is not None and not rule.allows(imported):
                found.add(f"{path.relative_to(root)}:{line}: {name} imports {imported}")
    return sorted(found)


def cycles(root: Path) -> list[list[str]]:
    """One circle of imports for each group of modules that reach one another."""
    known = modules(root)
    edges = {
        name: {imported for imported, _ in imports(path, name, known) if imported in known} - {name}
        for name, path in known.items()
    }
    groups = [group for group in _strongly_connected(edges) if len(group) > 1]
    return sorted(_circle(min(group), group, edges) for group in groups)


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively (a deep import chain must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    groups.append(group)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def _circle(start: str, group: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest path from `start` back to itself inside its group (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges[node] & group):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{start} is in a group of modules that reach one another, yet not on a circle")
