"""Zone membership: the one definition of "this parcel is in that development zone".

A parcel is in a zone when the zone belongs to the parcel's own city (``dev_zone.city_code =
parcel.city_code``) and at least ``LANDMATCH_ZONE_MIN_SHARE`` (default 50 %) of its area lies
inside the zone's boundary. The share is measured on the GRS80 ellipsoid (``geography``
areas, as ``parcel.area_m2`` is), never in degrees or Web Mercator. When the parcel overlaps
several zones, the one holding the largest share is taken (zones do not overlap, so with the
default at most one qualifies).

The city condition is a trust boundary, not geometry: membership decides a zone committee's
write scope and which zone policies apply, so a zone never takes in another city's parcels,
even where its boundary strays across the city limit (a zone's boundary is kept within its
city too, ``landmatch.zones.records``, but within a tolerance and only from that check on).
A province-managed city (辛集, 定州) is a city of its own here, as for every scope.

The result is stored on the parcel — ``parcel.zone_id`` and ``parcel.zone_share`` (0–1, four
decimals) — and everything reads it from there: the match's zone restriction and zone scores
(through ``parcel_fact``, which copies it), cards, brochures, exports, listings, tiles, zone
policies and a zone committee's write scope. It is written by :func:`assign_zones`, and
computed with the other facts by :func:`landmatch.db.facts.refresh_facts`, so every path that settles a parcel's
spatial facts sets its zone too: an import, an edit or boundary change (``derived.settle``), a
zone boundary or city change (``zones.records``), the seed, ``landmatch db settle`` and
``landmatch zones membership`` (after changing the setting). A parcel whose city changes is
queued for settling (trigger ``fact_city``), so its zone is settled again too.

Membership is derived data, not an edit: writing it neither bumps the parcel's version (an ETag
held by an editor stays valid) nor adds a history version (the ``parcel_bump`` and
``parcel_history_upd`` triggers skip a write made with ``landmatch.derived_write = on``,
migration 0022_zone_membership). A restore does not bring an old zone back either: the zone
follows the geometry that is restored.

The threshold travels with the database connection as the custom setting
``landmatch.zone_min_share``: the server's and the CLI's engines set it from
``Settings.zone_min_share`` (:func:`landmatch.db.engine.get_engine`); a connection without it
(migrations, bare test engines) uses :data:`DEFAULT_MIN_SHARE`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from landmatch.settings import DEFAULT_ZONE_MIN_SHARE as DEFAULT_MIN_SHARE

#: The connection setting carrying the configured threshold.
MIN_SHARE_GUC = "landmatch.zone_min_share"


def min_share_sql() -> str:
    """The threshold as SQL: the connection's setting, else the default."""
    return (
        f"COALESCE(NULLIF(current_setting('{MIN_SHARE_GUC}', true), '')::float8, "
        f"{DEFAULT_MIN_SHARE})"
    )


def share_sql(parcel: str = "p", zone: str = "z") -> str:
    """The share (0–1, rounded to 4 decimals) of ``parcel``'s area inside ``zone``, on the
    ellipsoid. A parcel covered by the zone is 1 without computing an intersection."""
    return (
        f"round(LEAST(1.0, CASE WHEN ST_CoveredBy({parcel}.geom, {zone}.geom) THEN 1.0 "
        f"ELSE ST_Area(ST_CollectionExtract(ST_Intersection({zone}.geom, {parcel}.geom), 3)"
        f"::geography, true) / NULLIF({parcel}.area_m2, 0) END)::numeric, 4)"
    )


def membership_sql(where: str) -> str:
    """Rows (id, zone_id, share) for the parcels matching ``where`` (alias ``p``): the zone
    of its own city each one is in, or NULLs."""
    return f"""
SELECT p.id, best.zone_id, best.share
  FROM landmatch.parcel p
  LEFT JOIN LATERAL (
    SELECT z.id AS zone_id, s.share
      FROM landmatch.dev_zone z
     CROSS JOIN LATERAL (SELECT {share_sql()} AS share) s
     WHERE z.city_code = p.city_code AND ST_Intersects(z.geom, p.geom)
     ORDER BY s.share DESC, z.id
     LIMIT 1
  ) best ON best.share >= {min_share_sql()}
 WHERE {where}
"""


