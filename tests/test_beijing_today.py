"""The application's "today" is Beijing's calendar date (landmatch.dates.beijing_today), on a
UTC server too: at 2026-12-07 17:30 UTC it is already 2026-12-08 01:30 in Hebei, and every
legal date — an idle-land stage, a reservation's end, a case's opening day, a dated file, the
dashboard's day — and the database session's own date are the 8th.

The Python clock is moved with time-machine, and the process's local zone with it (UTC, as on
a CI runner or ``./scripts/up`` on a UTC machine), so ``date.today()`` would say the 7th; the
database is the real PostGIS (its clock is not moved: its checks here are of the session's
zone, which decides what any instant's date is)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.dates import add_months, beijing_minute, beijing_today
from landmatch.db.engine import get_engine, health_limits, job_engine, read_engine, request_engine
from landmatch.monitoring import scan
from landmatch.monitoring.idle import IdleRule
from landmatch.settings import Settings
from tests.conftest import auth, sign_in

#: 01:30 on 8 December in Beijing; still the 7th in UTC.
INSTANT = dt.datetime(2026, 12, 7, 17, 30, tzinfo=ZoneInfo("UTC"))
HEBEI_DAY = dt.date(2026, 12, 8)
UTC_DAY = dt.date(2026, 12, 7)


@pytest.fixture
def early_morning() -> Iterator[None]:
    """The clock at :data:`INSTANT`, the process's local zone UTC (time-machine sets it from
    the destination's zone), standing still."""
    with time_machine.travel(INSTANT, tick=False):
        assert dt.date.today() == UTC_DAY  # what a UTC server's date.today() says
        yield


def test_today_is_the_beijing_date(early_morning: None) -> None:
    assert beijing_today() == HEBEI_DAY


