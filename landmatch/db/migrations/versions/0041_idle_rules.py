"""idle-land rules (Order 53) as the reviewed reference reads them

Revision ID: 0041_idle_rules
Revises: 0040_zone_city

* ``monitoring_rule.fee_rate`` is at most 20 % (《城市房地产管理法》 Art. 26: the idle-land fee
  is up to 20 % of the land price; Order 53 Art. 14 sets 20 %). A stored rate above the cap is
  lowered to it: no rate above it was ever lawful, and the scan would otherwise keep charging
  it. The downgrade restores the old bound (0 to 1), not the lowered values.
* ``monitoring_rule.start_fallback_months`` defaults to 0: without an agreed start date
  (约定开工日期) the land is idle one full year after the contract took effect (the 1999
  text's rule the reference adopts), so the clock starts on the contract date, not on its
  anniversary (which made such land idle a year late, at contract + 24 months). The column
  keeps its meaning (months from the contract to the presumed start); a stored 12 was the old
  default's misreading, not a city's choice (every row written with other thresholds took it),
  and becomes 0. The downgrade puts the column default back to 12 and keeps every stored
  value: the column means the same in both schemas (the contract date + this many months
  starts the clock, in the code before this revision too), so the old schema holds a city's
  deliberate 0 as it is. Rows this upgrade moved from 12 to 0 cannot be told from a
  deliberate 0 and stay 0 (the lawful reading); turning every 0 back into 12 would make a
  city that chose 0 idle a year late. A city's deliberate 12 set after this upgrade survives
  the downgrade, but a later upgrade again reads a stored 12 as the old default and makes it 0.
* ``landmatch.invested_ratio(invest_ratio, invested_wan, total_investment_wan)``: the share of
  the total investment spent, the stored ratio else invested ÷ total — one definition for the
  idle scan's stalled test (which read the stored ratio only, and took a parcel with its
  amounts filled but no ratio for one with no figures) and the transfer routes
  (``landmatch.monitoring.transfer``). Its Python twin is
  ``landmatch.monitoring.idle.invested_ratio``. ``ix_parcel_monitoring`` (0033) carries
  ``total_investment_wan`` too, so the summary's idle count stays an index-only scan.
* ``parcel.start_extended``: the agreed start date is a deadline extended by a disposal
  decision (Order 53 Art. 12 (1), 延长动工开发期限). Such land is idle as soon as the deadline
  passes unstarted: unlike every other Art. 12 option, an extension does not restart the clock
  with a further year of grace. Parcels whose agreed start date is the new date of a closed
  extension case get it set (a version each, by this migration). ``ix_parcel_monitoring``
  carries it.
* ``landmatch.supplied_by(status, supply_date, as_of)``: whether land was supplied by a
  reporting date, one definition for the 批而未供 age bands (which took the parcel's status
  today, and so dropped from a past date's stock the land supplied since), the supply rates and
  the batches. Land supplied (or idle) with no 供地日期 on record counts as supplied: by its
  date alone it would stay in the 批而未供 stock for ever.
"""

from __future__ import annotations

from alembic import op

revision = "0041_idle_rules"
down_revision = "0040_zone_city"
branch_labels = None
depends_on = None

RULE = "landmatch.monitoring_rule"
# ix_parcel_monitoring's columns (0033_monitoring_index) and those the idle scan reads now.
MONITORING_COLUMNS = (
    "county_code, zone_id, area_m2, approval_date, supply_date, land_price_wan, contract_date, "
    "agreed_start_date, actual_start_date, stopped_since, developed_ratio, invest_ratio, "
    "gov_caused, land_use, far_min, invested_wan, tax_per_mu_min"
)
ADDED_COLUMNS = "total_investment_wan, start_extended"


def _monitoring_index(columns: str) -> str:
    return (
        "DROP INDEX landmatch.ix_parcel_monitoring;\n"
        "CREATE INDEX ix_parcel_monitoring ON landmatch.parcel (status, city_code) "
        f"INCLUDE ({columns}) WHERE deleted_at IS NULL;\n"
    )


UPGRADE_SQL = f"""
UPDATE {RULE} SET fee_rate = 0.2 WHERE fee_rate > 0.2;
ALTER TABLE {RULE} DROP CONSTRAINT monitoring_rule_fee_rate_check,
  ADD CONSTRAINT monitoring_rule_fee_rate_check
  CHECK (fee_rate IS NULL OR fee_rate BETWEEN 0 AND 0.2);
UPDATE {RULE} SET start_fallback_months = 0 WHERE start_fallback_months = 12;
ALTER TABLE {RULE} ALTER COLUMN start_fallback_months SET DEFAULT 0;
CREATE FUNCTION landmatch.supplied_by(status text, supply_date date, as_of date)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN supply_date IS NULL THEN status IN ('supplied', 'idle')
              ELSE supply_date <= as_of END
$$;
CREATE FUNCTION landmatch.invested_ratio(
  invest_ratio numeric, invested_wan numeric, total_investment_wan numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT COALESCE(invest_ratio, invested_wan / NULLIF(total_investment_wan, 0))
$$;
ALTER TABLE landmatch.parcel ADD COLUMN start_extended boolean NOT NULL DEFAULT false;
SELECT set_config('landmatch.actor', 'migration 0041_idle_rules', true),
       set_config('landmatch.reason', '开工期限已延长（处置决定：延长动工开发期限）', true);
UPDATE landmatch.parcel p SET start_extended = true
  FROM landmatch.disposal_case c
 WHERE c.parcel_id = p.id AND c.status = 'closed' AND c.decision = 'extension'
   AND c.new_start_date = p.agreed_start_date;
SELECT set_config('landmatch.actor', '', true), set_config('landmatch.reason', '', true);
{_monitoring_index(MONITORING_COLUMNS + ", " + ADDED_COLUMNS)}"""

DOWNGRADE_SQL = f"""
{_monitoring_index(MONITORING_COLUMNS)}ALTER TABLE landmatch.parcel DROP COLUMN start_extended;
DROP FUNCTION landmatch.invested_ratio(numeric, numeric, numeric);
DROP FUNCTION landmatch.supplied_by(text, date, date);
-- start_fallback_months keeps every stored value, a city's deliberate 0 included (the old
-- schema reads it the same way); only the column default goes back to 12.
ALTER TABLE {RULE} ALTER COLUMN start_fallback_months SET DEFAULT 12;
ALTER TABLE {RULE} DROP CONSTRAINT monitoring_rule_fee_rate_check,
  ADD CONSTRAINT monitoring_rule_fee_rate_check
  CHECK (fee_rate IS NULL OR fee_rate BETWEEN 0 AND 1);
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
