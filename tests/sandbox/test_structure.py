"""The sandbox forms layers: no import circles, TYPE_CHECKING and local imports included."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "sandbox"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def with_packages(name: str) -> set[str]:
    """``name`` and the packages Python imports on the way to it."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def imports_of(path: Path) -> set[str]:
    """Every sandbox module ``path`` imports, wherever the import statement sits."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if is_module(f"{node.module}.{alias.name}")
            )
    own = module_name(path)
    targets: set[str] = set()
    for name in found:
        if name == PACKAGE or name.startswith(PACKAGE + "."):
            targets |= with_packages(name)
    return {t for t in targets if t != own and is_module(t)}


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in sorted((ROOT / PACKAGE).rglob("*.py"))}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_cycle_finder_sees_a_circle_and_no_false_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_imports_count_type_checking_and_local_ones() -> None:
    graph = import_graph()
    # gateway names World only for type hints; that still counts as depending on it
    assert "sandbox.world" in graph["sandbox.gateway"]
    # rest.table imports the areas with "from sandbox.rest import channels"
    assert "sandbox.rest.channels" in graph["sandbox.rest.table"]


def test_no_import_circles_in_the_sandbox() -> None:
    cycles = find_cycles(import_graph())
    assert cycles == [], f"import circles: {cycles}"


def test_routes_and_gateway_do_not_import_the_server() -> None:
    graph = import_graph()
    lower = [name for name in graph if name.startswith("sandbox.rest") or name == "sandbox.gateway"]
    assert lower
    for name in lower:
        assert "sandbox.server" not in graph[name], name
        assert "sandbox.actions" not in graph[name], name


def test_a_sandbox_that_does_not_validate_never_imports_jsonschema() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sandbox.server import SandboxServer\n"
        "import bot.offline\n"
        "SandboxServer(spec_path=None)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsonschema', 'referencing')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
