"""monitoring settings: a version per disposal target and per city's idle-land rule set

Revision ID: 0042_monitoring_version
Revises: 0041_idle_rules

The supply targets (``disposal_target``, one row per city, year and kind) and a city's
idle-land thresholds (``monitoring_rule``, one row per city) were written without a version:
two staff editing at once silently overwrote each other, and a stale form put old values back.
Each row now carries a version, like every other resource with an ETag
(``landmatch.db.locking``): a write names the version it was made against and is refused (412)
when it is stale. The unit is what a user edits at once: one target (city, year, kind), one
city's rule set. A row not yet written is version 0. ``monitoring_rule`` had its
``updated_at`` already.

A city's rule set had no history either (the targets had): it now has the reference layers'
history trigger, so every state of it is kept in ``layer_version`` with who set it. Its key is
the city code, not an ``id``: ``layer_history`` takes the key column as its trigger argument
(default ``id``), and a rule set's ``record_id`` is its six-digit city code.
"""

from __future__ import annotations

from alembic import op

revision = "0042_monitoring_version"
down_revision = "0041_idle_rules"
branch_labels = None
depends_on = None


def _layer_history(key: str) -> str:
    """``landmatch.layer_history`` with the record's key read from column ``key`` (0001's
    function reads ``id``; this one the trigger's argument when given)."""
    return f"""
CREATE OR REPLACE FUNCTION landmatch.layer_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  rec jsonb;
BEGIN
  IF current_setting('landmatch.bulk', true) = 'on' THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN rec := to_jsonb(OLD); ELSE rec := to_jsonb(NEW); END IF;
  INSERT INTO landmatch.layer_version (layer, record_id, op, row, actor, reason)
  VALUES (TG_TABLE_NAME, (rec ->> {key})::int, lower(TG_OP), rec - 'geom_3857',
          NULLIF(current_setting('landmatch.actor', true), ''),
          NULLIF(current_setting('landmatch.reason', true), ''));
  RETURN NULL;
END $$;
"""


UPGRADE_SQL = (
    """
ALTER TABLE landmatch.disposal_target ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE landmatch.monitoring_rule ADD COLUMN version integer NOT NULL DEFAULT 1;
"""
    + _layer_history("COALESCE(TG_ARGV[0], 'id')")
    + """
CREATE TRIGGER history AFTER INSERT OR UPDATE OR DELETE ON landmatch.monitoring_rule
  FOR EACH ROW EXECUTE FUNCTION landmatch.layer_history('city_code');
"""
)

DOWNGRADE_SQL = (
    """
DROP TRIGGER history ON landmatch.monitoring_rule;
"""
    + _layer_history("'id'")
    + """
ALTER TABLE landmatch.monitoring_rule DROP COLUMN version;
ALTER TABLE landmatch.disposal_target DROP COLUMN version;
"""
)


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
