"""Races made deterministic: a write runs on its own connection in a thread while the test holds
a conflicting lock on another, the test waits (in ``pg_stat_activity``) until the write really
waits for a lock, then lets the holder commit or roll back. No sleeps, no timed assertions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session


def wait_for_lock(engine: Engine, pid: int) -> None:
    """Until backend ``pid`` waits for a lock (bounded; fails the test rather than hang)."""
    with engine.connect() as conn:
        for _ in range(600):
            state = conn.execute(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
            ).scalar()
            if state == "Lock":
                return
            conn.execute(text("SELECT pg_sleep(0.05)"))
            conn.rollback()
    raise AssertionError(f"backend {pid} never waited for a lock")


def blocked_write(
    engine: Engine, work: Callable[[Session], Any], release: Callable[[], None]
) -> Any:
    """Run ``work(session)`` in a transaction of its own on another thread (committed when it
    returns); once that transaction waits for a lock, call ``release`` (commit or roll back the
    holder). Returns what ``work`` returned, or the exception it raised."""
    out: list[Any] = []
    with engine.connect() as conn:
        pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        conn.rollback()

        def run() -> None:
            try:
                with Session(bind=conn) as s:
                    result = work(s)
                    s.commit()
                out.append(result)
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                out.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        try:
            wait_for_lock(engine, pid)
        finally:
            release()
            worker.join(60)
    assert not worker.is_alive(), "the write did not finish"
    return out[0]
