"""Monitoring against the real PostGIS test inventory (seeded by tests/conftest.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from typing import Any

import psycopg
import pytest
import time_machine
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.dates import add_months
from landmatch.db.engine import get_engine
from landmatch.db.locking import ANY
from landmatch.db.parcels import ParcelFilter, list_parcels
from landmatch.errors import Conflict, Forbidden, InvalidInput
from landmatch.monitoring import cases, export, rules, scan, targets, transfer, unsupplied, zones
from landmatch.monitoring import sql as msql
from landmatch.monitoring.idle import IdleAssessment, IdleInputs, IdleRule, assess
from landmatch.monitoring.terms import IDLE_STAGES
from landmatch.settings import Settings
from tests.conftest import auth, with_etag
from tests.monitoring.calendar_cases import CASES as CALENDAR_CASES
from tests.monitoring.calendar_cases import Case

AS_OF = dt.date(2026, 11, 1)
ADMIN = Principal(name="t-admin", role="admin")
FEE = 0.20
#: The cases here are walked from AS_OF through their steps and decisions, up to two years on;
#: a step is recorded as taken, so not after today: today is set after the walks.
WALKED_TO = dt.datetime(2029, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _after_the_walks() -> Any:
    with time_machine.travel(WALKED_TO, tick=True):
        yield


def _f(v: Any) -> float | None:
    return None if v is None else float(v)


def _inputs(r: dict[str, Any]) -> IdleInputs:
    return IdleInputs(
        contract_date=r["contract_date"],
        agreed_start_date=r["agreed_start_date"],
        actual_start_date=r["actual_start_date"],
        stopped_since=r["stopped_since"],
        developed_ratio=_f(r["developed_ratio"]),
        invest_ratio=_f(r["invest_ratio"]),
        gov_caused=r["gov_caused"],
        land_price_wan=_f(r["land_price_wan"]),
        invested_wan=_f(r["invested_wan"]),
        total_investment_wan=_f(r["total_investment_wan"]),
        start_extended=r["start_extended"],
    )


def _agrees(r: dict[str, Any], a: IdleAssessment) -> None:
    """One SQL row against the pure assessment of the same inputs, field by field."""
    got = (r["stage"], r["underlying"], r["clause"], r["start_due"], r["days"], r["days_to_idle"])
    want = (a.stage, a.underlying, a.clause, a.start_due, a.days, a.days_to_idle)
    assert got == want, r["code"]
    assert set(r["flags"]) == set(a.flags), r["code"]
    assert (r["fee_wan"] is None) == (a.fee_wan is None), r["code"]
    if a.fee_wan is not None:
        assert float(r["fee_wan"]) == pytest.approx(a.fee_wan, abs=0.011)


def test_sql_scan_agrees_with_pure_rules_row_by_row(session: Session) -> None:
    rows = scan.scan_rows(session, AS_OF, IdleRule(fee_rate=FEE))
    assert len(rows) > 100
    stages = set()
    for r in rows:
        _agrees(r, assess(_inputs(r), AS_OF, IdleRule(fee_rate=FEE)))
        stages.add(r["stage"])
    assert {"normal", "recoverable", "gov_caused"} <= stages


def _stage_cases(session: Session, city: str) -> dict[str, Case]:
    """Give seeded supplied parcels of ``city`` the dates of the calendar cases; by code."""
    codes = (
        session.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE city_code = :c AND deleted_at IS NULL "
                "AND status IN ('supplied', 'idle') ORDER BY code LIMIT :n"
            ),
            {"c": city, "n": len(CALENDAR_CASES)},
        )
        .scalars()
        .all()
    )
    assert len(codes) == len(CALENDAR_CASES)
    for code, case in zip(codes, CALENDAR_CASES, strict=True):
        i = case.inputs
        session.execute(
            text(
                "UPDATE landmatch.parcel SET contract_date = :c, agreed_start_date = :a, "
                "actual_start_date = :s, stopped_since = :st, developed_ratio = :d, "
                "invest_ratio = :i, gov_caused = :g, land_price_wan = :p, invested_wan = :iw, "
                "total_investment_wan = :tw, start_extended = :x WHERE code = :code"
            ),
            {
                "c": i.contract_date,
                "a": i.agreed_start_date,
                "s": i.actual_start_date,
                "st": i.stopped_since,
                "d": i.developed_ratio,
                "i": i.invest_ratio,
                "g": i.gov_caused,
                "p": i.land_price_wan,
                "iw": i.invested_wan,
                "tw": i.total_investment_wan,
                "x": i.start_extended,
                "code": code,
            },
        )
    return dict(zip(codes, CALENDAR_CASES, strict=True))


def test_sql_twin_agrees_on_every_stage_at_the_calendar_boundaries(session: Session) -> None:
    """The leap-year boundary cases through monitoring_idle.sql and the pure rule: both give
    the expected stage on the last day before each anniversary and on the anniversary, for
    every stage (normal, at_risk, idle_fee, recoverable, gov_caused, unknown)."""
    by_code = _stage_cases(session, "130100")
    seen = set()
    for code, case in by_code.items():
        rows = {
            r["code"]: r
            for r in scan.scan_rows(session, case.as_of, IdleRule(fee_rate=FEE), "130100")
        }
        r = rows[code]
        _agrees(r, assess(case.inputs, case.as_of, IdleRule(fee_rate=FEE)))
        assert (r["stage"], r["days_to_idle"]) == (case.stage, case.days_to_idle), case.id
        seen.add(r["stage"])
    assert seen == set(IDLE_STAGES)


def test_sql_twin_agrees_under_city_and_province_thresholds(session: Session) -> None:
    """The same cases where a city's row (130200) or the province's (130000, for a city
    without a row of its own) sets the months."""
    rules.set_rule(
        session,
        "130200",
        {
            "idle_after_months": 6,
            "recover_after_months": 18,
            "at_risk_window_months": 3,
            "stall_min_months": 9,
        },
        "t",
        if_match=ANY,
    )
    rules.set_rule(
        session,
        "130000",
        {"idle_after_months": 9, "start_fallback_months": 7, "stall_min_months": 15},
        "t",
        if_match=ANY,
    )
    for city, idle, fallback in (("130200", 6, 0), ("130300", 9, 7)):
        rule = rules.rule_for_city(session, city, FEE)
        assert (rule.idle_after_months, rule.start_fallback_months) == (idle, fallback)
        by_code = _stage_cases(session, city)
        for code, case in by_code.items():
            for as_of in (case.as_of, add_months(case.as_of, -6), add_months(case.as_of, 1)):
                rows = scan.scan_rows(session, as_of, IdleRule(fee_rate=FEE), city)
                _agrees(
                    next(r for r in rows if r["code"] == code), assess(case.inputs, as_of, rule)
                )


def _same_report(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Two idle summaries: counts exact, areas and fees to their rounding."""
    assert got["scanned"] == want["scanned"]
    assert got["flagged_fallback"] == want["flagged_fallback"]
    assert got["fee_total_wan"] == pytest.approx(want["fee_total_wan"], abs=0.011)
    assert [(s["stage"], s["count"]) for s in got["stages"]] == [
        (s["stage"], s["count"]) for s in want["stages"]
    ]
    for g, w in zip(got["stages"], want["stages"], strict=True):
        assert g["area_m2"] == pytest.approx(w["area_m2"], abs=0.11)
        assert g["area_mu"] == pytest.approx(w["area_mu"], abs=0.011)
    assert len(got["by_city"]) == len(want["by_city"])
    for g, w in zip(got["by_city"], want["by_city"], strict=True):
        assert {k: v for k, v in g.items() if k != "idle_area_m2"} == {
            k: v for k, v in w.items() if k != "idle_area_m2"
        }
        assert g["idle_area_m2"] == pytest.approx(w["idle_area_m2"], rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("as_of", [AS_OF, dt.date(2024, 2, 29), dt.date(2028, 3, 1)])
def test_set_wise_summary_is_the_row_by_row_one(session: Session, as_of: dt.date) -> None:
    """The report counted in SQL (GROUP BY city, stage) against the Python twin counting every
    scanned row, for the province and each city, under a city's and the province's own
    thresholds; and the stage listing paged in SQL against the rows filtered in Python."""
    rules.set_rule(
        session, "130200", {"idle_after_months": 6, "recover_after_months": 18}, "t", if_match=ANY
    )
    rules.set_rule(
        session, "130000", {"start_fallback_months": 7, "fee_rate": 0.1}, "t", if_match=ANY
    )
    rule = IdleRule(fee_rate=FEE)
    everything = scan.scan_rows(session, as_of, rule)
    assert len({r["stage"] for r in everything}) >= 3
    for city in (None, "130100", "130200", "130300"):
        rows = [r for r in everything if city is None or r["city_code"] == city]
        got = scan.idle_report(session, ADMIN, as_of, rule, city=city, limit=0)
        _same_report(got, scan.summarise_rows(rows))
        assert got["items"] == [] and got["numberMatched"] == len(rows)
    with pytest.raises(InvalidInput):  # the service's scope rule knows the cities
        scan.idle_report(session, ADMIN, as_of, rule, city="139999", limit=0)
    for stage in ("recoverable", "at_risk", "normal"):
        want = [r["code"] for r in everything if r["stage"] == stage]
        page = scan.idle_report(session, ADMIN, as_of, rule, stage=stage, limit=7, offset=3)
        assert page["numberMatched"] == len(want)
        assert [i["code"] for i in page["items"]] == want[3:10]
    assert scan.idle_report(session, ADMIN, as_of, rule, limit=5, offset=10**7)["items"] == []


def test_dashboard_figures_are_reused_until_the_inventory_changes(session: Session) -> None:
    """The inventory's figures are computed once per inventory state: the same answer while
    nothing changes; a parcel write or a city's thresholds give the fresh figures."""
    from landmatch.monitoring import summary

    rule = IdleRule(fee_rate=FEE)
    first = summary.dashboard_data(session, ADMIN, AS_OF, rule)
    state = summary.inventory_state(session)
    assert summary.dashboard_data(session, ADMIN, AS_OF, rule) == first
    assert summary.inventory_state(session) == state
    pid = session.execute(
        text(
            "SELECT id FROM landmatch.parcel WHERE status = 'ready' AND deleted_at IS NULL "
            "ORDER BY id LIMIT 1"
        )
    ).scalar_one()
    session.execute(
        text("UPDATE landmatch.parcel SET status = 'withdrawn' WHERE id = :id"), {"id": pid}
    )
    after = summary.dashboard_data(session, ADMIN, AS_OF, rule)
    assert summary.inventory_state(session) != state
    assert after["area_by_city_status"] == summary.area_by_city_status(session, ADMIN, None)
    assert after["area_by_city_status"] != first["area_by_city_status"]
    rules.set_rule(
        session, "130000", {"idle_after_months": 60, "recover_after_months": 72}, "t", if_match=ANY
    )
    relaxed = summary.dashboard_data(session, ADMIN, AS_OF, rule)
    fresh = scan.idle_report(session, ADMIN, AS_OF, rule, limit=0)
    assert relaxed["idle_stages"] == fresh["stages"] != after["idle_stages"]


def test_sql_month_arithmetic_is_the_python_one_on_every_day(session: Session) -> None:
    """PostgreSQL's date + n months and landmatch.dates.add_months, 2023-01-01 … 2028-12-31."""
    rows = session.execute(
        text(
            "SELECT d::date, n, CAST(d + make_interval(months => n) AS date) FROM "
            "generate_series(DATE '2023-01-01', DATE '2028-12-31', interval '1 day') d, "
            "unnest(ARRAY[-13, -1, 1, 6, 12, 24, 25]) n"
        )
    ).all()
    assert len(rows) == 2192 * 7
    assert [r[2] for r in rows] == [add_months(r[0], r[1]) for r in rows]


def test_city_rule_changes_the_scan(session: Session) -> None:
    before = {r["code"]: r for r in scan.scan_rows(session, AS_OF, IdleRule(), city="130100")}
    rules.set_rule(
        session,
        "130100",
        {
            "idle_after_months": 100,
            "recover_after_months": 130,
            "stall_min_months": 100,
            "fee_rate": 0.1,
        },
        "t",
        if_match=ANY,
    )
    after = scan.scan_rows(session, AS_OF, IdleRule(), city="130100")
    rule = rules.rule_for_city(session, "130100", FEE)
    assert rule.idle_after_months == 100 and rule.fee_rate == pytest.approx(0.1)
    assert not any(r["stage"] in ("idle_fee", "recoverable") for r in after)
    assert any(before[r["code"]]["stage"] in ("idle_fee", "recoverable") for r in after)
    with pytest.raises(InvalidInput):
        rules.set_rule(
            session,
            "130100",
            {"idle_after_months": 26, "recover_after_months": 24},
            "t",
            if_match=ANY,
        )


def test_fee_rate_is_at_most_twenty_percent(session: Session) -> None:
    """《城市房地产管理法》 Art. 26: the idle-land fee is up to 20 % of the land price. A city's
    rule above it is refused by the service (in Chinese, naming the field) and by the
    database; the setting refuses it too."""
    from pydantic import ValidationError
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(InvalidInput, match="fee_rate") as refused:
        rules.set_rule(session, "130100", {"fee_rate": 0.21}, "t", if_match=ANY)
    assert refused.value.detail == {"field": "fee_rate"} and "20%" in refused.value.message
    rules.set_rule(session, "130100", {"fee_rate": 0.2}, "t", if_match=ANY)
    assert rules.rule_for_city(session, "130100", FEE).fee_rate == pytest.approx(0.2)
    with (
        pytest.raises(IntegrityError, match="monitoring_rule_fee_rate_check"),
        session.begin_nested(),
    ):
        session.execute(
            text("UPDATE landmatch.monitoring_rule SET fee_rate = 0.9 WHERE city_code = '130100'")
        )
    with pytest.raises(ValidationError, match="idle_fee_rate"):
        Settings(idle_fee_rate=0.25)
    assert Settings(idle_fee_rate=0.2).idle_fee_rate == 0.2


def _age_band(session: Session, code: str, as_of: dt.date) -> str | None:
    """The age band monitoring_unsupplied_age.sql gives one parcel on ``as_of`` (None: not in
    that day's stock), from the query itself with its grouping taken off."""
    return session.execute(
        text(
            "SELECT band FROM ("
            + msql.load("monitoring_unsupplied_age")
            .replace("GROUP BY 1, 2, 3, 4", "")
            .replace("ORDER BY 1, 2, 3, 4", "")
            .replace("count(*) AS parcels, sum(p.area_m2) AS area_m2", "p.code")
            + ") q WHERE code = :c"
        ),
        {"as_of": as_of, "city": None, "c": code},
    ).scalar()


def test_age_bands_partition_the_unsupplied_stock(session: Session) -> None:
    r = unsupplied.age_bands(session, ADMIN, AS_OF)
    total = session.execute(
        text(
            "SELECT sum(area_m2) FROM landmatch.parcel WHERE deleted_at IS NULL "
            "AND status <> 'withdrawn' AND approval_date <= :d "
            "AND (supply_date > :d OR (supply_date IS NULL AND status NOT IN ('supplied', 'idle')))"
        ),
        {"d": AS_OF},
    ).scalar()
    assert sum(b["area_m2"] for b in r["bands"]) == pytest.approx(total)
    assert all(b["parcels"] > 0 for b in r["bands"])
    # Boundary: approved exactly two years ago is in 2–5, one day later is under two.
    code = session.execute(
        text("SELECT code FROM landmatch.parcel WHERE status='unsupplied' ORDER BY id LIMIT 1")
    ).scalar()
    for day, band in (
        (dt.date(2024, 11, 1), "2to5"),
        (dt.date(2024, 11, 2), "lt2"),
        (dt.date(2021, 11, 1), "2to5"),
        (dt.date(2021, 10, 31), "gt5"),
    ):
        session.execute(
            text("UPDATE landmatch.parcel SET approval_date = :d WHERE code = :c"),
            {"d": day, "c": code},
        )
        got = session.execute(
            text(
                "SELECT band FROM ("
                + __import__("landmatch.monitoring.sql", fromlist=["load"])
                .load("monitoring_unsupplied_age")
                .replace("GROUP BY 1, 2, 3, 4", "")
                .replace("ORDER BY 1, 2, 3, 4", "")
                .replace("count(*) AS parcels, sum(p.area_m2) AS area_m2", "p.code")
                + ") q WHERE code = :c"
            ),
            {"as_of": AS_OF, "city": None, "c": code},
        ).scalar()
        assert got == band, day


def test_a_past_dates_stock_holds_land_supplied_since(session: Session) -> None:
    """The review's case: on 2024-01-01 a parcel approved in 2020 and supplied in June 2024
    was 批而未供. The age bands count it that day (by the dates, as the supply rates and
    batches do), under 批而未供 (not 熟地), and not after its supply."""
    day = dt.date(2024, 1, 1)
    code = _supplied_parcel(session)
    _set_parcel(
        session,
        code,
        approval_date=dt.date(2020, 1, 1),
        supply_date=dt.date(2024, 6, 1),
        contract_date=dt.date(2024, 6, 1),
        agreed_start_date=dt.date(2025, 1, 1),
    )
    area, city = session.execute(
        text("SELECT area_m2, city_code FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).one()
    truth = session.execute(
        text(
            "SELECT count(*), sum(area_m2) FROM landmatch.parcel WHERE deleted_at IS NULL "
            "AND status <> 'withdrawn' AND approval_date <= :d "
            "AND (supply_date > :d OR (supply_date IS NULL AND status NOT IN ('supplied', 'idle')))"
        ),
        {"d": day},
    ).one()
    r = unsupplied.age_bands(session, ADMIN, day)
    assert sum(b["parcels"] for b in r["bands"]) == truth[0]
    assert sum(b["area_m2"] for b in r["bands"]) == pytest.approx(truth[1])
    mine = [x for x in r["rows"] if x["status"] == "supplied" and x["city_code"] == city]
    assert sum(x["area_m2"] for x in mine) >= area
    by_city = next(c for c in r["by_city"] if c["city_code"] == city)
    assert by_city["unsupplied_m2"] + by_city["ready_m2"] == pytest.approx(
        sum(by_city[f"{b}_m2"] for b in ("lt2", "2to5", "gt5"))
    )
    assert _age_band(session, code, day) == "2to5"
    assert _age_band(session, code, dt.date(2024, 5, 31)) == "2to5"
    assert _age_band(session, code, dt.date(2024, 6, 1)) is None  # supplied that day


@pytest.mark.parametrize("status", ["supplied", "idle"])
def test_land_supplied_at_an_unknown_date_is_not_in_the_stock(
    session: Session, status: str
) -> None:
    """Supplied (or idle) land with no 供地日期 on record: supplied by every date, not 批而未供
    for ever (landmatch.supplied_by); land not yet supplied and undated stays in the stock."""
    code = _supplied_parcel(session)
    _set_parcel(session, code, status=status, approval_date=dt.date(2020, 1, 1), supply_date=None)
    for day in (dt.date(2021, 1, 1), dt.date(2024, 1, 1), AS_OF):
        assert _age_band(session, code, day) is None, day
    _set_parcel(session, code, status="unsupplied")
    assert _age_band(session, code, dt.date(2024, 1, 1)) == "2to5"


def test_supply_rates_per_city_and_county(session: Session) -> None:
    r = unsupplied.supply_rates(session, ADMIN, AS_OF)
    assert r["cohorts"]["five_year"] == {"from_year": 2021, "to_year": 2025}
    cities = [x for x in r["rows"] if x["level"] == "city"]
    counties = [x for x in r["rows"] if x["level"] == "county"]
    assert cities and counties
    for c in cities:
        parts = [x for x in counties if x["city_code"] == c["city_code"]]
        assert sum(x["five_year_approved_m2"] for x in parts) == pytest.approx(
            c["five_year_approved_m2"]
        )
        if c["five_year_rate"] is not None:
            assert 0 <= c["five_year_rate"] <= 1
    sjz = next(x for x in cities if x["city_code"] == "130100")
    expect = session.execute(
        text(
            "SELECT sum(area_m2) FILTER (WHERE supply_date <= :d) / sum(area_m2) FROM landmatch.parcel "
            "WHERE deleted_at IS NULL AND status <> 'withdrawn' AND city_code = '130100' "
            "AND extract(year FROM approval_date) = 2025"
        ),
        {"d": AS_OF},
    ).scalar_one()
    assert sjz["last_year_rate"] == pytest.approx(float(expect), abs=1e-4)


def test_batches_measure_unsupplied_spatially(session: Session) -> None:
    r = unsupplied.batches(session, ADMIN, AS_OF)
    assert r["rows"], "the seed stores demo approval batches"
    for b in r["rows"]:
        members = session.execute(
            text(
                "SELECT coalesce(sum(p.area_m2) FILTER (WHERE p.status IN ('supplied','idle')), 0), "
                "count(*) FROM landmatch.parcel p JOIN landmatch.approval_batch b "
                "ON ST_Within(p.geom, b.geom) WHERE b.id = :i AND p.deleted_at IS NULL"
            ),
            {"i": b["id"]},
        ).one()
        assert members[1] >= 2
        assert b["supplied_m2"] == pytest.approx(members[0], rel=1e-6)
        assert b["supplied_m2"] + b["unsupplied_m2"] == pytest.approx(b["approved_m2"], rel=1e-6)
    # A supplied parcel straddling the batch edge counts only with the part inside the batch.
    b = r["rows"][0]
    session.execute(
        text(
            "UPDATE landmatch.parcel SET geom = ST_Multi(ST_Union(geom, ST_Translate(geom, 0.01, 0))) "
            "WHERE id = (SELECT p.id FROM landmatch.parcel p JOIN landmatch.approval_batch b "
            "ON ST_Within(p.geom, b.geom) WHERE b.id = :i AND p.status IN ('supplied','idle') "
            "ORDER BY p.id LIMIT 1)"
        ),
        {"i": b["id"]},
    )
    again = next(x for x in unsupplied.batches(session, ADMIN, AS_OF)["rows"] if x["id"] == b["id"])
    assert again["supplied_m2"] == pytest.approx(b["supplied_m2"], rel=1e-6)


def _set_parcel(session: Session, code: str, **values: Any) -> None:
    sets = ", ".join(f"{k} = :{k}" for k in values)
    session.execute(
        text(f"UPDATE landmatch.parcel SET {sets} WHERE code = :code"), {**values, "code": code}
    )


def _scanned(session: Session, code: str, city: str, as_of: dt.date = AS_OF) -> dict[str, Any]:
    """The parcel's scanned row, checked against the pure rule of its own inputs."""
    row = next(
        r for r in scan.scan_rows(session, as_of, IdleRule(fee_rate=FEE), city) if r["code"] == code
    )
    _agrees(row, assess(_inputs(row), as_of, rules.rule_for_city(session, city, FEE)))
    return row


def _supplied_parcel(session: Session, city: str = "130100") -> str:
    return str(
        session.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE city_code = :c AND deleted_at IS NULL "
                "AND status = 'supplied' AND land_price_wan IS NOT NULL ORDER BY code LIMIT 1"
            ),
            {"c": city},
        ).scalar_one()
    )


def test_the_stalled_test_reads_the_invested_amounts(session: Session) -> None:
    """Started, stopped since 2022, no stored ratios but the amounts filled in: the invested
    ratio is invested ÷ total in the idle scan (both twins) as in the transfer routes — 80 %
    is not short, 20 % is; only a parcel with neither ratios nor amounts is ratios_missing."""
    code = _supplied_parcel(session)
    _set_parcel(
        session,
        code,
        approval_date=dt.date(2019, 1, 1),
        supply_date=dt.date(2019, 6, 1),
        contract_date=dt.date(2019, 6, 1),
        agreed_start_date=dt.date(2020, 1, 1),
        actual_start_date=dt.date(2020, 1, 1),
        stopped_since=dt.date(2022, 1, 1),
        total_investment_wan=10000,
        invested_wan=8000,
        invest_ratio=None,
        developed_ratio=None,
        gov_caused=False,
    )
    row = _scanned(session, code, "130100")
    assert (row["stage"], row["clause"], row["flags"]) == ("normal", None, [])
    route = next(t for t in transfer.iter_rows(session, ADMIN, "130100") if t["code"] == code)
    assert (route["ratio"], route["route"]) == (pytest.approx(0.8), "transferable_now")
    _set_parcel(session, code, invested_wan=2000)
    row = _scanned(session, code, "130100")
    assert (row["stage"], row["clause"]) == ("recoverable", "stalled")
    assert row["flags"] == ["discretionary"]
    for total, invested in ((None, 2000), (0, 2000), (10000, None)):
        _set_parcel(session, code, total_investment_wan=total, invested_wan=invested)
        row = _scanned(session, code, "130100")
        assert "ratios_missing" in row["flags"] and row["stage"] == "recoverable"
    # A stored ratio wins over the amounts, in both.
    _set_parcel(session, code, total_investment_wan=10000, invested_wan=1000, invest_ratio=0.5)
    assert _scanned(session, code, "130100")["stage"] == "normal"


def test_a_third_developed_is_a_third_with_or_without_a_rule_row(session: Session) -> None:
    """The review's parcel: developed 1/3 (stored 0.3333), invested 50 %, stopped since 2022.
    Without a monitoring_rule row (threshold 1/3 from IdleRule) and with a city row holding the
    column default (0.3333) it meets the 1/3 test in both twins; 0.3332 is short in both."""
    code = _supplied_parcel(session)
    _set_parcel(
        session,
        code,
        approval_date=dt.date(2019, 1, 1),
        supply_date=dt.date(2019, 6, 1),
        contract_date=dt.date(2019, 6, 1),
        agreed_start_date=dt.date(2020, 1, 1),
        actual_start_date=dt.date(2020, 1, 1),
        stopped_since=dt.date(2022, 1, 1),
        invested_wan=None,
        total_investment_wan=None,
        invest_ratio=0.5,
        developed_ratio=1 / 3,
        gov_caused=False,
    )
    session.execute(text("DELETE FROM landmatch.monitoring_rule"))
    stored = session.execute(
        text("SELECT developed_ratio FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).scalar_one()
    assert str(stored) == "0.3333"
    assert _scanned(session, code, "130100")["stage"] == "normal"
    rules.set_rule(session, "130100", {}, "t", if_match=ANY)  # a row of column defaults
    assert rules.rule_for_city(session, "130100", FEE).developed_ratio_min == 0.3333
    assert _scanned(session, code, "130100")["stage"] == "normal"
    _set_parcel(session, code, developed_ratio=0.3332)
    assert _scanned(session, code, "130100")["clause"] == "stalled"
    session.execute(text("DELETE FROM landmatch.monitoring_rule"))
    assert _scanned(session, code, "130100")["clause"] == "stalled"


def test_a_rule_row_of_column_defaults_is_the_built_in_rule(session: Session) -> None:
    """One definition of the default thresholds: a monitoring_rule row written with nothing
    but its city takes the columns' defaults, and they are IdleRule's (the ratios at the
    stored precision: 0.3333 is 1/3)."""
    from dataclasses import asdict

    from landmatch.monitoring.idle import ratio_below

    session.execute(text("DELETE FROM landmatch.monitoring_rule"))
    session.execute(text("INSERT INTO landmatch.monitoring_rule (city_code) VALUES ('130100')"))
    row, built_in = rules.rule_for_city(session, "130100", FEE), IdleRule(fee_rate=FEE)
    for name, value in asdict(built_in).items():
        got = getattr(row, name)
        if name.endswith("_min"):
            assert not ratio_below(got, value) and not ratio_below(value, got), name
        else:
            assert got == value, name


def test_a_citys_stoppage_length_sets_the_stalled_lines(session: Session) -> None:
    """stall_min_months is read by both twins: stopped since 2024-01-01 (the review's
    parcel), idle from 2025-01-01 by default, from 2026-01-01 where the city asks for 24."""
    code = _supplied_parcel(session)
    _set_parcel(
        session,
        code,
        approval_date=dt.date(2019, 1, 1),
        supply_date=dt.date(2019, 6, 1),
        contract_date=dt.date(2019, 6, 1),
        agreed_start_date=dt.date(2020, 1, 1),
        actual_start_date=dt.date(2020, 3, 1),
        stopped_since=dt.date(2024, 1, 1),
        developed_ratio=0.1,
        invest_ratio=0.1,
        gov_caused=False,
    )
    day = dt.date(2025, 2, 1)
    assert _scanned(session, code, "130100", day)["stage"] == "idle_fee"
    rules.set_rule(session, "130100", {"stall_min_months": 24}, "t", if_match=ANY)
    row = _scanned(session, code, "130100", day)
    assert (row["stage"], row["clause"], row["days_to_idle"]) == ("at_risk", "stalled", 334)
    assert _scanned(session, code, "130100", dt.date(2026, 1, 1))["stage"] == "idle_fee"
    assert _scanned(session, code, "130100", dt.date(2027, 1, 1))["stage"] == "recoverable"


def test_transfer_route_threshold(session: Session) -> None:
    r = transfer.transfer_routes(session, ADMIN)
    assert r["counts"]["transferable_now"] > 0 and r["counts"]["notice_registration"] > 0
    for row in r["rows"]:
        if row["ratio"] is not None:
            assert (row["route"] == "transferable_now") == (row["ratio"] >= 0.25)
    assert transfer.route(0.25) == "transferable_now"
    assert transfer.route(0.2499) == "notice_registration"


def _idle_parcel(
    session: Session, stage: str = "recoverable", as_of: dt.date = AS_OF
) -> dict[str, Any]:
    taken = {c["parcel_code"] for c in cases.list_cases(session, ADMIN, status="open")}
    for r in scan.scan_rows(session, as_of, IdleRule()):
        if r["stage"] == stage and r["status"] == "idle" and r["code"] not in taken:
            return r
    raise AssertionError("no idle parcel in the seed")


def _walk(session: Session, case_id: int, start: dt.date) -> dt.date:
    day = start
    for k in ("investigation_notice", "holder_reply", "determination", "public_notice"):
        day += dt.timedelta(days=10)
        cases.complete_step(session, ADMIN, case_id, k, done_on=day, if_match=ANY)
    return day


def test_recovery_case_makes_the_parcel_ready_and_matchable(session: Session) -> None:
    p = _idle_parcel(session)
    public = Principal()
    visible = list_parcels(session, ParcelFilter(status=["ready"], limit=100_000), public)
    assert p["code"] not in {f["id"] for f in visible["features"]}
    c = cases.open_case(session, ADMIN, p["code"], opened_on=AS_OF, fee_rate=FEE)
    assert c["kind"] == "idle" and c["stage_at_open"] == "recoverable"
    assert [s["kind"] for s in c["steps"]][:2] == ["investigation_notice", "holder_reply"]
    # The holder's reply is due 30 days after the notice.
    notice = AS_OF + dt.timedelta(days=5)
    c = cases.complete_step(
        session, ADMIN, c["id"], "investigation_notice", done_on=notice, if_match=ANY
    )
    assert c["steps"][1]["due_on"] == (notice + dt.timedelta(days=30)).isoformat()
    with pytest.raises(Conflict):
        cases.decide(
            session, ADMIN, c["id"], "recovery", decided_on=notice, fee_rate=FEE, if_match=ANY
        )
    day = notice
    for k in ("holder_reply", "determination", "public_notice"):
        day += dt.timedelta(days=10)
        cases.complete_step(session, ADMIN, c["id"], k, done_on=day, if_match=ANY)
    done = cases.decide(
        session, ADMIN, c["id"], "recovery", decided_on=day, fee_rate=FEE, if_match=ANY
    )
    assert done["status"] == "closed" and done["decision"] == "recovery"
    row = session.execute(
        text(
            "SELECT status, visibility, holder, contract_date, version FROM landmatch.parcel "
            "WHERE code = :c"
        ),
        {"c": p["code"]},
    ).one()
    assert row.status == "ready" and row.visibility == "public" and row.holder is None
    ver = session.execute(
        text(
            "SELECT actor, reason, row->>'status' FROM landmatch.parcel_version_full "
            "WHERE code = :c "
            "ORDER BY version DESC LIMIT 1"
        ),
        {"c": p["code"]},
    ).one()
    assert ver[0] == "t-admin" and "无偿收回" in ver[1] and ver[2] == "ready"
    visible = list_parcels(session, ParcelFilter(status=["ready"], limit=100_000), public)
    assert p["code"] in {f["id"] for f in visible["features"]}
    # ... and the matching engine offers it: a public match for land like it ranks it,
    # unless it lies in an exclusion area (then that, not its status, is why).
    from landmatch.match.engine import run_match
    from landmatch.match.requirements import Requirement

    area_mu, city, land_use, excluded = session.execute(
        text(
            "SELECT p.area_m2 * 15 / 10000, p.city_code, p.land_use, f.excluded "
            "FROM landmatch.parcel p JOIN landmatch.parcel_fact f ON f.parcel_id = p.id "
            "WHERE p.code = :c"
        ),
        {"c": p["code"]},
    ).one()
    req = Requirement(
        land_uses=[land_use],
        area_mu_min=float(area_mu) - 0.5,
        area_mu_max=float(area_mu) + 0.5,
        location={"cities": [city]},
        top=200,
        assemblies=False,
    )
    result = run_match(session, req, public, store=False, today=AS_OF)
    ranked = {f["properties"]["code"] for f in result["features"]}
    assert (p["code"] in ranked) != bool(excluded)
    hist = session.execute(
        text(
            "SELECT count(*) FROM landmatch.layer_version WHERE layer = 'disposal_case' "
            "AND record_id = :i"
        ),
        {"i": c["id"]},
    ).scalar_one()
    assert hist >= 5  # insert + one update per step + the decision


def test_case_rules(session: Session) -> None:
    p = _idle_parcel(session, "idle_fee")
    with pytest.raises(Forbidden):
        cases.open_case(
            session, Principal(name="p", role="promoter"), p["code"], opened_on=AS_OF, fee_rate=FEE
        )
    if p["city_code"] != "130200":
        with pytest.raises(Forbidden):
            cases.open_case(
                session,
                Principal(name="b", role="bureau", city_code="130200"),
                p["code"],
                opened_on=AS_OF,
                fee_rate=FEE,
            )
    c = cases.open_case(session, ADMIN, p["code"], opened_on=AS_OF, fee_rate=FEE)
    with pytest.raises(Conflict):
        cases.open_case(session, ADMIN, p["code"], opened_on=AS_OF, fee_rate=FEE)
    with pytest.raises(Conflict):  # out of order
        cases.complete_step(session, ADMIN, c["id"], "determination", done_on=AS_OF, if_match=ANY)
    day = _walk(session, c["id"], AS_OF)
    with pytest.raises(InvalidInput):  # unsupplied decision on an idle case
        cases.decide(session, ADMIN, c["id"], "supply", decided_on=day, fee_rate=FEE, if_match=ANY)
    with pytest.raises(InvalidInput, match="政府原因"):  # Art. 12: not for the holder's delay
        cases.decide(
            session,
            ADMIN,
            c["id"],
            "extension",
            decided_on=day,
            fee_rate=FEE,
            new_start_date=day + dt.timedelta(days=100),
            if_match=ANY,
        )
    fee = cases.decide(session, ADMIN, c["id"], "fee", decided_on=day, fee_rate=FEE, if_match=ANY)
    assert fee["fee_wan"] == pytest.approx(round(FEE * float(p["land_price_wan"]), 2))
    status = session.execute(
        text("SELECT status FROM landmatch.parcel WHERE code = :c"), {"c": p["code"]}
    ).scalar()
    assert status == "idle"  # a fee alone does not dispose of the land


@pytest.mark.parametrize(
    ("decided", "latest"),
    [
        # 365 days after 2023-03-01 is 2024-02-29; the year runs to the anniversary, 1 March.
        (dt.date(2023, 3, 1), dt.date(2024, 3, 1)),
        # From 29 February the year ends on 28 February of the common year.
        (dt.date(2024, 2, 29), dt.date(2025, 2, 28)),
    ],
)
def test_extension_is_at_most_one_calendar_year(
    session: Session, decided: dt.date, latest: dt.date
) -> None:
    p = _idle_parcel(session, "gov_caused", decided)  # extensions are for government delays
    opened = decided - dt.timedelta(days=40)
    c = cases.open_case(session, ADMIN, p["code"], opened_on=opened, fee_rate=FEE)
    assert _walk(session, c["id"], opened) == decided
    with pytest.raises(InvalidInput, match="不超过一年"):
        cases.decide(
            session,
            ADMIN,
            c["id"],
            "extension",
            decided_on=decided,
            fee_rate=FEE,
            new_start_date=latest + dt.timedelta(days=1),
            if_match=ANY,
        )
    out = cases.decide(
        session,
        ADMIN,
        c["id"],
        "extension",
        decided_on=decided,
        fee_rate=FEE,
        new_start_date=latest,
        if_match=ANY,
    )
    assert out["decision"] == "extension"
    start = session.execute(
        text("SELECT agreed_start_date FROM landmatch.parcel WHERE code = :c"), {"c": p["code"]}
    ).scalar()
    assert start == latest


def _decided(session: Session, code: str, decision: str, **kw: Any) -> tuple[dt.date, Any]:
    """A case opened on ``code`` at AS_OF, walked to its decision and decided: the decision's
    day and the parcel's row after it."""
    c = cases.open_case(session, ADMIN, code, opened_on=AS_OF, fee_rate=FEE)
    day = _walk(session, c["id"], AS_OF)
    cases.decide(
        session, ADMIN, c["id"], decision, decided_on=day, fee_rate=FEE, if_match=ANY, **kw
    )
    row = session.execute(
        text(
            "SELECT status, agreed_start_date, start_extended, gov_caused, gov_cause "
            "FROM landmatch.parcel WHERE code = :c"
        ),
        {"c": code},
    ).one()
    return day, row


def test_an_extension_is_the_deadline_itself(session: Session) -> None:
    """Art. 12: "except for the extension, the start clock restarts from the new agreed date".
    A government-caused idle parcel whose start is extended is idle the day the extended
    deadline passes unstarted (both twins), not a year later; a change of use restarts the
    clock with a full year of grace. Either way the government's cause is disposed of."""
    gov = [
        r
        for r in scan.scan_rows(session, AS_OF, IdleRule())
        if r["stage"] == "gov_caused" and r["status"] == "idle"
    ]
    extended, changed = gov[0], gov[1]
    day, row = _decided(session, extended["code"], "extension", new_start_date=add_months(AS_OF, 6))
    deadline = add_months(AS_OF, 6)
    assert tuple(row) == ("supplied", deadline, True, False, None)
    city = extended["city_code"]
    for as_of, stage in (
        (deadline - dt.timedelta(days=1), "at_risk"),
        (deadline, "idle_fee"),
        (add_months(deadline, 12) - dt.timedelta(days=1), "idle_fee"),
        (add_months(deadline, 12), "recoverable"),
    ):
        r = _scanned(session, extended["code"], city, as_of)
        assert (r["stage"], r["start_due"]) == (stage, deadline), as_of
        assert "start_extended" in r["flags"]
    _day, row = _decided(session, changed["code"], "change_use", new_start_date=deadline)
    assert tuple(row) == ("supplied", deadline, False, False, None)
    city = changed["city_code"]
    assert _scanned(session, changed["code"], city, deadline)["stage"] == "at_risk"
    assert _scanned(session, changed["code"], city, add_months(deadline, 12))["stage"] == (
        "idle_fee"
    )


def _walked_case(session: Session, code: str) -> tuple[int, dt.date]:
    c = cases.open_case(session, ADMIN, code, opened_on=AS_OF, fee_rate=FEE)
    return c["id"], _walk(session, c["id"], AS_OF)


def _refused(session: Session, case_id: int, decision: str, day: dt.date, **kw: Any) -> Any:
    """The refusal of ``decision`` (InvalidInput), the case left open."""
    with pytest.raises(InvalidInput) as refused:
        cases.decide(
            session, ADMIN, case_id, decision, decided_on=day, fee_rate=FEE, if_match=ANY, **kw
        )
    assert cases.get_case(session, ADMIN, case_id)["status"] == "open"
    return refused.value


def test_decisions_follow_the_parcels_stage(session: Session) -> None:
    """Order 53 (docs/domain.md §5), as the review reproduced it: government-caused idle land
    is disposed of by the Art. 12 options only (no fee, no free recovery); land idle through
    the holder for a year pays the fee but is not recovered free before its second year; the
    refusal names the stage, the rule and what the stage allows."""
    code = _supplied_parcel(session)
    price = session.execute(
        text("SELECT land_price_wan FROM landmatch.parcel WHERE code = :c"), {"c": code}
    ).scalar_one()
    _set_parcel(
        session,
        code,
        contract_date=AS_OF - dt.timedelta(days=500),
        agreed_start_date=AS_OF - dt.timedelta(days=430),
        actual_start_date=None,
        stopped_since=None,
        gov_caused=True,
        gov_cause="交地延迟",
    )
    case_id, day = _walked_case(session, code)
    assert cases.get_case(session, ADMIN, case_id)["stage_at_open"] == "gov_caused"
    stage, allowed = cases.decisions_allowed(session, ADMIN, case_id, day, FEE)
    assert (stage, list(allowed)) == (
        "gov_caused",
        ["extension", "change_use", "temporary_use", "negotiated_recovery", "swap"],
    )
    for decision, rule in (("recovery", "第十四条第二项"), ("fee", "第十四条第一项")):
        e = _refused(session, case_id, decision, day)
        assert "“政府原因闲置”" in e.message and rule in e.message and "协议有偿收回" in e.message
        assert e.detail["field"] == "decision" and e.detail["stage"] == "gov_caused"
    # The holder's delay, 14 months: the fee, not yet free recovery nor an Art. 12 option.
    _set_parcel(session, code, gov_caused=False, gov_cause=None)
    e = _refused(session, case_id, "recovery", day)
    assert "“征缴闲置费”" in e.message and "满两年" in e.message and e.detail["allowed"] == ["fee"]
    assert "只适用于政府原因" in _refused(session, case_id, "swap", day).message
    # The fee is the rule's (20 % of the price) at most; a fee belongs to a fee decision only.
    cap = round(FEE * float(price), 2)
    e = _refused(session, case_id, "fee", day, fee_wan=cap + 0.01)
    assert e.detail == {"field": "fee_wan", "max": cap} and "超过" in e.message
    assert _refused(session, case_id, "fee", day, fee_wan=0).detail == {"field": "fee_wan"}
    _set_parcel(  # recoverable
        session,
        code,
        contract_date=AS_OF - dt.timedelta(days=900),
        agreed_start_date=AS_OF - dt.timedelta(days=800),
    )
    assert "fee_wan" in _refused(session, case_id, "recovery", day, fee_wan=10).message
    done = cases.decide(
        session, ADMIN, case_id, "fee", decided_on=day, fee_rate=FEE, fee_wan=cap - 1, if_match=ANY
    )
    assert done["status"] == "closed" and float(done["fee_wan"]) == pytest.approx(cap - 1)


def test_a_case_opens_on_idle_or_at_risk_land_only(session: Session) -> None:
    """Normal land and land whose stage cannot be told are refused, naming why; land at risk
    opens, but no decision is taken before it is idle."""
    code = _supplied_parcel(session)
    _set_parcel(
        session,
        code,
        contract_date=AS_OF - dt.timedelta(days=100),
        agreed_start_date=AS_OF + dt.timedelta(days=200),
        actual_start_date=None,
        stopped_since=None,
        gov_caused=False,
    )
    with pytest.raises(InvalidInput, match="“正常”") as refused:
        cases.open_case(session, ADMIN, code, opened_on=AS_OF, fee_rate=FEE)
    assert refused.value.detail == {"field": "parcel_code", "stage": "normal"}
    _set_parcel(session, code, contract_date=None, agreed_start_date=None)
    with pytest.raises(InvalidInput, match="无法判定闲置阶段"):
        cases.open_case(session, ADMIN, code, opened_on=AS_OF, fee_rate=FEE)
    _set_parcel(session, code, agreed_start_date=AS_OF - dt.timedelta(days=100))
    case_id, day = _walked_case(session, code)
    assert cases.get_case(session, ADMIN, case_id)["stage_at_open"] == "at_risk"
    assert cases.decisions_allowed(session, ADMIN, case_id, day, FEE) == ("at_risk", {})
    e = _refused(session, case_id, "fee", day)
    assert "尚未构成闲置土地" in e.message and e.detail["allowed"] == []


def test_overdue_steps_raise_alerts(session: Session) -> None:
    p = _idle_parcel(session)
    c = cases.open_case(session, ADMIN, p["code"], opened_on=AS_OF, fee_rate=FEE)
    first_due = dt.date.fromisoformat(c["steps"][0]["due_on"])
    assert c["id"] not in {a["case_id"] for a in cases.overdue(session, ADMIN, first_due)}
    late = cases.overdue(session, ADMIN, first_due + dt.timedelta(days=3))
    mine = [a for a in late if a["case_id"] == c["id"]]
    assert len(mine) == 1 and mine[0]["days_overdue"] == 3
    assert mine[0]["step"] == "investigation_notice"


def test_targets_progress_counts_closed_disposals(session: Session) -> None:
    p = _idle_parcel(session)
    year = 2027
    targets.set_target(
        session,
        ADMIN,
        city_code=p["city_code"],
        year=year,
        kind="idle",
        target_area_m2=p["area_m2"] * 2,
        if_match=ANY,
    )
    t0 = targets.progress(session, ADMIN, dt.date(year, 3, 1), city=p["city_code"])["targets"][0]
    assert t0["deadline"] == f"{year}-09-30" and t0["done_area_m2"] == 0
    c = cases.open_case(session, ADMIN, p["code"], opened_on=dt.date(year, 1, 5), fee_rate=FEE)
    day = _walk(session, c["id"], dt.date(year, 1, 5))
    with pytest.raises(InvalidInput, match="政府原因"):  # Art. 12 is for government delays
        cases.decide(
            session,
            ADMIN,
            c["id"],
            "negotiated_recovery",
            decided_on=day,
            fee_rate=FEE,
            if_match=ANY,
        )
    t = targets.progress(session, ADMIN, dt.date(year, 3, 1), city=p["city_code"])["targets"][0]
    assert t["done_area_m2"] == 0 and t["cases"] == 0  # a refused decision counts nothing
    cases.decide(session, ADMIN, c["id"], "recovery", decided_on=day, fee_rate=FEE, if_match=ANY)
    t1 = targets.progress(session, ADMIN, dt.date(year, 3, 1), city=p["city_code"])["targets"][0]
    assert t1["done_area_m2"] == pytest.approx(p["area_m2"])
    assert t1["progress"] == pytest.approx(0.5, abs=1e-4) and t1["state"] == "on_track"
    t2 = targets.progress(session, ADMIN, dt.date(year, 10, 1), city=p["city_code"])["targets"][0]
    assert t2["state"] == "missed" and t2["days_left"] == -1


def test_zone_kpis_ranked(session: Session) -> None:
    r = zones.zone_kpis(session, ADMIN, AS_OF)
    ranked = [z for z in r["zones"] if z["rank"] is not None]
    assert len(ranked) > 10
    scores = [z["score"] for z in ranked]
    assert scores == sorted(scores, reverse=True)
    z = next(z for z in ranked if z["supplied_m2"] > 0 and z["approved_m2"] > 0)
    assert z["supply_rate"] == pytest.approx(z["supplied_m2"] / z["approved_m2"], abs=1e-4)
    # The zones' 投资强度 is the amount invested over the supplied area, and says so: not the
    # 标准地 fixed-asset intensity a parcel's floor is (docs/domain.md §8).
    assert r["kpis"]["invest_intensity_wan_per_mu"] == "投资强度（已投资额÷供地面积，万元/亩）"


def _zone_figures(client: TestClient, token: str | None, code: str, day: dt.date) -> Any:
    """The 石家庄 zone ``code``'s row of /api/monitoring/zones on ``day`` (the status when
    refused)."""
    headers = auth(token) if token else {}
    query = {"as_of": day.isoformat(), "city": "130100"}
    r = client.get("/api/monitoring/zones", params=query, headers=headers)
    if r.status_code != 200:
        return r.status_code
    row = next(z for z in r.json()["zones"] if z["code"] == code)
    # The zone's own figures (its rank and percentiles are among the zones the caller sees).
    return {k: v for k, v in row.items() if k not in ("score", "rank") and not k.endswith("_pct")}


def test_a_past_dates_zone_kpis_are_the_dates(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    """A zone's figures on a past date count the land supplied by that date (landmatch.supplied_by,
    as the supply rates and the 批而未供 stock do) and approved by it, not the parcels' status
    today: a parcel of a 石家庄 zone approved in March 2024 and supplied in June 2024 is in
    neither figure on 2024-01-01, approved but not supplied on 2024-05-31, both from 2024-06-01.
    Read through the API as each role (a city bureau reads its own city's zones only)."""
    from landmatch.accounts.users import add_user

    code, zone, area = session.execute(
        text(
            "SELECT p.code, z.code, p.area_m2 FROM landmatch.parcel p "
            "JOIN landmatch.dev_zone z ON z.id = p.zone_id WHERE p.city_code = '130100' "
            "AND z.city_code = '130100' AND p.status = 'supplied' AND p.deleted_at IS NULL "
            "ORDER BY p.code LIMIT 1"
        )
    ).one()
    _set_parcel(
        session,
        code,
        approval_date=dt.date(2024, 3, 1),
        supply_date=dt.date(2024, 6, 1),
        contract_date=dt.date(2024, 6, 1),
        actual_start_date=dt.date(2024, 8, 1),
        developed_ratio=0.5,
    )
    tokens = {
        **tokens,
        "province": add_user(session, "t-bureau-prov", "bureau", "130000"),
        "bureau_other": add_user(session, "t-bureau-ts", "bureau", "130200"),
    }
    session.flush()
    days = (dt.date(2024, 1, 1), dt.date(2024, 5, 31), dt.date(2024, 6, 1))
    admin = [_zone_figures(client, tokens["admin"], zone, d) for d in days]
    jan, may, june = admin
    assert may["approved_m2"] - jan["approved_m2"] >= area - 0.01
    supplied = session.execute(  # every parcel of the zone supplied on 2024-06-01, this one too
        text(
            "SELECT sum(p.area_m2) FROM landmatch.parcel p JOIN landmatch.dev_zone z "
            "ON z.id = p.zone_id WHERE z.code = :z AND p.deleted_at IS NULL "
            "AND p.status <> 'withdrawn' AND p.supply_date = '2024-06-01'"
        ),
        {"z": zone},
    ).scalar_one()
    assert supplied >= area
    assert june["supplied_m2"] - may["supplied_m2"] == pytest.approx(supplied)
    assert june["approved_m2"] == pytest.approx(may["approved_m2"])
    assert may["supply_rate"] == pytest.approx(may["supplied_m2"] / may["approved_m2"], abs=1e-4)
    for role, want in (
        (None, 401),
        ("bureau", 200),
        ("bureau_other", 403),
        ("zone", 200),
        ("promoter", 200),
        ("province", 200),
        ("admin", 200),
    ):
        got = [_zone_figures(client, tokens[role] if role else None, zone, d) for d in days]
        assert got == (admin if want == 200 else [want] * 3), role


def test_workbook_has_every_table(session: Session) -> None:
    data = export.workbook(session, ADMIN, AS_OF, IdleRule())
    wb = load_workbook(io.BytesIO(data), read_only=True)
    assert {
        "闲置土地",
        "批而未供账龄",
        "供地率",
        "批次空间核算",
        "转让路径",
        "处置案件",
        "处置步骤",
        "逾期提醒",
        "年度处置目标",
        "开发区指标排名",
    } <= set(wb.sheetnames)
    ws = wb["闲置土地"]
    header = next(ws.iter_rows(max_row=1, values_only=True))
    assert "闲置阶段" in header and "闲置费(万元)" in header and header[0] == "序号"
    codes = [r[1] for r in ws.iter_rows(min_row=2, values_only=True)]
    # The sheet streams from a server-side cursor: every scanned row, in order.
    assert codes == [r["code"] for r in scan.scan_rows(session, AS_OF, IdleRule())]
    batches = list(scan.column_batches(session, AS_OF, IdleRule(), chunk=7))
    assert {len(b["code"]) for b in batches[:-1]} == {7}
    assert [code for b in batches for code in b["code"]] == codes


@pytest.mark.parametrize(("n", "chunk"), [(0, 4), (5, 5), (11, 4), (3, 2000)])
def test_column_batches_read_ahead_as_a_plain_query_reads(
    session: Session, n: int, chunk: int
) -> None:
    """The read-ahead stream (a FETCH sent before the previous batch is handed out) gives the
    query's rows in order, in full batches but the last, with bound parameters and a literal
    % sign, and closes its server cursor."""
    query = "SELECT g AS n, g % 3 AS r, 'a%' || :tag AS t FROM generate_series(1, :n) g ORDER BY g"
    plain = session.execute(text(query), {"n": n, "tag": "x"}).all()
    batches = list(msql.column_batches(session, query, {"n": n, "tag": "x"}, chunk))
    assert all(len(b["n"]) == chunk for b in batches[:-1]) and all(b["n"] for b in batches)
    assert [(a, b, c) for batch in batches for a, b, c in zip(*batch.values(), strict=True)] == [
        tuple(r) for r in plain
    ]
    assert session.execute(text("SELECT count(*) FROM pg_cursors")).scalar_one() == 0


def test_column_batches_stopped_early_or_failing_leave_no_cursor(session: Session) -> None:
    """A caller that stops after the first batch leaves no cursor open and the session usable;
    a statement failing in a later batch raises (the batches before it were handed out)."""
    query = "SELECT g, 10 / (g - :bad) AS q FROM generate_series(1, 100) g"
    stream = msql.column_batches(session, query, {"bad": 1000}, 7)
    assert list(next(stream)["g"]) == list(range(1, 8))
    stream.close()
    assert session.execute(text("SELECT count(*) FROM pg_cursors")).scalar_one() == 0
    with session.begin_nested():
        seen: list[int] = []
        with pytest.raises(psycopg.errors.DivisionByZero):
            for batch in msql.column_batches(session, query, {"bad": 30}, 7):
                seen.extend(batch["g"])
        assert seen and max(seen) < 30
        session.rollback()  # the failed transaction (the test's outer one goes on)


def test_the_idle_stream_is_the_listing_in_its_order(session: Session) -> None:
    """The export's idle-land stream (ORDER BY appended to the packaged query, which must end
    with its FROM s) gives a city's rows as the listing does, in the same order."""
    assert msql.load("monitoring_idle").rstrip().endswith("FROM s")
    listed = scan.scan_rows(session, AS_OF, IdleRule(), "130100")
    with contextlib.closing(scan.column_batches(session, AS_OF, IdleRule(), "130100")) as s:
        streamed = [(c, st) for b in s for c, st in zip(b["code"], b["stage"], strict=True)]
    assert listed and streamed == [(r["code"], r["stage"]) for r in listed]


def test_a_workbook_failing_mid_sheet_closes_its_stream(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sheet writer that fails half-way through a parcel sheet leaves the session's
    connection out of pipeline mode and usable, even while the failure (and with it the
    writer's frames) is still held."""

    def failing(wb: Any, title: str, *tables: Any, **_: Any) -> None:
        if title == "闲置土地":
            next(iter(tables[0].rows))  # the stream has begun: a FETCH is in flight
            raise OSError("disk full")

    monkeypatch.setattr(export, "write_sheet", failing)
    with pytest.raises(OSError, match="disk full") as failure:
        export.workbook(session, ADMIN, AS_OF, IdleRule())
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    assert raw.pgconn.pipeline_status == psycopg.pq.PipelineStatus.OFF
    assert session.execute(text("SELECT count(*) FROM pg_cursors")).scalar_one() == 0
    assert failure.value is not None  # still held


def test_the_pool_never_hands_out_a_connection_left_streaming(settings: Settings) -> None:
    """The net under the callers' closing: a stream left open when its session ended (its
    connection back in the pool with a FETCH in flight) is not handed to the next session,
    which gets a new connection and its own results."""
    engine = get_engine(settings.database_url, pool_size=1)
    try:
        with Session(engine) as first:
            stream = msql.column_batches(first, "SELECT g FROM generate_series(1, 50) g", {}, 7)
            assert list(next(stream)["g"]) == list(range(1, 8))
            left = first.connection().connection.driver_connection
        with Session(engine) as second:
            assert second.execute(text("SELECT 41 + 1")).scalar_one() == 42
            assert second.connection().connection.driver_connection is not left
        stream.close()  # its connection is gone: psycopg only logs the pipeline it cannot end
    finally:
        engine.dispose()


@pytest.mark.parametrize("city", [None, "130100"])
def test_idle_report_counts_in_sql_as_the_rows_say(session: Session, city: str | None) -> None:
    """The report's counts (a GROUP BY) and pages (LIMIT/OFFSET in SQL) against the scanned
    rows themselves: per stage, per city, fees, fallbacks, and each stage's pages in order."""
    from collections import Counter

    rule = IdleRule(fee_rate=FEE)
    rows = scan.scan_rows(session, AS_OF, rule, city)
    report = scan.idle_report(session, ADMIN, AS_OF, rule, city=city, limit=0)
    assert report["scanned"] == len(rows) and report["items"] == []
    counts = Counter(r["stage"] for r in rows)
    assert {s["stage"]: s["count"] for s in report["stages"]} == {
        s: counts.get(s, 0) for s in scan.STAGE_ORDER
    }
    for s in report["stages"]:
        area = sum(r["area_m2"] for r in rows if r["stage"] == s["stage"])
        assert s["area_m2"] == pytest.approx(area, abs=0.1)
    fees = sum(float(r["fee_wan"] or 0) for r in rows)
    assert report["fee_total_wan"] == pytest.approx(fees, abs=0.01)
    fallback = sum(1 for r in rows if "start_date_fallback" in r["flags"])
    assert report["flagged_fallback"] == fallback
    for c in report["by_city"]:
        mine = [r for r in rows if r["city_code"] == c["city_code"]]
        assert sum(c[s] for s in scan.STAGE_ORDER) == len(mine)
        idle = sum(r["area_m2"] for r in mine if r["stage"] in scan.IDLE_AREA_STAGES)
        assert c["idle_area_m2"] == pytest.approx(idle, abs=0.1)
    stage = counts.most_common(1)[0][0]
    listed = [r["code"] for r in rows if r["stage"] == stage]
    first = scan.idle_report(session, ADMIN, AS_OF, rule, city=city, stage=stage, limit=7)
    last = scan.idle_report(
        session, ADMIN, AS_OF, rule, city=city, stage=stage, limit=7, offset=len(listed) - 3
    )
    assert first["numberMatched"] == len(listed) == last["numberMatched"]
    assert [i["code"] for i in first["items"]] == listed[:7]
    assert [i["code"] for i in last["items"]] == listed[-3:]
    assert all(i["stage_label"] == IDLE_STAGES[stage] for i in first["items"])


def test_api_monitoring(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/api/monitoring/idle").status_code == 401
    h = auth(tokens["promoter"])
    r = client.get(
        "/api/monitoring/idle",
        params={"as_of": "2026-11-01", "stage": "recoverable", "limit": 5},
        headers=h,
    )
    assert r.status_code == 200
    body = r.json()
    assert body["numberReturned"] == 5 and all(i["stage"] == "recoverable" for i in body["items"])
    bad = client.get("/api/monitoring/idle", params={"stage": "nope"}, headers=h)
    assert bad.status_code == 422
    t = client.get("/api/monitoring/targets", params={"as_of": "2026-11-01"}, headers=h).json()
    assert t["targets"] and all(x["deadline"].endswith("-09-30") for x in t["targets"])
    for path in ("unsupplied", "transfer", "zones", "alerts", "cases", "rules", "summary"):
        assert client.get(f"/api/monitoring/{path}", headers=h).status_code == 200, path
    x = client.get("/api/monitoring/export.xlsx", params={"city": "130100"}, headers=h)
    assert x.status_code == 200 and x.content[:2] == b"PK"
    # Writes: promoters may not, a bureau only in its city.
    put = {"city_code": "130100", "year": 2027, "kind": "idle", "target_area_m2": 1000}
    assert client.put("/api/monitoring/targets", json=put, headers=h).status_code == 403
    one = "/api/monitoring/targets/130100/2027/idle"
    bureau = with_etag(client, one, auth(tokens["bureau"]))
    r = client.put("/api/monitoring/targets", json=put, headers=bureau)
    assert r.status_code == 200 and r.json()["targets"][0]["target_area_m2"] == 1000
    r = client.put(
        "/api/monitoring/targets",
        json={**put, "city_code": "130200"},
        headers=bureau,
    )
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    r = client.post(
        "/api/monitoring/cases",
        json={"parcel_code": "no-such-parcel"},
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 404


def test_dashboard_page_and_vendor_assets(client: TestClient, passwords: dict[str, str]) -> None:
    from tests.conftest import sign_in

    signed_out = client.get("/dashboard", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/workbench/login?next=/dashboard"
    sign_in(client, passwords["bureau"])
    page = client.get("/dashboard")
    assert page.status_code == 200 and "土地监测看板" in page.text
    assert "/static/vendor/echarts/dist/echarts.min.js" in page.text
    js = client.get("/static/vendor/echarts/dist/echarts.min.js")
    assert js.status_code == 200 and len(js.content) > 100_000
