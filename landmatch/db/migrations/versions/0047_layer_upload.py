"""layer_upload: a reference-layer file previewed in the workbench before it is imported

Revision ID: 0047_layer_upload
Revises: 0046_project_restore

A layer file uploaded in the workbench was written at once; with 替换 ticked, a file holding
only substations deleted the city's other facilities. The upload is now kept
(``landmatch.reflayers.staging``) with the preview of what it would add, change and delete
(a dry run of the import, rolled back) and the plan's fingerprint; the user confirms the
preview and the import is refused when the plan is no longer the one previewed. Kept a week.
"""

from __future__ import annotations

from alembic import op

revision = "0047_layer_upload"
down_revision = "0046_project_restore"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE landmatch.layer_upload (
          id bigserial PRIMARY KEY,
          layer text NOT NULL,
          actor text NOT NULL,
          filename text NOT NULL,
          data bytea,
          options jsonb NOT NULL DEFAULT '{}',
          preview jsonb NOT NULL DEFAULT '{}',
          fingerprint text NOT NULL,
          report jsonb,
          created_at timestamptz NOT NULL DEFAULT now(),
          applied_at timestamptz
        );
        CREATE INDEX ix_layer_upload_created ON landmatch.layer_upload (created_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE landmatch.layer_upload")
