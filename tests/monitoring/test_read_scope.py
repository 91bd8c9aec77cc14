"""Monitoring reads follow the dashboard's city rule: a city bureau reads its own city only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.errors import Forbidden
from landmatch.monitoring import cases, scan, summary, targets, transfer, unsupplied, zones
from landmatch.monitoring.idle import IdleRule

READS = (
    "/api/monitoring/idle",
    "/api/monitoring/unsupplied",
    "/api/monitoring/transfer",
    "/api/monitoring/zones",
    "/api/monitoring/targets",
    "/api/monitoring/alerts",
    "/api/monitoring/cases",
)


@pytest.mark.parametrize("path", READS)
def test_a_city_bureau_reads_its_own_city_only(
    client: Any, tokens: dict[str, str], path: str
) -> None:
    bureau = {"Authorization": f"Bearer {tokens['bureau']}"}  # 石家庄 (130100)
    other = client.get(path, params={"city": "130200"}, headers=bureau)
    assert other.status_code == 403, other.text
    assert "无权查看" in other.json()["detail"]
    own = client.get(path, headers=bureau)
    assert own.status_code == 200, own.text
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    assert client.get(path, params={"city": "130200"}, headers=admin).status_code == 200


def test_idle_list_without_a_city_is_the_bureaus_city(client: Any, tokens: dict[str, str]) -> None:
    bureau = {"Authorization": f"Bearer {tokens['bureau']}"}
    body = client.get("/api/monitoring/idle", params={"limit": 500}, headers=bureau).json()
    rows = body.get("items") or body.get("rows") or body.get("parcels") or []
    assert rows, body.keys()
    assert {r["city_code"] for r in rows} == {"130100"}


def test_another_citys_case_is_refused(client: Any, session: Any, tokens: dict[str, str]) -> None:
    parcel = session.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE status = 'idle' AND city_code = '130200' "
            "AND deleted_at IS NULL LIMIT 1"
        )
    ).scalar_one()
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    r = client.post("/api/monitoring/cases", json={"parcel_code": parcel}, headers=admin)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    bureau = {"Authorization": f"Bearer {tokens['bureau']}"}
    assert client.get(f"/api/monitoring/cases/{case_id}", headers=bureau).status_code == 403
    assert client.get(f"/api/monitoring/cases/{case_id}", headers=admin).status_code == 200


# The services scope themselves (no caller can forget): each read refuses a city bureau another
# city and, asked for none, answers for the bureau's own.
_BUREAU = Principal(name="t-bureau-sjz", role="bureau", city_code="130100")
_DAY = dt.date(2026, 11, 1)
_SERVICE_READS: dict[str, Callable[[Session, str | None], Any]] = {
    "idle_report": lambda s, c: scan.idle_report(s, _BUREAU, _DAY, IdleRule(), city=c, limit=0),
    "age_bands": lambda s, c: unsupplied.age_bands(s, _BUREAU, _DAY, c),
    "supply_rates": lambda s, c: unsupplied.supply_rates(s, _BUREAU, _DAY, c),
    "batches": lambda s, c: unsupplied.batches(s, _BUREAU, _DAY, c),
    "transfer_routes": lambda s, c: transfer.transfer_routes(s, _BUREAU, c),
    "zone_kpis": lambda s, c: zones.zone_kpis(s, _BUREAU, _DAY, c),
    "progress": lambda s, c: targets.progress(s, _BUREAU, _DAY, None, c),
    "list_cases": lambda s, c: cases.list_cases(s, _BUREAU, city=c),
    "count_cases": lambda s, c: cases.count_cases(s, _BUREAU, city=c),
    "list_steps": lambda s, c: cases.list_steps(s, _BUREAU, city=c),
    "overdue": lambda s, c: cases.overdue(s, _BUREAU, _DAY, c),
    "dashboard_data": lambda s, c: summary.dashboard_data(s, _BUREAU, _DAY, IdleRule(), c),
}


@pytest.mark.parametrize("name", sorted(_SERVICE_READS))
def test_each_monitoring_service_refuses_another_city(session: Session, name: str) -> None:
    with pytest.raises(Forbidden):
        _SERVICE_READS[name](session, "130200")


def test_a_service_asked_for_no_city_answers_for_the_bureaus_own(session: Session) -> None:
    assert summary.dashboard_data(session, _BUREAU, _DAY, IdleRule())["city"] == "130100"
    rows = transfer.transfer_routes(session, _BUREAU)["rows"]
    assert rows and {r["city_code"] for r in rows} == {"130100"}
    report = scan.idle_report(session, _BUREAU, _DAY, IdleRule(), limit=500)
    assert report["items"] and {r["city_code"] for r in report["items"]} == {"130100"}
