"""proposal: a 选址建议书 for an investor — chosen sites of a project's match run behind a signed,
expiring public link — and proposal_open, each time the link was opened

Revision ID: 0025_proposals
Revises: 0024_project_pipeline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0025_proposals"
down_revision = "0024_project_pipeline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proposal",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "project_id",
            sa.Integer(),
            sa.ForeignKey("landmatch.project.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("match_id", sa.String(36), nullable=False),
        sa.Column("parcel_codes", ARRAY(sa.Text()), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner_team", sa.Text()),
        sa.Column("created_by", sa.Text()),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        schema="landmatch",
    )
    op.create_index("ix_proposal_project", "proposal", ["project_id"], schema="landmatch")
    op.create_table(
        "proposal_open",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "proposal_id",
            sa.String(36),
            sa.ForeignKey("landmatch.proposal.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("user_agent", sa.Text()),
        schema="landmatch",
    )
    op.create_index(
        "ix_proposal_open_proposal", "proposal_open", ["proposal_id", "at"], schema="landmatch"
    )


def downgrade() -> None:
    op.drop_table("proposal_open", schema="landmatch")
    op.drop_table("proposal", schema="landmatch")
