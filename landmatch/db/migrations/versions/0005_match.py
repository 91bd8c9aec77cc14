"""matching engine: parcel_fact as the match table, its index, KNN index, sync trigger

Revision ID: 0002_match
Revises: 0002_tiles
(File renamed to 0005_match.py to sort in chain order; the revision id is kept, databases
record it.)

A match reads ``parcel_fact`` only: besides the spatial facts (nearest facility per kind,
containing zone, constraint hits) each row carries a copy of the parcel columns the hard rules
and scores read, kept in step by the ``fact_sync`` trigger on every parcel insert and update.

- ``ix_parcel_fact_match``: the candidate query range-scans live rows by status, land use and
  area and reads everything else from the index (INCLUDE) — an index-only scan, no heap, no
  join; ``landmatch.db.facts.refresh_facts`` vacuums after large refreshes so it stays so.
- ``ix_parcel_fact_match_city``: the same with the city in the key, for requests naming cities.
- ``ix_facility_kind_geom`` (btree_gist): nearest facility *of one kind* by ``<->`` in one
  index scan, used by ``refresh_facts``.
- A parcel whose geometry changes keeps its copied columns but its spatial facts become NULL
  ("not checked") until the writer calls ``refresh_facts``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_match"
down_revision = "0002_tiles"  # chained after main's head at merge time
branch_labels = None
depends_on = None

# Parcel columns copied into parcel_fact (same names; parcel.zone_id becomes parcel_zone_id).
COPIED: tuple[tuple[str, sa.types.TypeEngine], ...] = (
    ("code", sa.String(64)),
    ("status", sa.String(12)),
    ("visibility", sa.String(10)),
    ("deleted_at", sa.DateTime(timezone=True)),
    ("city_code", sa.String(6)),
    ("parcel_zone_id", sa.Integer()),
    ("land_use", sa.String(8)),
    ("compatible_uses", postgresql.ARRAY(sa.Text())),
    ("area_m2", sa.Double()),
    ("price_public", sa.Boolean()),
    ("ref_price_wan_per_mu", sa.Numeric(10, 2)),
    ("invest_intensity_min", sa.Numeric(10, 2)),
    ("tax_per_mu_min", sa.Numeric(10, 2)),
    ("energy_per_value_max", sa.Numeric(10, 4)),
    ("power_kva", sa.Double()),
    ("water_m3d", sa.Double()),
    ("gas_m3d", sa.Double()),
    ("heat_mw", sa.Double()),
    ("telecom_5g", sa.Boolean()),
    ("fibre", sa.Boolean()),
    ("supply_modes", postgresql.ARRAY(sa.Text())),
    ("readiness", postgresql.ARRAY(sa.Text())),
    ("data_updated_on", sa.Date()),
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
)
INDEX_KEY = ("status", "land_use", "area_m2")


def _src(name: str) -> str:
    return "zone_id" if name == "parcel_zone_id" else name


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, type_ in COPIED:
        op.add_column("parcel_fact", sa.Column(name, type_, nullable=True), schema="landmatch")
    op.execute(
        "UPDATE landmatch.parcel_fact f SET "
        + ", ".join(f"{n} = p.{_src(n)}" for n, _t in COPIED)
        + " FROM landmatch.parcel p WHERE p.id = f.parcel_id"
    )
    # PostgreSQL allows 32 index columns: deleted_at is implied by the predicate, and the two
    # rarest distances (cold chain, bonded zone) are read from the heap when a request uses them.
    skip = {
        *INDEX_KEY,
        "deleted_at",
        "constraint_hits",
        "dist_cold_chain_km",
        "dist_bonded_zone_km",
    }
    include = ", ".join(
        ["parcel_id"]
        + [n for n, _t in COPIED if n not in skip]
        + [c for c in SPATIAL if c not in skip]
        + ["penalised"]
    )
    op.add_column(
        "parcel_fact", sa.Column("penalised", sa.Boolean(), nullable=True), schema="landmatch"
    )
    op.execute(
        "UPDATE landmatch.parcel_fact SET penalised = "
        'constraint_hits @> \'[{"severity": "penalises"}]\' WHERE constraint_hits IS NOT NULL'
    )
    op.execute(
        f"CREATE INDEX ix_parcel_fact_match ON landmatch.parcel_fact ({', '.join(INDEX_KEY)}) "
        f"INCLUDE ({include}) WHERE deleted_at IS NULL"
    )
    # The same with the city in the key, for requests that name cities (most do).
    include_city = ", ".join(c for c in include.split(", ") if c != "city_code")
    op.execute(
        "CREATE INDEX ix_parcel_fact_match_city ON landmatch.parcel_fact "
        f"(status, city_code, land_use, area_m2) INCLUDE ({include_city}) "
        "WHERE deleted_at IS NULL"
    )
    op.execute("CREATE INDEX ix_facility_kind_geom ON landmatch.facility USING gist (kind, geom)")
    op.execute(
        "CREATE INDEX ix_reservation_project ON landmatch.reservation (project_id) "
        "WHERE released_at IS NULL"
    )
    op.execute("CREATE INDEX ix_match_run_project ON landmatch.match_run (project_id)")
    cols = ", ".join(n for n, _t in COPIED)
    new_vals = ", ".join(f"NEW.{_src(n)}" for n, _t in COPIED)
    sets = ", ".join(f"{n} = EXCLUDED.{n}" for n, _t in COPIED)
    reset = ", ".join(f"{c} = NULL" for c in SPATIAL) + ", penalised = NULL"
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


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS fact_sync ON landmatch.parcel")
    op.execute("DROP FUNCTION IF EXISTS landmatch.parcel_fact_sync()")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_match_run_project")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_reservation_project")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_facility_kind_geom")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_parcel_fact_match_city")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_parcel_fact_match")
    op.drop_column("parcel_fact", "penalised", schema="landmatch")
    for name, _t in reversed(COPIED):
        op.drop_column("parcel_fact", name, schema="landmatch")