def test_a_parcel_becomes_idle_at_beijing_midnight(
    early_morning: None, client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    """Order 53: land not started a year after its agreed start is idle from the anniversary
    on. A parcel whose anniversary is the 8th is 闲置 (idle_fee, 0 days to go) in the report
    of "today" at 01:30 Beijing time, not 有闲置风险 with a day left."""
    idle_after = session.execute(
        text(
            "SELECT COALESCE((SELECT idle_after_months FROM landmatch.monitoring_rule "
            "WHERE city_code = '130100'), (SELECT idle_after_months FROM "
            "landmatch.monitoring_rule WHERE city_code = '130000'), :d)"
        ),
        {"d": IdleRule().idle_after_months},
    ).scalar_one()
    code = session.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE city_code = '130100' AND status = 'supplied' "
            "AND deleted_at IS NULL ORDER BY id LIMIT 1"
        )
    ).scalar_one()
    session.execute(
        text(
            "UPDATE landmatch.parcel SET agreed_start_date = :s, start_extended = false, "
            "actual_start_date = NULL, stopped_since = NULL, gov_caused = false WHERE code = :c"
        ),
        {"s": add_months(HEBEI_DAY, -idle_after), "c": code},
    )
    session.flush()
    r = client.get(
        "/api/monitoring/idle",
        params={"city": "130100", "limit": 100_000},
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["as_of"] == "2026-12-08"
    [row] = [p for p in report["items"] if p["code"] == code]
    assert (row["stage"], row["days_to_idle"]) == ("idle_fee", 0), row


def test_a_reservation_ends_at_beijing_midnight(
    early_morning: None, client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    """A hold "until the 7th" (that day included) is over at 01:30 on the 8th: the parcel may
    be held again, and a new hold may not end on the 7th (预留截止日期不能早于今天)."""
    h = auth(tokens["promoter"])
    first, second = (
        client.post(
            "/api/projects", json={"name": name, "requirement": {"industry": "34"}}, headers=h
        ).json()["id"]
        for name in ("先预留的项目", "后预留的项目")
    )
    code = session.execute(
        text(
            "SELECT code FROM landmatch.parcel p WHERE status = 'ready' AND deleted_at IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM landmatch.reservation r WHERE r.parcel_id = p.id "
            "AND r.released_at IS NULL) ORDER BY id LIMIT 1"
        )
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO landmatch.reservation (parcel_id, project_id, reserved_by, owner_team, "
            "until) SELECT id, :pr, 't-promoter', 't-team-a', :u FROM landmatch.parcel "
            "WHERE code = :c"
        ),
        {"pr": first, "u": UTC_DAY, "c": code},
    )
    session.flush()
    late = client.post(
        "/api/reservations",
        json={"parcel_code": code, "project_id": second, "until": UTC_DAY.isoformat()},
        headers=h,
    )
    assert late.status_code in (400, 422), late.text
    assert "预留截止日期不能早于今天" in late.text
    r = client.post(
        "/api/reservations",
        json={"parcel_code": code, "project_id": second, "until": HEBEI_DAY.isoformat()},
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert r.json()["until"] == "2026-12-08"


def test_a_case_opens_on_the_beijing_date(
    early_morning: None, client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    """A disposal case opened without a date opens "today": the 8th, and its steps' deadlines
    count from it."""
    busy = set(
        session.execute(
            text(
                "SELECT p.code FROM landmatch.disposal_case c JOIN landmatch.parcel p "
                "ON p.id = c.parcel_id WHERE c.status = 'open'"
            )
        ).scalars()
    )
    parcel = next(
        r["code"]
        for r in scan.scan_rows(session, HEBEI_DAY, IdleRule())
        if r["stage"] == "recoverable" and r["status"] == "idle" and r["code"] not in busy
    )
    r = client.post(
        "/api/monitoring/cases", json={"parcel_code": parcel}, headers=auth(tokens["admin"])
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["opened_on"] == "2026-12-08"
    assert case["steps"] and min(s["due_on"] for s in case["steps"]) > "2026-12-08"


def test_an_export_is_named_by_the_beijing_date(
    early_morning: None, client: TestClient, tokens: dict[str, str]
) -> None:
    r = client.get(
        "/api/exports/parcels",
        params={"format": "geojson", "city": "130100", "status": "withdrawn"},
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 200, r.text
    assert "parcels-20261208.geojson" in r.headers["content-disposition"]


def test_the_dashboard_opens_on_the_beijing_date(
    early_morning: None, client: TestClient, passwords: dict[str, str]
) -> None:
    """The dashboard's date field starts at the server's today (the browser's
    ``toISOString()`` is the UTC date: the 7th)."""
    sign_in(client, passwords["bureau"])
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text[:300]
    assert re.search(r'id="lm-dash"[^>]*data-today="2026-12-08"', page.text), page.text[:600]


def test_every_database_session_counts_days_in_beijing(settings: Settings) -> None:
    """Each engine the app, the CLI and the workers open (requests, long jobs, the replica's
    reads, /healthz) runs its session in Beijing time: SQL's current_date and any instant's
    date are Beijing's, and the instants themselves come back unchanged."""
    replica = read_engine(settings.model_copy(update={"read_database_url": settings.database_url}))
    assert replica is not None
    engines = {
        "request": request_engine(settings),
        "job": job_engine(settings),
        "replica": replica,
        "health": get_engine(settings.database_url, health_limits(settings), 1),
        "plain": get_engine(settings.database_url),
    }
    for name, engine in engines.items():
        with engine.connect() as conn:
            zone, day, today_here, today_there, back = conn.execute(
                text(
                    "SELECT current_setting('TimeZone'), CAST(CAST(:at AS timestamptz) AS date), "
                    "current_date, CAST(now() AT TIME ZONE 'Asia/Shanghai' AS date), "
                    "CAST(:at AS timestamptz)"
                ),
                {"at": INSTANT},
            ).one()
        assert zone == "Asia/Shanghai", name
        assert day == HEBEI_DAY, name  # the instant 17:30 UTC on the 7th is on the 8th
        assert today_here == today_there, name
        assert back == INSTANT and beijing_minute(back) == "2026-12-08 01:30", name
        assert back.utcoffset() == dt.timedelta(hours=8), name  # rendered …+08:00
