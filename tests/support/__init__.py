"""What the tests share besides fixtures: the known world (`support.world`), requests and the
checks of their answers (`support.api`), the test databases (`support.databases`), the CLI
called in process (`support.cli`), real server processes (`support.realserver`), one valid
request per operation (`support.catalogue`) and the lines at the end of the report
(`support.report`).

The names most tests use are importable from `support` itself.
"""

from __future__ import annotations

from .api import (
    ABSENT,
    ITEM_KEYS,
    JSON_TYPE,
    UNKNOWN_ID,
    assert_error,
    assert_nothing_written,
    count_rows,
    create_other,
    created_id,
    error,
    valid_body,
)
from .world import ACME, ACME_KEY, OTHER, OTHER_KEY, TOKEN_SECRET, WORLD, World, world_document

__all__ = [
    "ABSENT",
    "ACME",
    "ACME_KEY",
    "ITEM_KEYS",
    "JSON_TYPE",
    "OTHER",
    "OTHER_KEY",
    "TOKEN_SECRET",
    "UNKNOWN_ID",
    "WORLD",
    "World",
    "assert_error",
    "assert_nothing_written",
    "count_rows",
    "create_other",
    "created_id",
    "error",
    "valid_body",
    "world_document",
]
