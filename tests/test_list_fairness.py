"""One company's lists do not starve the others (docs/api.md, decision 72): a real
`pathsessions serve` process, a large company running ten full lists at once, and another
company's reads timed meanwhile (their p99 is printed; `pytest -s` shows it).

Over its cap of concurrent streamed answers (`PATHSESSIONS_MAX_LISTS_PER_COMPANY`) a company
is answered 429 `tooManyRequests` with `Retry-After` at once, before any of its list is read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time

import httpx
import pytest

from pathsessions.core.ids import ObjectIdFactory
from pathsessions.core.keys import hash_key
from pathsessions.storage import open_database
from pathsessions.web.ratelimit import LocalStreamSlots, RedisStreamSlots
from support.realserver import HEADERS, SESSIONS, Server, Servers, body, created_id, load_example

new_id = ObjectIdFactory()
LARGE_SESSIONS = 20_000
LARGE_KEY = "large-company-key-0123456789abcdefghijklmnop"
LISTERS = 10
SAMPLES = 500


async def seed_large_company(database_url: str) -> str:
    """A company of its own with LARGE_SESSIONS sessions, written straight to the tables."""
    db = await open_database(database_url, pg_pool_size=1)
    company, owner, group, path = new_id(), new_id(), new_id(), new_id()
    now = int(time.time() * 1000)
    start = 1_893_456_000_000  # 2030-01-01
    try:
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO companies (id, name, owner_user_id, created_at) VALUES (?, ?, ?, ?)",
                [(company, "Large company", owner, now)],
            )
            await tx.executemany(
                "INSERT INTO api_keys (id, company_id, key_hash, label, created_at, revoked_at)"
                " VALUES (?, ?, ?, ?, ?, NULL)",
                [(new_id(), company, hash_key(LARGE_KEY), "large", now)],
            )
            await tx.executemany(
                "INSERT INTO company_groups (id, company_id, name, public, parent_id, created_at)"
                " VALUES (?, ?, ?, ?, NULL, ?)",
                [(group, company, "Everyone", True, now)],
            )
            await tx.executemany(
                "INSERT INTO users (id, company_id, mail, mail_key, first_name, last_name,"
                " status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?)",
                [(owner, company, "owner@large.test", "owner@large.test", "O", "Wner", now)],
            )
            await tx.executemany(
                "INSERT INTO paths (id, company_id, name, group_id, status, created_at,"
                " modified_at) VALUES (?, ?, ?, ?, 'published', ?, ?)",
                [(path, company, "Onboarding", group, now, now)],
            )
            ids = [new_id() for _ in range(LARGE_SESSIONS)]
            await tx.executemany(
                "INSERT INTO path_sessions (id, company_id, path_id, name, start_date, end_date,"
                " owner_group_id, additional_information, created_at, modified_at)"
                " VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)",
                [
                    (i, company, path, f"Session {n}", start + n, group, "Room 4", now, now)
                    for n, i in enumerate(ids)
                ],
            )
            await tx.executemany(
                "INSERT INTO session_instructors (session_id, position, user_id) VALUES (?, ?, ?)",
                [(i, 0, owner) for i in ids],
            )
    finally:
        await db.close()
    return company


def listers(server: Server, company: str) -> subprocess.Popen[bytes]:
    """LISTERS clients of the large company, each listing its sessions again and again, and
    waiting as told when refused: in processes of their own (curl), so that reading tens of
    MB does not slow the client whose times are measured."""
    url = f"{server.base_url}/api/v1/paths/sessions"
    one = (
        f"while :; do code=$(nice -n 19 curl -s -o /dev/null -w '%{{http_code}}' "
        f"-H 'X-company-id: {company}' -H 'X-apiKey: {LARGE_KEY}' {url}); "
        f'echo "$code" >> "$LOG"; [ "$code" = 429 ] && sleep 1; done'
    )
    script = " & ".join([one] * LISTERS) + " & wait"
    return subprocess.Popen(
        [shutil.which("bash") or "/bin/bash", "-c", script],
        env={**os.environ, "LOG": str(server.stdout_path.with_suffix(".lists"))},
        start_new_session=True,
    )


def get_times(server: Server, path: str, count: int) -> list[float]:
    """`count` GETs of one session on one kept-alive connection, each timed, in seconds."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: x\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
        + "\r\n"
    ).encode()
    times = []
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        for _ in range(count):
            started = time.perf_counter()
            s.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 "), head
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            while len(rest) < length:
                rest += s.recv(65536)
            times.append(time.perf_counter() - started)
            time.sleep(0.002)
    return times


