"""projects, match runs and reservations belong to a promotion team

Revision ID: 0021_owned_projects
Revises: 0020_parcel_list

``owner_team`` on ``project``, ``reservation`` and ``match_run``: only that team's promoters and
admins see a project, its investor and its runs, and edit, mark lost, release or delete
(``landmatch.match.ownership``). A run is owned when it was made for a project (its request
names a ``project_id``); other runs stay as they were. Backfill: a project takes the team of
the account that made it (``owner``); its reservations and runs take the project's team. Rows
whose maker had no team get none, and then only admins see them.
"""

from __future__ import annotations

from alembic import op

revision = "0021_owned_projects"
down_revision = "0020_parcel_list"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE landmatch.project ADD COLUMN owner_team text;
        ALTER TABLE landmatch.reservation ADD COLUMN owner_team text;
        ALTER TABLE landmatch.match_run ADD COLUMN owner_team text;
        UPDATE landmatch.project p SET owner_team = u.team
          FROM landmatch.app_user u WHERE u.name = p.owner AND u.team IS NOT NULL;
        UPDATE landmatch.reservation r SET owner_team = p.owner_team
          FROM landmatch.project p WHERE p.id = r.project_id;
        UPDATE landmatch.match_run m SET owner_team = p.owner_team
          FROM landmatch.project p WHERE p.id = m.project_id;
        CREATE INDEX ix_project_owner_team ON landmatch.project (owner_team);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX IF EXISTS landmatch.ix_project_owner_team;
        ALTER TABLE landmatch.match_run DROP COLUMN owner_team;
        ALTER TABLE landmatch.reservation DROP COLUMN owner_team;
        ALTER TABLE landmatch.project DROP COLUMN owner_team;
        """
    )
