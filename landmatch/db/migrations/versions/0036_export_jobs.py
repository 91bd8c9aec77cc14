"""export_job: large exports run as background jobs with progress, their file kept in chunks

Revision ID: 0036_export_jobs
Revises: 0035_basemap_water

The monitoring workbook of a whole province (a row per supplied parcel: tens of MB at a
million parcels) took minutes in one request. The dashboard now starts it as a job
(``landmatch.monitoring.export_jobs``): a background thread of the worker that took the
request writes it, recording its stage and rows done here with a heartbeat, then stores the
file in ``export_job_chunk`` (8 MB a row, so neither writing nor sending it holds the whole
file in memory) for whichever app server the download reaches. Jobs are kept for a day.
"""

from __future__ import annotations

from alembic import op

revision = "0036_export_jobs"
down_revision = "0035_basemap_water"
branch_labels = None
depends_on = None

# Frozen copies (as of this migration) of landmatch.db.tables.EXPORT_JOB_STATES / _KINDS.
STATES = ("queued", "running", "done", "failed")
KINDS = ("monitoring",)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


UPGRADE_SQL = f"""
CREATE TABLE landmatch.export_job (
  id bigserial PRIMARY KEY,
  kind text NOT NULL,
  actor text NOT NULL,
  city_code varchar(6),
  params jsonb NOT NULL DEFAULT '{{}}',
  state text NOT NULL DEFAULT 'queued',
  stage text,
  done integer NOT NULL DEFAULT 0,
  total integer NOT NULL DEFAULT 0,
  error text,
  filename text NOT NULL,
  size bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz,
  CONSTRAINT ck_export_job_state CHECK (state IN ({_in(STATES)})),
  CONSTRAINT ck_export_job_kind CHECK (kind IN ({_in(KINDS)}))
);
CREATE INDEX ix_export_job_actor ON landmatch.export_job (actor, id DESC);
CREATE INDEX ix_export_job_created ON landmatch.export_job (created_at);
CREATE TABLE landmatch.export_job_chunk (
  job_id bigint NOT NULL REFERENCES landmatch.export_job (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (job_id, seq)
);
ALTER TABLE landmatch.export_job_chunk ALTER COLUMN data SET STORAGE EXTERNAL;
"""

DOWNGRADE_SQL = """
DROP TABLE landmatch.export_job_chunk;
DROP TABLE landmatch.export_job;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
