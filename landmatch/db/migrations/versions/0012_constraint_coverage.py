"""constraint coverage: which constraint kinds' data is complete for which city

Revision ID: 0012_constraint_coverage
Revises: 0011_parcel_keys

- ``constraint_coverage`` holds one row per (kind, city_code) for which the stored constraint
  areas of that kind are declared complete: source, as-of date, who declared it and when.
  QA reports a parcel "clear" of a kind only where the kind is covered for its city, and
  ``parcel_fact.excluded`` is false only where every excluding kind is (see
  ``landmatch.db.constraints``). Before, "checked" was inferred from any polygon of the kind
  touching the city, so a red line spilling over a boundary made the neighbour "clear".
  History goes to ``layer_version`` and every write bumps the ``constraint_coverage`` and
  ``all`` data versions, like the other reference layers.
- ``fact_city``: a parcel whose city changes (its geometry unchanged) has its constraint facts
  (``excluded``, ``constraint_hits``, ``penalised``) set back to NULL, "not checked", and is
  queued in ``parcel_dirty`` like a moved parcel, since ``excluded`` now depends on the city.
- Stored facts are brought to the new reading in place: with no coverage declared yet, no
  parcel is "checked and clear", so ``excluded = false`` becomes NULL; the constraint hits of
  the parcels that had any are recomputed with the interior-overlap rule (at least 1 m² on the
  ellipsoid; a parcel that only touches an area is no longer in it). Declaring coverage
  (``landmatch layers coverage declare``) then refreshes the parcels of the cities it names;
  ``landmatch seed`` declares what its demo layers cover.
"""

from __future__ import annotations

from alembic import op

revision = "0012_constraint_coverage"
down_revision = "0011_parcel_keys"
branch_labels = None
depends_on = None

# Frozen copies (as of this migration) of landmatch.vocab.CONSTRAINT_KINDS and CITIES keys.
KINDS = ("eco_redline", "water_source", "basic_farmland", "flood", "residential_setback")
CITIES = (
    "130100",
    "130200",
    "130300",
    "130400",
    "130500",
    "130600",
    "130700",
    "130800",
    "130900",
    "131000",
    "131100",
    "130181",
    "130682",
)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


UPGRADE_SQL = f"""
CREATE TABLE landmatch.constraint_coverage (
  id serial PRIMARY KEY,
  kind varchar(24) NOT NULL,
  city_code varchar(6) NOT NULL,
  source text NOT NULL,
  as_of date NOT NULL,
  declared_by text NOT NULL,
  declared_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ck_constraint_coverage_kind CHECK (kind IN ({_in(KINDS)})),
  CONSTRAINT ck_constraint_coverage_city_code CHECK (city_code IN ({_in(CITIES)})),
  CONSTRAINT ck_constraint_coverage_source CHECK (btrim(source) <> ''),
  CONSTRAINT uq_constraint_coverage_kind_city_code UNIQUE (kind, city_code)
);
CREATE INDEX ix_constraint_coverage_city_code ON landmatch.constraint_coverage (city_code);
COMMENT ON TABLE landmatch.constraint_coverage IS
  'constraint kinds whose stored areas are declared complete for a city (see landmatch.db.constraints)';

CREATE TRIGGER history AFTER INSERT OR UPDATE OR DELETE ON landmatch.constraint_coverage
  FOR EACH ROW EXECUTE FUNCTION landmatch.layer_history();
CREATE TRIGGER data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON landmatch.constraint_coverage FOR EACH STATEMENT
  EXECUTE FUNCTION landmatch.bump_data_version();
INSERT INTO landmatch.data_state (name, version) VALUES ('constraint_coverage', 0)
  ON CONFLICT (name) DO NOTHING;

-- A parcel moved to another city: its constraint facts read "not checked" until settled.
CREATE FUNCTION landmatch.parcel_fact_city() RETURNS trigger LANGUAGE plpgsql
SET jit = off AS $$
BEGIN
  WITH moved AS MATERIALIZED (
    SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE n.city_code IS DISTINCT FROM o.city_code),
  q AS (
    INSERT INTO landmatch.parcel_dirty (parcel_id) SELECT id FROM moved
    ON CONFLICT (parcel_id) DO NOTHING)
  UPDATE landmatch.parcel_fact f
     SET excluded = NULL, constraint_hits = NULL, penalised = NULL, computed_at = now()
    FROM moved WHERE f.parcel_id = moved.id;
  RETURN NULL;
END $$;
CREATE TRIGGER fact_city AFTER UPDATE ON landmatch.parcel
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION landmatch.parcel_fact_city();
"""

# Frozen copy (as of this migration) of landmatch.db.facts' constraint hits with the overlap
# rule of landmatch.db.constraints (MIN_OVERLAP_M2 = 1).
FACTS_SQL = """
WITH had AS MATERIALIZED (
  SELECT parcel_id FROM landmatch.parcel_fact
   WHERE constraint_hits IS NOT NULL AND constraint_hits <> '[]'::jsonb),
hits AS (
  SELECT p.id,
         bool_or(c.severity = 'excludes') AS excluded,
         bool_or(c.severity = 'penalises') AS penalised,
         jsonb_agg(jsonb_build_object('code', c.code, 'name', c.name, 'kind', c.kind,
                   'severity', c.severity) ORDER BY c.code) AS hits
    FROM had JOIN landmatch.parcel p ON p.id = had.parcel_id
    JOIN landmatch.constraint_area c ON c.geom && p.geom AND ST_Intersects(c.geom, p.geom)
     AND ST_Relate(c.geom, p.geom, 'T********')
     AND ST_Area(ST_Intersection(c.geom, p.geom)::geography, true) >= 1.0
   GROUP BY p.id)
UPDATE landmatch.parcel_fact f
   SET excluded = CASE WHEN hits.excluded THEN true END,
       penalised = COALESCE(hits.penalised, false),
       constraint_hits = COALESCE(hits.hits, '[]'::jsonb)
  FROM had LEFT JOIN hits ON hits.id = had.parcel_id
 WHERE f.parcel_id = had.parcel_id;
UPDATE landmatch.parcel_fact SET excluded = NULL WHERE excluded IS FALSE;
"""

DOWNGRADE_SQL = """
DROP TRIGGER fact_city ON landmatch.parcel;
DROP FUNCTION landmatch.parcel_fact_city();
DROP TABLE landmatch.constraint_coverage;
DELETE FROM landmatch.data_state WHERE name = 'constraint_coverage';
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)
    op.execute(FACTS_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
