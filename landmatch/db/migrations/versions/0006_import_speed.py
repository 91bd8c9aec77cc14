"""import speed: parcel history without GeoJSON, single-pass parcel_cell maintenance

Revision ID: 0008_import_speed
Revises: 0002_match
(File renamed to 0006_import_speed.py to sort in chain order; the revision id is kept, databases
record it.)

``parcel_history`` turned each row (twice per update) into jsonb with ``to_jsonb(row)``, which
renders both geometries as GeoJSON only to drop them again: most of the trigger's cost. It now
blanks the geometries first; the stored version row and the ``changed`` list are the same
(``geom`` is listed when the geometry changed, as before).

The statement-level ``parcel_cell`` trigger of 0002_tiles read the transition table twice (once
per aggregate table), sorted wide tuples that still carried the Web Mercator geometry (spilling
to disk at the default work_mem) and paid JIT compilation on every large statement: ~7 s for a
100,000-row insert. This version reduces each changed row to a narrow record once, groups it per
zoom with a hash aggregate, derives the per-status roll-up from that grouped delta, and upserts
both tables in one statement, with JIT off and a work_mem that fits a 100k-row import. The cells
it writes are the same (sums in a different order may differ in the last floating-point bit).
"""

from __future__ import annotations

from alembic import op

revision = "0008_import_speed"
down_revision = "0002_match"
branch_labels = None
depends_on = None


UPGRADE_SQL = r"""
CREATE OR REPLACE FUNCTION landmatch.parcel_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_row jsonb;
  old_row jsonb;
  kind text;
  changed text[] := '{}';
  rec landmatch.parcel;
  flat landmatch.parcel;
  rec_geom geometry;
BEGIN
  IF current_setting('landmatch.bulk', true) = 'on' THEN
    RETURN NULL;
  END IF;
  -- Rows go to jsonb without their geometries: to_jsonb() would render them as GeoJSON only
  -- for them to be dropped again. Geometry changes are still seen (compared directly).
  IF TG_OP = 'INSERT' THEN
    rec := NEW; kind := 'insert';
  ELSIF TG_OP = 'DELETE' THEN
    rec := OLD; kind := 'delete';
  ELSE
    rec := NEW;
    flat := NEW; flat.geom := NULL; flat.geom_3857 := NULL;
    new_row := to_jsonb(flat) - 'geom_3857' - 'version' - 'updated_at' - 'updated_by';
    flat := OLD; flat.geom := NULL; flat.geom_3857 := NULL;
    old_row := to_jsonb(flat) - 'geom_3857' - 'version' - 'updated_at' - 'updated_by';
    SELECT coalesce(array_agg(k ORDER BY k), '{}') INTO changed
      FROM (SELECT k FROM jsonb_object_keys(new_row) AS k
             WHERE k <> 'geom' AND new_row -> k IS DISTINCT FROM old_row -> k
            UNION ALL
            SELECT 'geom' WHERE NOT ST_OrderingEquals(NEW.geom, OLD.geom)) AS d;
    IF current_setting('landmatch.op', true) = 'restore' THEN
      kind := 'restore';
    ELSIF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
      kind := 'delete';
    ELSIF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
      kind := 'restore';
    ELSE
      kind := 'update';
    END IF;
  END IF;
  rec_geom := rec.geom;
  rec.geom := NULL; rec.geom_3857 := NULL;
  INSERT INTO landmatch.parcel_version
    (parcel_id, code, version, op, row, geom, changed, actor, reason, import_id)
  VALUES (
    rec.id, rec.code, rec.version, kind,
    to_jsonb(rec) - 'geom' - 'geom_3857', rec_geom, changed,
    NULLIF(current_setting('landmatch.actor', true), ''),
    NULLIF(current_setting('landmatch.reason', true), ''),
    NULLIF(current_setting('landmatch.import_id', true), '')::bigint
  );
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION landmatch.parcel_cell_trigger() RETURNS trigger LANGUAGE plpgsql
SET jit = off SET work_mem = '128MB' AS $$
DECLARE
  cols text := 'status, (status = ''ready'' AND visibility = ''public'') AS public, city_code,'
    ' zone_id IS NOT NULL AS in_zone, land_use, landmatch.area_class(area_m2) AS area_class,'
    ' area_m2, (ST_XMin(geom_3857) + ST_XMax(geom_3857)) / 2 AS x,'
    ' (ST_YMin(geom_3857) + ST_YMax(geom_3857)) / 2 AS y';
  delta text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM landmatch.parcel_cell;
    DELETE FROM landmatch.parcel_cell_total;
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    delta := 'SELECT 1 AS sign, ' || cols || ' FROM new_rows WHERE deleted_at IS NULL';
  ELSIF TG_OP = 'DELETE' THEN
    delta := 'SELECT -1 AS sign, ' || cols || ' FROM old_rows WHERE deleted_at IS NULL';
  ELSE
    delta := 'SELECT 1 AS sign, ' || cols || ' FROM new_rows WHERE deleted_at IS NULL'
      ' UNION ALL SELECT -1 AS sign, ' || cols || ' FROM old_rows WHERE deleted_at IS NULL';
  END IF;
  -- Transition tables are only visible in this function's own queries: EXECUTE here.
  EXECUTE format($q$
    WITH d AS MATERIALIZED (%s),
    g AS MATERIALIZED (
      SELECT zz.z,
             floor((d.x + 20037508.342789244) / (40075016.68557849 / (1 << (zz.z + 4))))::int AS cx,
             floor((20037508.342789244 - d.y) / (40075016.68557849 / (1 << (zz.z + 4))))::int AS cy,
             d.status, d.public, d.city_code, d.in_zone, d.land_use, d.area_class,
             sum(d.sign)::int AS n, sum(d.sign * d.area_m2) AS area_m2,
             sum(d.sign * d.x) AS sx, sum(d.sign * d.y) AS sy
        FROM d CROSS JOIN generate_series(6, 11) AS zz(z)
       GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9),
    t AS (
      INSERT INTO landmatch.parcel_cell_total AS c (z, cx, cy, status, public, n, area_m2, sx, sy)
      SELECT z, cx, cy, status, public, sum(n)::int, sum(area_m2), sum(sx), sum(sy)
        FROM g GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (z, cx, cy, status, public)
      DO UPDATE SET n = c.n + EXCLUDED.n, area_m2 = c.area_m2 + EXCLUDED.area_m2,
                    sx = c.sx + EXCLUDED.sx, sy = c.sy + EXCLUDED.sy)
    INSERT INTO landmatch.parcel_cell AS c
      (z, cx, cy, status, public, city_code, in_zone, land_use, area_class, n, area_m2, sx, sy)
    SELECT * FROM g ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    ON CONFLICT (z, cx, cy, status, public, city_code, in_zone, land_use, area_class)
    DO UPDATE SET n = c.n + EXCLUDED.n, area_m2 = c.area_m2 + EXCLUDED.area_m2,
                  sx = c.sx + EXCLUDED.sx, sy = c.sy + EXCLUDED.sy
  $q$, delta);
  RETURN NULL;
END $$;
"""

