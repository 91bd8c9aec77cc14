"""matching engine: indexes for the match query, KNN index for facts, stale-fact trigger

Revision ID: 0002_match
Revises: 0001

- ``ix_parcel_match_city`` / ``ix_parcel_match``: the candidate query filters live parcels by
  status, (city), land use and an area range; both orders are kept so the planner can range-scan
  with or without a city filter.
- ``ix_facility_kind_geom`` (btree_gist): nearest facility *of one kind* by ``<->`` in one
  index scan, used by ``landmatch.db.facts.refresh_facts``.
- ``parcel_fact_invalidate``: a parcel whose geometry changes loses its fact row, so a stale
  distance or zone reads as "not checked" until the writer calls ``refresh_facts``.
"""

from __future__ import annotations

from alembic import op

revision = "0002_match"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "CREATE INDEX ix_parcel_match_city ON landmatch.parcel "
        "(status, city_code, land_use, area_m2) WHERE deleted_at IS NULL"
    )
    op.execute(
        "CREATE INDEX ix_parcel_match ON landmatch.parcel (status, land_use, area_m2) "
        "WHERE deleted_at IS NULL"
    )
    op.execute(
        "CREATE INDEX ix_facility_kind_geom ON landmatch.facility USING gist (kind, geom)"
    )
    op.execute(
        "CREATE INDEX ix_reservation_project ON landmatch.reservation (project_id) "
        "WHERE released_at IS NULL"
    )
    op.execute("CREATE INDEX ix_match_run_project ON landmatch.match_run (project_id)")
    op.execute(
        """
CREATE FUNCTION landmatch.parcel_fact_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM landmatch.parcel_fact WHERE parcel_id = NEW.id;
  RETURN NULL;
END $$;
CREATE TRIGGER fact_invalidate AFTER UPDATE OF geom ON landmatch.parcel
  FOR EACH ROW WHEN (OLD.geom IS DISTINCT FROM NEW.geom)
  EXECUTE FUNCTION landmatch.parcel_fact_invalidate();
"""
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS fact_invalidate ON landmatch.parcel")
    op.execute("DROP FUNCTION IF EXISTS landmatch.parcel_fact_invalidate()")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_match_run_project")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_reservation_project")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_facility_kind_geom")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_parcel_match")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_parcel_match_city")
