"""project: every state kept in ``layer_version`` (the history trigger)

Revision ID: 0044_project_history
Revises: 0043_case_close

A project's edits (name, investor, notes, requirement, stage) were written in place: the API's
changes left no trace and a delete removed the project with its timeline. The project table
gets the history trigger the reference layers and disposal cases have
(``landmatch.layer_history``): every insert, update and delete writes the row's state to
``layer_version`` (layer ``project``) with who and why (``landmatch.db.engine.audited``), so a
deleted project's last state stays as its ``delete`` version. Each existing project gets one
``baseline`` version, its state at this migration (what came before was not kept), so its
first edit has a state to compare with. The downgrade drops the trigger and the project
versions.
"""

from __future__ import annotations

from alembic import op

revision = "0044_project_history"
down_revision = "0043_case_close"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
CREATE TRIGGER history AFTER INSERT OR UPDATE OR DELETE ON landmatch.project
  FOR EACH ROW EXECUTE FUNCTION landmatch.layer_history();
INSERT INTO landmatch.layer_version (layer, record_id, op, row, actor, reason, at)
  SELECT 'project', p.id, 'baseline', to_jsonb(p), p.owner, '迁移时的状态（此前的修改未记录）',
         COALESCE(p.updated_at, p.created_at)
    FROM landmatch.project p ORDER BY p.id;
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TRIGGER history ON landmatch.project;
DELETE FROM landmatch.layer_version WHERE layer = 'project';
"""
    )
