"""parcel: ix_parcel_list, the workbench list's covering index

Revision ID: 0020_parcel_list
Revises: 0019_office_codes

The staff list (``landmatch.inventory.listing``) filters one city's live parcels by status,
county, zone, land use, area, visibility and data age, sorts them by code (or name, area,
status, dates) and pages with an offset. Keyed by (city_code, code) and carrying every such
column, this index answers the count and the page's ids by an index-only scan, so a deep page
skips index entries instead of heap rows and costs about what the first page does.
Also the newest edits (the home page's "recent changes") and deleted parcels by index.
"""

from __future__ import annotations

from alembic import op

revision = "0020_parcel_list"
down_revision = "0019_office_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_parcel_list ON landmatch.parcel (city_code, code) "
        "INCLUDE (id, status, visibility, land_use, county_code, zone_id, area_m2, data_updated_on, "
        "updated_at, name) WHERE deleted_at IS NULL"
    )
    # The home page's "recent changes" reads the newest edits (not imports) newest first.
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_parcel_version_edits ON landmatch.parcel_version (id) "
        "WHERE import_id IS NULL"
    )
    # Deleted parcels are few; the list's "deleted" view finds them without a scan.
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_parcel_deleted ON landmatch.parcel (city_code, code) "
        "WHERE deleted_at IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS landmatch.ix_parcel_deleted")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_parcel_version_edits")
    op.execute("DROP INDEX IF EXISTS landmatch.ix_parcel_list")
