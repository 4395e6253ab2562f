"""New ObjectIds. Their first four bytes are the real time in seconds, as MongoDB's are,
whatever a settable clock says: ids only need to grow and be unique, not to tell the time
the service's rules see."""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import time


class ObjectIdFactory:
    """MongoDB's layout: 4-byte seconds, 5 random bytes fixed per process, 3-byte counter."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._reset()

    def _reset(self) -> None:
        self._random = secrets.token_bytes(5).hex()
        self._counter = itertools.count(secrets.randbelow(0xFFFFFF))
        self._lock = threading.Lock()

    def __call__(self) -> str:
        # A forked worker must not share the parent's random part and counter.
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._reset()
        with self._lock:
            count = next(self._counter) & 0xFFFFFF
        return f"{int(time.time()) & 0xFFFFFFFF:08x}{self._random}{count:06x}"


new_id = ObjectIdFactory()
