"""reference-layer features keep their city: constraint_area.city_code

Revision ID: 0016_layer_city
Revises: 0015_calendar_months

Reference-layer writes are scoped to the caller's city (``landmatch.reflayers.scope``): a city
bureau writes the features of its own city only, province-wide ones are the admin's. For that
every feature stores the city that keeps it:

- ``constraint_area.city_code`` is new; ``facility.city_code`` existed. Both are NULL for a
  province-wide feature and otherwise one of the cities (CHECK).
- Stored rows without a city get the one city whose territory they reach (the city's boundary
  less the province-managed cities inside it, shrunk by ≈ 50 m); a feature reaching several
  cities stays province-wide. The rule is the one ``landmatch.reflayers.scope`` applies to
  every later write (frozen copy below).
"""

from __future__ import annotations

from alembic import op

revision = "0016_layer_city"
down_revision = "0015_calendar_months"
branch_labels = None
depends_on = None

# Frozen copy (as of this migration) of landmatch.vocab.CITIES keys.
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
CITY_LIST = ", ".join(f"'{c}'" for c in CITIES)


def _backfill(table: str) -> str:
    return f"""
WITH t AS MATERIALIZED (
  SELECT a.code, ST_Buffer(COALESCE(ST_Difference(a.geom, (
           SELECT ST_Union(e.geom) FROM landmatch.admin_division e
           WHERE e.province_managed AND e.parent_code = a.code)), a.geom), -0.0005) AS geom
  FROM landmatch.admin_division a WHERE a.code IN ({CITY_LIST})
), reached AS (
  SELECT x.id, array_agg(t.code) AS codes
  FROM landmatch.{table} x JOIN t ON ST_Intersects(t.geom, x.geom)
  WHERE x.city_code IS NULL GROUP BY x.id
)
UPDATE landmatch.{table} x SET city_code = r.codes[1]
FROM reached r WHERE r.id = x.id AND cardinality(r.codes) = 1
"""


def upgrade() -> None:
    op.execute("ALTER TABLE landmatch.constraint_area ADD COLUMN city_code varchar(6)")
    # The triggers keep a history row of each backfilled feature, naming this migration.
    op.execute(
        "SELECT set_config('landmatch.actor', 'migration', true), "
        "set_config('landmatch.reason', '0016_layer_city: 按位置记录要素所属城市', true)"
    )
    op.execute(_backfill("constraint_area"))
    op.execute(_backfill("facility"))
    for table in ("constraint_area", "facility"):
        op.execute(
            f"ALTER TABLE landmatch.{table} ADD CONSTRAINT ck_{table}_city_code "
            f"CHECK (city_code IS NULL OR city_code IN ({CITY_LIST}))"
        )


def downgrade() -> None:
    op.execute("ALTER TABLE landmatch.facility DROP CONSTRAINT ck_facility_city_code")
    op.execute("ALTER TABLE landmatch.constraint_area DROP CONSTRAINT ck_constraint_area_city_code")
    op.execute("ALTER TABLE landmatch.constraint_area DROP COLUMN city_code")
