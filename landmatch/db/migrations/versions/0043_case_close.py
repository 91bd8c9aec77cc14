"""disposal cases: an idle-land case closed without a disposal

Revision ID: 0043_case_close
Revises: 0042_monitoring_version

A case opened on idle land or land at risk may end without a disposal (Order 53,
docs/domain.md §5): ``started`` (已动工，结案), when the holder has started work and the
scan's stage is normal, and ``not_idle`` (不构成闲置，撤销), when the investigation found the
land not idle. ``disposal_case``'s decision checks take the two codes, for idle cases only
(the vocabulary is ``landmatch.monitoring.terms.CLOSURES``).

The downgrade cannot represent such a case (the old schema has no decision meaning "closed
without a disposal", and a closed case must carry a decision): it refuses while one exists,
naming how many, rather than reopen them or give them a disposal they did not have.
"""

from __future__ import annotations

from alembic import op

revision = "0043_case_close"
down_revision = "0042_monitoring_version"
branch_labels = None
depends_on = None

CASE = "landmatch.disposal_case"
IDLE = (
    "'fee', 'recovery', 'extension', 'change_use', 'temporary_use', 'negotiated_recovery', 'swap'"
)
CLOSURES = "'started', 'not_idle'"
UNSUPPLIED = "'supply', 'withdraw', 'adjust'"


def _checks(idle: str) -> str:
    return f"""
ALTER TABLE {CASE} DROP CONSTRAINT disposal_case_decision_check,
  DROP CONSTRAINT ck_disposal_case_decision_kind,
  ADD CONSTRAINT disposal_case_decision_check
  CHECK (decision IS NULL OR decision IN ({idle}, {UNSUPPLIED})),
  ADD CONSTRAINT ck_disposal_case_decision_kind CHECK (decision IS NULL OR
    (kind = 'idle' AND decision IN ({idle})) OR (kind = 'unsupplied' AND decision IN ({UNSUPPLIED})));
"""


DOWNGRADE_GUARD = f"""
DO $$
DECLARE n integer;
BEGIN
  SELECT count(*) INTO n FROM {CASE} WHERE decision IN ({CLOSURES});
  IF n > 0 THEN
    RAISE EXCEPTION '% disposal case(s) closed without a disposal (started, not_idle): the schema before 0043_case_close cannot hold them; delete them first', n;
  END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(_checks(f"{IDLE}, {CLOSURES}"))


def downgrade() -> None:
    op.execute(DOWNGRADE_GUARD + _checks(IDLE))
