"""The indicator package's imports run one way: no circle, nothing from the floors above.

Read from the source (every ``import`` statement, those inside functions too: a lazy import
that closes a circle still ties the modules together and breaks the day it moves to the
top), so the test needs no GPU and imports nothing it checks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import technic_core

PACKAGE = Path(technic_core.__file__).parent
# ARCHITECTURE: indicators import nothing from scan, sources, cache, bench, report or cli.
ABOVE = ("scan", "sources", "cache", "bench", "report", "cli", "universe", "progress")


def _modules(root: Path, sub: str) -> dict[str, Path]:
    out = {}
    for path in (root / sub).rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph(root: Path = PACKAGE, sub: str = "indicators") -> dict[str, set[str]]:
    """Module -> the modules it imports (absolute names; ``technic_core.*`` only)."""
    mods = _modules(root, sub)
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub_name = f"{target}.{alias.name}"
                    targets.add(sub_name if sub_name in mods else target)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t.startswith("technic_core") and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle a depth-first walk meets, each as the path that closes it."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(u: str) -> None:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if v not in graph:
                continue
            if state.get(v) == 1:
                found.append(stack[stack.index(v) :] + [v])
            elif v not in state:
                walk(v)
        stack.pop()
        state[u] = 2

    for u in sorted(graph):
        if u not in state:
            walk(u)
    return found


def test_the_graph_sees_the_modules_and_their_imports():
    graph = import_graph()
    assert "technic_core.indicators.registry" in graph
    assert (
        "technic_core.indicators.backends.cupy_probe" in graph["technic_core.indicators.registry"]
    )
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_circle_among_the_indicator_modules():
    assert cycles(import_graph()) == []


def test_indicators_import_nothing_from_the_floors_above():
    upward = {
        m: sorted(t for t in targets if t.split(".")[1:2] and t.split(".")[1] in ABOVE)
        for m, targets in import_graph().items()
    }
    assert {m: t for m, t in upward.items() if t} == {}


def test_backend_unavailable_lives_beside_indicator_input_error():
    from technic_core import indicators
    from technic_core.indicators import errors, registry

    assert indicators.BackendUnavailable is errors.BackendUnavailable is registry.BackendUnavailable
    assert indicators.IndicatorInputError is errors.IndicatorInputError
