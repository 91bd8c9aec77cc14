"""tiles: per-zoom parcel cell aggregates for low-zoom vector tiles

Revision ID: 0002_tiles
Revises: 0007_monitoring
(File renamed to 0004_tiles.py to sort in chain order; the revision id is kept, databases
record it.)

``parcel_cell`` holds, for every zoom 6..11, the parcels counted into a grid of cells 1/16 of a
tile wide (the tile grid of zoom z+4), split by the filter dimensions (status, public, city,
in-zone, land use, area class); ``parcel_cell_total`` is its roll-up by status only, small
enough for an unfiltered tile over the whole province. Statement-level triggers with transition tables keep it exact
and set-wise on every insert, update, delete and truncate of ``parcel`` (a bulk COPY of a
million rows costs one grouped upsert). The table is filled once here from the existing rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_tiles"
down_revision = "0007_monitoring"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parcel_cell",
        sa.Column("z", sa.SmallInteger(), nullable=False),
        sa.Column("cx", sa.Integer(), nullable=False),
        sa.Column("cy", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("city_code", sa.String(6), nullable=False),
        sa.Column("in_zone", sa.Boolean(), nullable=False),
        sa.Column("land_use", sa.String(8), nullable=False),
        sa.Column("area_class", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("area_m2", sa.Double(), nullable=False),
        sa.Column("sx", sa.Double(), nullable=False),
        sa.Column("sy", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint(
            "z",
            "cx",
            "cy",
            "status",
            "public",
            "city_code",
            "in_zone",
            "land_use",
            "area_class",
            name="pk_parcel_cell",
        ),
        schema="landmatch",
    )
    op.create_table(
        "parcel_cell_total",
        sa.Column("z", sa.SmallInteger(), nullable=False),
        sa.Column("cx", sa.Integer(), nullable=False),
        sa.Column("cy", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("area_m2", sa.Double(), nullable=False),
        sa.Column("sx", sa.Double(), nullable=False),
        sa.Column("sy", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("z", "cx", "cy", "status", "public", name="pk_parcel_cell_total"),
        schema="landmatch",
    )
    op.execute(CELL_SQL)
    op.execute("SELECT landmatch.parcel_cell_rebuild()")


def downgrade() -> None:
    op.execute(DROP_SQL)
    op.drop_table("parcel_cell", schema="landmatch")
    op.drop_table("parcel_cell_total", schema="landmatch")


# Area classes in 亩 (1 亩 = 10000/15 m²); keep in step with landmatch.db.tiles.AREA_CLASS_EDGES_MU.
CELL_SQL = r"""
CREATE FUNCTION landmatch.area_class(area_m2 double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (CASE
    WHEN area_m2 < 5 * 10000.0 / 15 THEN 0
    WHEN area_m2 < 10 * 10000.0 / 15 THEN 1
    WHEN area_m2 < 20 * 10000.0 / 15 THEN 2
    WHEN area_m2 < 30 * 10000.0 / 15 THEN 3
    WHEN area_m2 < 50 * 10000.0 / 15 THEN 4
    WHEN area_m2 < 100 * 10000.0 / 15 THEN 5
    WHEN area_m2 < 200 * 10000.0 / 15 THEN 6
    WHEN area_m2 < 500 * 10000.0 / 15 THEN 7
    WHEN area_m2 < 1000 * 10000.0 / 15 THEN 8
    ELSE 9 END)::smallint
$$;

-- Adds sign * (each row's contribution) to every zoom's cell. The rows come from a query
-- producing (sign, status, visibility, city_code, zone_id, land_use, area_m2, x, y) where x, y
-- is the centre of the parcel's Web Mercator bounding box; deleted parcels never count.
-- "public" mirrors landmatch.db.parcels.PUBLIC_WHERE (ready AND public AND not deleted).
-- The statements are built here and EXECUTEd by the caller itself: transition tables are only
-- visible in the trigger function's own queries, not in functions it calls.
CREATE FUNCTION landmatch.parcel_cell_upsert_sql(delta text, detail boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT format($q$
    INSERT INTO landmatch.%s AS c
      (z, cx, cy, status, public, %s n, area_m2, sx, sy)
    SELECT zz.z,
           floor((d.x + 20037508.342789244) / (40075016.68557849 / (1 << (zz.z + 4))))::int,
           floor((20037508.342789244 - d.y) / (40075016.68557849 / (1 << (zz.z + 4))))::int,
           d.status, (d.status = 'ready' AND d.visibility = 'public'), %s
           sum(d.sign)::int, sum(d.sign * d.area_m2), sum(d.sign * d.x), sum(d.sign * d.y)
      FROM (%s) d CROSS JOIN generate_series(6, 11) AS zz(z)
     GROUP BY %s
     ORDER BY %s
    ON CONFLICT (z, cx, cy, status, public %s)
    DO UPDATE SET n = c.n + EXCLUDED.n, area_m2 = c.area_m2 + EXCLUDED.area_m2,
                  sx = c.sx + EXCLUDED.sx, sy = c.sy + EXCLUDED.sy
  $q$,
  CASE WHEN detail THEN 'parcel_cell' ELSE 'parcel_cell_total' END,
  CASE WHEN detail THEN 'city_code, in_zone, land_use, area_class,' ELSE '' END,
  CASE WHEN detail THEN 'd.city_code, d.zone_id IS NOT NULL, d.land_use,'
                        ' landmatch.area_class(d.area_m2),' ELSE '' END,
  delta,
  CASE WHEN detail THEN '1, 2, 3, 4, 5, 6, 7, 8, 9' ELSE '1, 2, 3, 4, 5' END,
  CASE WHEN detail THEN '1, 2, 3, 4, 5, 6, 7, 8, 9' ELSE '1, 2, 3, 4, 5' END,
  CASE WHEN detail THEN ', city_code, in_zone, land_use, area_class' ELSE '' END)
$$;

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

CREATE FUNCTION landmatch.parcel_cell_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER parcel_cell_ins AFTER INSERT ON landmatch.parcel
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION landmatch.parcel_cell_trigger();
CREATE TRIGGER parcel_cell_upd AFTER UPDATE ON landmatch.parcel
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION landmatch.parcel_cell_trigger();
CREATE TRIGGER parcel_cell_del AFTER DELETE ON landmatch.parcel
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION landmatch.parcel_cell_trigger();
CREATE TRIGGER parcel_cell_trunc AFTER TRUNCATE ON landmatch.parcel
  FOR EACH STATEMENT EXECUTE FUNCTION landmatch.parcel_cell_trigger();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS parcel_cell_ins ON landmatch.parcel;
DROP TRIGGER IF EXISTS parcel_cell_upd ON landmatch.parcel;
DROP TRIGGER IF EXISTS parcel_cell_del ON landmatch.parcel;
DROP TRIGGER IF EXISTS parcel_cell_trunc ON landmatch.parcel;
DROP FUNCTION IF EXISTS landmatch.parcel_cell_trigger();
DROP FUNCTION IF EXISTS landmatch.parcel_cell_rebuild();
DROP FUNCTION IF EXISTS landmatch.parcel_cell_upsert_sql(text, boolean);
DROP FUNCTION IF EXISTS landmatch.area_class(double precision);
"""
