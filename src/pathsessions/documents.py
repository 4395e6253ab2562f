"""Fixture documents as text: JSON, or YAML (`pathsessions load`, `POST /__admin/fixtures`).

YAML is read by PyYAML's safe loader, which builds plain data only (no Python objects), with
one change: a timestamp stays the string it is written as. Plain YAML would turn
`startDate: 2030-01-01T09:00:00.000Z` into a datetime, which a fixture's dates are not.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator
from typing import Any

import msgspec
import yaml

YAML_SUFFIXES = frozenset({".yaml", ".yml"})
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})


class DocumentError(ValueError):
    """Text that is no document of the format: the message says where and why."""


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader, see above)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise DocumentError(f"not a YAML document: {where}{error.problem}") from None
    except yaml.YAMLError as error:
        raise DocumentError(f"not a YAML document: {error}") from None


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, as it was after. Building or
    walking a large document allocates millions of objects, and every so many allocations
    the collector traverses all of them again: about two thirds of parsing a fixture of
    100,000 sessions, and a sixth of checking it. Nothing in a document or a load makes
    reference cycles that need it; what the block frees, reference counting frees."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_json(text: str) -> Any:
    # msgspec first, about three times faster on a large fixture; what it refuses (NaN,
    # numbers out of a float's range, lone surrogates, malformed text) goes to the standard
    # library, which decides and words the error as before. Both read a valid document alike.
    try:
        with collector_paused():
            return msgspec.json.decode(text)
    except msgspec.DecodeError:
        pass
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DocumentError(f"not a JSON document: {error}") from None


def parse_document(text: str, *, yaml_text: bool | None = None) -> Any:
    """`text` as YAML (`yaml_text` True), JSON (False), or, when None, by its content: JSON
    when it begins with `{` or `[`, else YAML (YAML reads JSON too, but words JSON's
    mistakes less clearly)."""
    if yaml_text:
        return parse_yaml(text)
    if yaml_text is False or text.lstrip().startswith(("{", "[")):
        return parse_json(text)
    return parse_yaml(text)
