"""write path: set-wise parcel history and facts, derived data that a large import settles after
its commit

Revision ID: 0010_write_path
Revises: 0003_perfmatch

History (``parcel_version``)
  A parcel's *current* state lives in ``parcel``; its version row carries who, when, why and
  what changed, with ``row`` and ``geom`` left NULL. When the parcel is next updated (or hard
  deleted) the superseded version row receives the old state. Every state is kept exactly once,
  and an insert no longer renders a whole row as jsonb (most of an import's history cost).
  ``parcel_version_full`` is the table with the current states filled in: readers use it.
  The per-row ``history`` trigger is replaced by three statement-level triggers that work on
  the transition tables, set-wise.

Facts (``parcel_fact``)
  The per-row ``fact_sync`` trigger is replaced by statement-level ones (one upsert per
  statement). Inserted parcels and parcels whose geometry changed are queued in
  ``parcel_dirty`` for their spatial facts (zone, distances, constraints): until then those
  stay NULL ("not checked"); writers settle the queue (``landmatch.db.derived``).

Deferred derived data
  With ``landmatch.defer_derived = on`` (a large import sets it for its transaction) inserts
  only queue their ids in ``parcel_dirty`` and every write appends its low-zoom cell deltas to
  ``parcel_cell_delta`` instead of applying them. ``landmatch.db.derived.drain`` applies both
  after the commit. Updates keep their copied fact columns in step inline either way, so a
  match never ranks on a stale status or price; a parcel not yet settled is simply not ranked.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0010_write_path"
down_revision = "0003_perfmatch"
branch_labels = None
depends_on = None

# Frozen copies (as of this migration) of landmatch.db.facts.COPIED and its spatial columns.
COPIED = (
    "code",
    "status",
    "visibility",
    "deleted_at",
    "city_code",
    "parcel_zone_id",
    "land_use",
    "compatible_uses",
    "area_m2",
    "price_public",
    "ref_price_wan_per_mu",
    "invest_intensity_min",
    "tax_per_mu_min",
    "energy_per_value_max",
    "power_kva",
    "water_m3d",
    "gas_m3d",
    "heat_mw",
    "telecom_5g",
    "fibre",
    "supply_modes",
    "readiness",
    "data_updated_on",
)
SPATIAL = (
    "zone_id",
    "dist_port_km",
    "dist_airport_km",
    "dist_rail_freight_km",
    "dist_highway_interchange_km",
    "dist_logistics_hub_km",
    "dist_cold_chain_km",
    "dist_bonded_zone_km",
    "dist_substation_km",
    "excluded",
    "constraint_hits",
    "penalised",
)


def _src(name: str) -> str:
    return "zone_id" if name == "parcel_zone_id" else name


HISTORY_SQL = r"""
ALTER TABLE landmatch.parcel_version ALTER COLUMN row DROP NOT NULL,
                                     ALTER COLUMN geom DROP NOT NULL;
COMMENT ON COLUMN landmatch.parcel_version.row IS
  'the state at this version (all columns but the geometries); NULL while it is the current state, which lives in parcel';

-- Every version with its state: the current one read from parcel.
CREATE VIEW landmatch.parcel_version_full AS
SELECT v.id, v.parcel_id, v.code, v.version, v.op,
       COALESCE(v.row, to_jsonb(p) - 'geom' - 'geom_3857') AS row,
       COALESCE(v.geom, p.geom) AS geom,
       v.changed, v.actor, v.reason, v.import_id, v.at
  FROM landmatch.parcel_version v
  LEFT JOIN landmatch.parcel p ON v.row IS NULL AND p.id = v.parcel_id;

