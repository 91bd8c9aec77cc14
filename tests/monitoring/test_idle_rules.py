"""The idle-land rules of Order 53 as a table of dated cases (pure, no database)."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
from dataclasses import replace

import pytest

from landmatch.dates import add_months, add_years
from landmatch.monitoring.idle import IdleInputs, IdleRule, assess
from tests.monitoring.calendar_cases import CASES as CALENDAR_CASES
from tests.monitoring.calendar_cases import Case as CalendarCase

AS_OF = dt.date(2026, 6, 30)


def ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


PRICE = 1234.5
CASES = [
    # id, inputs, expected stage, expected days, expected clause, flags that must be present
    (
        "not_due_yet",
        IdleInputs(contract_date=ago(100), agreed_start_date=ago(-30)),
        "normal",
        -30,
        "not_started",
        (),
    ),
    ("due_today", IdleInputs(agreed_start_date=ago(0)), "at_risk", 0, "not_started", ()),
    (
        "clause1_day_364",
        IdleInputs(agreed_start_date=ago(364), land_price_wan=PRICE),
        "at_risk",
        364,
        "not_started",
        (),
    ),
    (
        "clause1_day_365",
        IdleInputs(agreed_start_date=ago(365), land_price_wan=PRICE),
        "idle_fee",
        365,
        "not_started",
        (),
    ),
    (
        "clause1_day_729",
        IdleInputs(agreed_start_date=ago(729), land_price_wan=PRICE),
        "idle_fee",
        729,
        "not_started",
        (),
    ),
    (
        "clause1_day_730",
        IdleInputs(agreed_start_date=ago(730), land_price_wan=PRICE),
        "recoverable",
        730,
        "not_started",
        (),
    ),
    (
        "clause2_stalled_400_days_low_investment",
        IdleInputs(
            agreed_start_date=ago(900),
            actual_start_date=ago(800),
            stopped_since=ago(400),
            developed_ratio=0.5,
            invest_ratio=0.10,
            land_price_wan=PRICE,
        ),
        "idle_fee",
        400,
        "stalled",
        ("discretionary",),
    ),
    (
        "clause2_stalled_800_days_low_development",
        IdleInputs(
            agreed_start_date=ago(1200),
            actual_start_date=ago(1100),
            stopped_since=ago(800),
            developed_ratio=0.2,
            invest_ratio=0.6,
            land_price_wan=PRICE,
        ),
        "recoverable",
        800,
        "stalled",
        ("discretionary",),
    ),
    (
        "clause2_stoppage_not_yet_a_year",
        IdleInputs(
            agreed_start_date=ago(900),
            actual_start_date=ago(800),
            stopped_since=ago(200),
            developed_ratio=0.1,
            invest_ratio=0.05,
            land_price_wan=PRICE,
        ),
        "at_risk",
        200,
        "stalled",
        ("discretionary",),
    ),
    (
        "stalled_but_ratios_met_is_not_idle",
        IdleInputs(
            agreed_start_date=ago(900),
            actual_start_date=ago(800),
            stopped_since=ago(500),
            developed_ratio=0.5,
            invest_ratio=0.3,
            land_price_wan=PRICE,
        ),
        "normal",
        None,
        None,
        (),
    ),
    (
        "started_and_working",
        IdleInputs(
            agreed_start_date=ago(900),
            actual_start_date=ago(880),
            developed_ratio=0.1,
            invest_ratio=0.1,
        ),
        "normal",
        None,
        None,
        (),
    ),
    (
        "government_caused_delay",
        IdleInputs(agreed_start_date=ago(1000), gov_caused=True, land_price_wan=PRICE),
        "gov_caused",
        1000,
        "not_started",
        ("gov_caused",),
    ),
    (
        "missing_start_date_fallback",
        IdleInputs(contract_date=ago(400), land_price_wan=PRICE),
        "idle_fee",
        400,
        "not_started",
        ("start_date_fallback",),
    ),
    ("missing_everything", IdleInputs(), "unknown", None, "not_started", ("no_start_basis",)),
    (
        "idle_without_price",
        IdleInputs(agreed_start_date=ago(500)),
        "idle_fee",
        500,
        "not_started",
        ("price_missing",),
    ),
]


@pytest.mark.parametrize(
    ("inputs", "stage", "days", "clause", "flags"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_stage_table(
    inputs: IdleInputs, stage: str, days: int | None, clause: str | None, flags: tuple[str, ...]
) -> None:
    r = assess(inputs, AS_OF)
    assert (r.stage, r.days, r.clause) == (stage, days, clause)
    assert set(flags) <= set(r.flags)


def test_fee_only_in_idle_stages_and_from_configured_rate() -> None:
    at_risk = assess(IdleInputs(agreed_start_date=ago(364), land_price_wan=PRICE), AS_OF)
    assert at_risk.fee_wan is None
    fee = assess(IdleInputs(agreed_start_date=ago(365), land_price_wan=PRICE), AS_OF)
    assert fee.fee_wan == round(0.20 * PRICE, 2)
    cheaper = assess(
        IdleInputs(agreed_start_date=ago(365), land_price_wan=PRICE), AS_OF, IdleRule(fee_rate=0.10)
    )
    assert cheaper.fee_wan == round(0.10 * PRICE, 2)


def test_government_caused_keeps_underlying_stage_and_charges_no_fee() -> None:
    r = assess(IdleInputs(agreed_start_date=ago(800), gov_caused=True, land_price_wan=PRICE), AS_OF)
    assert r.stage == "gov_caused" and r.underlying == "recoverable" and r.fee_wan is None
    # Before the idle threshold a government cause changes nothing but the flag.
    early = assess(IdleInputs(agreed_start_date=ago(100), gov_caused=True), AS_OF)
    assert early.stage == "at_risk" and "gov_caused" in early.flags


def test_without_a_start_date_land_is_idle_a_full_year_after_the_contract() -> None:
    """The 1999 text's rule (docs/domain.md §5): with no agreed start date the clock runs
    from the contract, so the land is idle on the contract's first anniversary, not a year
    later (the review's parcel: contract 2022-03-01, never started)."""
    contract = IdleInputs(contract_date=dt.date(2022, 3, 1), land_price_wan=PRICE)
    for as_of, stage in (
        (dt.date(2023, 2, 28), "at_risk"),
        (dt.date(2023, 3, 1), "idle_fee"),
        (dt.date(2024, 2, 29), "idle_fee"),
        (dt.date(2024, 3, 1), "recoverable"),
    ):
        r = assess(contract, as_of)
        assert (r.stage, r.start_due) == (stage, dt.date(2022, 3, 1)), as_of
        assert "start_date_fallback" in r.flags  # 推定
    leap = assess(IdleInputs(contract_date=dt.date(2024, 2, 29)), dt.date(2025, 2, 28))
    assert leap.stage == "idle_fee"  # 29 February → 28 February
    assert assess(IdleInputs(contract_date=dt.date(2024, 2, 29)), dt.date(2025, 2, 27)).stage == (
        "at_risk"
    )
    # A city's lag from the contract to the presumed start moves the clock.
    lagged = assess(contract, dt.date(2023, 3, 1), IdleRule(start_fallback_months=6))
    assert (lagged.stage, lagged.start_due) == ("at_risk", dt.date(2022, 9, 1))


@pytest.mark.parametrize("case", CALENDAR_CASES, ids=[c.id for c in CALENDAR_CASES])
def test_lines_are_calendar_anniversaries_across_leap_years(case: CalendarCase) -> None:
    r = assess(case.inputs, case.as_of)
    assert (r.stage, r.days_to_idle) == (case.stage, case.days_to_idle)
    if r.days is not None:
        start = r.start_due if r.clause == "not_started" else case.inputs.stopped_since
        assert start is not None
        assert r.days == (case.as_of - start).days  # the day count stays, for display


def test_every_start_date_of_a_leap_cycle_turns_idle_on_its_anniversary() -> None:
    """2023-01-01 … 2028-12-31, every day: the last day before each line and the line itself."""
    start = dt.date(2023, 1, 1)
    while start <= dt.date(2028, 12, 31):
        inputs = IdleInputs(agreed_start_date=start)
        one, two = add_years(start, 1), add_years(start, 2)
        assert assess(inputs, one - dt.timedelta(days=1)).stage == "at_risk", start
        assert assess(inputs, one).stage == "idle_fee", start
        assert assess(inputs, two - dt.timedelta(days=1)).stage == "idle_fee", start
        assert assess(inputs, two).stage == "recoverable", start
        assert (one.month, one.day) == (
            (start.month, start.day) if (start.month, start.day) != (2, 29) else (2, 28)
        )
        start += dt.timedelta(days=1)


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2023, 1, 31), 1) == dt.date(2023, 2, 28)
    assert add_months(dt.date(2024, 3, 31), -1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 12, 15), 1) == dt.date(2025, 1, 15)
    assert add_months(dt.date(2025, 1, 15), -1) == dt.date(2024, 12, 15)
    assert add_months(dt.date(2024, 2, 29), 48) == dt.date(2028, 2, 29)


