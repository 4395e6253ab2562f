"""The documentation names everything the code has, and nothing it does not.

Plain checks on files and on the objects the docs describe: no database, no server. When one
fails, the message says what to add to (or remove from) which document.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import pytest

from pathsessions.api.v1.errors import STATUS
from pathsessions.api.v1.routes import ROUTES
from pathsessions.cli import build_parser
from pathsessions.settings import PREFIX, Settings
from pathsessions.web.routing import Route

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def read(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row in `text` (separator rows left out)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|") or re.fullmatch(r"[|\s:-]+", line):
            continue
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def backticked(cell: str) -> str | None:
    """The text of a cell that is one `code span` and nothing else."""
    m = re.fullmatch(r"`([^`]+)`", cell)
    return None if m is None else m.group(1)


def sections(text: str) -> dict[str, str]:
    """Heading line -> the text under it, up to the next heading of any level."""
    out: dict[str, str] = {}
    heading: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            if heading is not None:
                out[heading] = "\n".join(lines)
            heading, lines = line, []
        else:
            lines.append(line)
    if heading is not None:
        out[heading] = "\n".join(lines)
    return out


# --- docs/errors.md: the closed table of error codes ----------------------------------------


def error_rows() -> dict[str, list[str]]:
    """Code -> its row, for the rows of docs/errors.md whose first cell is a code span."""
    rows: dict[str, list[str]] = {}
    for cells in table_rows(read("docs/errors.md")):
        code = backticked(cells[0])
        if code is not None:
            assert code not in rows, f"docs/errors.md lists {code!r} twice"
            rows[code] = cells
    return rows


@pytest.mark.parametrize("code", sorted(STATUS))
def test_every_error_code_is_documented_with_its_status(code: str) -> None:
    rows = error_rows()
    assert code in rows, f"add a row for `{code}` ({STATUS[code]}) to docs/errors.md"
    assert len(rows[code]) > 1, f"docs/errors.md: the row of `{code}` has no status cell"
    assert rows[code][1] == str(STATUS[code]), (
        f"docs/errors.md says {rows[code][1]} for `{code}`; errors.STATUS says {STATUS[code]}"
    )


def test_every_documented_error_code_exists() -> None:
    stale = sorted(set(error_rows()) - set(STATUS))
    assert not stale, f"docs/errors.md lists codes that errors.STATUS does not have: {stale}"


# --- docs/configuration.md: every setting, as its environment variable -----------------------


def env_name(field_name: str) -> str:
    return PREFIX + field_name.upper()


def doc_default(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "(empty)" if value == "" else str(value)


def setting_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for cells in table_rows(read("docs/configuration.md")):
        name = backticked(cells[0])
        if name is not None and name.startswith(PREFIX):
            rows[name] = cells
    return rows


@pytest.mark.parametrize("name", [f.name for f in fields(Settings)])
def test_every_setting_is_documented_with_its_default(name: str) -> None:
    field = next(f for f in fields(Settings) if f.name == name)
    variable = env_name(name)
    rows = setting_rows()
    assert variable in rows, f"add a row for `{variable}` to docs/configuration.md"
    assert field.default is not MISSING
    default = doc_default(field.default)
    assert any(f"`{default}`" in cell for cell in rows[variable][1:]), (
        f"docs/configuration.md: the row of `{variable}` should give the default `{default}`"
    )


def test_every_documented_setting_exists() -> None:
    known = {env_name(f.name) for f in fields(Settings)} | {"PATHSESSIONS_PORTT"}  # a typo
    mentioned = set(re.findall(rf"{PREFIX}(?!TEST_)[A-Z0-9_]+", read("docs/configuration.md")))
    stale = sorted(mentioned - known)
    assert not stale, f"docs/configuration.md names variables Settings does not have: {stale}"


# --- docs/cli.md: every command, sub-command and option --------------------------------------


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_commands() -> dict[str, argparse.ArgumentParser]:
    """`pathsessions <command> [<action>]` -> the parser that runs it (the leaves only)."""
    leaves: dict[str, argparse.ArgumentParser] = {}
    for name, command in subcommands(build_parser()).items():
        actions = subcommands(command)
        if not actions:
            leaves[f"pathsessions {name}"] = command
        for action, parser in actions.items():
            leaves[f"pathsessions {name} {action}"] = parser
    return leaves


def cli_sections() -> dict[str, str]:
    """`pathsessions ...` named in a heading's code span -> the text under that heading."""
    found: dict[str, str] = {}
    for heading, body in sections(read("docs/cli.md")).items():
        m = re.search(r"`(pathsessions(?: [a-z-]+)+)`", heading)
        if m is not None:
            found[m.group(1)] = body
    return found


