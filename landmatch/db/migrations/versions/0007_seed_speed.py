"""seed speed: parcel history rows compressed with lz4; a single-pass parcel_cell rebuild

Revision ID: 0009_seed_speed
Revises: 0008_import_speed
(File renamed to 0007_seed_speed.py to sort in chain order; the revision id is kept, databases
record it.)

- ``parcel_version.row`` holds the whole parcel as jsonb (~2.3 kB), just above the TOAST
  threshold, so every version is compressed; lz4 is several times faster than pglz at a similar
  size. Only new rows are affected; old ones stay readable. Servers built without lz4 keep pglz.
- ``parcel_cell_rebuild()`` empties both aggregate tables and fills them again the way
  0008_import_speed's trigger computes a delta: each parcel reduced once to a narrow record,
  grouped per zoom with a hash aggregate, the per-status roll-up derived from that grouping.
  The tables are empty, so plain INSERTs (no ON CONFLICT): it also works while their primary
  keys are dropped, as ``landmatch seed`` does for a million parcels. The cells are the same
  (sums in a different order may differ in the last floating-point bit).
"""

from __future__ import annotations

from alembic import op

revision = "0009_seed_speed"
down_revision = "0008_import_speed"
branch_labels = None
depends_on = None

REBUILD_SQL = r"""
CREATE OR REPLACE FUNCTION landmatch.parcel_cell_rebuild() RETURNS void LANGUAGE plpgsql
SET jit = off SET work_mem = '512MB' AS $$
BEGIN
  DELETE FROM landmatch.parcel_cell;
  DELETE FROM landmatch.parcel_cell_total;
  WITH d AS MATERIALIZED (
    SELECT status, (status = 'ready' AND visibility = 'public') AS public, city_code,
           zone_id IS NOT NULL AS in_zone, land_use, landmatch.area_class(area_m2) AS area_class,
           area_m2, (ST_XMin(geom_3857) + ST_XMax(geom_3857)) / 2 AS x,
           (ST_YMin(geom_3857) + ST_YMax(geom_3857)) / 2 AS y
      FROM landmatch.parcel WHERE deleted_at IS NULL),
  g AS MATERIALIZED (
    SELECT zz.z,
           floor((d.x + 20037508.342789244) / (40075016.68557849 / (1 << (zz.z + 4))))::int AS cx,
           floor((20037508.342789244 - d.y) / (40075016.68557849 / (1 << (zz.z + 4))))::int AS cy,
           d.status, d.public, d.city_code, d.in_zone, d.land_use, d.area_class,
           count(*)::int AS n, sum(d.area_m2) AS area_m2, sum(d.x) AS sx, sum(d.y) AS sy
      FROM d CROSS JOIN generate_series(6, 11) AS zz(z)
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9),
  t AS (
    INSERT INTO landmatch.parcel_cell_total (z, cx, cy, status, public, n, area_m2, sx, sy)
    SELECT z, cx, cy, status, public, sum(n)::int, sum(area_m2), sum(sx), sum(sy)
      FROM g GROUP BY 1, 2, 3, 4, 5)
  INSERT INTO landmatch.parcel_cell
    (z, cx, cy, status, public, city_code, in_zone, land_use, area_class, n, area_m2, sx, sy)
  SELECT * FROM g;
END $$;
"""

# 0002_tiles' version, restored on downgrade.
OLD_REBUILD_SQL = r"""
CREATE FUNCTION landmatch.parcel_cell_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM landmatch.parcel_cell;
  DELETE FROM landmatch.parcel_cell_total;
  EXECUTE landmatch.parcel_cell_upsert_sql(
    'SELECT 1 AS sign, status, visibility, city_code, zone_id, land_use, area_m2,'
    ' (ST_XMin(geom_3857) + ST_XMax(geom_3857)) / 2 AS x,'
    ' (ST_YMin(geom_3857) + ST_YMax(geom_3857)) / 2 AS y'
    ' FROM landmatch.parcel WHERE deleted_at IS NULL', true);
  INSERT INTO landmatch.parcel_cell_total (z, cx, cy, status, public, n, area_m2, sx, sy)
  SELECT z, cx, cy, status, public, sum(n), sum(area_m2), sum(sx), sum(sy)
    FROM landmatch.parcel_cell GROUP BY 1, 2, 3, 4, 5;
END $$;
"""


def upgrade() -> None:
    op.execute("""
DO $$
BEGIN
  ALTER TABLE landmatch.parcel_version ALTER COLUMN row SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'lz4 is not available on this server: parcel_version keeps pglz';
END $$""")
    op.execute(REBUILD_SQL)


def downgrade() -> None:
    op.execute("DROP FUNCTION landmatch.parcel_cell_rebuild()")
    op.execute(OLD_REBUILD_SQL)
    op.execute("ALTER TABLE landmatch.parcel_version ALTER COLUMN row SET COMPRESSION default")
