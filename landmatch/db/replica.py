"""What a streaming replica has replayed, as landmatch's data versions.

Every write bumps ``landmatch.data_state`` (statement triggers: ``all`` and the written table's
own counter) in the same transaction, so the replica's ``data_state`` rows say which committed
writes it has replayed. Each worker re-reads them at most once per interval (one read in flight;
other requests use the last answer meanwhile) and routes a read to the replica only when its
``all`` version has reached the one the request needs (``landmatch.api.reads``).

A replica that does not answer is "unknown" until a later read succeeds: requests go to the
primary meanwhile. A replica further behind the primary than ``max_lag`` seconds (its replay
lag: how long ago the last transaction it replayed was committed, 0 when it has replayed all it
received) serves nobody until it has caught up again, whatever version a request needs: the
public map shows data at most that old (``LANDMATCH_REPLICA_MAX_LAG_S``; 0: no cap).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, text

from landmatch.db.tiles import LAYER_STATE

log = logging.getLogger("landmatch.replica")
ALL = "all"
# The standby's replay lag in seconds: 0 when it has replayed all the WAL it received (an idle
# primary, or a primary that is down: the public map keeps being served), else the age of the
# last transaction it replayed; NULL when it cannot tell (nothing replayed since it started).
LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() "
    "OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0 "
    "ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 END"
)


@dataclass(frozen=True)
class ReplicaState:
    """What ``/healthz`` says of the replica (as last polled)."""

    state: str  # ok, lagging, unreachable, unknown (not polled yet)
    serving: bool  # whether public reads may go to it (below the lag cap)
    lag_s: float | None
    data_version: int | None
    max_lag_s: float


class ReplicaWatch:
    """The replica's data versions, re-read when older than ``interval`` seconds."""

    def __init__(self, engine: Engine, interval: float, max_lag: float = 0.0) -> None:
        self.engine = engine
        self.interval = interval
        self.max_lag = max_lag
        self._versions: dict[str, int] | None = None
        self._lag: float | None = None
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
                    lag = conn.execute(text(LAG_SQL)).scalar()
            except Exception as exc:  # noqa: BLE001 - a replica away: read the primary
                if not self._failed:  # one line when it goes away, not one per poll
                    log.warning("read replica unavailable, reading the primary: %s", exc)
                self._failed = True
                self._versions = None
                self._lag = None
            else:
                if self._failed:
                    log.warning("read replica available again")
                self._failed = False
                self._versions = {name: int(v) for name, v in rows}
                self._lag = None if lag is None else max(0.0, float(lag))
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

    def within_lag(self) -> bool:
        """Whether the replica's replay lag (as last read) is within the cap."""
        if self.max_lag <= 0:
            return True
        return self._lag is not None and self._lag <= self.max_lag

    def serves(self, needed: int) -> bool:
        """Whether the replica has replayed data version ``needed`` and is within the lag cap
        (as last read). The caller refreshes first when :attr:`due`."""
        replayed = self.version()
        return replayed is not None and replayed >= needed and self.within_lag()

    def state(self) -> ReplicaState:
        """The replica as last read, for ``/healthz``."""
        replayed = self.version()
        if replayed is None:
            name = "unreachable" if self._failed else "unknown"
        else:
            name = "ok" if self.within_lag() else "lagging"
        lag = None if self._lag is None else round(self._lag, 3)
        return ReplicaState(name, self.serves(0), lag, replayed, self.max_lag)
