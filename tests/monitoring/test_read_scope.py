"""Monitoring reads follow the dashboard's city rule: a city bureau reads its own city only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

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
