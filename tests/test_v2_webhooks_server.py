"""Webhook deliveries from real `pathsessions serve` processes: events pending when the server
is SIGKILLed are all delivered after it restarts, and two worker processes deliver each event
exactly once; the delivery process they run beside the request processes, woken at once,
started again when it dies."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from pathsessions.delivery.process import QUIET_SECONDS, Waker
from pathsessions.storage import open_database
from pathsessions.storage.sqlite import SQLiteDatabase
from support.api import valid_body
from support.realserver import (
    COMPANY,
    HEADERS,
    SESSIONS,
    Server,
    Servers,
    free_port,
    load_example,
    stop_cleanly,
)
from support.webhooks import Receiver, signature

pytestmark = pytest.mark.e2e

SUBSCRIPTION = "7b0000000000000000000001"
SECRET = "a-webhook-secret-for-tests"
ENV = {"PATHSESSIONS_WEBHOOK_PRIVATE_TARGETS": "true", "PATHSESSIONS_WEBHOOK_POLL_INTERVAL": "0.05"}


async def subscribe(database_url: str, url: str) -> None:
    db = await open_database(database_url, pg_pool_size=1)
    try:
        await db.execute(
            "INSERT INTO webhook_subscriptions (id, company_id, event_type, name, url, status,"
            " secret, created_at, modified_at) VALUES (?, ?, ?, ?, ?, 'active', ?, 0, 0)",
            SUBSCRIPTION,
            COMPANY,
            "path.session.added",
            "test",
            url,
            SECRET,
        )
    finally:
        await db.close()


async def statuses(database_url: str) -> list[str]:
    db = await open_database(database_url, pg_pool_size=1)
    try:
        rows = await db.fetchall("SELECT status FROM webhook_events")
        return sorted(row[0] for row in rows)
    finally:
        await db.close()


async def attempted(database_url: str) -> int:
    db = await open_database(database_url, pg_pool_size=1)
    try:
        row = await db.fetchone("SELECT COUNT(DISTINCT event_id) FROM webhook_attempts")
        return int(row[0]) if row else 0
    finally:
        await db.close()


async def create_sessions(base_url: str, count: int) -> set[str]:
    async with httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=30) as client:
        answers = await asyncio.gather(
            *(client.post(SESSIONS, json=valid_body(sessionName=f"S{i}")) for i in range(count))
        )
    assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
    return {r.json()["_id"] for r in answers}


async def test_events_pending_at_a_sigkill_are_delivered_after_a_restart(
    database_url: str, servers: Servers
) -> None:
    load_example(database_url)
    port = free_port()  # nothing listens there yet: every first attempt is refused
    await subscribe(database_url, f"http://127.0.0.1:{port}/hook")
    server = servers.start(env=ENV)
    created = await create_sessions(server.base_url, 20)
    async with asyncio.timeout(20):
        while await attempted(database_url) < 20:
            await asyncio.sleep(0.05)
    assert set(await statuses(database_url)) <= {"pending", "sending"}
    server.stop(signal.SIGKILL)
    receiver = await Receiver().start(port)
    try:
        again = servers.start(env=ENV)
        got = await receiver.wait_for(20, timeout=30)
        await asyncio.sleep(0.3)
        assert {g.json["data"]["sessionId"] for g in got} == created
        assert len({g.headers["webhook-id"] for g in got}) == len(got) == 20
        assert all(g.headers["webhook-signature"] == signature(SECRET, g) for g in got)
        async with asyncio.timeout(10):
            while await statuses(database_url) != ["delivered"] * 20:
                await asyncio.sleep(0.05)
        stop_cleanly(again)
        assert SECRET not in again.stdout + again.stderr
    finally:
        await receiver.close()


async def test_two_worker_processes_deliver_each_event_exactly_once(
    database_url: str, servers: Servers
) -> None:
    receiver = await Receiver().start()
    try:
        load_example(database_url)
        await subscribe(database_url, receiver.url())
        server = servers.start("serve", "--workers", "2", env=ENV)
        created = set()
        for _ in range(4):
            created |= await create_sessions(server.base_url, 25)
        got = await receiver.wait_for(100, timeout=30)
        await asyncio.sleep(1.0)  # time for a duplicate, were there one, to arrive
        assert len(receiver.received) == 100
        assert len({g.headers["webhook-id"] for g in got}) == 100
        assert {g.json["data"]["sessionId"] for g in got} == created
        assert await statuses(database_url) == ["delivered"] * 100
        stop_cleanly(server)
    finally:
        await receiver.close()


# --- The delivery process ----------------------------------------------------------------------

STARTED = re.compile(r"webhook delivery process (\d+) started")


def delivery_pids(server: Server) -> list[int]:
    """The delivery processes the server has started, in order (from its log)."""
    return [int(pid) for pid in STARTED.findall(server.stderr)]


def sender_of(local: int, remote: int) -> int | None:
    """The process holding the TCP connection from 127.0.0.1:`local` to `remote`."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        ports = int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)
        if ports == (local, remote):
            inode = f"socket:[{fields[9]}]"
    for folder in Path("/proc").glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == inode for fd in folder.iterdir()):
                return int(folder.parent.name)
    return None


@dataclass
class SenderReceiver(Receiver):
    """Also records which process each delivery came from (read while its connection is
    open: the receiver closes it after answering)."""

    senders: set[int | None] = field(default_factory=set)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.senders.add(sender_of(writer.get_extra_info("peername")[1], self.port))
        await super()._handle(reader, writer)


