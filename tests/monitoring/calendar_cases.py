"""Dated idle-land cases on the boundary days of Order 53's lines, across leap years, covering
every stage and both clauses. Shared by the pure rule's tests and the SQL twin's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from landmatch.monitoring.idle import IdleInputs

D = dt.date
PRICE = 800.0


@dataclass(frozen=True)
class Case:
    id: str
    inputs: IdleInputs
    as_of: dt.date
    stage: str
    days_to_idle: int | None


def _not_started(start: dt.date, **kw: object) -> IdleInputs:
    return IdleInputs(agreed_start_date=start, land_price_wan=PRICE, **kw)  # type: ignore[arg-type]


def _stalled(stopped: dt.date) -> IdleInputs:
    return IdleInputs(
        contract_date=D(2019, 5, 6),
        agreed_start_date=D(2020, 1, 2),
        actual_start_date=D(2020, 3, 1),
        stopped_since=stopped,
        developed_ratio=0.1,
        invest_ratio=0.1,
        land_price_wan=PRICE,
    )


CASES = [
    # The parcel: 365 days after 2023-10-02 is 2024-10-01 (2024 has a 29 February);
    # 满一年 is the anniversary, 2024-10-02, and 满两年 2025-10-02.
    Case(
        "2023-10-02_day_before_anniversary",
        _not_started(D(2023, 10, 2)),
        D(2024, 10, 1),
        "at_risk",
        1,
    ),
    Case(
        "2023-10-02_first_anniversary", _not_started(D(2023, 10, 2)), D(2024, 10, 2), "idle_fee", 0
    ),
    Case(
        "2023-10-02_day_before_second", _not_started(D(2023, 10, 2)), D(2025, 10, 1), "idle_fee", 0
    ),
    Case(
        "2023-10-02_second_anniversary",
        _not_started(D(2023, 10, 2)),
        D(2025, 10, 2),
        "recoverable",
        0,
    ),
    # A start on 29 February reaches its anniversaries on 28 February of common years.
    Case("leap_day_start_27_feb", _not_started(D(2024, 2, 29)), D(2025, 2, 27), "at_risk", 1),
    Case("leap_day_start_28_feb", _not_started(D(2024, 2, 29)), D(2025, 2, 28), "idle_fee", 0),
    Case(
        "leap_day_start_second_27_feb", _not_started(D(2024, 2, 29)), D(2026, 2, 27), "idle_fee", 0
    ),
    Case(
        "leap_day_start_second_28_feb",
        _not_started(D(2024, 2, 29)),
        D(2026, 2, 28),
        "recoverable",
        0,
    ),
    # 1 March to 1 March: 365 days after 2023-03-01 is 29 February 2024, still within the year.
    Case("march_start_on_leap_day", _not_started(D(2023, 3, 1)), D(2024, 2, 29), "at_risk", 1),
    Case("march_start_anniversary", _not_started(D(2023, 3, 1)), D(2024, 3, 1), "idle_fee", 0),
    Case(
        "march_2026_start_second_line_2028",
        _not_started(D(2026, 3, 1)),
        D(2028, 2, 29),
        "idle_fee",
        0,
    ),
    Case(
        "march_2026_start_second_anniversary",
        _not_started(D(2026, 3, 1)),
        D(2028, 3, 1),
        "recoverable",
        0,
    ),
    # 28 February to 28 February: 366 days across a leap day.
    Case("feb_28_2024_day_before", _not_started(D(2024, 2, 28)), D(2025, 2, 27), "at_risk", 1),
    Case("feb_28_2024_anniversary", _not_started(D(2024, 2, 28)), D(2025, 2, 28), "idle_fee", 0),
    # Before the clock starts, and on its first day.
    Case("not_due_yet", _not_started(D(2025, 3, 1)), D(2025, 2, 28), "normal", 366),
    Case("due_today", _not_started(D(2025, 3, 1)), D(2025, 3, 1), "at_risk", 365),
    # No agreed start: the contract starts the clock, idle on its first anniversary (the 1999
    # text's rule; 29 Feb → 28 Feb), recoverable on its second.
    Case(
        "fallback_from_leap_day_contract",
        IdleInputs(contract_date=D(2024, 2, 29), land_price_wan=PRICE),
        D(2025, 2, 27),
        "at_risk",
        1,
    ),
    Case(
        "fallback_from_leap_day_contract_idle",
        IdleInputs(contract_date=D(2024, 2, 29), land_price_wan=PRICE),
        D(2025, 2, 28),
        "idle_fee",
        0,
    ),
    Case(
        "fallback_contract_day_before_second",
        IdleInputs(contract_date=D(2022, 3, 1), land_price_wan=PRICE),
        D(2024, 2, 29),
        "idle_fee",
        0,
    ),
    Case(
        "fallback_contract_second_anniversary",
        IdleInputs(contract_date=D(2022, 3, 1), land_price_wan=PRICE),
        D(2024, 3, 1),
        "recoverable",
        0,
    ),
    # An extended start deadline (Art. 12 (1)): idle the day it passes unstarted, no further
    # year of grace; at risk the year before, recoverable a year after.
    Case(
        "extended_deadline_year_before",
        _not_started(D(2025, 3, 1), start_extended=True),
        D(2024, 2, 29),
        "normal",
        366,
    ),
    Case(
        "extended_deadline_at_risk",
        _not_started(D(2025, 3, 1), start_extended=True),
        D(2025, 2, 28),
        "at_risk",
        1,
    ),
    Case(
        "extended_deadline_passed",
        _not_started(D(2025, 3, 1), start_extended=True),
        D(2025, 3, 1),
        "idle_fee",
        0,
    ),
    Case(
        "extended_deadline_second_line",
        _not_started(D(2025, 3, 1), start_extended=True),
        D(2026, 3, 1),
        "recoverable",
        0,
    ),
    # Started but stalled (clause 2): the stoppage's anniversaries.
    Case("stalled_day_before_anniversary", _stalled(D(2023, 10, 2)), D(2024, 10, 1), "at_risk", 1),
    Case("stalled_anniversary", _stalled(D(2023, 10, 2)), D(2024, 10, 2), "idle_fee", 0),
    Case("stalled_second_anniversary", _stalled(D(2024, 2, 29)), D(2026, 2, 28), "recoverable", 0),
    # The remaining stages: government-caused, unknown, normal (started and working).
    Case(
        "government_caused_from_anniversary",
        _not_started(D(2023, 10, 2), gov_caused=True),
        D(2024, 10, 2),
        "gov_caused",
        0,
    ),
    Case(
        "government_caused_day_before",
        _not_started(D(2023, 10, 2), gov_caused=True),
        D(2024, 10, 1),
        "at_risk",
        1,
    ),
    Case("no_dates_unknown", IdleInputs(), D(2024, 10, 2), "unknown", None),
    Case(
        "started_and_working",
        IdleInputs(
            agreed_start_date=D(2023, 10, 2),
            actual_start_date=D(2023, 11, 1),
            developed_ratio=0.6,
            invest_ratio=0.5,
        ),
        D(2025, 10, 2),
        "normal",
        None,
    ),
]
