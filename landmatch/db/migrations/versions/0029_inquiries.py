"""team_coverage, inquiry: 我有意向 inquiries from the public map reach the promotion team that
covers the parcel's city or zone as a lead (线索)

Revision ID: 0029_inquiries
Revises: 0027_import_jobs

``team_coverage`` says which promotion team (the accounts' ``team``) covers a city or a
development zone; a zone's team takes precedence over its city's. Each city and each zone is
covered by at most one team; admins edit it (``landmatch.leads.coverage``).

``inquiry`` keeps what an investor sent (internal data: never public), the parcel and city/zone
it concerns, the team it was routed to (NULL: no team covers it, admins see it), the consent,
the client address (for the per-address rate limit) and the form token's nonce (each form is
submitted once), and what the team did with it (converted into a project, or dismissed), with
a version for optimistic locking.
"""

from __future__ import annotations

from alembic import op

revision = "0029_inquiries"
down_revision = "0027_import_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE landmatch.team_coverage (
          id serial PRIMARY KEY,
          team text NOT NULL CHECK (length(team) BETWEEN 1 AND 64),
          city_code varchar(6) REFERENCES landmatch.admin_division (code),
          zone_id integer REFERENCES landmatch.dev_zone (id) ON DELETE CASCADE,
          created_by text,
          created_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT ck_team_coverage_one_place CHECK ((city_code IS NULL) <> (zone_id IS NULL))
        );
        CREATE UNIQUE INDEX uq_team_coverage_city ON landmatch.team_coverage (city_code)
          WHERE city_code IS NOT NULL;
        CREATE UNIQUE INDEX uq_team_coverage_zone ON landmatch.team_coverage (zone_id)
          WHERE zone_id IS NOT NULL;

        CREATE TABLE landmatch.inquiry (
          id bigserial PRIMARY KEY,
          created_at timestamptz NOT NULL DEFAULT now(),
          parcel_id bigint REFERENCES landmatch.parcel (id) ON DELETE SET NULL,
          parcel_code text NOT NULL,
          match_id varchar(36),
          city_code varchar(6) NOT NULL,
          zone_id integer REFERENCES landmatch.dev_zone (id) ON DELETE SET NULL,
          owner_team text,
          name text NOT NULL,
          company text,
          phone text,
          email text,
          message text NOT NULL,
          consent_at timestamptz NOT NULL,
          address text,
          user_agent text,
          nonce varchar(64) NOT NULL UNIQUE,
          status varchar(12) NOT NULL DEFAULT 'new',
          project_id integer REFERENCES landmatch.project (id) ON DELETE SET NULL,
          handled_by text,
          handled_at timestamptz,
          handled_note text,
          version integer NOT NULL DEFAULT 1,
          CONSTRAINT ck_inquiry_status CHECK (status IN ('new', 'converted', 'dismissed')),
          CONSTRAINT ck_inquiry_reachable CHECK (phone IS NOT NULL OR email IS NOT NULL)
        );
        CREATE INDEX ix_inquiry_team ON landmatch.inquiry (owner_team, status, created_at DESC);
        CREATE INDEX ix_inquiry_address ON landmatch.inquiry (address, created_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE landmatch.inquiry; DROP TABLE landmatch.team_coverage;")
