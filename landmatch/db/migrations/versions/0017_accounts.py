"""accounts: passwords, server-side sessions, named tokens with an expiry, the audit log

Revision ID: 0017_accounts
Revises: 0016_layer_city

``app_user`` gains a password (argon2id, ``landmatch.accounts.passwords``), the flag that
forces a new password at the next sign-in, the time of the last sign-in and the promoter
``team`` (added with ``IF NOT EXISTS``: the scope work adds the same column). ``api_token``
gains a name, an expiry and who made it. ``user_session`` holds the workbench's sign-ins
(only a hash of the cookie value is stored) and ``audit_log`` every security event; failed
sign-ins are read back from it for throttling, hence its two partial indexes.
"""

from __future__ import annotations

from alembic import op

revision = "0017_accounts"
down_revision = "0016_layer_city"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE landmatch.app_user
          ADD COLUMN IF NOT EXISTS team text,
          ADD COLUMN password_hash text,
          ADD COLUMN must_change_password boolean NOT NULL DEFAULT false,
          ADD COLUMN password_changed_at timestamptz,
          ADD COLUMN last_login_at timestamptz;
        ALTER TABLE landmatch.api_token
          ADD COLUMN name text,
          ADD COLUMN expires_at timestamptz,
          ADD COLUMN created_by text;
        CREATE TABLE landmatch.user_session (
          id bigserial PRIMARY KEY,
          user_id integer NOT NULL REFERENCES landmatch.app_user(id) ON DELETE CASCADE,
          token_hash char(64) NOT NULL UNIQUE,
          csrf_token text NOT NULL,
          address text,
          user_agent text,
          created_at timestamptz NOT NULL DEFAULT now(),
          last_seen_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz NOT NULL,
          revoked_at timestamptz,
          end_reason text
        );
        CREATE INDEX ix_user_session_user ON landmatch.user_session (user_id);
        CREATE TABLE landmatch.audit_log (
          id bigserial PRIMARY KEY,
          at timestamptz NOT NULL DEFAULT now(),
          event text NOT NULL,
          actor text,
          subject text,
          address text,
          user_agent text,
          detail jsonb
        );
        CREATE INDEX ix_audit_log_at ON landmatch.audit_log (at DESC, id DESC);
        CREATE INDEX ix_audit_log_event_at ON landmatch.audit_log (event, at DESC);
        CREATE INDEX ix_audit_log_fail_subject ON landmatch.audit_log (subject, at)
          WHERE event = 'login_failed';
        CREATE INDEX ix_audit_log_fail_address ON landmatch.audit_log (address, at)
          WHERE event = 'login_failed';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE landmatch.audit_log;
        DROP TABLE landmatch.user_session;
        ALTER TABLE landmatch.api_token
          DROP COLUMN name, DROP COLUMN expires_at, DROP COLUMN created_by;
        ALTER TABLE landmatch.app_user
          DROP COLUMN password_hash, DROP COLUMN must_change_password,
          DROP COLUMN password_changed_at, DROP COLUMN last_login_at,
          DROP COLUMN IF EXISTS team;
        """
    )