def niceness(pid: int) -> int:
    # /proc/PID/stat: the 19th field, after the command name in parentheses.
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[16])


async def wait_for_pids(server: Server, count: int, timeout: float = 20) -> list[int]:
    async with asyncio.timeout(timeout):
        while len(delivery_pids(server)) < count:
            await asyncio.sleep(0.05)
    return delivery_pids(server)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
async def test_serve_delivers_from_one_process_of_its_own_woken_at_once(
    database_url: str, servers: Servers
) -> None:
    receiver = SenderReceiver()
    await receiver.start()
    try:
        load_example(database_url)
        await subscribe(database_url, receiver.url())
        # A poll far longer than the test: only the wake-up can bring the events in time.
        env = {**ENV, "PATHSESSIONS_WEBHOOK_POLL_INTERVAL": "600"}
        server = servers.start("serve", "--workers", "2", env=env)
        [pid] = await wait_for_pids(server, 1)
        created = await create_sessions(server.base_url, 10)
        got = await receiver.wait_for(10, timeout=10)
        assert {g.json["data"]["sessionId"] for g in got} == created
        assert receiver.senders == {pid}
        assert pid != server.process.pid
        assert niceness(pid) == niceness(server.process.pid) + 10
        stop_cleanly(server)
        assert f"webhook delivery process {pid} stopped" in server.stderr
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        await receiver.close()


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
async def test_inline_delivery_is_the_request_process_own(
    database_url: str, servers: Servers
) -> None:
    receiver = SenderReceiver()
    await receiver.start()
    try:
        load_example(database_url)
        await subscribe(database_url, receiver.url())
        server = servers.start(env={**ENV, "PATHSESSIONS_WEBHOOK_DELIVERY": "inline"})
        await create_sessions(server.base_url, 3)
        await receiver.wait_for(3, timeout=10)
        assert receiver.senders == {server.process.pid}
        stop_cleanly(server)
        assert delivery_pids(server) == []
    finally:
        await receiver.close()


async def test_a_killed_delivery_process_is_started_again_and_delivers(
    database_url: str, servers: Servers
) -> None:
    receiver = await Receiver().start()
    try:
        load_example(database_url)
        await subscribe(database_url, receiver.url())
        server = servers.start(env=ENV)
        [first] = await wait_for_pids(server, 1)
        created = await create_sessions(server.base_url, 5)
        await receiver.wait_for(5, timeout=10)
        # Killed once their results are recorded (killed before, it would send them again
        # when their lease ends: at least once after a crash).
        async with asyncio.timeout(10):
            while await statuses(database_url) != ["delivered"] * 5:
                await asyncio.sleep(0.05)
        os.kill(first, signal.SIGKILL)
        # Created while no delivery process runs: waiting in the outbox for the next one.
        created |= await create_sessions(server.base_url, 5)
        second = (await wait_for_pids(server, 2))[1]
        assert second != first
        got = await receiver.wait_for(10, timeout=20)
        created |= await create_sessions(server.base_url, 5)
        got = await receiver.wait_for(15, timeout=10)
        await asyncio.sleep(0.3)  # time for a duplicate, were there one, to arrive
        assert len(receiver.received) == 15
        assert {g.json["data"]["sessionId"] for g in got} == created
        async with asyncio.timeout(10):
            while await statuses(database_url) != ["delivered"] * 15:
                await asyncio.sleep(0.05)
        assert f"webhook delivery process {first} exited (status -9)" in server.stderr
        stop_cleanly(server)
    finally:
        await receiver.close()


@pytest.mark.parametrize("group_commit", [True, False])
async def test_the_delivery_process_holds_the_sqlite_write_lock_for_its_statements_only(
    tmp_path: Path, group_commit: bool
) -> None:
    """The delivery process's connection commits as each transaction's body ends; a grouped
    commit waits for the next turn of the loop, the lock held meanwhile (the control)."""
    path = tmp_path / "lock.db"
    db = SQLiteDatabase.open(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        db.group_commit = group_commit
        await db.execute("CREATE TABLE t (x INTEGER)")
        seen: list[str] = []

        def look() -> None:
            # Another process's writer, in the first turn after the transaction's body.
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                seen.append("free")
            except sqlite3.OperationalError:
                seen.append("held")

        asyncio.get_running_loop().call_soon(look)
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (1)")
        await asyncio.sleep(0)
        assert seen == ["held" if group_commit else "free"]
        assert other.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        other.close()
        await db.close()


def test_a_request_process_wakes_the_delivery_process_once_per_quiet_time(
    tmp_path: Path,
) -> None:
    """A stream of writes sends one datagram, not one each; once the quiet time is over the
    next write sends another."""
    path = str(tmp_path / "wake.sock")
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listening.bind(path)
    listening.setblocking(False)
    waker = Waker(path)
    try:

        def received() -> int:
            count = 0
            with contextlib.suppress(BlockingIOError):
                while listening.recv(64):
                    count += 1
            return count

        started = time.monotonic()
        waker()
        waker()
        waker()
        if time.monotonic() - started < QUIET_SECONDS:  # not preempted meanwhile
            assert received() == 1
        time.sleep(QUIET_SECONDS * 2)
        received()
        waker()
        assert received() == 1
    finally:
        waker.close()
        listening.close()
