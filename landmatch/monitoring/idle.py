"""Idle-land detection by Order 53 (闲置土地处置办法, 国土资源部令第53号), docs/domain.md §5.

A pure function of dated inputs: no database, no clock. The SQL that scans the whole
inventory (``landmatch/db/sql/monitoring_idle.sql``) implements the same rules and is tested
against this module row by row.

Rules (all thresholds in :class:`IdleRule`, configurable per city):

* **Art. 2 clause 1, not started**: the clock runs from ``start_due``, the agreed start date
  (约定开工日期), and the land is idle ``idle_after_months`` (12, 满一年) later. When the date
  is missing, the 1999 text's rule is the default: the land is idle one full year after the
  contract (出让合同) took effect, so ``start_due`` is the contract date +
  ``start_fallback_months`` (0; a city may set another lag) and the row is flagged
  ``start_date_fallback`` (推定).
* **Extended deadline** (Art. 12 (1), 延长动工开发期限): where ``start_extended`` says the
  agreed start date is a deadline extended by a disposal decision, the clock does not restart
  (Art. 12: every other option restarts it from the new date): the land is idle as soon as
  that date passes unstarted, with no further year of grace, and recoverable a year later.
  Flagged ``start_extended``.
* **Art. 2 clause 2, started but stalled**: work started, the developed area is below 1/3 of
  what it should be *or* the investment below 25 %, and work has been stopped since
  ``stopped_since``, which starts the clock, for ``stall_min_months`` (12, 满一年: the idle
  line of stalled land, configurable per city). The article says such land "may" be
  treated as idle, so the result is flagged ``discretionary``. Started land whose ratios meet
  both tests is not idle, whatever the stoppage. The invested ratio is :func:`invested_ratio`:
  the stored ratio, else invested ÷ total investment (the transfer routes read the same). Both
  ratios are compared with their thresholds at the stored precision (:data:`RATIO_SCALE`
  decimals, :func:`ratio_below`): 1/3 is stored as 0.3333, and is the 1/3 it stands for
  whether the threshold is the built-in 1/3 or a rule row's 0.3333.
* **Stages** by calendar anniversaries of the clock's start, not by day counts (满一年 /
  满两年, docs/domain.md §5; :mod:`landmatch.dates` for the legal reading): ``idle_fee`` from
  the idle line on (``start + idle_after_months``, 12, for land not started; the extended
  deadline itself; ``stopped_since + stall_min_months`` for stalled land), ``recoverable`` from
  ``recover_after_months − idle_after_months`` (12) after the idle line on (so
  ``start + recover_after_months`` for land not started), ``at_risk`` from
  ``at_risk_window_months`` (12) before the idle line, else ``normal``. Each line is one month
  count added to the clock's start. A start of 2023-10-02 is idle on 2024-10-02, not on
  2024-10-01 (365 days later, 2024 having a 29 February); a start of 29 February reaches its
  anniversary on 28 February of a common year. ``days = as_of − start`` is kept for display
  and ``days_to_idle`` counts the days left to the idle line.
* **Government-caused** (Art. 8): land that would be idle is recorded in the separate stage
  ``gov_caused``, with no fee and no free recovery (it is disposed of by negotiation, Art. 12).
  Its ``underlying`` stage is kept.
* **Fee** (Art. 14): ``fee_rate × land price`` in the idle-fee and recoverable stages; the rate
  is at most :data:`FEE_RATE_MAX` (《城市房地产管理法》 Art. 26: up to 20 %).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from landmatch.dates import add_months

# The idle-land fee is at most 20 % of the land price (《城市房地产管理法》 Art. 26; Order 53
# Art. 14 sets 20 %): the cap of every configured rate (the setting, a city's rule and
# monitoring_rule's CHECK, migration 0041_idle_rules).
FEE_RATE_MAX = 0.20
# Decimals of the stored ratios (parcel.developed_ratio / invest_ratio and monitoring_rule's
# thresholds are numeric(5, 4)): ratios meet thresholds at this precision, rounded half up as
# PostgreSQL's round(numeric, 4) in monitoring_idle.sql.
RATIO_SCALE = 4


@dataclass(frozen=True)
class IdleRule:
    """Thresholds of the idle test. One per city (table ``monitoring_rule``), else defaults."""

    idle_after_months: int = 12  # 满一年
    recover_after_months: int = 24  # 满两年
    at_risk_window_months: int = 12
    stall_min_months: int = 12  # stalled land is idle once stopped this long (满一年)
    developed_ratio_min: float = 1 / 3
    invest_ratio_min: float = 0.25
    start_fallback_months: int = 0  # no agreed start: the contract date (+ this) is the start
    fee_rate: float = 0.20
    stalled_clause: bool = True


@dataclass(frozen=True)
class IdleInputs:
    """The dated facts of one supplied parcel."""

    contract_date: dt.date | None = None
    agreed_start_date: dt.date | None = None
    actual_start_date: dt.date | None = None
    stopped_since: dt.date | None = None
    developed_ratio: float | None = None
    invest_ratio: float | None = None
    gov_caused: bool = False
    land_price_wan: float | None = None
    invested_wan: float | None = None
    total_investment_wan: float | None = None
    # The agreed start date is a deadline extended by a disposal decision (Art. 12 (1)).
    start_extended: bool = False

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> IdleInputs:
        """The inputs from a row holding the parcel's columns (a parcel, a scanned row)."""

        def num(name: str) -> float | None:
            v = row.get(name)
            return None if v is None else float(v)

        return cls(
            contract_date=row.get("contract_date"),
            agreed_start_date=row.get("agreed_start_date"),
            actual_start_date=row.get("actual_start_date"),
            stopped_since=row.get("stopped_since"),
            developed_ratio=num("developed_ratio"),
            invest_ratio=num("invest_ratio"),
            gov_caused=bool(row.get("gov_caused")),
            land_price_wan=num("land_price_wan"),
            invested_wan=num("invested_wan"),
            total_investment_wan=num("total_investment_wan"),
            start_extended=bool(row.get("start_extended")),
        )


