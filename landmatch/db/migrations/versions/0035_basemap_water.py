"""basemap_water: the offline basemap's sea, coastline, lakes and rivers (GSHHG)

Revision ID: 0035_basemap_water
Revises: 0034_match_run_storage

With ``LANDMATCH_BASEMAP=none`` (offline, the default) the maps had nothing under the parcels
but the administrative boundaries. ``landmatch basemap build`` (run by ``scripts/up`` and the
Docker image) fills this table from GSHHG's binned files, which Debian's ``gmt-gshhg-high``
ships (LGPL-3+): the Bohai coastline and sea, lakes and reservoirs, WDBII rivers by class, for
Hebei and a margin. It is served as the ``water`` vector tiles; ``min_zoom`` is the first zoom
a feature is drawn at. Every write bumps the ``basemap_water`` data version, which keys the
tile cache. An empty table (the package absent) simply means no water layer.
"""

from __future__ import annotations

from alembic import op

revision = "0035_basemap_water"
down_revision = "0034_match_run_storage"
branch_labels = None
depends_on = None

# Frozen copy (as of this migration) of landmatch.vocab.BASEMAP_WATER_KINDS keys.
KINDS = (
    "sea",
    "coast",
    "lake",
    "river_lake",
    "river_major",
    "river",
    "river_intermittent",
    "canal",
)

UPGRADE_SQL = f"""
CREATE TABLE landmatch.basemap_water (
  id serial PRIMARY KEY,
  kind varchar(20) NOT NULL,
  level smallint NOT NULL,
  min_zoom smallint NOT NULL,
  source text NOT NULL,
  geom geometry(Geometry, 4326) NOT NULL,
  geom_3857 geometry(Geometry, 3857) GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED,
  CONSTRAINT ck_basemap_water_kind CHECK (kind IN ({", ".join(f"'{k}'" for k in KINDS)}))
);
CREATE INDEX ix_basemap_water_geom_3857 ON landmatch.basemap_water USING gist (geom_3857);
COMMENT ON TABLE landmatch.basemap_water IS
  'offline basemap water from GSHHG (landmatch basemap build); replaced whole by each build';
CREATE TRIGGER data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
  ON landmatch.basemap_water FOR EACH STATEMENT
  EXECUTE FUNCTION landmatch.bump_data_version();
INSERT INTO landmatch.data_state (name, version) VALUES ('basemap_water', 0)
  ON CONFLICT (name) DO NOTHING;
"""

DOWNGRADE_SQL = """
DROP TABLE landmatch.basemap_water;
DELETE FROM landmatch.data_state WHERE name = 'basemap_water';
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