def option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [
        option
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction)
        for option in action.option_strings
    ]


@pytest.mark.parametrize("command", sorted(cli_commands()))
def test_every_cli_command_and_option_is_documented(command: str) -> None:
    documented = cli_sections()
    assert command in documented, f"add a heading with `{command}` to docs/cli.md"
    missing = [
        option
        for option in option_strings(cli_commands()[command])
        if re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", documented[command]) is None
    ]
    assert not missing, f"docs/cli.md: document {missing} under the `{command}` heading"


def test_every_documented_cli_command_exists() -> None:
    stale = sorted(set(cli_sections()) - set(cli_commands()))
    assert not stale, f"docs/cli.md has headings for commands that do not exist: {stale}"


# --- docs/api.md: every served route ----------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_every_route_is_in_the_api_doc(route: Route[Any, Any]) -> None:
    pattern = rf"`{route.method} {re.escape(route.path)}/?`"
    assert re.search(pattern, read("docs/api.md")), (
        f"docs/api.md should describe `{route.method} {route.path}`"
    )


# --- README and CI ----------------------------------------------------------------------------


def test_readme_gives_the_two_commands() -> None:
    readme = read("README.md")
    assert "./dev demo" in readme
    assert "./dev test" in readme


def test_ci_runs_the_readme_test_command() -> None:
    commands = [
        line.strip()
        for line in read(".ci/run").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert any(re.search(r"(^|\s)\./dev test(\s|$)", line) for line in commands), (
        ".ci/run must call ./dev test, the command the README gives"
    )


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def anchors(document: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    found: set[str] = set()
    for line in document.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#+\s+(.*)", line)
        if m is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
        n, candidate = 0, slug
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


@pytest.mark.parametrize("document", markdown_files(), ids=lambda p: p.name)
def test_relative_links_point_at_files_and_headings(document: Path) -> None:
    text = re.sub(r"```.*?```", "", document.read_text(encoding="utf-8"), flags=re.DOTALL)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a URL
        name, _, anchor = target.partition("#")
        linked = document if not name else document.parent / name
        if not linked.exists() or (
            linked.suffix == ".md" and anchor and anchor not in anchors(linked)
        ):
            broken.append(target)
    assert not broken, f"{document.relative_to(ROOT)} has broken links: {broken}"


# --- README: the source layout names the package's real modules, all of them -----------------


def layout_entries() -> set[str]:
    """Paths under src/pathsessions/ that the README's "Source layout" block names."""
    block = sections(read("README.md"))["## Source layout"].split("```")[1]
    entries: set[str] = set()
    stack: list[tuple[int, str]] = []  # (indent, directory) of the enclosing folders
    for line in block.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("src/pathsessions/", "tests/", "bench/", "docs/")):
            continue
        if stripped.startswith(("dev,", ".ci")):
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        prefix = "/".join(d for _, d in stack)
        names = re.findall(r"[\w.]+\.py|[\w]+/", stripped.split("  ")[0])
        for name in names:
            path = f"{prefix}/{name}" if prefix else name
            entries.add(path.rstrip("/"))
        if len(names) == 1 and names[0].endswith("/"):
            stack.append((indent, names[0].rstrip("/")))
    return entries


def test_the_source_layout_names_every_module_and_only_real_ones() -> None:
    package = ROOT / "src" / "pathsessions"
    entries = layout_entries()
    # The parser sees nested folders (a check that would pass on an empty set is none).
    assert "web/pipeline.py" in entries, entries
    assert "api/v1/routes.py" in entries, entries
    stale = sorted(e for e in entries if not (package / e).exists())
    assert not stale, f"README's source layout names what does not exist: {stale}"
    modules = {
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if p.name != "__main__.py"
        and not (p.name == "__init__.py" and p.parent != package)
        and "migrations" not in p.parts
    }
    # A folder named without its modules (`cli/  one small module per command`) covers them.
    whole = {
        e
        for e in entries
        if (package / e).is_dir() and not any(other.startswith(e + "/") for other in entries)
    }
    missing = sorted(m for m in modules - entries if not any(m.startswith(w + "/") for w in whole))
    assert not missing, f"add these to README's source layout: {missing}"
