"""parcel: zone membership stays within the parcel's city (data only)

Revision ID: 0040_zone_city
Revises: 0039_account_version

A parcel is now in a development zone only when the zone belongs to the parcel's own city
(``landmatch.db.membership``): a zone's boundary redrawn across the city limit took the other
city's parcels in, put them in its committee's write scope and applied its policies to them.
Membership is derived data stored on the parcel, so the parcels whose stored zone belongs to
another city are settled again here by the new rule (usually: in no zone), without a new
version, and ``parcel_fact.zone_id`` follows. No schema changes; the downgrade leaves the data
as it is (the old rule would take such parcels in again at their next settling).
"""

from __future__ import annotations

from alembic import op

revision = "0040_zone_city"
down_revision = "0039_account_version"
branch_labels = None
depends_on = None

# Frozen copy of landmatch.db.membership's update, as of this migration, over the parcels in
# a zone of another city.
UPGRADE_SQL = """
SELECT set_config('landmatch.derived_write', 'on', true);
CREATE TEMPORARY TABLE moved ON COMMIT DROP AS
  SELECT p.id FROM landmatch.parcel p JOIN landmatch.dev_zone z ON z.id = p.zone_id
   WHERE z.city_code IS DISTINCT FROM p.city_code;
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
         WHERE z.city_code = p.city_code AND ST_Intersects(z.geom, p.geom)
         ORDER BY s.share DESC, z.id
         LIMIT 1
      ) best ON best.share >= COALESCE(
        NULLIF(current_setting('landmatch.zone_min_share', true), '')::float8, 0.5)
     WHERE p.id IN (SELECT id FROM moved)
  ) m
 WHERE m.id = p.id
   AND (p.zone_id IS DISTINCT FROM m.zone_id OR p.zone_share IS DISTINCT FROM m.share);
SELECT set_config('landmatch.derived_write', 'off', true);
UPDATE landmatch.parcel_fact f SET zone_id = p.zone_id
  FROM landmatch.parcel p
 WHERE p.id = f.parcel_id AND p.id IN (SELECT id FROM moved)
   AND f.zone_id IS DISTINCT FROM p.zone_id;
UPDATE landmatch.data_state SET version = version + 1
 WHERE name IN ('parcel', 'all') AND EXISTS (SELECT 1 FROM moved);
DROP TABLE moved;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    """Nothing to undo in the schema; the data stays settled by the newer rule."""
