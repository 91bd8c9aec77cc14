"""Prepared per-parcel facts (``parcel_fact``) so a match reads numbers, not geometry.

Facts per parcel: distance in km on the ellipsoid to the nearest facility of each kind, the
containing zone (largest overlap), and constraint hits. ``excluded`` has three states:
NULL = not checked, false = checked and clear, true = inside an excluding constraint area.

Each row also carries a copy of the parcel columns a match reads (the ``fact_sync`` trigger
keeps them in step on every parcel insert and update), so ranking reads this table alone.

Writers call ``refresh_facts(conn, parcel_ids)`` after adding parcels or changing their
geometry, and ``refresh_facts(conn)`` after changing a reference layer (facilities, zones,
constraints). Until then a new or moved parcel's spatial facts are NULL — "not checked",
never a stale number (the trigger clears them when the geometry changes).

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


# Parcel columns copied into parcel_fact (migration 0002_match); parcel.zone_id → parcel_zone_id.
COPIED = (
    "code", "status", "visibility", "deleted_at", "city_code", "parcel_zone_id", "land_use",
    "compatible_uses", "area_m2", "price_public", "ref_price_wan_per_mu", "invest_intensity_min",
    "tax_per_mu_min", "energy_per_value_max", "power_kva", "water_m3d", "gas_m3d", "heat_mw",
    "telecom_5g", "fibre", "supply_modes", "readiness", "data_updated_on",
)


def _src(name: str) -> str:
    return "zone_id" if name == "parcel_zone_id" else name


def _sql(where: str) -> str:
    dist_cols = [f"dist_{k}_km" for k in vocab.FACILITY_KINDS]
    dists = ",\n  ".join(_distance(k) for k in vocab.FACILITY_KINDS)
    cols = ["zone_id", *dist_cols, "excluded", "constraint_hits", "penalised", "computed_at",
            *COPIED]
    copied = ", ".join(f"p.{_src(c)}" for c in COPIED)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols)
    return f"""
WITH target AS MATERIALIZED (
  SELECT p.*, ST_PointOnSurface(p.geom) AS pt FROM landmatch.parcel p WHERE {where}
), zone AS (
  SELECT DISTINCT ON (t.id) t.id, z.id AS zone_id
  FROM target t JOIN landmatch.dev_zone z ON ST_Intersects(z.geom, t.geom)
  ORDER BY t.id, ST_Area(ST_Intersection(z.geom, t.geom)) DESC, z.id
), hits AS (
  SELECT t.id,
         bool_or(c.severity = 'excludes') AS excluded,
         bool_or(c.severity = 'penalises') AS penalised,
         jsonb_agg(jsonb_build_object('code', c.code, 'name', c.name, 'kind', c.kind,
                   'severity', c.severity) ORDER BY c.code) AS hits
  FROM target t JOIN landmatch.constraint_area c ON ST_Intersects(c.geom, t.geom)
  GROUP BY t.id
)
INSERT INTO landmatch.parcel_fact (parcel_id, {', '.join(cols)})
SELECT p.id, zone.zone_id,
  {dists},
  COALESCE(hits.excluded, false), COALESCE(hits.hits, '[]'::jsonb),
  COALESCE(hits.penalised, false), clock_timestamp(), {copied}
FROM target p
LEFT JOIN zone ON zone.id = p.id
LEFT JOIN hits ON hits.id = p.id
ON CONFLICT (parcel_id) DO UPDATE SET {updates}
"""


def refresh_facts(conn: Connection, parcel_ids: Sequence[int] | None = None) -> int:
    """Recompute the facts of ``parcel_ids`` (all parcels when None); returns the count.

    Set-based, one statement, in the caller's transaction. After a full refresh of a large
    table run ``VACUUM ANALYZE landmatch.parcel_fact`` (outside a transaction) so the match
    index is used index-only; ``landmatch seed`` does.
    """
    if parcel_ids is None:
        where, params = "true", {}
    else:
        ids = sorted({int(i) for i in parcel_ids})
        if not ids:
            return 0
        where, params = "p.id = ANY(CAST(:ids AS bigint[]))", {"ids": ids}
    # JIT compilation costs more than it saves on these per-row subplans.
    conn.execute(text("SET LOCAL jit = off"))
    result = conn.execute(text(_sql(where)), params)
    if parcel_ids is None:
        conn.execute(text("ANALYZE landmatch.parcel_fact"))
    return result.rowcount or 0


_UNCHECKED = ("SELECT p.id FROM landmatch.parcel p WHERE p.deleted_at IS NULL AND NOT EXISTS "
              "(SELECT 1 FROM landmatch.parcel_fact f WHERE f.parcel_id = p.id "
              "AND f.excluded IS NOT NULL)")


def missing_facts(conn: Connection) -> int:
    """How many live parcels have no spatial facts (never computed, or the geometry changed)."""
    return int(conn.execute(text(f"SELECT count(*) FROM ({_UNCHECKED}) x")).scalar_one())


def refresh_missing(conn: Connection) -> int:
    """Compute facts for the parcels that have none."""
    ids = [r[0] for r in conn.execute(text(_UNCHECKED))]
    return refresh_facts(conn, ids) if ids else 0
