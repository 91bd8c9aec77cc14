"""parcel: ix_parcel_monitoring, the monitoring summary's covering index

Revision ID: 0033_monitoring_index
Revises: 0030_data_version_lock_order

The dashboard's summary (``landmatch.monitoring.summary``) aggregates the live inventory four
ways: area by city and status, the 批而未供 stock by age, the idle-land stages of supplied land
(``monitoring_idle.sql``) and the zone KPIs. Keyed by (status, city_code) and carrying every
column those read, this index answers each by an index-only scan of the statuses it needs
instead of a scan of the whole parcel table (geometry included).
"""

from __future__ import annotations

from alembic import op

revision = "0033_monitoring_index"
down_revision = "0030_data_version_lock_order"
branch_labels = None
depends_on = None

COLUMNS = (
    "county_code, zone_id, area_m2, approval_date, supply_date, land_price_wan, contract_date, "
    "agreed_start_date, actual_start_date, stopped_since, developed_ratio, invest_ratio, "
    "gov_caused, land_use, far_min, invested_wan, tax_per_mu_min"
)


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_parcel_monitoring ON landmatch.parcel (status, city_code) "
        f"INCLUDE ({COLUMNS}) WHERE deleted_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS landmatch.ix_parcel_monitoring")
