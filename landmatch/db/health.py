"""The service's health as ``/healthz`` reports it: is the database there, which PostGIS, is the
schema current, what derived data is pending — answered within a deadline whatever the
database does (a frozen server included)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any

from sqlalchemy import Engine, text

from landmatch import __version__
from landmatch.db import derived
from landmatch.db.engine import HEALTH_DEADLINE_S, head_revision
from landmatch.db.failures import UPGRADE_HINT


def status(engine: Engine) -> tuple[int, dict[str, Any]]:
    """The health check itself (blocking): HTTP status and body."""
    try:
        with engine.connect() as conn:
            pg = conn.execute(text("SHOW server_version")).scalar()
            postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar()
            rev = conn.execute(text("SELECT version_num FROM landmatch.alembic_version")).scalar()
            current = rev == head_revision()
            waiting = derived.pending(conn) if current else None
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", with the reason
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        return 503, _down("unreachable", reason[0][:300] if reason else type(exc).__name__)
    body: dict[str, Any] = {
        "status": "ok" if current else "unavailable",
        "database": "ok",
        "postgres": pg,
        "postgis": postgis,
        "schema_revision": rev,
        "version": __version__,
    }
    if not current:
        body["reason"] = f"{UPGRADE_HINT}（需要 {head_revision()}）"
        return 503, body
    # Derived data a large import has not settled yet (facts, map cells): 0 once it has.
    body["pending"] = waiting
    return 200, body


def _down(database: str, reason: str) -> dict[str, Any]:
    return {"status": "unavailable", "database": database, "reason": reason, "version": __version__}


class Probe:
    """Runs :func:`status` on its own thread and waits at most ``deadline_s`` for it. One check
    at a time: while one is still waiting on the database, callers share it rather than pile up
    threads and connections."""

    def __init__(self, engine: Engine, deadline_s: float = HEALTH_DEADLINE_S) -> None:
        self.engine = engine
        self.deadline_s = deadline_s
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="healthz")
        self._lock = threading.Lock()
        self._running: concurrent.futures.Future[tuple[int, dict[str, Any]]] | None = None

    async def check(self) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self._running is None or self._running.done():
                self._running = self._pool.submit(status, self.engine)
            running = self._running
        try:
            return await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(running)), self.deadline_s
            )
        except TimeoutError:
            return 503, _down(
                "unresponsive", f"数据库在 {self.deadline_s:g} 秒内没有响应（可能已冻结或过载）"
            )
