"""monitoring settings: a version per disposal target and per city's idle-land rule set

Revision ID: 0042_monitoring_version
Revises: 0041_idle_rules

The supply targets (``disposal_target``, one row per city, year and kind) and a city's
idle-land thresholds (``monitoring_rule``, one row per city) were written without a version:
two staff editing at once silently overwrote each other, and a stale form put old values back.
Each row now carries a version, like every other resource with an ETag
(``landmatch.db.locking``): a write names the version it was made against and is refused (412)
when it is stale. The unit is what a user edits at once: one target (city, year, kind), one
city's rule set. A row not yet written is version 0. ``monitoring_rule`` had its
``updated_at`` already.
"""

from __future__ import annotations

from alembic import op

revision = "0042_monitoring_version"
down_revision = "0041_idle_rules"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
ALTER TABLE landmatch.disposal_target ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE landmatch.monitoring_rule ADD COLUMN version integer NOT NULL DEFAULT 1;
"""

DOWNGRADE_SQL = """
ALTER TABLE landmatch.monitoring_rule DROP COLUMN version;
ALTER TABLE landmatch.disposal_target DROP COLUMN version;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
