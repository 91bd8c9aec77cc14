"""match speed: derived columns in parcel_fact, indexes that key on them, one keyed by zone

Revision ID: 0003_perfmatch
Revises: 0009_seed_speed
(File renamed to 0008_perfmatch.py to sort in chain order; the revision id is kept, databases
record it.)

- ``eff_zone_id`` = COALESCE(parcel's own zone, containing zone): the zone a match uses, one
  column instead of two in every rule and score.
- ``price_f8``, ``invest_f8``, ``tax_f8``, ``energy_f8``: the numeric price and 标准地 figures as
  float8. The rules compared them as float8 already; converting numeric on every row of every
  match cost more than reading the stored double.
- Stored generated columns: kept by PostgreSQL on every write (the ``fact_sync`` trigger and
  ``refresh_facts`` need no change).
- ``ix_parcel_fact_match`` / ``_city`` are rebuilt to carry these instead of the columns they
  replace (still index-only), and ``ix_parcel_fact_match_zone`` keys on the zone for requests
  naming zones or zone levels, which otherwise filter every parcel in the status/use/area range.
- ``parcel_fact`` is vacuumed after 2 % of its rows change (default 20 %): the match reads it
  index-only, which needs the visibility map current; every parcel write touches it.
- ``match_run.body``: the response exactly as returned (UTF-8 JSON bytes, lz4-compressed), so a
  run is stored without parsing ~100 kB into jsonb on every match; ``response`` (jsonb) stays for
  older runs and may now be NULL when ``body`` is set.
"""

from __future__ import annotations

from alembic import op

revision = "0003_perfmatch"
down_revision = "0009_seed_speed"
branch_labels = None
depends_on = None

DERIVED = (
    ("eff_zone_id", "integer", "COALESCE(parcel_zone_id, zone_id)"),
    ("price_f8", "double precision", "ref_price_wan_per_mu::float8"),
    ("invest_f8", "double precision", "invest_intensity_min::float8"),
    ("tax_f8", "double precision", "tax_per_mu_min::float8"),
    ("energy_f8", "double precision", "energy_per_value_max::float8"),
)
# What a match reads besides the index key (PostgreSQL allows 32 index columns in all).
INCLUDE = (
    "parcel_id",
    "code",
    "visibility",
    "city_code",
    "eff_zone_id",
    "compatible_uses",
    "price_public",
    "price_f8",
    "invest_f8",
    "tax_f8",
    "energy_f8",
    "power_kva",
    "water_m3d",
    "gas_m3d",
    "heat_mw",
    "telecom_5g",
    "fibre",
    "supply_modes",
    "readiness",
    "data_updated_on",
    "dist_port_km",
    "dist_airport_km",
    "dist_rail_freight_km",
    "dist_highway_interchange_km",
    "dist_logistics_hub_km",
    "dist_substation_km",
    "excluded",
    "penalised",
)
INDEXES = (
    ("ix_parcel_fact_match", ("status", "land_use", "area_m2"), "deleted_at IS NULL"),
    (
        "ix_parcel_fact_match_city",
        ("status", "city_code", "land_use", "area_m2"),
        "deleted_at IS NULL",
    ),
    (
        "ix_parcel_fact_match_zone",
        ("eff_zone_id", "status", "land_use", "area_m2"),
        "deleted_at IS NULL AND eff_zone_id IS NOT NULL",
    ),
)
_OLD_INCLUDE = (
    "parcel_id, code, visibility, city_code, parcel_zone_id, compatible_uses, price_public, "
    "ref_price_wan_per_mu, invest_intensity_min, tax_per_mu_min, energy_per_value_max, "
    "power_kva, water_m3d, gas_m3d, heat_mw, telecom_5g, fibre, supply_modes, readiness, "
    "data_updated_on, zone_id, dist_port_km, dist_airport_km, dist_rail_freight_km, "
    "dist_highway_interchange_km, dist_logistics_hub_km, dist_substation_km, excluded, penalised"
)
_VACUUM = (
    "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_insert_scale_factor",
    "autovacuum_analyze_scale_factor",
)


def upgrade() -> None:
    op.execute(
        "ALTER TABLE landmatch.parcel_fact "
        + ", ".join(f"ADD COLUMN {n} {t} GENERATED ALWAYS AS ({e}) STORED" for n, t, e in DERIVED)
    )
    op.execute("DROP INDEX IF EXISTS landmatch.ix_parcel_fact_match")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_parcel_fact_match_city")
    for name, key, where in INDEXES:
        include = ", ".join(c for c in INCLUDE if c not in key)
        op.execute(
            f"CREATE INDEX {name} ON landmatch.parcel_fact ({', '.join(key)}) "
            f"INCLUDE ({include}) WHERE {where}"
        )
    op.execute(
        f"ALTER TABLE landmatch.parcel_fact SET ({', '.join(f'{o} = 0.02' for o in _VACUUM)})"
    )
    op.execute(
        "ALTER TABLE landmatch.match_run ADD COLUMN body bytea, "
        "ALTER COLUMN body SET COMPRESSION lz4, ALTER COLUMN response DROP NOT NULL, "
        "ADD CONSTRAINT ck_match_run_stored CHECK (response IS NOT NULL OR body IS NOT NULL)"
    )


def downgrade() -> None:
    op.execute(f"ALTER TABLE landmatch.parcel_fact RESET ({', '.join(_VACUUM)})")
    op.execute(
        "UPDATE landmatch.match_run SET response = convert_from(body, 'UTF8')::jsonb "
        "WHERE response IS NULL"
    )
    op.execute(
        "ALTER TABLE landmatch.match_run DROP CONSTRAINT ck_match_run_stored, "
        "DROP COLUMN body, ALTER COLUMN response SET NOT NULL"
    )
    for name, _key, _where in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS landmatch.{name}")
    op.execute(
        "CREATE INDEX ix_parcel_fact_match ON landmatch.parcel_fact (status, land_use, area_m2) "
        f"INCLUDE ({_OLD_INCLUDE}) WHERE deleted_at IS NULL"
    )
    city_include = _OLD_INCLUDE.replace(" city_code,", "")
    op.execute(
        "CREATE INDEX ix_parcel_fact_match_city ON landmatch.parcel_fact "
        f"(status, city_code, land_use, area_m2) INCLUDE ({city_include}) "
        "WHERE deleted_at IS NULL"
    )
    op.execute(
        "ALTER TABLE landmatch.parcel_fact "
        + ", ".join(f"DROP COLUMN {n}" for n, _t, _e in DERIVED)
    )
