"""What a streaming replica has replayed, as landmatch's data versions.

Every write bumps ``landmatch.data_state`` (statement triggers: ``all`` and the written table's
own counter) in the same transaction, so the replica's ``data_state`` rows say which committed
writes it has replayed. Each worker re-reads them at most once per interval (one read in flight;
other requests use the last answer meanwhile) and routes a read to the replica only when its
``all`` version has reached the one the request needs (``landmatch.api.reads``).

A replica that does not answer is "unknown" until a later read succeeds: requests go to the
primary meanwhile. Its lag is measured against the primary, whatever the replica believes it
has received: each poll also reads the primary's ``all`` version, and the lag is how long the
replica has been short of a version the primary had (0 once it has reached it). A replica whose
lag passes ``max_lag`` seconds — replay paused or slow, or its WAL stream lost while the primary
goes on — serves nobody until it catches up, whatever version a request needs: the public map
shows data at most that old (``LANDMATCH_REPLICA_MAX_LAG_S``; 0: no cap). With the primary
unreachable the lag cannot be measured and the replica keeps serving (the public map stays up
when the primary is down).
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
#: The data version every write bumps (on the primary: the newest committed write).
ALL_VERSION_SQL = "SELECT version FROM landmatch.data_state WHERE name = 'all'"


@dataclass(frozen=True)
class ReplicaState:
    """What ``/healthz`` says of the replica (as last polled)."""

    state: str  # ok, lagging, unreachable, unknown (not polled yet)
    serving: bool  # whether public reads may go to it (below the lag cap)
    lag_s: float | None
    data_version: int | None
    max_lag_s: float


class ReplicaWatch:
    """The replica's data versions, re-read when older than ``interval`` seconds, and its lag
    behind ``primary`` (an engine on the primary; None: the lag is not measured)."""

    def __init__(
        self,
        engine: Engine,
        interval: float,
        max_lag: float = 0.0,
        primary: Engine | None = None,
    ) -> None:
        self.engine = engine
        self.interval = interval
        self.max_lag = max_lag
        self.primary = primary
        self._versions: dict[str, int] | None = None
        self._lag: float | None = None
        # The primary's version the replica is short of, and since when (monotonic seconds).
        self._behind: tuple[int, float] | None = None
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
                self._lag = None
            else:
                if self._failed:
                    log.warning("read replica available again")
                self._failed = False
                self._versions = {name: int(v) for name, v in rows}
                self._lag = self._measure(self._versions.get(ALL, 0), started)
            self._read_at = started
        finally:
            self._lock.release()

    def _primary_version(self) -> int | None:
        if self.primary is None:
            return None
        try:
            with self.primary.connect() as conn:
                return int(conn.execute(text(ALL_VERSION_SQL)).scalar() or 0)
        except Exception:  # noqa: BLE001 - the primary away: the lag cannot be measured
            return None

    def _measure(self, replayed: int, now: float) -> float | None:
        """How long the replica has been short of a version the primary had; None unknown."""
        target = self._primary_version()
        if target is None:
            self._behind = None
            return None
        if replayed >= target:
            self._behind = None
            return 0.0
        if self._behind is None or replayed >= self._behind[0]:
            self._behind = (target, now)  # short of this version from now on
        return now - self._behind[1]

    def version(self) -> int | None:
        """The replica's ``all`` version as last read; None when unknown or unreachable."""
        found = self._versions
        return None if found is None else found.get(ALL, 0)

    def layer_version(self, layer: str) -> int:
        """A tile layer's data version on the replica, as last read."""
        return (self._versions or {}).get(LAYER_STATE[layer], 0)

    def within_lag(self) -> bool:
        """Whether the replica's lag (as last measured) is within the cap; an unmeasured lag
        (no primary to compare with) is."""
        if self.max_lag <= 0 or self._lag is None:
            return True
        return self._lag <= self.max_lag

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
