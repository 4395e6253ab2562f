"""The delivery process: one per server, beside its request processes, so that the CPU a
delivery costs (the HTTP client, the signature, its transactions) is never taken from a
request's event loop.

- `Supervisor` (in the `serve` process): starts the delivery process, starts it again when it
  dies (after a pause that grows while it keeps dying young), and stops it with the server:
  SIGTERM, then SIGKILL if it has not finished within `STOP_SECONDS`.
- `run` (in the delivery process): runs a `DeliveryWorker` at a lower CPU priority until
  SIGTERM, or until the server process is gone (SIGKILLed: nothing else would stop it). Ctrl-C
  is the server's to handle: it stops this process in turn.
- `Waker` (in each request process): after a commit that queued events, one datagram to the
  delivery process's unix socket, which wakes its worker at once. It never blocks and never
  fails a request: a datagram lost (the process restarting, its buffer full) only delays the
  delivery to the worker's next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any

from ..storage.sqlite import SQLiteDatabase
from .worker import DeliveryWorker

log = logging.getLogger("pathsessions.webhooks")

# The environment variable through which `serve` tells its request processes where the
# delivery process listens for wake-ups (set only while one runs).
WAKE_VARIABLE = "PATHSESSIONS_DELIVERY_WAKE_SOCKET"
# The delivery process's least time between two claims of events, and between two
# recordings of results (DeliveryWorker.batch_interval): at most 100 write transactions a
# second each under any stream of events, for at most 10 ms more latency then.
BATCH_INTERVAL = 0.01
# After a datagram, how long a request process sends no other: while a stream of writes
# queues events the delivery process is awake anyway, and each datagram cost the sender about
# 10 us (the kernel waking the receiver). An event committed meanwhile is found by the
# worker's next look, a few milliseconds later at most.
QUIET_SECONDS = 0.002
# How long a stopped delivery process has to finish its attempts in progress (the worker gives
# them 2 s) before it is killed.
STOP_SECONDS = 5.0
# Pauses before starting a process that died again: the first, and the longest. One that ran
# for `HEALTHY_SECONDS` starts the count anew.
FIRST_RESTART_PAUSE = 0.2
LONGEST_RESTART_PAUSE = 10.0
HEALTHY_SECONDS = 30.0


class Waker:
    """Wakes the delivery process listening at `path` (a unix datagram socket), at most once
    every `QUIET_SECONDS`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._quiet_until = -math.inf

    def __call__(self) -> None:
        # Woken less than QUIET_SECONDS ago, the delivery process still looks every few
        # milliseconds (the worker's EXPECT_SECONDS): another datagram would change nothing
        # but cost this request the kernel's wake-up of that process.
        now = time.monotonic()
        if now < self._quiet_until:
            return
        self._quiet_until = now + QUIET_SECONDS
        # Lost when the process is restarting or its buffer is full (it is awake then): the
        # poll finds the events anyway.
        with contextlib.suppress(OSError):
            self._sock.sendto(b"!", self.path)

    def close(self) -> None:
        self._sock.close()


def _wake_socket(path: str) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # left by a delivery process that was killed
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    return sock


def _drain(sock: socket.socket, worker: DeliveryWorker) -> None:
    # Any number of datagrams is one wake-up.
    with contextlib.suppress(BlockingIOError, InterruptedError):
        while sock.recv(64):
            pass
    worker.wake()


async def run(worker: DeliveryWorker, wake_path: str) -> None:
    """Deliver with `worker` until SIGTERM or the parent's death; woken through `wake_path`."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    parent = multiprocessing.parent_process()
    if parent is not None:
        # Readable when the server process is gone, however it ended.
        loop.add_reader(parent.sentinel, stop.set)
    if isinstance(worker.db, SQLiteDatabase):
        # Its transactions go one at a time: nothing to group, and a COMMIT left for the next
        # turn of this niced process's loop would keep the requests' writes waiting meanwhile.
        worker.db.group_commit = False
    sock = _wake_socket(wake_path)
    loop.add_reader(sock.fileno(), _drain, sock, worker)
    await worker.start()
    worker.wake()  # events queued while no delivery process ran
    log.info("webhook delivery process %d started", os.getpid())
    try:
        await stop.wait()
    finally:
        loop.remove_reader(sock.fileno())
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(wake_path)
        await worker.stop()
    log.info("webhook delivery process %d stopped", os.getpid())


def parent_alive() -> bool:
    """Whether the server process that started this one still runs."""
    parent = multiprocessing.parent_process()
    return parent is None or parent.is_alive()


def lower_priority(niceness: int) -> None:
    """On a busy machine the scheduler then favours the request processes, and deliveries
    take the CPU they leave."""
    # Ctrl-C reaches the whole process group: the server stops this process itself, after
    # its requests, so a delivery in progress is not cut short by the key press.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        if niceness:
            os.nice(niceness)


class Supervisor:
    """Keeps one delivery process running `target(*args)` (a function a spawned process can
    import) from `start` to `stop`."""

    def __init__(self, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._target = target
        self._args = args
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-supervisor", daemon=True)
        self._process: Any = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        process = self._process
        return None if process is None else process.pid

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(STOP_SECONDS + 5)

    def _run(self) -> None:
        context = multiprocessing.get_context("spawn")
        pause = FIRST_RESTART_PAUSE
        while not self._stopping.is_set():
            process = context.Process(
                target=self._target, args=self._args, name="pathsessions-webhooks"
            )
            process.start()
            self._process = process
            self.starts += 1
            started = time.monotonic()
            while not self._stopping.is_set() and not wait([process.sentinel], timeout=0.2):
                pass
            if self._stopping.is_set():
                self._end(process)
                return
            process.join()
            if time.monotonic() - started > HEALTHY_SECONDS:
                pause = FIRST_RESTART_PAUSE
            log.warning(
                "webhook delivery process %d exited (status %s); starting another in %.1f s",
                process.pid,
                process.exitcode,
                pause,
            )
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, LONGEST_RESTART_PAUSE)

    @staticmethod
    def _end(process: Any) -> None:
        process.terminate()
        process.join(STOP_SECONDS)
        if process.is_alive():
            log.warning("webhook delivery process %d did not stop in time: killed", process.pid)
            process.kill()
            process.join()