@dataclass(frozen=True)
class IdleAssessment:
    stage: str
    underlying: str
    clause: str | None
    start_due: dt.date | None
    days: int | None
    days_to_idle: int | None
    fee_wan: float | None
    flags: tuple[str, ...] = field(default_factory=tuple)


def _decimal(v: float | Decimal) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(repr(float(v)))


def invested_ratio(inputs: IdleInputs) -> Decimal | None:
    """The share of the total investment spent: the stored ratio, else invested ÷ total
    (None when neither is known). The SQL twin is ``landmatch.invested_ratio`` (migration
    0041_idle_rules), which the idle scan and the transfer routes read.

    >>> invested_ratio(IdleInputs(invested_wan=8000, total_investment_wan=10000))
    Decimal('0.8')
    >>> invested_ratio(IdleInputs(invest_ratio=0.1, invested_wan=8000, total_investment_wan=1e4))
    Decimal('0.1')
    """
    if inputs.invest_ratio is not None:
        return _decimal(inputs.invest_ratio)
    if inputs.invested_wan is None or not inputs.total_investment_wan:
        return None
    return _decimal(inputs.invested_wan) / _decimal(inputs.total_investment_wan)


def ratio_below(ratio: float | Decimal, threshold: float | Decimal) -> bool:
    """Whether ``ratio`` is under ``threshold``, both rounded to the stored precision
    (:data:`RATIO_SCALE`): a stored 0.3333 is not below 1/3, nor below a rule row's 0.3333.

    >>> ratio_below(0.3333, 1 / 3), ratio_below(0.3333, 0.3333), ratio_below(0.3332, 1 / 3)
    (False, False, True)
    """
    unit = Decimal(1).scaleb(-RATIO_SCALE)
    return _decimal(ratio).quantize(unit, ROUND_HALF_UP) < _decimal(threshold).quantize(
        unit, ROUND_HALF_UP
    )


