"""The service's health as ``/healthz`` reports it: is the database there, which PostGIS, is the
schema current, what derived data is pending, and (with a read replica) whether the replica
answers, how far its replay lags and whether it serves the public — answered within a deadline
whatever the databases do (a frozen server included)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import threading
from typing import Any

from sqlalchemy import Engine, text

from landmatch import __version__
from landmatch.db import derived
from landmatch.db.engine import HEALTH_DEADLINE_S, head_revision
from landmatch.db.failures import UPGRADE_HINT
from landmatch.db.replica import ReplicaWatch


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
    threads and connections. The replica (when there is one) is polled alongside, within the
    same deadline; it never makes the service unhealthy (the primary then serves its reads)."""

    def __init__(
        self,
        engine: Engine,
        deadline_s: float = HEALTH_DEADLINE_S,
        replica: ReplicaWatch | None = None,
    ) -> None:
        self.engine = engine
        self.deadline_s = deadline_s
        self.replica = replica
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="healthz")
        self._lock = threading.Lock()
        self._running: concurrent.futures.Future[tuple[int, dict[str, Any]]] | None = None

    async def check(self) -> tuple[int, dict[str, Any]]:
        if self.replica is None:
            return await self._primary()
        (code, body), replica = await asyncio.gather(self._primary(), self._replica(self.replica))
        return code, {**body, "replica": replica}

    async def _replica(self, watch: ReplicaWatch) -> dict[str, Any]:
        """The replica as polled now (when due and it answers in time), else as last polled."""
        if watch.due:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.shield(asyncio.to_thread(watch.refresh)), self.deadline_s
                )
        return dataclasses.asdict(watch.state())

    async def _primary(self) -> tuple[int, dict[str, Any]]:
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
