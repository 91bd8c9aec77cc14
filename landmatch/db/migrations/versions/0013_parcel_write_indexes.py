"""parcel: drop ix_parcel_status_area

Revision ID: 0013_parcel_write_indexes
Revises: 0012_constraint_coverage

Every parcel write maintained this (status, area_m2) index, but no query reads parcels by it
any more: matching ranges over status and area on ``parcel_fact`` (its own covering indexes),
listings filter by city and status (``ix_parcel_city_status``), zone or location, and the
sliver check's OR of two area conditions cannot use it. On a 1,000,000-parcel database it
had been scanned twice, by the demo seed.
"""

from __future__ import annotations

from alembic import op

revision = "0013_parcel_write_indexes"
down_revision = "0012_constraint_coverage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS landmatch.ix_parcel_status_area")


def downgrade() -> None:
    op.execute("CREATE INDEX ix_parcel_status_area ON landmatch.parcel (status, area_m2)")