# 0002_tiles' version, restored on downgrade.
DOWNGRADE_SQL = r"""
CREATE OR REPLACE FUNCTION landmatch.parcel_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_row jsonb;
  old_row jsonb;
  kind text;
  changed text[] := '{}';
  rec landmatch.parcel;
BEGIN
  IF current_setting('landmatch.bulk', true) = 'on' THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    rec := NEW; kind := 'insert';
  ELSIF TG_OP = 'DELETE' THEN
    rec := OLD; kind := 'delete';
  ELSE
    rec := NEW;
    new_row := to_jsonb(NEW) - 'geom_3857' - 'version' - 'updated_at' - 'updated_by';
    old_row := to_jsonb(OLD) - 'geom_3857' - 'version' - 'updated_at' - 'updated_by';
    SELECT coalesce(array_agg(k ORDER BY k), '{}') INTO changed
      FROM jsonb_object_keys(new_row) AS k
      WHERE new_row -> k IS DISTINCT FROM old_row -> k;
    IF current_setting('landmatch.op', true) = 'restore' THEN
      kind := 'restore';
    ELSIF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
      kind := 'delete';
    ELSIF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
      kind := 'restore';
    ELSE
      kind := 'update';
    END IF;
  END IF;
  INSERT INTO landmatch.parcel_version
    (parcel_id, code, version, op, row, geom, changed, actor, reason, import_id)
  VALUES (
    rec.id, rec.code, rec.version, kind,
    to_jsonb(rec) - 'geom' - 'geom_3857', rec.geom, changed,
    NULLIF(current_setting('landmatch.actor', true), ''),
    NULLIF(current_setting('landmatch.reason', true), ''),
    NULLIF(current_setting('landmatch.import_id', true), '')::bigint
  );
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION landmatch.parcel_cell_trigger() RETURNS trigger LANGUAGE plpgsql
AS $$
DECLARE
  cols text := 'status, visibility, city_code, zone_id, land_use, area_m2,'
    ' (ST_XMin(geom_3857) + ST_XMax(geom_3857)) / 2 AS x,'
    ' (ST_YMin(geom_3857) + ST_YMax(geom_3857)) / 2 AS y';
  delta text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM landmatch.parcel_cell;
    DELETE FROM landmatch.parcel_cell_total;
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    delta := 'SELECT 1 AS sign, ' || cols || ' FROM new_rows WHERE deleted_at IS NULL';
  ELSIF TG_OP = 'DELETE' THEN
    delta := 'SELECT -1 AS sign, ' || cols || ' FROM old_rows WHERE deleted_at IS NULL';
  ELSE
    delta := 'SELECT 1 AS sign, ' || cols || ' FROM new_rows WHERE deleted_at IS NULL'
      ' UNION ALL SELECT -1 AS sign, ' || cols || ' FROM old_rows WHERE deleted_at IS NULL';
  END IF;
  EXECUTE landmatch.parcel_cell_upsert_sql(delta, true);
  EXECUTE landmatch.parcel_cell_upsert_sql(delta, false);
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