def test_city_thresholds_are_configurable() -> None:
    strict = IdleRule(idle_after_months=6, recover_after_months=12, at_risk_window_months=3)
    inputs = IdleInputs(agreed_start_date=ago(200), land_price_wan=PRICE)
    assert assess(inputs, AS_OF).stage == "at_risk"
    assert assess(inputs, AS_OF, strict).stage == "idle_fee"
    assert assess(IdleInputs(agreed_start_date=ago(60)), AS_OF, strict).stage == "normal"
    assert assess(IdleInputs(agreed_start_date=ago(95)), AS_OF, strict).stage == "at_risk"


def test_a_third_developed_as_stored_is_a_third_under_either_threshold() -> None:
    """developed_ratio is numeric(5, 4): 1/3 is stored as 0.3333. It meets the 1/3 test
    whether the threshold is the built-in 1/3 or a rule row's 0.3333 (both compared at the
    stored 4 decimals); 0.3332 is short under both."""
    stalled = IdleInputs(
        agreed_start_date=dt.date(2020, 1, 1),
        actual_start_date=dt.date(2020, 2, 1),
        stopped_since=dt.date(2022, 1, 1),
        invest_ratio=0.5,
        land_price_wan=PRICE,
    )
    for threshold in (IdleRule(), IdleRule(developed_ratio_min=0.3333)):
        third = assess(replace(stalled, developed_ratio=0.3333), AS_OF, threshold)
        assert (third.stage, third.clause) == ("normal", None), threshold
        short = assess(replace(stalled, developed_ratio=0.3332), AS_OF, threshold)
        assert (short.stage, short.clause) == ("recoverable", "stalled"), threshold
    # The invested share likewise: 0.25 as stored, or 2,500 of 10,000, meets 25 %.
    assert assess(replace(stalled, invest_ratio=0.25, developed_ratio=0.5), AS_OF).stage == (
        "normal"
    )
    amounts = replace(stalled, invest_ratio=None, invested_wan=2500, total_investment_wan=10000)
    assert assess(replace(amounts, developed_ratio=0.5), AS_OF).stage == "normal"
    assert assess(replace(amounts, invested_wan=2499, developed_ratio=0.5), AS_OF).clause == (
        "stalled"
    )


