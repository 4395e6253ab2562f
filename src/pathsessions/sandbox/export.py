"""A company as a fixture document (docs/fixtures.md), complete enough to load back."""

from __future__ import annotations

from typing import Any

from ..storage import Database


async def company_document(db: Database, company_id: str) -> dict[str, Any]:
    raise NotImplementedError
