"""geometry hygiene: stored polygons without repeated consecutive vertices, shells counterclockwise

Revision ID: 0018_geometry_hygiene
Revises: 0017_accounts

Writers now normalise every polygon (``landmatch.geo.validate.normalise_polygons``): no
repeated consecutive vertex (three parcels in four of the demo inventory repeated a corner,
which reached GeoJSON, OGC items, exports and TXT as J3 = J4) and exterior rings
counterclockwise, holes clockwise (RFC 7946; GEOS-built zone, batch and division boundaries
were clockwise). This migration brings the stored rows level: parcels and their stored
versions (so a restore brings back a normalised geometry too), development zones, constraint
areas, administrative divisions and approval batches, with
``ST_ForcePolygonCCW(ST_RemoveRepeatedPoints(geom))``.

The point set of each geometry is unchanged (same area, same boundary), so this is no edit:
the tables' own triggers are off during the fix (no new parcel or layer version, parcels keep
their ``version`` and their spatial facts, low-zoom cells are unaffected), the generated
``geom_3857`` and ``area_m2`` follow as always, and each table's data version is bumped once
so caches keyed on it are refreshed. Downgrade keeps the normalised geometries (valid for the
earlier schema; the repeated vertices carried no information).
"""

from __future__ import annotations

from alembic import op

revision = "0018_geometry_hygiene"
down_revision = "0017_accounts"
branch_labels = None
depends_on = None

# Frozen copy of landmatch.db.geometry.normalised_sql.
NORMALISED = "ST_ForcePolygonCCW(ST_RemoveRepeatedPoints({}))"
# table → key column
TABLES = {
    "parcel": "id",
    "parcel_version": "id",
    "dev_zone": "id",
    "constraint_area": "id",
    "admin_division": "code",
    "approval_batch": "id",
}
DATA_STATE = ("parcel", "dev_zone", "constraint_area", "admin_division", "approval_batch")


def _fix(table: str, key: str) -> None:
    t = f"landmatch.{table}"
    op.execute(f"ALTER TABLE {t} DISABLE TRIGGER USER")
    op.execute(
        f"UPDATE {t} x SET geom = s.g FROM (SELECT {key} AS k, {NORMALISED.format('geom')} AS g "
        f"FROM {t} WHERE geom IS NOT NULL) s "
        f"WHERE x.{key} = s.k AND NOT ST_OrderingEquals(x.geom, s.g)"
    )
    op.execute(f"ALTER TABLE {t} ENABLE TRIGGER USER")


def upgrade() -> None:
    for table, key in TABLES.items():
        _fix(table, key)
    names = ", ".join(f"'{n}'" for n in (*DATA_STATE, "all"))
    op.execute(f"UPDATE landmatch.data_state SET version = version + 1 WHERE name IN ({names})")


def downgrade() -> None:
    """Nothing to undo in the schema; the normalised geometries stay (see above)."""
