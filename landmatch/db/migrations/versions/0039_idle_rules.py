"""idle-land rules (Order 53) as the reviewed reference reads them

Revision ID: 0039_idle_rules
Revises: 0038_search_bigrams

* ``monitoring_rule.fee_rate`` is at most 20 % (《城市房地产管理法》 Art. 26: the idle-land fee
  is up to 20 % of the land price; Order 53 Art. 14 sets 20 %). A stored rate above the cap is
  lowered to it: no rate above it was ever lawful, and the scan would otherwise keep charging
  it. The downgrade restores the old bound (0 to 1), not the lowered values.
"""

from __future__ import annotations

from alembic import op

revision = "0039_idle_rules"
down_revision = "0038_search_bigrams"
branch_labels = None
depends_on = None

RULE = "landmatch.monitoring_rule"

UPGRADE_SQL = f"""
UPDATE {RULE} SET fee_rate = 0.2 WHERE fee_rate > 0.2;
ALTER TABLE {RULE} DROP CONSTRAINT monitoring_rule_fee_rate_check,
  ADD CONSTRAINT monitoring_rule_fee_rate_check
  CHECK (fee_rate IS NULL OR fee_rate BETWEEN 0 AND 0.2);
"""

DOWNGRADE_SQL = f"""
ALTER TABLE {RULE} DROP CONSTRAINT monitoring_rule_fee_rate_check,
  ADD CONSTRAINT monitoring_rule_fee_rate_check
  CHECK (fee_rate IS NULL OR fee_rate BETWEEN 0 AND 1);
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
