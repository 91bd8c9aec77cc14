"""Flow-through: a policy, zone or layer change shows in the very next match and tile,
without a restart (issue 8, item 4)."""

from __future__ import annotations

import math
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from tests.conftest import app_of, auth, with_etag
from tests.zones.conftest import box, geojson

REQ: dict[str, Any] = {
    "name": "流程测试项目",
    "industry": "36",
    "area_mu_min": 10,
    "area_mu_max": 400,
    "location": {"cities": ["130100"]},
    "top": 200,
    "assemblies": False,
}


def _match(client: TestClient, token: str) -> dict[str, Any]:
    r = client.post("/api/match", json=REQ, headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def _policy_codes(result: dict[str, Any]) -> set[str]:
    return {p["code"] for f in result["features"] for p in f["properties"]["policies"]}


def test_policy_changes_show_in_the_next_match(client: TestClient, tokens: dict[str, str]) -> None:
    before = _match(client, tokens["promoter"])
    assert before["features"]
    assert "t-flow-pol" not in _policy_codes(before)
    body = {
        "code": "t-flow-pol",
        "title": "汽车零部件落地奖励（测试）",
        "issuer": "石家庄市人民政府",
        "scope_level": "city",
        "scope_code": "130100",
        "industries": ["36"],
        "benefit_kind": "reward",
        "benefit_amount_wan": 80,
        "valid_from": "2025-01-01",
        "valid_until": "2030-12-31",
        "summary": "测试政策",
    }
    assert client.post("/api/policies", json=body, headers=auth(tokens["admin"])).status_code == 201
    assert "t-flow-pol" in _policy_codes(_match(client, tokens["promoter"]))
    # Expired policies are never matched.
    r = client.patch(
        "/api/policies/t-flow-pol",
        json={"valid_until": "2025-06-30"},
        headers=with_etag(client, "/api/policies/t-flow-pol", auth(tokens["admin"])),
    )
    assert r.status_code == 200, r.text
    assert "t-flow-pol" not in _policy_codes(_match(client, tokens["promoter"]))


def test_a_new_red_line_removes_parcels_from_the_next_match_and_tile(
    client: TestClient, tokens: dict[str, str], conn: Connection
) -> None:
    before = _match(client, tokens["promoter"])
    top = before["features"][0]
    code = top["properties"]["code"]
    x0, y0, x1, y1 = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Expand(geom, 0.0005) AS e FROM landmatch.parcel WHERE code = :c) s"
        ),
        {"c": code},
    ).one()
    tx, ty = _tile((x0 + x1) / 2, (y0 + y1) / 2, 14)
    tile_url = f"/tiles/constraints/14/{tx}/{ty}.pbf"
    tile_before = client.get(tile_url, headers=auth(tokens["promoter"]))
    data = geojson(
        [
            (
                {"code": "eco-flow-test", "name": "测试红线", "kind": "生态保护红线"},
                box(x0, y0, x1, y1),
            )
        ]
    )
    r = client.post(
        "/api/layers/constraint_area/import",
        headers=auth(tokens["bureau"]),
        files={"file": ("red.geojson", data, "application/geo+json")},
    )
    assert r.status_code == 200, r.text
    after = _match(client, tokens["promoter"])
    assert code not in {f["properties"]["code"] for f in after["features"]}
    excluded = {f["rule"]: f["count"] for f in after["why_not"]["failed"]}.get("excluded", 0)
    excluded0 = {f["rule"]: f["count"] for f in before["why_not"]["failed"]}.get("excluded", 0)
    assert excluded >= excluded0 + 1
    # The next constraints tile is re-rendered (new data version, new ETag) and has the line.
    # Tile workers re-read data versions at most every LANDMATCH_TILE_VERSION_POLL_MS;
    # let that interval pass.
    app_of(client).state.tile_server.clock.expire()
    tile_after = client.get(tile_url, headers=auth(tokens["promoter"]))
    assert tile_after.headers["ETag"] != tile_before.headers["ETag"]
    assert len(tile_after.content) > len(tile_before.content)


def test_an_expired_assessment_stops_counting_in_the_next_match(
    client: TestClient, tokens: dict[str, str], conn: Connection
) -> None:
    res = _match(client, tokens["promoter"])
    zoned = [f for f in res["features"] if f["properties"].get("zone_code")]
    assert zoned, "expected ranked parcels inside a zone"
    f = zoned[0]
    zone = f["properties"]["zone_code"]

    def valid_count(result: dict[str, Any]) -> int:
        for feat in result["features"]:
            if feat["properties"]["code"] == f["properties"]["code"]:
                ready = next(
                    b for b in feat["properties"]["breakdown"] if b["criterion"] == "readiness"
                )
                return int(ready["raw"]["assessments_valid"])
        raise AssertionError("parcel left the ranking")

    n0 = valid_count(res)
    assert n0 > 0
    conn.execute(
        text(
            "UPDATE landmatch.zone_assessment SET approved_on = '2015-01-01', "
            "valid_until = '2020-01-01' WHERE zone_id = (SELECT id FROM landmatch.dev_zone "
            "WHERE code = :z)"
        ),
        {"z": zone},
    )
    assert valid_count(_match(client, tokens["promoter"])) == 0
