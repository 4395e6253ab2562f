"""Every scenario the benchmark knows, in the order it runs them."""

from __future__ import annotations

from ..seed import DEEP_PAGE, DEEP_SESSIONS, READER_SESSIONS, seed_deep, seed_reader
from .base import Probe, Scenario
from .v1 import (
    create_session_script,
    get_session_script,
    list_sessions_script,
    probe_get_session,
    probe_list_sessions,
)
from .v2 import (
    prepare_deep,
    prepare_reader_v2,
    probe_deep_page,
    probe_first_page,
    probe_v2_get_session,
    v2_deep_page_script,
    v2_first_page_script,
    v2_get_session_script,
)

__all__ = ["SCENARIOS", "Probe", "Scenario"]

SCENARIOS = [
    Scenario(
        name="create-session",
        description="POST /api/v1/paths/{pathId}/sessions/, one instructor, ~250-byte body",
        script=create_session_script,
    ),
    Scenario(
        name="get-session",
        description=f"GET /api/v1/paths/sessions/{{sessionId}}, one of {READER_SESSIONS:,}",
        script=get_session_script,
        seed=seed_reader,
        probe=probe_get_session,
    ),
    # One answer is tens of MB and takes seconds: a few connections are enough to keep the
    # server busy, wrk's default 2 s timeout would count every answer as an error, and the raw
    # app's 34-byte answer says nothing about it.
    Scenario(
        name="list-sessions",
        description=f"GET /api/v1/paths/sessions, {READER_SESSIONS:,} sessions in one answer",
        script=list_sessions_script,
        seed=seed_reader,
        connections=4,
        timeout=30,
        ceiling=False,
        probe=probe_list_sessions,
    ),
    Scenario(
        name="v2-get-session",
        description=f"GET /api/v2/paths/{{pathId}}/sessions/{{sessionId}}, one of"
        f" {READER_SESSIONS:,}",
        script=v2_get_session_script,
        seed=seed_reader,
        prepare=prepare_reader_v2,
        probe=probe_v2_get_session,
    ),
    Scenario(
        name="v2-path-page-1",
        description=f"GET /api/v2/paths/{{pathId}}/sessions, the first page of {DEEP_SESSIONS:,}",
        script=v2_first_page_script,
        seed=seed_deep,
        prepare=prepare_deep,
        probe=probe_first_page,
    ),
    Scenario(
        name=f"v2-path-page-{DEEP_PAGE}",
        description=f"the same path's page {DEEP_PAGE:,} (its last), by its `next` link",
        script=v2_deep_page_script,
        seed=seed_deep,
        prepare=prepare_deep,
        probe=probe_deep_page,
    ),
]