def _update_sql(source: str) -> str:
    """Store the rows (id, zone_id, share) of relation ``source`` on their parcels."""
    return f"""
UPDATE landmatch.parcel p SET zone_id = m.zone_id, zone_share = m.share
  FROM {source} m
 WHERE m.id = p.id
   AND (p.zone_id IS DISTINCT FROM m.zone_id OR p.zone_share IS DISTINCT FROM m.share)
"""


def ids_where(parcel_ids: Sequence[int] | None) -> str | None:
    """A ``where`` clause (alias ``p``) for ``parcel_ids`` (all parcels when None); None
    when the list is empty. Integers only, so safe to inline."""
    if parcel_ids is None:
        return "true"
    ids = sorted({int(i) for i in parcel_ids})
    if not ids:
        return None
    return f"p.id = ANY('{{{','.join(map(str, ids))}}}'::bigint[])"


def store_zones(conn: Connection, source: str, params: dict[str, object] | None = None) -> int:
    """Store the memberships of relation ``source`` (rows id, zone_id, share, computed by
    :func:`membership_sql`) on their parcels, as derived data; how many changed."""
    conn.execute(text("SET LOCAL jit = off"))  # compiling cost more than the update itself
    conn.execute(text("SELECT set_config('landmatch.derived_write', 'on', true)"))
    try:
        return conn.execute(text(_update_sql(source)), params or {}).rowcount or 0
    finally:
        conn.execute(text("SELECT set_config('landmatch.derived_write', 'off', true)"))


def assign_zones_where(conn: Connection, where: str) -> int:
    """Store the zone membership of the parcels matching ``where``; how many changed."""
    changed = store_zones(conn, f"({membership_sql(where)})")
    if changed:
        # The match reads the zone from parcel_fact: its copy follows at once.
        conn.execute(
            text(
                "UPDATE landmatch.parcel_fact f SET zone_id = p.zone_id FROM landmatch.parcel p "
                f"WHERE p.id = f.parcel_id AND {where} AND f.zone_id IS DISTINCT FROM p.zone_id"
            )
        )
    return changed


def assign_zones(conn: Connection, parcel_ids: Sequence[int] | None = None) -> int:
    """Store the zone membership of ``parcel_ids`` (all parcels when None), in the caller's
    transaction; returns how many parcels changed zone or share."""
    where = ids_where(parcel_ids)
    return 0 if where is None else assign_zones_where(conn, where)


def release_zone(conn: Connection, zone_id: int) -> int:
    """Before a zone is deleted: its parcels are in no zone (a derived write, like
    :func:`assign_zones`; their facts are refreshed after the delete)."""
    conn.execute(text("SELECT set_config('landmatch.derived_write', 'on', true)"))
    try:
        return (
            conn.execute(
                text(
                    "UPDATE landmatch.parcel SET zone_id = NULL, zone_share = NULL "
                    "WHERE zone_id = :z"
                ),
                {"z": zone_id},
            ).rowcount
            or 0
        )
    finally:
        conn.execute(text("SELECT set_config('landmatch.derived_write', 'off', true)"))


def zone_label(name: str | None, share: float | None) -> str | None:
    """所在开发区 as shown to people: the name, with the share where the parcel is only
    partly inside (``X（地块面积 78 % 位于区内）``).

    >>> zone_label("石家庄经开区", 1)
    '石家庄经开区'
    >>> zone_label("石家庄经开区", 0.7812)
    '石家庄经开区（地块面积 78 % 位于区内）'
    >>> zone_label(None, None) is None
    True
    """
    if not name:
        return None
    if share is None or float(share) >= 1:
        return name
    return f"{name}（地块面积 {percent(share)} % 位于区内）"


def percent(share: float) -> int:
    """A partial share as a whole percentage, never rounded up to 100 nor down to 0."""
    return min(99, max(1, round(float(share) * 100)))
