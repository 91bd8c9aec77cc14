"""parcel: zone membership by area share, stored on the parcel (zone_id, zone_share)

Revision ID: 0022_zone_membership
Revises: 0021_owned_projects

A parcel is in a development zone when at least ``LANDMATCH_ZONE_MIN_SHARE`` (default 50 %)
of its area, measured on the ellipsoid, lies inside the zone (``landmatch.db.membership``).
Before, ``parcel.zone_id`` held whatever an import declared (usually nothing) and the match
took, for undeclared parcels, any zone the parcel touched.

- ``parcel.zone_share``: the share of the parcel's area inside ``zone_id`` (0–1).
- ``parcel_bump`` and ``parcel_history_upd`` skip a write made with ``landmatch.derived_write =
  on``: storing the derived membership is no edit (no new version, no ETag change).
- Backfill: every parcel's membership (the threshold of the migrating connection, else 50 %),
  and ``parcel_fact.zone_id`` copied from it.
"""

from __future__ import annotations

from alembic import op

revision = "0022_zone_membership"
down_revision = "0021_owned_projects"
branch_labels = None
depends_on = None

# Frozen copy of landmatch.db.membership's update, as of this migration, over every parcel.
BACKFILL_SQL = """
SELECT set_config('landmatch.derived_write', 'on', true);
UPDATE landmatch.parcel p SET zone_id = m.zone_id, zone_share = m.share
  FROM (
    SELECT p.id, best.zone_id, best.share
      FROM landmatch.parcel p
      LEFT JOIN LATERAL (
        SELECT z.id AS zone_id, s.share
          FROM landmatch.dev_zone z
         CROSS JOIN LATERAL (SELECT round(LEAST(1.0, CASE WHEN ST_CoveredBy(p.geom, z.geom)
             THEN 1.0 ELSE ST_Area(ST_CollectionExtract(ST_Intersection(z.geom, p.geom), 3)
             ::geography, true) / NULLIF(p.area_m2, 0) END)::numeric, 4) AS share) s
         WHERE ST_Intersects(z.geom, p.geom)
         ORDER BY s.share DESC, z.id
         LIMIT 1
      ) best ON best.share >= COALESCE(
        NULLIF(current_setting('landmatch.zone_min_share', true), '')::float8, 0.5)
  ) m
 WHERE m.id = p.id
   AND (p.zone_id IS DISTINCT FROM m.zone_id OR p.zone_share IS DISTINCT FROM m.share);
SELECT set_config('landmatch.derived_write', 'off', true);
UPDATE landmatch.parcel_fact f SET zone_id = p.zone_id
  FROM landmatch.parcel p
 WHERE p.id = f.parcel_id AND f.zone_id IS DISTINCT FROM p.zone_id;
UPDATE landmatch.data_state SET version = version + 1 WHERE name IN ('parcel', 'all');
"""

BUMP_SQL = """
CREATE OR REPLACE FUNCTION landmatch.parcel_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('landmatch.derived_write', true) = 'on' THEN
    RETURN NEW;  -- derived data (zone membership): no new version
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  NEW.updated_by := COALESCE(NULLIF(current_setting('landmatch.actor', true), ''), NEW.updated_by);
  RETURN NEW;
END $$;
"""

OLD_BUMP_SQL = """
CREATE OR REPLACE FUNCTION landmatch.parcel_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  NEW.updated_by := COALESCE(NULLIF(current_setting('landmatch.actor', true), ''), NEW.updated_by);
  RETURN NEW;
END $$;
"""

# parcel_history_upd as of 0010_write_path, with the derived-write exit ({skip}).
HISTORY_UPD_SQL = """
CREATE OR REPLACE FUNCTION landmatch.parcel_history_upd() RETURNS trigger LANGUAGE plpgsql
SET jit = off AS $$
DECLARE
  diff text;
BEGIN
  {skip}
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
"""

SKIP = """IF current_setting('landmatch.derived_write', true) = 'on' THEN
    RETURN NULL;  -- derived data (zone membership): no history version
  END IF;"""


def upgrade() -> None:
    op.execute("ALTER TABLE landmatch.parcel ADD COLUMN zone_share numeric(5, 4)")
    op.execute(
        "ALTER TABLE landmatch.parcel ADD CONSTRAINT ck_parcel_zone_share CHECK (zone_share IS "
        "NULL OR (zone_share > 0 AND zone_share <= 1 AND zone_id IS NOT NULL))"
    )
    op.execute(BUMP_SQL)
    op.execute(HISTORY_UPD_SQL.replace("{skip}", SKIP))
    op.execute(BACKFILL_SQL)


def downgrade() -> None:
    op.execute(HISTORY_UPD_SQL.replace("{skip}", ""))
    op.execute(OLD_BUMP_SQL)
    op.execute("ALTER TABLE landmatch.parcel DROP CONSTRAINT ck_parcel_zone_share")
    op.execute("ALTER TABLE landmatch.parcel DROP COLUMN zone_share")
