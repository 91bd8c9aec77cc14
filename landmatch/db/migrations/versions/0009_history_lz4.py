"""parcel history rows compressed with lz4

Revision ID: 0009_history_lz4
Revises: 0008_import_speed

``parcel_version.row`` holds the whole parcel as jsonb (~2.3 kB), just above the TOAST
threshold, so every version is compressed. pglz costs about a fifth of writing a version (the
seed writes a million in one statement); lz4 is several times faster at a similar size. Only
new rows are affected; old ones stay readable. Servers built without lz4 keep pglz.
"""

from __future__ import annotations

from alembic import op

revision = "0009_history_lz4"
down_revision = "0008_import_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
DO $$
BEGIN
  ALTER TABLE landmatch.parcel_version ALTER COLUMN row SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'lz4 is not available on this server: parcel_version keeps pglz';
END $$""")


def downgrade() -> None:
    op.execute("ALTER TABLE landmatch.parcel_version ALTER COLUMN row SET COMPRESSION default")