def _stage(start: dt.date, idle_months: int, as_of: dt.date, rule: IdleRule) -> tuple[str, dt.date]:
    """The stage on ``as_of`` of a clock started on ``start`` whose idle line is
    ``idle_months`` after it (anniversaries, not day counts), and that line."""
    idle_on = add_months(start, idle_months)
    recover = idle_months + rule.recover_after_months - rule.idle_after_months
    if as_of >= add_months(start, recover):
        return "recoverable", idle_on
    if as_of >= idle_on:
        return "idle_fee", idle_on
    if as_of >= add_months(start, idle_months - rule.at_risk_window_months):
        return "at_risk", idle_on
    return "normal", idle_on


def start_due(inputs: IdleInputs, rule: IdleRule) -> tuple[dt.date | None, bool]:
    """The agreed start date, or the fallback (the contract date by default, so that the land
    is idle one full year after the contract, as the 1999 text reads); second item says
    whether the fallback was used.

    >>> start_due(IdleInputs(contract_date=dt.date(2022, 3, 1)), IdleRule())
    (datetime.date(2022, 3, 1), True)
    """
    if inputs.agreed_start_date is not None:
        return inputs.agreed_start_date, False
    if inputs.contract_date is not None:
        return add_months(inputs.contract_date, rule.start_fallback_months), True
    return None, False


def assess(inputs: IdleInputs, as_of: dt.date, rule: IdleRule | None = None) -> IdleAssessment:
    """Stage of one supplied parcel on ``as_of``.

    >>> r = assess(IdleInputs(agreed_start_date=dt.date(2024, 1, 1), land_price_wan=1000),
    ...            dt.date(2025, 1, 1))
    >>> r.stage, r.days, r.fee_wan
    ('idle_fee', 366, 200.0)
    """
    rule = rule or IdleRule()
    flags: list[str] = []
    due, fallback = start_due(inputs, rule)
    if fallback:
        flags.append("start_date_fallback")
    started = inputs.actual_start_date is not None and inputs.actual_start_date <= as_of

    clause: str | None
    clock: dt.date
    if not started:
        clause = "not_started"
        if due is None:
            flags.append("no_start_basis")
            return IdleAssessment(
                "unknown", "unknown", clause, None, None, None, None, tuple(flags)
            )
        clock = due
        idle_months = rule.idle_after_months
        if inputs.start_extended and inputs.agreed_start_date is not None:
            flags.append("start_extended")
            idle_months = 0  # the extended deadline is the idle line (Art. 12 (1))
    else:
        dev, inv = inputs.developed_ratio, invested_ratio(inputs)
        if dev is None and inv is None:
            short = True
            flags.append("ratios_missing")
        else:
            short = (dev is not None and ratio_below(dev, rule.developed_ratio_min)) or (
                inv is not None and ratio_below(inv, rule.invest_ratio_min)
            )
        stopped = inputs.stopped_since is not None and inputs.stopped_since <= as_of
        if not (rule.stalled_clause and short and stopped):
            return IdleAssessment("normal", "normal", None, due, None, None, None, tuple(flags))
        clause = "stalled"
        flags.append("discretionary")
        assert inputs.stopped_since is not None  # stopped
        clock = inputs.stopped_since
        idle_months = rule.stall_min_months

    days = (as_of - clock).days
    underlying, idle_on = _stage(clock, idle_months, as_of, rule)
    days_to_idle = max((idle_on - as_of).days, 0)
    idle = underlying in ("idle_fee", "recoverable")
    fee: float | None = None
    stage = underlying
    if inputs.gov_caused:
        flags.append("gov_caused")
        if idle:
            stage = "gov_caused"
    elif idle:
        if inputs.land_price_wan is None:
            flags.append("price_missing")
        else:
            fee = fee_due(rule, inputs.land_price_wan)
    return IdleAssessment(stage, underlying, clause, due, days, days_to_idle, fee, tuple(flags))


def fee_due(rule: IdleRule, land_price_wan: float) -> float:
    """The idle-land fee (万元) the rule sets on a land price: ``fee_rate × price`` to the
    0.01 万元 (monitoring_idle.sql: ``round(fee_rate * land_price_wan, 2)``)."""
    return round(rule.fee_rate * float(land_price_wan), 2)