def test_the_stoppage_a_city_requires_sets_the_stalled_lines() -> None:
    """stall_min_months is the stalled clause's idle line (满一年 by default): stopped since
    2024-01-01, the land is idle from 2025-01-01; where a city asks for 24 months, from
    2026-01-01 (at risk the year before), recoverable a year after that line."""
    stalled = IdleInputs(
        agreed_start_date=dt.date(2020, 1, 1),
        actual_start_date=dt.date(2020, 3, 1),
        stopped_since=dt.date(2024, 1, 1),
        developed_ratio=0.1,
        invest_ratio=0.1,
        land_price_wan=PRICE,
    )
    assert assess(stalled, dt.date(2025, 2, 1)).stage == "idle_fee"
    two = IdleRule(stall_min_months=24)
    for day, stage, to_idle in (
        (dt.date(2024, 12, 31), "normal", 366),
        (dt.date(2025, 2, 1), "at_risk", 334),
        (dt.date(2025, 12, 31), "at_risk", 1),
        (dt.date(2026, 1, 1), "idle_fee", 0),
        (dt.date(2026, 12, 31), "idle_fee", 0),
        (dt.date(2027, 1, 1), "recoverable", 0),
    ):
        r = assess(stalled, day, two)
        assert (r.stage, r.clause, r.days_to_idle) == (stage, "stalled", to_idle), day
    # Land not started keeps its own line.
    assert assess(
        IdleInputs(agreed_start_date=dt.date(2024, 1, 1)), dt.date(2025, 1, 1), two
    ).stage == ("idle_fee")


def test_stalled_clause_can_be_switched_off_per_city() -> None:
    inputs = IdleInputs(
        agreed_start_date=ago(900),
        actual_start_date=ago(800),
        stopped_since=ago(400),
        invest_ratio=0.1,
        developed_ratio=0.1,
    )
    assert assess(inputs, AS_OF).stage == "idle_fee"
    assert assess(inputs, AS_OF, IdleRule(stalled_clause=False)).stage == "normal"


@pytest.mark.parametrize("name", ["landmatch.dates", "landmatch.monitoring.idle"])
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
