"""monitoring_figures: the dashboard's inventory figures kept for every worker and restart

Revision ID: 0037_monitoring_figures
Revises: 0036_export_jobs

The dashboard's inventory figures (area by city and status, idle stages, the 批而未供 stock by
age, zone KPIs) read every parcel: seconds at a million parcels. Each worker kept them in memory
for the inventory state they came from, so every worker, after every restart, paid for them
again. This table keeps the latest figures per day, city (``130000``: the province) and idle
rule, with the inventory state (``state``, a digest of the data versions and thresholds) they
were computed from: a worker whose state is the same reads them instead of computing them
(``landmatch.monitoring.summary``).
"""

from __future__ import annotations

from alembic import op

revision = "0037_monitoring_figures"
down_revision = "0036_export_jobs"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
CREATE TABLE landmatch.monitoring_figures (
  as_of date NOT NULL,
  city_code varchar(6) NOT NULL,
  rule text NOT NULL,
  state text NOT NULL,
  figures jsonb NOT NULL,
  computed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (as_of, city_code, rule)
);
"""

DOWNGRADE_SQL = "DROP TABLE landmatch.monitoring_figures;"


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
