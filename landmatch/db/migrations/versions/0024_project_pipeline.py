"""project pipeline: the 落地 stage, the next step with its date, and the project's events
(stage changes, notes, next steps) kept for its history

Revision ID: 0024_project_pipeline
Revises: 0023_industry_codes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_project_pipeline"
down_revision = "0023_industry_codes"
branch_labels = None
depends_on = None

OLD = "('new', 'matching', 'shortlisted', 'visiting', 'signed', 'lost')"
NEW = "('new', 'matching', 'shortlisted', 'visiting', 'signed', 'landed', 'lost')"


def upgrade() -> None:
    op.execute("ALTER TABLE landmatch.project DROP CONSTRAINT ck_project_pipeline")
    op.execute(
        f"ALTER TABLE landmatch.project ADD CONSTRAINT ck_project_pipeline "
        f"CHECK (pipeline_status IN {NEW})"
    )
    op.add_column("project", sa.Column("next_step", sa.Text()), schema="landmatch")
    op.add_column("project", sa.Column("next_step_on", sa.Date()), schema="landmatch")
    op.create_table(
        "project_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("landmatch.project.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.Text()),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("from_status", sa.String(12)),
        sa.Column("to_status", sa.String(12)),
        sa.Column("body", sa.Text()),
        sa.CheckConstraint("kind IN ('stage', 'note', 'next_step')", name="ck_project_event_kind"),
        schema="landmatch",
    )
    op.create_index(
        "ix_project_event_project", "project_event", ["project_id", "at"], schema="landmatch"
    )


def downgrade() -> None:
    op.drop_table("project_event", schema="landmatch")
    op.drop_column("project", "next_step_on", schema="landmatch")
    op.drop_column("project", "next_step", schema="landmatch")
    op.execute(
        "UPDATE landmatch.project SET pipeline_status = 'signed' WHERE pipeline_status = 'landed'"
    )
    op.execute("ALTER TABLE landmatch.project DROP CONSTRAINT ck_project_pipeline")
    op.execute(
        f"ALTER TABLE landmatch.project ADD CONSTRAINT ck_project_pipeline "
        f"CHECK (pipeline_status IN {OLD})"
    )
