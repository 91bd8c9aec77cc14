"""parcel: trigram indexes for the map's search (any part of a code, name or address)

Revision ID: 0026_search
Revises: 0025_proposals

The search box finds parcels by any part of their code, name or address (``ILIKE '%…%'``):
without an index that reads every parcel. pg_trgm's GIN indexes answer it from the index, on
live parcels only (the search never shows deleted ones).
"""

from __future__ import annotations

from alembic import op

revision = "0026_search"
down_revision = "0025_proposals"
branch_labels = None
depends_on = None

COLUMNS = ("code", "name", "address")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS ix_parcel_{column}_trgm ON landmatch.parcel "
            f"USING gin ({column} gin_trgm_ops) WHERE deleted_at IS NULL"
        )


def downgrade() -> None:
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS landmatch.ix_parcel_{column}_trgm")
