"""The shape of the package (docs/architecture.md): imports point inward, no import cycle,
one reader of the time of day, and each version's error table covers every core error code."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pathsessions.api.v1.errors import ERRORS, NOT_RAISED
from pathsessions.api.v2 import errors as v2_errors
from pathsessions.core.errors import ErrorCode

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "pathsessions"
CORE_LEAVES = {
    "model",
    "values",
    "ids",
    "clock",
    "errors",
    "keys",
    "tokens",
    "listing",
    "webhook_records",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's own modules that `name` imports, at run time or for type checking."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            # The longest known module the import names (a module, or a name in one).
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: imports_of(name, path, set(modules())) for name, path in modules().items()}


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "package"
    if parts[1] == "core":
        return "core-leaf" if len(parts) > 2 and parts[2] in CORE_LEAVES else "core"
    if parts[1] == "api" and len(parts) > 2 and re.fullmatch(r"v\d+", parts[2]):
        return f"api.{parts[2]}"
    layers = {
        "api": "api",
        "web": "web",
        "storage": "storage",
        "cli": "cli",
        "sandbox": "sandbox",
        "delivery": "delivery",
    }
    return layers.get(parts[1], "outer")


# What each layer may import of ours, besides itself.
ALLOWED = {
    "core-leaf": {"package"},
    "storage": {"core-leaf", "package"},
    "core": {"core-leaf", "storage", "package"},
    "web": {"package"},
    "api": {"core", "core-leaf", "web", "storage", "outer", "package"},
    # The sandbox is version-neutral: no API version, and of the outer modules only these.
    "sandbox": {"core", "core-leaf", "web", "storage", "api", "outer", "package"},
    # The webhook delivery worker: the core's rules and storage, handed its settings.
    "delivery": {"core", "core-leaf", "storage", "package"},
}
SANDBOX_OUTER = {"pathsessions.settings", "pathsessions.loader", "pathsessions.documents"}
# The one module of an API version the sandbox uses: the learner's statistics it answers after
# recording progress are v2's user-stats item, as v2 shows it.
SANDBOX_VERSIONED = {"pathsessions.api.v2.progress_views"}


def test_the_graph_sees_the_layers() -> None:
    """The checks below would pass vacuously on an empty graph."""
    assert "pathsessions.storage.sessions" in GRAPH["pathsessions.core.sessions"]
    assert "pathsessions.core.model" in GRAPH["pathsessions.storage.sessions"]
    assert "pathsessions.core.sessions" in GRAPH["pathsessions.api.v1.handlers"]
    assert layer("pathsessions.api.v1.handlers") == "api.v1"
    assert layer("pathsessions.sandbox.hooks") == "sandbox"
    assert "pathsessions.web.pipeline" in GRAPH["pathsessions.sandbox.hooks"]


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_inward(module: str) -> None:
    mine = layer(module)
    for target in GRAPH[module]:
        theirs = layer(target)
        if theirs == mine:
            continue
        if mine.startswith("api.v"):
            # A version sees the core, web/ and the shared api modules, never another version.
            assert not theirs.startswith("api.v"), f"{module} imports {target}"
            continue
        if mine == "sandbox" and target in SANDBOX_VERSIONED:
            continue
        if mine in ALLOWED:
            assert theirs in ALLOWED[mine], f"{module} ({mine}) imports {target} ({theirs})"
    if mine == "sandbox":
        outer = {t for t in GRAPH[module] if layer(t) == "outer"}
        assert outer <= SANDBOX_OUTER, f"{module} imports {outer - SANDBOX_OUTER}"
    if theirs_sandbox := [t for t in GRAPH[module] if layer(t) == "sandbox"]:
        # Only the composition root knows the sandbox.
        assert mine == "sandbox" or module == "pathsessions.app", (
            f"{module} imports {theirs_sandbox}"
        )
    if mine == "storage":
        # Settings is the only top-level module storage could want; it needs none.
        assert not any(layer(t) == "outer" for t in GRAPH[module])


def cycles() -> Iterator[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> Iterator[list[str]]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH.get(node, ()):
            if nxt not in index:
                yield from visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                yield sorted(component)

    for node in sorted(GRAPH):
        if node not in index:
            yield from visit(node)


def test_no_import_cycle() -> None:
    # A package's __init__ importing its own submodules is how a package is made, not a cycle.
    found = [c for c in cycles() if not all(m == c[0] or m.startswith(c[0] + ".") for m in c)]
    assert not found, f"import cycles: {found}"


# Reading the time of day: allowed only where the reason is not a rule of the service.
TIME_READS = re.compile(r"\btime\.time(_ns)?\(|\bdatetime\.now\(|\butcnow\(|\bdt\.datetime\.now\(")
TIME_READERS = {
    "pathsessions.core.clock": "the clock itself",
    "pathsessions.core.ids": "ObjectIds carry real seconds by definition",
    "pathsessions.web.accesslog": "the time stamp of a log line",
    "pathsessions.web.logs": "the time stamp of a log line",
}


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_only_the_clock_reads_the_time_of_day(module: str) -> None:
    text = modules()[module].read_text(encoding="utf-8")
    if module not in TIME_READERS:
        assert not TIME_READS.search(text), f"{module} reads the time of day: use the Clock"


def test_the_time_check_sees_a_reader() -> None:
    assert TIME_READS.search(modules()["pathsessions.core.clock"].read_text(encoding="utf-8"))


def test_v1_words_every_error_code() -> None:
    assert set(ERRORS) | NOT_RAISED == set(ErrorCode)
    assert not set(ERRORS) & NOT_RAISED
    strings = [text for _, text in ERRORS.values()]
    assert len(strings) == len(set(strings)), "two codes answer the same v1 string"


def test_v2_words_every_error_code() -> None:
    assert set(v2_errors.ERRORS) | v2_errors.NOT_RAISED == set(ErrorCode)
    assert not set(v2_errors.ERRORS) & v2_errors.NOT_RAISED
    for status, code, message in v2_errors.ERRORS.values():
        if code in v2_errors.BARE:
            assert status in (401, 429), code
        else:
            # The nested envelope's two members are always present, and v2's codes camelCase
            # but for the one the published API spells otherwise.
            assert message, code
            assert code == "invalid_scope" or re_camel.fullmatch(code), code


re_camel = re.compile(r"[a-z]+(?:[A-Z][a-z]*)*")


def test_v2_answers_each_code_with_one_status() -> None:
    seen: dict[str, int] = {}
    for status, code, _ in v2_errors.ERRORS.values():
        assert seen.setdefault(code, status) == status, code
