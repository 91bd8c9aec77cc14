"""Which parcels a reference-layer change touches, and refreshing their prepared facts.

``refresh`` is ``landmatch.db.facts.refresh_facts`` on the parcels selected here: the one
definition of every fact (nearest facilities, containing zone, constraint hits and the three
states of ``excluded``). The stand-in that computed them here before the matching engine's
refresh existed is gone: it counted a touching area as a hit and "no hit" as "clear".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from landmatch import vocab
from landmatch.db.facts import refresh_facts

FACT_COLUMNS = (
    "zone_id",
    *(f"dist_{k}_km" for k in vocab.FACILITY_KINDS),
    "excluded",
    "constraint_hits",
)

# Facts may measure to the parcel's outline or its centroid; parcels are far smaller than
# this, so a band of 1 km around "equal distance" catches every parcel whose nearest facility
# could change (selecting a few extra is harmless: their recomputed value stays the same).
TOLERANCE_M = 1000.0


def dist_column(kind: str) -> str:
    if kind not in vocab.FACILITY_KINDS:
        raise ValueError(kind)
    return f"dist_{kind}_km"


def parcels_near_facility(
    conn: Connection, kind: str, old_wkb: bytes | None, new_wkb: bytes | None
) -> set[int]:
    """Parcels whose nearest facility of ``kind`` may change: those the new location would be
    nearer to than their current nearest, and those whose current nearest is the old location.
    Parcels without facts yet are included (they need computing anyway)."""
    col = dist_column(kind)
    ids: set[int] = set()
    if new_wkb is not None:
        rows = conn.execute(
            text(
                f"SELECT p.id FROM landmatch.parcel p "
                f"LEFT JOIN landmatch.parcel_fact f ON f.parcel_id = p.id "
                f"WHERE p.deleted_at IS NULL AND (f.parcel_id IS NULL OR f.{col} IS NULL OR "
                f"ST_DWithin(p.geom::geography, ST_GeomFromWKB(:g, 4490)::geography, "
                f"f.{col} * 1000 + :tol))"
            ),
            {"g": new_wkb, "tol": TOLERANCE_M},
        ).scalars()
        ids.update(rows)
    if old_wkb is not None:
        rows = conn.execute(
            text(
                f"SELECT p.id FROM landmatch.parcel p "
                f"JOIN landmatch.parcel_fact f ON f.parcel_id = p.id "
                f"WHERE p.deleted_at IS NULL AND f.{col} IS NOT NULL AND "
                f"ST_DWithin(p.geom::geography, ST_GeomFromWKB(:g, 4490)::geography, "
                f"f.{col} * 1000 + :tol)"
            ),
            {"g": old_wkb, "tol": TOLERANCE_M},
        ).scalars()
        ids.update(rows)
    return ids


def parcels_in_area(
    conn: Connection, wkbs: Sequence[bytes | None], hit_code: str | None = None
) -> set[int]:
    """Parcels intersecting any of the given polygons (old ∪ new geometry), plus parcels whose
    recorded constraint hits name ``hit_code``."""
    ids: set[int] = set()
    for wkb in wkbs:
        if wkb is None:
            continue
        ids.update(
            conn.execute(
                text(
                    "SELECT p.id FROM landmatch.parcel p WHERE p.deleted_at IS NULL "
                    "AND ST_Intersects(p.geom, ST_GeomFromWKB(:g, 4490))"
                ),
                {"g": wkb},
            ).scalars()
        )
    if hit_code is not None:
        ids.update(
            conn.execute(
                text(
                    "SELECT parcel_id FROM landmatch.parcel_fact WHERE constraint_hits @> "
                    "CAST(:h AS jsonb)"
                ),
                {"h": f'[{{"code": "{_json_str(hit_code)}"}}]'},
            ).scalars()
        )
    return ids


def _json_str(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def snapshot(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = conn.execute(
        text(
            f"SELECT parcel_id, {', '.join(FACT_COLUMNS)}, computed_at FROM landmatch.parcel_fact "
            "WHERE parcel_id = ANY(:ids)"
        ),
        {"ids": list(ids)},
    ).mappings()
    return {r["parcel_id"]: dict(r) for r in rows}


def refresh(conn: Connection, parcel_ids: Sequence[int] | None) -> str:
    """Recompute facts for ``parcel_ids`` (``None`` = all). Returns which implementation ran
    (reported to the caller as ``refreshed_by``)."""
    refresh_facts(conn, parcel_ids=None if parcel_ids is None else list(parcel_ids))
    return "landmatch.db.facts"


def parcels_of_cities(conn: Connection, cities: Sequence[str]) -> set[int]:
    """Live parcels of ``cities`` (a coverage declaration changes their ``excluded``)."""
    if not cities:
        return set()
    return set(
        conn.execute(
            text(
                "SELECT id FROM landmatch.parcel WHERE deleted_at IS NULL AND city_code = ANY(:c)"
            ),
            {"c": list(cities)},
        ).scalars()
    )
