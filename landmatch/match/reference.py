"""The small reference tables a match reads (zones, assessments, policies, inventory counts),
cached in process and keyed by the database's data version, so a write anywhere refreshes them.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.match.scores import Reference, ZoneInfo
from landmatch.policies.applicability import from_row

_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[tuple[int, str], Any]] = {}


def data_version(session: Session) -> tuple[int, str]:
    """The data version and the id of the transaction that last bumped it (a rolled-back
    write leaves the same number behind, but not the same transaction id)."""
    row = session.execute(
        text("SELECT version, xmin::text FROM landmatch.data_state WHERE name = 'all'")
    ).first()
    return (int(row[0]), row[1]) if row else (0, "")


def _key(session: Session, what: str) -> tuple[str, str]:
    return (str(session.get_bind().engine.url), what)


def _cached(session: Session, what: str, version: tuple[int, str], build: Any) -> Any:
    key = _key(session, what)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    value = build()
    with _lock:
        _cache[key] = (version, value)
    return value


def load_reference(session: Session, version: tuple[int, str]) -> Reference:
    def build() -> Reference:
        zones: dict[int, ZoneInfo] = {}
        for r in session.execute(
            text(
                "SELECT id, code, name, city_code, level, leading_industries "
                "FROM landmatch.dev_zone ORDER BY id"
            )
        ):
            zones[r.id] = ZoneInfo(
                r.id, r.code, r.name, r.city_code, r.level, list(r.leading_industries or []), {}
            )
        for r in session.execute(
            text(
                "SELECT zone_id, kind, approved_on, valid_until FROM landmatch.zone_assessment "
                "ORDER BY zone_id, kind, approved_on"
            )
        ):
            if r.zone_id in zones:
                periods = zones[r.zone_id].assessments.setdefault(r.kind, [])
                periods.append((r.approved_on, r.valid_until))
        # Every policy, with its visibility: who may see which is part of the one rule
        # (landmatch.policies.applicability.applies).
        policies = [
            from_row(r)
            for r in session.execute(text("SELECT * FROM landmatch.policy ORDER BY code"))
        ]
        return Reference(zones, policies, version[0], {z.code: z.id for z in zones.values()})

    return _cached(session, "reference", version, build)  # type: ignore[no-any-return]


def inventory_counts(session: Session, version: tuple[int, str]) -> dict[tuple[str, bool], int]:
    """Live parcels by (status, public) — the denominators of the status/location counts."""

    def build() -> dict[tuple[str, bool], int]:
        rows = session.execute(
            text(
                "SELECT status, (status = 'ready' AND visibility = 'public') AS pub, count(*) "
                "FROM landmatch.parcel WHERE deleted_at IS NULL GROUP BY 1, 2"
            )
        )
        return {(r[0], bool(r[1])): int(r[2]) for r in rows}

    return _cached(session, "counts", version, build)  # type: ignore[no-any-return]


def scope_size(
    session: Session, version: tuple[int, str], statuses: list[str], public: bool, cities: list[str]
) -> int:
    """Live parcels a match may consider by status (public: ready and public) and city (all
    cities when ``cities`` is empty) — before zones, areas and rules; cached per data version.
    The engine prunes its ranking when this is large (``landmatch.match.engine``)."""

    def build() -> dict[tuple[str, bool, str], int]:
        rows = session.execute(
            text(
                "SELECT status, (status = 'ready' AND visibility = 'public') AS pub, city_code, "
                "count(*) FROM landmatch.parcel WHERE deleted_at IS NULL GROUP BY 1, 2, 3"
            )
        )
        return {(r[0], bool(r[1]), r[2]): int(r[3]) for r in rows}

    counts: dict[tuple[str, bool, str], int] = _cached(session, "scope", version, build)
    return sum(
        n
        for (status, pub, city), n in counts.items()
        if (pub if public else status in statuses) and (not cities or city in cities)
    )