-- The parcel columns a version's state holds, as select-list items of relation alias `a`.
CREATE FUNCTION landmatch.parcel_state_columns(a text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT string_agg(format('%I.%I', a, attname), ', ' ORDER BY attnum)
    FROM pg_attribute
   WHERE attrelid = 'landmatch.parcel'::regclass AND attnum > 0 AND NOT attisdropped
     AND attname NOT IN ('geom', 'geom_3857')
$$;

CREATE FUNCTION landmatch.parcel_history_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO landmatch.parcel_version
    (parcel_id, code, version, op, row, geom, changed, actor, reason, import_id)
  SELECT n.id, n.code, n.version, 'insert', NULL, NULL, '{}',
         NULLIF(current_setting('landmatch.actor', true), ''),
         NULLIF(current_setting('landmatch.reason', true), ''),
         NULLIF(current_setting('landmatch.import_id', true), '')::bigint
    FROM new_rows n;
  RETURN NULL;
END $$;

-- The superseded states go into their version rows; the new versions are recorded with the
-- fields that changed (sorted; version, updated_at and updated_by are bookkeeping).
CREATE FUNCTION landmatch.parcel_history_upd() RETURNS trigger LANGUAGE plpgsql
SET jit = off AS $$
DECLARE
  diff text;
BEGIN
  SELECT string_agg(format('CASE WHEN o.%1$I IS DISTINCT FROM n.%1$I THEN %1$L END', attname),
                    ', ' ORDER BY attname)
    INTO diff
    FROM pg_attribute
   WHERE attrelid = 'landmatch.parcel'::regclass AND attnum > 0 AND NOT attisdropped
     AND attname NOT IN ('geom', 'geom_3857', 'version', 'updated_at', 'updated_by');
  -- Transition tables are only visible in this function's own queries: EXECUTE here.
  EXECUTE format($q$
    UPDATE landmatch.parcel_version v SET row = s.row, geom = s.geom
      FROM (SELECT o.id, o.version, o.geom, to_jsonb(r) AS row
              FROM old_rows o CROSS JOIN LATERAL (SELECT %s) r) s
     WHERE v.parcel_id = s.id AND v.version = s.version AND v.row IS NULL
  $q$, landmatch.parcel_state_columns('o'));
  EXECUTE format($q$
    INSERT INTO landmatch.parcel_version
      (parcel_id, code, version, op, row, geom, changed, actor, reason, import_id)
    SELECT n.id, n.code, n.version,
           CASE WHEN current_setting('landmatch.op', true) = 'restore' THEN 'restore'
                WHEN o.deleted_at IS NULL AND n.deleted_at IS NOT NULL THEN 'delete'
                WHEN o.deleted_at IS NOT NULL AND n.deleted_at IS NULL THEN 'restore'
                ELSE 'update' END,
           NULL, NULL,
           ARRAY(SELECT k FROM unnest(ARRAY[%s,
                   CASE WHEN NOT ST_OrderingEquals(o.geom, n.geom) THEN 'geom' END]) AS k
                  WHERE k IS NOT NULL ORDER BY k)::text[],
           NULLIF(current_setting('landmatch.actor', true), ''),
           NULLIF(current_setting('landmatch.reason', true), ''),
           NULLIF(current_setting('landmatch.import_id', true), '')::bigint
      FROM new_rows n JOIN old_rows o ON o.id = n.id
  $q$, diff);
  RETURN NULL;
END $$;

-- A hard delete: the last state goes into its version row, and a 'delete' version keeps it.
CREATE FUNCTION landmatch.parcel_history_del() RETURNS trigger LANGUAGE plpgsql
SET jit = off AS $$
BEGIN
  EXECUTE format($q$
    WITH s AS MATERIALIZED (
      SELECT o.id, o.code, o.version, o.geom, to_jsonb(r) AS row
        FROM old_rows o CROSS JOIN LATERAL (SELECT %s) r),
    filled AS (
      UPDATE landmatch.parcel_version v SET row = s.row, geom = s.geom FROM s
       WHERE v.parcel_id = s.id AND v.version = s.version AND v.row IS NULL)
    INSERT INTO landmatch.parcel_version
      (parcel_id, code, version, op, row, geom, changed, actor, reason, import_id)
    SELECT s.id, s.code, s.version, 'delete', s.row, s.geom, '{}',
           NULLIF(current_setting('landmatch.actor', true), ''),
           NULLIF(current_setting('landmatch.reason', true), ''),
           NULLIF(current_setting('landmatch.import_id', true), '')::bigint
      FROM s
  $q$, landmatch.parcel_state_columns('o'));
  RETURN NULL;
END $$;

DROP TRIGGER history ON landmatch.parcel;
DROP FUNCTION landmatch.parcel_history();
CREATE TRIGGER history_ins AFTER INSERT ON landmatch.parcel
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION landmatch.parcel_history_ins();
CREATE TRIGGER history_upd AFTER UPDATE ON landmatch.parcel
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION landmatch.parcel_history_upd();
CREATE TRIGGER history_del AFTER DELETE ON landmatch.parcel
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION landmatch.parcel_history_del();
"""

QUEUES_SQL = r"""
-- Parcels whose spatial facts are to be (re)computed.
CREATE TABLE landmatch.parcel_dirty (
  parcel_id bigint PRIMARY KEY,
  queued_at timestamptz NOT NULL DEFAULT now()
);
-- Low-zoom cell contributions written under landmatch.defer_derived, not yet applied.
CREATE TABLE landmatch.parcel_cell_delta (
  sign smallint NOT NULL,
  status varchar(12) NOT NULL,
  public boolean NOT NULL,
  city_code varchar(6) NOT NULL,
  in_zone boolean NOT NULL,
  land_use varchar(8) NOT NULL,
  area_class smallint NOT NULL,
  area_m2 double precision NOT NULL,
  x double precision NOT NULL,
  y double precision NOT NULL
);
"""

CELLS_SQL = r"""
-- The statement adding a delta (rows of sign, status, public, city_code, in_zone, land_use,
-- area_class, area_m2, x, y) to both cell tables; ``delta`` is a query or a DELETE ...
-- RETURNING. A text, because a trigger's transition tables are visible only to its own
-- EXECUTE.
CREATE FUNCTION landmatch.parcel_cell_sql(delta text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
  SELECT format($q$
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
  $q$, delta)
$f$;

-- Apply the queued deltas (landmatch.db.derived.drain).
CREATE FUNCTION landmatch.parcel_cell_drain() RETURNS void LANGUAGE plpgsql
SET jit = off SET work_mem = '256MB' AS $$
BEGIN
  EXECUTE landmatch.parcel_cell_sql('DELETE FROM landmatch.parcel_cell_delta RETURNING *');
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
    DELETE FROM landmatch.parcel_cell_delta;
    DELETE FROM landmatch.parcel_dirty;
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    delta := 'SELECT 1 AS sign, ' || cols || ' FROM new_rows WHERE deleted_at IS NULL';
  ELSIF TG_OP = 'DELETE' THEN
    delta := 'SELECT -1 AS sign, ' || cols || ' FROM old_rows WHERE deleted_at IS NULL';
  ELSE
    delta := 'SELECT 1 AS sign, ' || cols || ' FROM new_rows WHERE deleted_at IS NULL'
      ' UNION ALL SELECT -1 AS sign, ' || cols || ' FROM old_rows WHERE deleted_at IS NULL';
  END IF;
  IF current_setting('landmatch.defer_derived', true) = 'on' THEN
    EXECUTE 'INSERT INTO landmatch.parcel_cell_delta '
      '(sign, status, public, city_code, in_zone, land_use, area_class, area_m2, x, y) ' || delta;
  ELSE
    EXECUTE landmatch.parcel_cell_sql(delta);
  END IF;
  RETURN NULL;
END $$;
"""


def _facts_sql() -> str:
    cols = ", ".join(COPIED)
    vals = ", ".join(f"n.{_src(c)}" for c in COPIED)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in COPIED)
    reset = ", ".join(f"{c} = NULL" for c in SPATIAL)
    return f"""
-- Inserted parcels: their copied columns (inline), their spatial facts queued.
CREATE FUNCTION landmatch.parcel_fact_ins() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
  IF current_setting('landmatch.defer_derived', true) IS DISTINCT FROM 'on' THEN
    INSERT INTO landmatch.parcel_fact (parcel_id, {cols})
    SELECT n.id, {vals} FROM new_rows n
    ON CONFLICT (parcel_id) DO UPDATE SET {sets};
  END IF;
  INSERT INTO landmatch.parcel_dirty (parcel_id) SELECT n.id FROM new_rows n
  ON CONFLICT (parcel_id) DO NOTHING;
  RETURN NULL;
END $$;

-- Updated parcels: copied columns always inline; a moved parcel's spatial facts go back to
-- "not checked" and into the queue.
CREATE FUNCTION landmatch.parcel_fact_upd() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
  INSERT INTO landmatch.parcel_fact (parcel_id, {cols})
  SELECT n.id, {vals} FROM new_rows n
  ON CONFLICT (parcel_id) DO UPDATE SET {sets};
  WITH moved AS MATERIALIZED (
    SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE NOT ST_OrderingEquals(n.geom, o.geom)),
  q AS (
    INSERT INTO landmatch.parcel_dirty (parcel_id) SELECT id FROM moved
    ON CONFLICT (parcel_id) DO NOTHING)
  UPDATE landmatch.parcel_fact f SET {reset}, computed_at = now()
    FROM moved WHERE f.parcel_id = moved.id;
  RETURN NULL;
END $$;

DROP TRIGGER fact_sync ON landmatch.parcel;
DROP FUNCTION landmatch.parcel_fact_sync();
CREATE TRIGGER fact_ins AFTER INSERT ON landmatch.parcel
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION landmatch.parcel_fact_ins();
CREATE TRIGGER fact_upd AFTER UPDATE ON landmatch.parcel
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION landmatch.parcel_fact_upd();
"""


def upgrade() -> None:
    op.execute(HISTORY_SQL)
    op.execute(QUEUES_SQL)
    op.execute(CELLS_SQL)
    op.execute(_facts_sql())


DOWNGRADE_SQL = r"""
DROP TRIGGER history_ins ON landmatch.parcel;
DROP TRIGGER history_upd ON landmatch.parcel;
DROP TRIGGER history_del ON landmatch.parcel;
DROP FUNCTION landmatch.parcel_history_ins();
DROP FUNCTION landmatch.parcel_history_upd();
DROP FUNCTION landmatch.parcel_history_del();
-- Fill the current states back in: every version row holds its state again.
UPDATE landmatch.parcel_version v SET row = f.row, geom = f.geom
  FROM landmatch.parcel_version_full f WHERE f.id = v.id AND v.row IS NULL;
DELETE FROM landmatch.parcel_version WHERE row IS NULL;
DROP VIEW landmatch.parcel_version_full;
DROP FUNCTION landmatch.parcel_state_columns(text);
ALTER TABLE landmatch.parcel_version ALTER COLUMN row SET NOT NULL,
                                     ALTER COLUMN geom SET NOT NULL;
COMMENT ON COLUMN landmatch.parcel_version.row IS NULL;
DROP TRIGGER fact_ins ON landmatch.parcel;
DROP TRIGGER fact_upd ON landmatch.parcel;
DROP FUNCTION landmatch.parcel_fact_ins();
DROP FUNCTION landmatch.parcel_fact_upd();
SELECT landmatch.parcel_cell_drain();
DROP TABLE landmatch.parcel_cell_delta;
DROP TABLE landmatch.parcel_dirty;
"""


def _frozen(name: str) -> ModuleType:
    """An earlier migration module of this directory (their file names are not identifiers)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
    # 0008's row-level history function and cell trigger (without the queue), 0002's fact_sync.
    op.execute(_frozen("0006_import_speed").UPGRADE_SQL)
    op.execute("DROP FUNCTION landmatch.parcel_cell_drain()")
    op.execute("DROP FUNCTION landmatch.parcel_cell_sql(text)")
    op.execute(
        "CREATE TRIGGER history AFTER INSERT OR UPDATE OR DELETE ON landmatch.parcel "
        "FOR EACH ROW EXECUTE FUNCTION landmatch.parcel_history()"
    )
    cols = ", ".join(COPIED)
    new_vals = ", ".join(f"NEW.{_src(c)}" for c in COPIED)
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in COPIED)
    reset = ", ".join(f"{c} = NULL" for c in SPATIAL)
    op.execute(f"""
CREATE FUNCTION landmatch.parcel_fact_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO landmatch.parcel_fact (parcel_id, {cols}) VALUES (NEW.id, {new_vals})
  ON CONFLICT (parcel_id) DO UPDATE SET {sets};
  IF TG_OP = 'UPDATE' AND OLD.geom IS DISTINCT FROM NEW.geom THEN
    UPDATE landmatch.parcel_fact SET {reset}, computed_at = now() WHERE parcel_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER fact_sync AFTER INSERT OR UPDATE ON landmatch.parcel
  FOR EACH ROW EXECUTE FUNCTION landmatch.parcel_fact_sync();
""")
