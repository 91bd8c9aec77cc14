"""Idle-land detection by Order 53 (闲置土地处置办法, 国土资源部令第53号), domain-rules §1.

A pure function of dated inputs: no database, no clock. The SQL that scans the whole
inventory (``landmatch/db/sql/monitoring_idle.sql``) implements the same rules and is tested
against this module row by row.

Rules (all thresholds in :class:`IdleRule`, configurable per city):

* **Art. 2 clause 1, not started**: ``days = as_of − start_due`` where ``start_due`` is the
  agreed start date (约定开工日期). When it is missing, the documented fallback is the contract
  date + ``start_fallback_days`` (one year, after the 1999 text) and the row is flagged.
* **Art. 2 clause 2, started but stalled**: work started, the developed area is below 1/3 of
  what it should be *or* the investment below 25 %, and work has been stopped since
  ``stopped_since``: ``days = as_of − stopped_since``. The article says such land "may" be
  treated as idle, so the result is flagged ``discretionary``. Started land whose ratios meet
  both tests is not idle, whatever the stoppage.
* **Stages** on ``days``: ``recoverable`` at ≥ ``recover_after_days`` (730), ``idle_fee`` at
  ≥ ``idle_after_days`` (365), ``at_risk`` when fewer than ``at_risk_window_days`` remain before
  the idle threshold (default: from day 0 to day 364), else ``normal``. Days are whole calendar
  days, so day 364 is at risk and day 365 is idle.
* **Government-caused** (Art. 8): land that would be idle is recorded in the separate stage
  ``gov_caused``, with no fee and no free recovery (it is disposed of by negotiation, Art. 12).
  Its ``underlying`` stage is kept.
* **Fee** (Art. 14): ``fee_rate × land price`` in the idle-fee and recoverable stages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class IdleRule:
    """Thresholds of the idle test. One per city (table ``monitoring_rule``), else defaults."""

    idle_after_days: int = 365
    recover_after_days: int = 730
    at_risk_window_days: int = 365
    stall_min_days: int = 365  # informational: the stall clock uses the same stage thresholds
    developed_ratio_min: float = 1 / 3
    invest_ratio_min: float = 0.25
    start_fallback_days: int = 365
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


def _stage(days: int, rule: IdleRule) -> str:
    if days >= rule.recover_after_days:
        return "recoverable"
    if days >= rule.idle_after_days:
        return "idle_fee"
    if days >= rule.idle_after_days - rule.at_risk_window_days:
        return "at_risk"
    return "normal"


def start_due(inputs: IdleInputs, rule: IdleRule) -> tuple[dt.date | None, bool]:
    """The agreed start date, or the fallback (contract date + one year); second item says
    whether the fallback was used."""
    if inputs.agreed_start_date is not None:
        return inputs.agreed_start_date, False
    if inputs.contract_date is not None:
        return inputs.contract_date + dt.timedelta(days=rule.start_fallback_days), True
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
    days: int | None
    if not started:
        clause = "not_started"
        if due is None:
            flags.append("no_start_basis")
            return IdleAssessment(
                "unknown", "unknown", clause, None, None, None, None, tuple(flags)
            )
        days = (as_of - due).days
    else:
        dev, inv = inputs.developed_ratio, inputs.invest_ratio
        if dev is None and inv is None:
            short = True
            flags.append("ratios_missing")
        else:
            short = (dev is not None and dev < rule.developed_ratio_min) or (
                inv is not None and inv < rule.invest_ratio_min
            )
        stopped = inputs.stopped_since is not None and inputs.stopped_since <= as_of
        if not (rule.stalled_clause and short and stopped):
            return IdleAssessment("normal", "normal", None, due, None, None, None, tuple(flags))
        clause = "stalled"
        flags.append("discretionary")
        days = (as_of - inputs.stopped_since).days  # type: ignore[operator]

    underlying = _stage(days, rule)
    days_to_idle = max(rule.idle_after_days - days, 0)
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
            fee = round(rule.fee_rate * float(inputs.land_price_wan), 2)
    return IdleAssessment(stage, underlying, clause, due, days, days_to_idle, fee, tuple(flags))