def p99(times: list[float]) -> float:
    return sorted(times)[len(times) * 99 // 100]


@pytest.mark.e2e
def test_ten_lists_of_one_company_do_not_slow_another(database_url: str, servers: Servers) -> None:
    load_example(database_url)
    company = asyncio.run(seed_large_company(database_url))
    server = servers.start(env={"PATHSESSIONS_ACCESS_LOG": "false"})
    created = httpx.post(f"{server.base_url}{SESSIONS}", headers=HEADERS, json=body())
    session_id = created_id(created)
    path = f"/api/v1/paths/sessions/{session_id}"
    large = {"X-company-id": company, "X-apiKey": LARGE_KEY}
    # A list in progress (its client reads nothing, so it stays in progress): the company's
    # next list is refused at once, in v1's words; another company's is not.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as held:
        held.sendall(
            b"GET /api/v1/paths/sessions HTTP/1.1\r\nHost: x\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in large.items()).encode()
            + b"\r\n"
        )
        assert held.recv(65536).startswith(b"HTTP/1.1 200 ")
        refused = httpx.get(f"{server.base_url}/api/v1/paths/sessions", headers=large)
        assert (refused.status_code, refused.json()) == (429, {"error": "tooManyRequests"})
        assert refused.headers["retry-after"] == "1"
        other = httpx.get(f"{server.base_url}/api/v1/paths/sessions", headers=HEADERS)
        assert other.status_code == 200, other.text
    # Ten lists of the large company, again and again, while the other company reads.
    get_times(server, path, 50)  # warm up
    idle = p99(get_times(server, path, SAMPLES))
    lists = listers(server, company)
    try:
        time.sleep(1.0)
        loaded = p99(get_times(server, path, SAMPLES))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(lists.pid, signal.SIGKILL)
        lists.wait()
    codes = server.stdout_path.with_suffix(".lists").read_text().split()
    print(
        f"\n[lists] get-by-id p99 idle {idle * 1000:.2f} ms, during {LISTERS} lists"
        f" {loaded * 1000:.2f} ms; list answers {sorted(set(codes))}: {len(codes)}"
    )
    assert "200" in codes
    assert "429" in codes
    # Without the cap and the pacing, this p99 was 440 ms (idle: 3 ms) on the machine these
    # figures come from; with them, 12 to 116 ms. Within 2x of idle is the aim (docs/api.md,
    # decision 72), not met on a loaded machine: this bound guards against losing what was won.
    assert loaded < 0.25, f"p99 {loaded * 1000:.0f} ms during the lists"


# --- The slots themselves --------------------------------------------------------------------

REDIS_URL = os.environ.get("PATHSESSIONS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def test_a_process_counts_its_own_lists() -> None:
    slots = LocalStreamSlots(2)
    first, second = await slots.acquire("a"), await slots.acquire("a")
    assert first is not None
    assert second is not None
    assert await slots.acquire("a") is None
    assert await slots.acquire("b") is not None  # another company has its own
    await slots.release("a", first)
    assert await slots.acquire("a") is not None


async def test_redis_shares_the_cap_between_servers() -> None:
    """Two processes (or hosts) with the same Redis: one cap between them."""
    company = ObjectIdFactory()()
    one, two = RedisStreamSlots(2, REDIS_URL), RedisStreamSlots(2, REDIS_URL)
    try:
        first = await one.acquire(company)
        second = await two.acquire(company)
        assert first
        assert second
        assert await one.acquire(company) is None
        assert await two.acquire(company) is None
        await one.release(company, first)
        third = await two.acquire(company)
        assert third
        await two.release(company, second)
        await two.release(company, third)
    finally:
        await one.close()
        await two.close()


async def test_lists_pass_uncounted_while_redis_is_unavailable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slots = RedisStreamSlots(1, "redis://127.0.0.1:1/0")  # nothing listens there
    try:
        assert await slots.acquire("5f1b2c3d4e5f60718293a4b5") == ""
        assert await slots.acquire("5f1b2c3d4e5f60718293a4b5") == ""
        await slots.release("5f1b2c3d4e5f60718293a4b5", "")
    finally:
        await slots.close()
    lost = [r for r in caplog.records if "list limits not applied" in r.getMessage()]
    assert len(lost) == 1
