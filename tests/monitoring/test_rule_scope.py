"""Idle-land thresholds: who may read and set them (the rule lives in monitoring/rules.py), as
each role: public, the bureau of 石家庄 (its own city, another city, the province default), a
zone, a promoter, the admin."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import auth, with_etag

BODY = {"idle_after_months": 10, "recover_after_months": 20}


@pytest.mark.parametrize(
    "role,city,status",
    [
        (None, "130100", 401),
        ("bureau", "130100", 200),
        ("bureau", "130200", 403),
        ("bureau", "130000", 403),
        ("zone", "130100", 403),
        ("promoter", "130100", 403),
        ("admin", "130200", 200),
        ("admin", "130000", 200),
    ],
)
def test_setting_a_citys_thresholds(
    client: TestClient, tokens: dict[str, str], role: str | None, city: str, status: int
) -> None:
    headers = auth(tokens[role]) if role else {}
    url = f"/api/monitoring/rules/{city}"
    tag = client.get(url, headers=auth(tokens["admin"])).headers["ETag"]
    r = client.put(url, json=BODY, headers={**headers, "If-Match": tag})
    assert r.status_code == status, r.text
    if status == 200:
        saved = {x["city_code"]: x for x in r.json()["rules"]}[city]
        assert (saved["idle_after_months"], saved["recover_after_months"]) == (10, 20)
    else:
        assert r.headers["content-type"].startswith("application/problem+json")


def test_a_fee_rate_above_twenty_percent_is_refused(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """《城市房地产管理法》 Art. 26 caps the idle-land fee at 20 % of the land price."""
    r = client.put(
        "/api/monitoring/rules/130100", json={"fee_rate": 0.25}, headers=auth(tokens["admin"])
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["fee_rate"]
    url = "/api/monitoring/rules/130100"
    r = client.put(
        url, json={"fee_rate": 0.2}, headers=with_etag(client, url, auth(tokens["admin"]))
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "role,status",
    [(None, 401), ("bureau", 200), ("zone", 200), ("promoter", 200), ("admin", 200)],
)
def test_reading_the_thresholds(
    client: TestClient, tokens: dict[str, str], role: str | None, status: int
) -> None:
    headers = auth(tokens[role]) if role else {}
    r = client.get("/api/monitoring/rules", headers=headers)
    assert r.status_code == status, r.text
    if status == 200:
        assert "defaults" in r.json() and isinstance(r.json()["rules"], list)
