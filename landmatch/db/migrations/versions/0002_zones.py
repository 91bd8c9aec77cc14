"""zones, policies, reference layers: change alerts and validity functions

Revision ID: 0002_zones
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_zones"
down_revision = "0001"
branch_labels = None
depends_on = None

FUNCTIONS_SQL = r"""
-- The one definition of "a regional assessment that counts on a date": approved by then and
-- not yet expired. Matching, time-to-start and the map all call this.
CREATE FUNCTION landmatch.valid_assessments(p_zone integer, p_as_of date)
RETURNS SETOF landmatch.zone_assessment LANGUAGE sql STABLE AS $$
  SELECT a.* FROM landmatch.zone_assessment a
   WHERE a.zone_id = p_zone AND a.approved_on <= p_as_of
     AND (a.valid_until IS NULL OR a.valid_until >= p_as_of)
$$;

CREATE FUNCTION landmatch.valid_assessment_kinds(p_zone integer, p_as_of date)
RETURNS text[] LANGUAGE sql STABLE AS $$
  SELECT coalesce(array_agg(DISTINCT kind ORDER BY kind), '{}')
    FROM landmatch.valid_assessments(p_zone, p_as_of)
$$;

-- The one definition of "a policy in force on a date".
CREATE FUNCTION landmatch.policy_active(p landmatch.policy, p_as_of date)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT (p.valid_from IS NULL OR p.valid_from <= p_as_of)
     AND (p.valid_until IS NULL OR p.valid_until >= p_as_of)
$$;
"""

DROP_SQL = """
DROP FUNCTION IF EXISTS landmatch.valid_assessment_kinds(integer, date);
DROP FUNCTION IF EXISTS landmatch.valid_assessments(integer, date);
DROP FUNCTION IF EXISTS landmatch.policy_active(landmatch.policy, date);
"""


def upgrade() -> None:
    op.create_table(
        "layer_alert",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("layer", sa.String(length=24), nullable=False),
        sa.Column("record_code", sa.String(length=64), nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column("city_code", sa.String(length=6), nullable=False),
        sa.Column(
            "parcel_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default=sa.text("'{}'::bigint[]"),
            nullable=False,
        ),
        sa.Column(
            "parcel_codes",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("ready_count", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        sa.CheckConstraint("op IN ('insert', 'update', 'delete')", name=op.f("ck_layer_alert_op")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layer_alert")),
        schema="landmatch",
    )
    op.create_index(
        "ix_layer_alert_city", "layer_alert", ["city_code", "created_at"], schema="landmatch"
    )
    op.execute(FUNCTIONS_SQL)


def downgrade() -> None:
    op.execute(DROP_SQL)
    op.drop_index("ix_layer_alert_city", table_name="layer_alert", schema="landmatch")
    op.drop_table("layer_alert", schema="landmatch")
