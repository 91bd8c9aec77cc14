"""The client side of the database time limits: a connection whose statement (or ping) is
still unanswered past its deadline has its socket shut, so the call blocked on it fails at once
("server closed the connection unexpectedly") and the pool discards the connection.

A server that runs cancels an overlong statement itself (``statement_timeout``); this is for the
server that does not run — frozen (SIGSTOP), swapped out, or behind a dead network — which can
answer nothing, not even a cancel.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("landmatch.db")


class Watchdog:
    """Cuts the connections whose current statement (or ping) is overdue. One thread for the
    process; arming and disarming a statement is a dictionary write under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[
            int, tuple[float, int, Any]
        ] = {}  # id(dbapi conn) → (deadline, token, conn)
        self._heap: list[tuple[float, int, int]] = []
        self._tokens = itertools.count()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def arm(self, dbapi_conn: Any, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._lock:
            token = next(self._tokens)
            self._armed[id(dbapi_conn)] = (deadline, token, dbapi_conn)
            heapq.heappush(self._heap, (deadline, token, id(dbapi_conn)))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()
        self._wake.set()

    def disarm(self, dbapi_conn: Any) -> None:
        with self._lock:
            self._armed.pop(id(dbapi_conn), None)

    @contextmanager
    def armed(self, dbapi_conn: Any, seconds: float) -> Iterator[None]:
        self.arm(dbapi_conn, seconds)
        try:
            yield
        finally:
            self.disarm(dbapi_conn)

    def _run(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                due = []
                while self._heap and self._heap[0][0] <= now:
                    _, token, key = heapq.heappop(self._heap)
                    entry = self._armed.get(key)
                    if entry is not None and entry[1] == token:
                        del self._armed[key]
                        due.append(entry[2])
                wait = self._heap[0][0] - now if self._heap else 60.0
            for conn in due:
                _cut(conn)
            self._wake.wait(min(wait, 60.0))
            self._wake.clear()


def _cut(dbapi_conn: Any) -> None:
    """Shut the connection's socket: the call blocked on it fails at once ("server closed the
    connection unexpectedly"), and the pool discards the connection."""
    try:
        fd = dbapi_conn.pgconn.socket
        s = socket.socket(fileno=os.dup(fd))
    except Exception:  # noqa: BLE001 - already closed: nothing to cut
        return
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        s.close()
    log.debug("database did not answer in time: connection cut")


WATCHDOG = Watchdog()
