"""Prepared per-parcel facts (``parcel_fact``) so a match reads numbers, not geometry.

Facts per parcel: distance in km on the ellipsoid to the nearest facility of each kind, the
containing zone (largest overlap), and constraint hits. ``excluded`` has three states:
NULL = not checked, false = checked and clear, true = inside an excluding constraint area.

Writers call ``refresh_facts(conn, parcel_ids)`` after changing parcels, and
``refresh_facts(conn)`` after changing a reference layer (facilities, zones, constraints).
A trigger (migration 0002) drops the fact row when a parcel's geometry changes, so a stale
fact reads as "not checked" rather than as a wrong number.

Nearest facility: the GiST index gives the 3 nearest by planar ``<->`` in degrees, then the
geography distance picks the true nearest among them (a degree of longitude is shorter than a
degree of latitude in Hebei, so the planar order can differ slightly from the ellipsoidal one).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from landmatch import vocab

KNN = 3


def _distance(kind: str) -> str:
    return (
        f"(SELECT min(ST_Distance(n.geom::geography, p.geom::geography)) / 1000.0 FROM ("
        f"SELECT fc.geom FROM landmatch.facility fc WHERE fc.kind = '{kind}' "
        f"ORDER BY fc.geom <-> p.pt LIMIT {KNN}) n) AS dist_{kind}_km"
    )


def _sql(where: str) -> str:
    dist_cols = ", ".join(f"dist_{k}_km" for k in vocab.FACILITY_KINDS)
    dists = ",\n  ".join(_distance(k) for k in vocab.FACILITY_KINDS)
    return f"""
WITH target AS MATERIALIZED (
  SELECT p.id, p.geom, ST_PointOnSurface(p.geom) AS pt FROM landmatch.parcel p WHERE {where}
), zone AS (
  SELECT DISTINCT ON (t.id) t.id, z.id AS zone_id
  FROM target t JOIN landmatch.dev_zone z ON ST_Intersects(z.geom, t.geom)
  ORDER BY t.id, ST_Area(ST_Intersection(z.geom, t.geom)) DESC, z.id
), hits AS (
  SELECT t.id,
         bool_or(c.severity = 'excludes') AS excluded,
         jsonb_agg(jsonb_build_object('code', c.code, 'name', c.name, 'kind', c.kind,
                   'severity', c.severity) ORDER BY c.code) AS hits
  FROM target t JOIN landmatch.constraint_area c ON ST_Intersects(c.geom, t.geom)
  GROUP BY t.id
)
INSERT INTO landmatch.parcel_fact (parcel_id, zone_id, {dist_cols}, excluded, constraint_hits,
                                   computed_at)
SELECT p.id, zone.zone_id,
  {dists},
  COALESCE(hits.excluded, false), COALESCE(hits.hits, '[]'::jsonb), now()
FROM target p
LEFT JOIN zone ON zone.id = p.id
LEFT JOIN hits ON hits.id = p.id
"""


def refresh_facts(conn: Connection, parcel_ids: Sequence[int] | None = None) -> int:
    """Recompute the facts of ``parcel_ids`` (all live parcels when None); returns the count.

    Set-based: one statement deletes, one inserts. Runs in the caller's transaction.
    """
    if parcel_ids is None:
        conn.execute(text("TRUNCATE landmatch.parcel_fact"))
        where, params = "p.deleted_at IS NULL", {}
    else:
        ids = sorted({int(i) for i in parcel_ids})
        if not ids:
            return 0
        conn.execute(text("DELETE FROM landmatch.parcel_fact WHERE parcel_id = ANY(:ids)"),
                     {"ids": ids})
        where, params = "p.id = ANY(CAST(:ids AS bigint[])) AND p.deleted_at IS NULL", {"ids": ids}
    # JIT compilation costs more than it saves on these per-row subplans.
    conn.execute(text("SET LOCAL jit = off"))
    result = conn.execute(text(_sql(where)), params)
    if parcel_ids is None:
        conn.execute(text("ANALYZE landmatch.parcel_fact"))
    return result.rowcount or 0


def missing_facts(conn: Connection) -> int:
    """How many live parcels have no fact row (never computed or invalidated by an edit)."""
    return int(conn.execute(text(
        "SELECT count(*) FROM landmatch.parcel p WHERE p.deleted_at IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM landmatch.parcel_fact f WHERE f.parcel_id = p.id)")).scalar_one())


def refresh_missing(conn: Connection) -> int:
    """Compute facts for the parcels that have none."""
    ids = [r[0] for r in conn.execute(text(
        "SELECT p.id FROM landmatch.parcel p WHERE p.deleted_at IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM landmatch.parcel_fact f WHERE f.parcel_id = p.id)"))]
    return refresh_facts(conn, ids) if ids else 0
