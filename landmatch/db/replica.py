"""What a streaming replica has replayed, as landmatch's data versions.

Every write bumps ``landmatch.data_state`` (statement triggers: ``all`` and the written table's
own counter) in the same transaction, so the replica's ``data_state`` rows say which committed
writes it has replayed. Each worker re-reads them at most once per interval (one read in flight;
other requests use the last answer meanwhile) and routes a read to the replica only when its
``all`` version has reached the one the request needs (``landmatch.api.reads``).

A replica that does not answer is "unknown" until a later read succeeds: requests go to the
primary meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine, text

from landmatch.db.tiles import LAYER_STATE

log = logging.getLogger("landmatch.replica")
ALL = "all"


class ReplicaWatch:
    """The replica's data versions, re-read when older than ``interval`` seconds."""

    def __init__(self, engine: Engine, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self._versions: dict[str, int] | None = None
        self._read_at = float("-inf")
        self._lock = threading.Lock()
        self._failed = False

    @property
    def due(self) -> bool:
        return time.monotonic() - self._read_at >= self.interval

    def expire(self) -> None:
        """Forget when the versions were read (the next request re-reads them)."""
        self._read_at = float("-inf")

    def refresh(self) -> None:
        """Re-read the versions unless another thread is doing it (that one's answer serves)."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            started = time.monotonic()
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(
                        text("SELECT name, version FROM landmatch.data_state")
                    ).all()
            except Exception as exc:  # noqa: BLE001 - a replica away: read the primary
                if not self._failed:  # one line when it goes away, not one per poll
                    log.warning("read replica unavailable, reading the primary: %s", exc)
                self._failed = True
                self._versions = None
            else:
                if self._failed:
                    log.warning("read replica available again")
                self._failed = False
                self._versions = {name: int(v) for name, v in rows}
            self._read_at = started
        finally:
            self._lock.release()

    def version(self) -> int | None:
        """The replica's ``all`` version as last read; None when unknown or unreachable."""
        found = self._versions
        return None if found is None else found.get(ALL, 0)

    def layer_version(self, layer: str) -> int:
        """A tile layer's data version on the replica, as last read."""
        return (self._versions or {}).get(LAYER_STATE[layer], 0)

    def serves(self, needed: int) -> bool:
        """Whether the replica has replayed data version ``needed`` (as last read). The
        caller refreshes first when :attr:`due`."""
        replayed = self.version()
        return replayed is not None and replayed >= needed
