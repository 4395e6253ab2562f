"""The access log buffers its lines and writes them in batches."""

from __future__ import annotations

import asyncio
import io

from pathsessions.accesslog import AccessLog


async def test_lines_are_written_together_after_the_interval() -> None:
    out = io.StringIO()
    log = AccessLog(stream=out, interval=0.05)
    log.record("GET", "/a", 200, 1.25)
    log.record("POST", "/b", 404, 0.5)
    assert out.getvalue() == ""
    await asyncio.sleep(0.1)
    lines = out.getvalue().splitlines()
    assert [line.split(" INFO ", 1)[1] for line in lines] == [
        "pathsessions.access GET /a 200 1.2ms",
        "pathsessions.access POST /b 404 0.5ms",
    ]


async def test_a_full_buffer_is_written_at_once() -> None:
    out = io.StringIO()
    log = AccessLog(stream=out, interval=60, max_bytes=200)
    for _ in range(5):
        log.record("GET", "/x" * 20, 200, 1.0)
    assert out.getvalue().count("\n") >= 2
    log.flush()
    assert out.getvalue().count("\n") == 5
    log.flush()  # nothing left: writes nothing more
    assert out.getvalue().count("\n") == 5
