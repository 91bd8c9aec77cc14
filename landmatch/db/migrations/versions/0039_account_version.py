"""app_user: a version for an account's role and scope, so that two admins do not lose an edit

Revision ID: 0039_account_version
Revises: 0038_search_bigrams

An admin's form for an account's role, city, zone and team was saved without a version: a form
opened before another admin narrowed the account (a bureau from the province to one city) put
the old, wider scope back without a word. The account now carries a version and its time of
last change, like every other resource with an ETag (``landmatch.db.locking``): a change of
role or scope names the version it was made against and is refused (412) when it is stale.
"""

from __future__ import annotations

from alembic import op

revision = "0039_account_version"
down_revision = "0038_search_bigrams"
branch_labels = None
depends_on = None

UPGRADE_SQL = """
ALTER TABLE landmatch.app_user
  ADD COLUMN version integer NOT NULL DEFAULT 1,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
"""

DOWNGRADE_SQL = """
ALTER TABLE landmatch.app_user DROP COLUMN version, DROP COLUMN updated_at;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
