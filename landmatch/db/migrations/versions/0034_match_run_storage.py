"""match_run: compressed bodies, the count of sites kept beside them, an index for retention

Revision ID: 0034_match_run_storage
Revises: 0033_monitoring_index

Every match stores its whole response (about 240 KB of JSON for 20 sites; PostgreSQL's own
pglz made 28 KB of it on disk). Runs now store the body zlib-compressed by the application
(``compressed``; 17 KB, and no compression work left to the database, whose CPU is the
match's limit), with ``STORAGE EXTERNAL`` so PostgreSQL does not try to compress it again.
``returned`` keeps the number of sites a run returned, which the project page lists without
reading bodies. ``ix_match_run_expiry`` serves the retention sweep
(``landmatch.match.runs.prune``), which deletes old runs not made for a project.
"""

from __future__ import annotations

from alembic import op

revision = "0034_match_run_storage"
down_revision = "0033_monitoring_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE landmatch.match_run "
        "ADD COLUMN compressed boolean NOT NULL DEFAULT false, "
        "ADD COLUMN returned integer, "
        "ALTER COLUMN body SET STORAGE EXTERNAL"
    )
    op.execute(
        "UPDATE landmatch.match_run SET returned = "
        "(coalesce(convert_from(body, 'UTF8')::jsonb, response) ->> 'numberReturned')::integer"
    )
    op.execute(
        "CREATE INDEX ix_match_run_expiry ON landmatch.match_run (created_at) "
        "WHERE project_id IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX landmatch.ix_match_run_expiry")
    # Older code reads bodies as plain JSON: compressed ones cannot stay.
    op.execute("DELETE FROM landmatch.match_run WHERE compressed")
    op.execute(
        "ALTER TABLE landmatch.match_run DROP COLUMN compressed, DROP COLUMN returned, "
        "ALTER COLUMN body SET STORAGE EXTENDED"
    )
