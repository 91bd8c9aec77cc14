"""Which policies apply — one definition (landmatch.policies.applicability) used by the match,
the card, the brochure and the policy pages (issue #19 item 1). The tests go through the match
and the card; the SQL twin of "in force" is tied to the Python rule over generated cases."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from landmatch.dates import beijing_today
from landmatch.policies.applicability import in_force
from tests.conftest import auth, with_etag
from tests.inventory.conftest import feature
from tests.zones.conftest import box

DAY = beijing_today()
ZONE = "t-app-zone"
POLICY: dict[str, Any] = {
    "issuer": "测试",
    "benefit_kind": "reward",
    "benefit_amount_wan": 10,
    "benefit_basis": "fixed",
    "valid_from": "2020-01-01",
    "summary": "测试政策",
}
REQ: dict[str, Any] = {
    "name": "政策一致性",
    "area_mu_min": 1,
    "area_mu_max": 1000,
    "location": {"bbox": [114.29, 38.19, 114.34, 38.23]},
    "top": 50,
    "assemblies": False,
}


def test_sql_twin_of_in_force_agrees_with_python(conn: Connection) -> None:
    days = [DAY - dt.timedelta(days=1), DAY, DAY + dt.timedelta(days=1), dt.date(2024, 2, 29)]
    bounds = [None, *days]
    cases = [
        (f, u, d)
        for f, u, d in itertools.product(bounds, bounds, days)
        if f is None or u is None or f <= u
    ]
    rows = [
        {"valid_from": f and f.isoformat(), "valid_until": u and u.isoformat(), "d": d.isoformat()}
        for f, u, d in cases
    ]
    got = conn.execute(
        text(
            "SELECT landmatch.policy_active(jsonb_populate_record(NULL::landmatch.policy, r), "
            "(r ->> 'd')::date) FROM jsonb_array_elements(CAST(:rows AS jsonb)) "
            "WITH ORDINALITY AS t(r, i) ORDER BY i"
        ),
        {"rows": json.dumps(rows)},
    ).scalars()
    assert list(got) == [in_force(f, u, d) for f, u, d in cases]
    assert len(cases) > 60


@pytest.fixture
def site(client: TestClient, tokens: dict[str, str]) -> None:
    """A national zone with one parcel inside (ready, industrial, public) and one outside it."""
    h = auth(tokens["admin"])
    zone = {
        "code": ZONE,
        "name": "测试政策开发区",
        "city_code": "130100",
        "level": "national",
        "kind": "高新区",
        "geometry": box(114.30, 38.20, 114.32, 38.22),
    }
    assert client.post("/api/zones", json=zone, headers=h).status_code == 201
    for code, geom in (
        ("T-APP-IN", box(114.305, 38.205, 114.309, 38.207)),
        ("T-APP-OUT", box(114.325, 38.205, 114.329, 38.207)),
    ):
        body = feature(
            code, geom, visibility="public", power_kva=1000, data_updated_on="2026-01-01"
        )
        r = client.post("/api/parcels", json=body, headers=h)
        assert r.status_code == 201, r.text
    policies: list[dict[str, Any]] = [
        # In a zone of the right level only (the card used to ignore zone levels).
        {
            "code": "t-app-national",
            "scope_level": "province",
            "scope_code": "130000",
            "title": "国家级园区奖励",
            "conditions": {"zone_levels": ["national"]},
        },
        # Not yet in force (the card used to ignore valid_from).
        {
            "code": "t-app-future",
            "scope_level": "city",
            "scope_code": "130100",
            "title": "未来政策",
            "valid_from": "2099-01-01",
        },
        # Expired.
        {
            "code": "t-app-expired",
            "scope_level": "city",
            "scope_code": "130100",
            "title": "过期政策",
            "valid_until": "2021-12-31",
        },
        # For 批而未供 parcels only: not for these ready ones.
        {
            "code": "t-app-unsupplied",
            "scope_level": "city",
            "scope_code": "130100",
            "title": "盘活批而未供",
            "statuses": ["unsupplied"],
        },
        # For industry 39 (any 39xx project).
        {
            "code": "t-app-39",
            "scope_level": "zone",
            "scope_code": ZONE,
            "title": "电子信息入园",
            "industries": ["39"],
        },
        # For 工业 100102 parcels of the city.
        {
            "code": "t-app-m2",
            "scope_level": "city",
            "scope_code": "130100",
            "title": "二类工业用地",
            "land_uses": ["100102"],
        },
    ]
    for p in policies:
        r = client.post("/api/policies", json=POLICY | p, headers=h)
        assert r.status_code == 201, r.text


def _card(client: TestClient, code: str) -> dict[str, Any]:
    r = client.get(f"/api/parcels/{code}/card")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _mine(codes: set[str]) -> set[str]:
    return {c for c in codes if c.startswith("t-app-")}


def test_the_card_lists_what_applies(client: TestClient, site: None) -> None:
    inside = {p["code"] for p in _card(client, "T-APP-IN")["policies"]}
    outside = {p["code"] for p in _card(client, "T-APP-OUT")["policies"]}
    # No project on a card: the industry-limited zone policy is on offer there.
    assert _mine(inside) == {"t-app-national", "t-app-39", "t-app-m2"}
    assert _mine(outside) == {"t-app-m2"}
    brochure = client.get("/parcels/T-APP-IN/brochure").text
    assert "国家级园区奖励" in brochure and "未来政策" not in brochure


@pytest.mark.parametrize(("industry", "with_39"), [("39", True), ("34", False), (None, False)])
def test_the_match_applies_what_the_card_lists(
    client: TestClient, tokens: dict[str, str], site: None, industry: str | None, with_39: bool
) -> None:
    req = REQ | ({"industry": industry} if industry else {})
    r = client.post("/api/match", json=req, headers=auth(tokens["promoter"]))
    assert r.status_code == 200, r.text
    ranked = {f["properties"]["code"]: f["properties"] for f in r.json()["features"]}
    assert {"T-APP-IN", "T-APP-OUT"} <= set(ranked)
    for code, props in ranked.items():
        listed = {p["code"] for p in props["policies"]}
        # The score counts exactly the policies the result lists.
        policy = next(b for b in props["breakdown"] if b["criterion"] == "policy")
        assert policy["raw"]["policies"] == len(props["policies"]), code
        # The card's policies, narrowed to the project's industry, are the match's.
        card = _card(client, code)["policies"]
        expected = {
            p["code"]
            for p in card
            if not p["industries"]
            or (industry is not None and any(industry.startswith(i) for i in p["industries"]))
        }
        assert listed == expected, code
    assert ("t-app-39" in {p["code"] for p in ranked["T-APP-IN"]["policies"]}) == with_39
    assert _mine({p["code"] for p in ranked["T-APP-OUT"]["policies"]}) == {"t-app-m2"}


def test_expired_policies_are_never_applied_by_the_match_or_the_card(
    client: TestClient, tokens: dict[str, str], site: None
) -> None:
    def matched() -> set[str]:
        r = client.post(
            "/api/match", json=REQ | {"industry": "39"}, headers=auth(tokens["promoter"])
        )
        assert r.status_code == 200, r.text
        f = next(f for f in r.json()["features"] if f["properties"]["code"] == "T-APP-IN")
        return {p["code"] for p in f["properties"]["policies"]}

    assert "t-app-39" in matched()
    h = with_etag(client, "/api/policies/t-app-39", auth(tokens["admin"]))
    yesterday = (DAY - dt.timedelta(days=1)).isoformat()
    r = client.patch("/api/policies/t-app-39", json={"valid_until": yesterday}, headers=h)
    assert r.status_code == 200, r.text
    assert "t-app-39" not in matched()
    assert "t-app-39" not in {p["code"] for p in _card(client, "T-APP-IN")["policies"]}
    # The policy pages show it only to staff asking for expired ones.
    assert "t-app-39" not in {p["code"] for p in client.get("/api/policies").json()["items"]}
    staff = client.get(
        "/api/policies",
        params={"include_expired": "true", "q": "电子信息入园"},
        headers=auth(tokens["promoter"]),
    ).json()
    assert [p["code"] for p in staff["items"]] == ["t-app-39"] and not staff["items"][0]["active"]
