"""import_job, import_job_line, import_job_shape, column_mapping: the workbench's import wizard

Revision ID: 0027_import_jobs
Revises: 0026_search

An import made in the browser is a job kept in the database (``landmatch.inventory.wizard``):
the uploaded file(s), the options, the column mapping, its state and progress (with a
heartbeat, so a job whose worker stopped reads as interrupted), the report's summary, and the
report's lines (row, code, action, field, reason) and the file's parcels for the map, so that
a report of many thousand rows is paged and filtered in SQL. ``column_mapping`` keeps a
city's named mappings from a file's headers to known ones, offered to the next import.
"""

from __future__ import annotations

from alembic import op

revision = "0027_import_jobs"
down_revision = "0026_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE landmatch.import_job (
          id bigserial PRIMARY KEY,
          city_code varchar(6),
          actor text NOT NULL,
          state text NOT NULL DEFAULT 'uploaded',
          filename text NOT NULL,
          data bytea,
          boundary_filename text,
          boundary_data bytea,
          options jsonb NOT NULL DEFAULT '{}',
          columns jsonb NOT NULL DEFAULT '{}',
          detected jsonb NOT NULL DEFAULT '{}',
          report jsonb,
          stage text,
          done integer NOT NULL DEFAULT 0,
          total integer NOT NULL DEFAULT 0,
          error text,
          import_id bigint REFERENCES landmatch.import_batch(id) ON DELETE SET NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          heartbeat_at timestamptz,
          CONSTRAINT ck_import_job_state CHECK (state IN ('uploaded', 'checking', 'checked',
            'committing', 'committed', 'rejected', 'failed', 'rolled_back'))
        );
        CREATE INDEX ix_import_job_city ON landmatch.import_job (city_code, id DESC);
        CREATE TABLE landmatch.import_job_line (
          job_id bigint NOT NULL REFERENCES landmatch.import_job(id) ON DELETE CASCADE,
          seq integer NOT NULL,
          row_no text,
          code text,
          action text NOT NULL,
          field text,
          reason text,
          PRIMARY KEY (job_id, seq)
        );
        CREATE INDEX ix_import_job_line_action ON landmatch.import_job_line (job_id, action, seq);
        CREATE TABLE landmatch.import_job_shape (
          job_id bigint NOT NULL REFERENCES landmatch.import_job(id) ON DELETE CASCADE,
          row_no text NOT NULL,
          code text,
          action text NOT NULL,
          geom geometry(MultiPolygon, 4490) NOT NULL
        );
        CREATE INDEX ix_import_job_shape_job ON landmatch.import_job_shape (job_id);
        CREATE TABLE landmatch.column_mapping (
          id serial PRIMARY KEY,
          city_code varchar(6) NOT NULL,
          name text NOT NULL,
          columns jsonb NOT NULL,
          created_by text,
          updated_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT uq_column_mapping_name UNIQUE (city_code, name)
        );
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE landmatch.column_mapping;
        DROP TABLE landmatch.import_job_shape;
        DROP TABLE landmatch.import_job_line;
        DROP TABLE landmatch.import_job;
        """
    )
