"""project: a delete is kept (``deleted_at``, ``deleted_by``) so that it can be undone

Revision ID: 0046_project_restore
Revises: 0045_fact_control

Deleting a project removed the row, and with it its timeline (stage changes, notes, next
steps), its proposals and its holds; its last state stayed only as its ``delete`` version in
``layer_version``, and nothing brought it back. A project now carries ``deleted_at`` and
``deleted_by``: a delete stamps them (a version like any edit, with who and why), releases the
project's holds and ends its proposals' links at that same moment, and every read leaves the
project out; a restore (``landmatch.match.projects.restore_project``) clears them, and the
project comes back with its requirement, its timeline and its match runs, its holds and links
still ended.

The upgrade brings back, as deleted, each project removed since migration 0044 (the last state
of its ``delete`` version; its timeline, holds and proposals were already gone), so it can be
restored; the history trigger is told not to record this (``landmatch.bulk``). The downgrade
removes deleted projects for good, as the old schema did (their ``delete`` versions are
written by the trigger), and drops the columns.
"""

from __future__ import annotations

from alembic import op

revision = "0046_project_restore"
down_revision = "0045_fact_control"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE landmatch.project ADD COLUMN deleted_at timestamptz, ADD COLUMN deleted_by text;
SELECT set_config('landmatch.bulk', 'on', true);
INSERT INTO landmatch.project
  SELECT (jsonb_populate_record(NULL::landmatch.project,
            v.row || jsonb_build_object('deleted_at', v.at, 'deleted_by', v.actor))).*
    FROM (SELECT DISTINCT ON (record_id) record_id, op, row, at, actor
            FROM landmatch.layer_version WHERE layer = 'project'
           ORDER BY record_id, at DESC, id DESC) v
   WHERE v.op = 'delete' AND NOT EXISTS (SELECT FROM landmatch.project p WHERE p.id = v.record_id)
     AND (v.row ->> 'industry_code' IS NULL
          OR EXISTS (SELECT FROM landmatch.industry i WHERE i.code = v.row ->> 'industry_code'));
SELECT set_config('landmatch.bulk', '', true);
"""
    )


def downgrade() -> None:
    op.execute(
        """
DELETE FROM landmatch.project WHERE deleted_at IS NOT NULL;
ALTER TABLE landmatch.project DROP COLUMN deleted_at, DROP COLUMN deleted_by;
"""
    )
