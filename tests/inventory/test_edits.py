"""Edits through the API: create, If-Match (428/412), scope (403), validation, delete/restore,
history with old → new values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import auth, configured
from tests.inventory.conftest import feature, square


def _create(
    client: TestClient, token: str, code: str = "EDIT-001", **props: object
) -> httpx.Response:
    return client.post("/api/parcels", json=feature(code, None, **props), headers=auth(token))


def test_create_patch_delete_restore_history(client: TestClient, tokens: dict[str, str]) -> None:
    r = _create(client, tokens["bureau"], declared_area_m2=50000)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["properties"]["city_code"] == "130100"  # derived from the location
    assert r.headers["ETag"] == '"EDIT-001.v1"'
    assert any("申报面积" in w["message"] for w in body["warnings"])  # ≈ 4.4 ha vs 5 ha

    h = auth(tokens["bureau"])
    assert (
        client.patch("/api/parcels/EDIT-001", json={"name": "新名"}, headers=h).status_code == 428
    )
    stale = client.patch(
        "/api/parcels/EDIT-001", json={"name": "新名"}, headers={**h, "If-Match": '"EDIT-001.v9"'}
    )
    assert stale.status_code == 412
    ok = client.patch(
        "/api/parcels/EDIT-001",
        json={"name": "新名", "far_max": 2.5},
        headers={**h, "If-Match": r.headers["ETag"]},
    )
    assert ok.status_code == 200, ok.text
    assert ok.headers["ETag"] == '"EDIT-001.v2"'
    assert ok.json()["properties"]["name"] == "新名"
    # The old ETag is stale now.
    again = client.patch(
        "/api/parcels/EDIT-001", json={"name": "x"}, headers={**h, "If-Match": r.headers["ETag"]}
    )
    assert again.status_code == 412

    # Delete and restore need If-Match too (428), and a current one (412).
    assert client.delete("/api/parcels/EDIT-001", headers=h).status_code == 428
    stale_del = client.delete("/api/parcels/EDIT-001", headers={**h, "If-Match": r.headers["ETag"]})
    assert stale_del.status_code == 412 and "已被他人修改" in stale_del.json()["detail"]
    gone = client.delete("/api/parcels/EDIT-001", headers={**h, "If-Match": ok.headers["ETag"]})
    assert gone.status_code == 204 and gone.headers["ETag"] == '"EDIT-001.v3"'
    assert client.get("/api/parcels/EDIT-001", headers=h).status_code == 404
    # The history shows a deleted parcel's ETag too.
    assert (
        client.get("/api/parcels/EDIT-001/history", headers=h).headers["ETag"]
        == gone.headers["ETag"]
    )
    assert client.post("/api/parcels/EDIT-001/restore", json={}, headers=h).status_code == 428
    back = client.post(
        "/api/parcels/EDIT-001/restore", json={}, headers={**h, "If-Match": gone.headers["ETag"]}
    )
    assert back.status_code == 200 and back.json()["properties"]["name"] == "新名"
    v1 = client.post(
        "/api/parcels/EDIT-001/restore",
        json={"version": 1, "reason": "回退"},
        headers={**h, "If-Match": back.headers["ETag"]},
    )
    assert v1.status_code == 200 and v1.json()["properties"]["name"] == "测试地块EDIT-001"

    hist = client.get("/api/parcels/EDIT-001/history", headers=h).json()
    ops = [v["op"] for v in hist["versions"]]
    assert ops == ["restore", "restore", "delete", "update", "insert"]
    update = hist["versions"][3]
    names = {c["field"]: c for c in update["changes"]}
    assert names["name"]["old"] == "测试地块EDIT-001" and names["name"]["new"] == "新名"
    assert names["far_max"]["new"] == 2.5
    assert update["actor"] == "t-bureau-sjz"
    assert hist["versions"][0]["reason"] == "回退"
    assert {c["field"] for c in hist["versions"][0]["changes"]} >= {"name", "far_max"}


def test_scope_and_roles(client: TestClient, tokens: dict[str, str]) -> None:
    # A Shijiazhuang bureau may not create a parcel in Tangshan (118.18 E, 39.63 N).
    r = _create(
        client,
        tokens["bureau"],
        "EDIT-TS",
    )
    assert r.status_code == 201
    ts = client.post(
        "/api/parcels",
        json=feature("EDIT-TS2", square(118.18, 39.63)),
        headers=auth(tokens["bureau"]),
    )
    assert ts.status_code == 403
    assert (
        client.post(
            "/api/parcels", json=feature("EDIT-P"), headers=auth(tokens["promoter"])
        ).status_code
        == 403
    )
    assert client.post("/api/parcels", json=feature("EDIT-P")).status_code == 401
    admin = client.post(
        "/api/parcels",
        json=feature("EDIT-TS3", square(118.18, 39.63)),
        headers=auth(tokens["admin"]),
    )
    assert admin.status_code == 201 and admin.json()["properties"]["city_code"] == "130200"


def test_validation_rejects_with_field_and_location(
    client: TestClient, tokens: dict[str, str]
) -> None:
    h = auth(tokens["admin"])
    bow = {
        "type": "Polygon",
        "coordinates": [
            [[114.5, 38.04], [114.502, 38.042], [114.502, 38.04], [114.5, 38.042], [114.5, 38.04]]
        ],
    }
    r = client.post("/api/parcels", json=feature("EDIT-BOW", bow), headers=h)
    assert r.status_code == 422
    assert "自相交" in r.json()["detail"] and "114.501" in r.json()["detail"]
    fixed = client.post("/api/parcels?repair=true", json=feature("EDIT-BOW", bow), headers=h)
    assert fixed.status_code == 201
    assert any("修复" in w["message"] for w in fixed.json()["warnings"])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"status": "maybe"}, "status"),
        ({"far_min": 3, "far_max": 2}, "far_min"),
        ({"far_max": 50}, "far_max"),
        ({"contract_date": "2024-05-01", "agreed_start_date": "2024-01-01"}, "agreed_start_date"),
        ({"approval_date": "2024-02-30"}, "approval_date"),
        ({"city_code": "130200"}, "city_code"),
        ({"supply_modes": ["auction", "gift"]}, "supply_modes"),
    ]
    for props, field in cases:
        r = client.post("/api/parcels", json=feature("EDIT-V", **props), headers=h)
        assert r.status_code == 422, (props, r.text)
        assert field in {e["field"] for e in r.json()["errors"]}, (props, r.json())
    dup = client.post("/api/parcels", json=feature("EDIT-BOW"), headers=h)
    assert dup.status_code == 409


def test_zone_committee_edits_only_its_own_zones_parcels(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    from sqlalchemy import text

    zone_id, zone_code = session.execute(
        text(
            "SELECT z.id, z.code FROM landmatch.app_user u JOIN landmatch.dev_zone z "
            "ON z.id = u.zone_id WHERE u.name = 't-zone'"
        )
    ).one()
    mine = session.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE zone_id = :z AND deleted_at IS NULL "
            "ORDER BY id LIMIT 1"
        ),
        {"z": zone_id},
    ).scalar()
    other = session.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE zone_id IS DISTINCT FROM :z "
            "AND deleted_at IS NULL ORDER BY id LIMIT 1"
        ),
        {"z": zone_id},
    ).scalar()
    h = auth(tokens["zone"])
    assert mine is not None
    etag = client.get(f"/api/parcels/{mine}", headers=h).headers["ETag"]
    ok = client.patch(
        f"/api/parcels/{mine}", json={"power_kva": 4000}, headers={**h, "If-Match": etag}
    )
    assert ok.status_code == 200, ok.text
    # Not another zone's (or a zone-less) parcel, and not moving its own out of the zone.
    etag_o = client.get(f"/api/parcels/{other}", headers=h).headers["ETag"]
    assert (
        client.patch(
            f"/api/parcels/{other}", json={"power_kva": 1}, headers={**h, "If-Match": etag_o}
        ).status_code
        == 403
    )
    # The zone follows from the boundary (landmatch.db.membership): moved out, refused.
    east, south = session.execute(
        text("SELECT ST_XMax(geom), ST_YMin(geom) FROM landmatch.dev_zone WHERE id = :z"),
        {"z": zone_id},
    ).one()
    moved = client.patch(
        f"/api/parcels/{mine}",
        json={"type": "Feature", "properties": {}, "geometry": square(east + 0.003, south)},
        headers={**h, "If-Match": ok.headers["ETag"]},
    )
    assert moved.status_code == 403, moved.text
    assert (
        client.delete(f"/api/parcels/{other}", headers={**h, "If-Match": etag_o}).status_code == 403
    )
    # Bulk imports stay with the land bureau.
    r = client.post(
        "/api/imports",
        headers=h,
        files={"file": ("z.geojson", b'{"type":"FeatureCollection","features":[]}')},
    )
    assert r.status_code == 403, (zone_code, r.text)


def test_heights_are_dropped_with_a_warning(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    g = square()
    g["coordinates"] = [[[x, y, 75.0] for x, y in g["coordinates"][0]]]
    r = client.post(
        "/api/parcels", json=feature("EDIT-3D", geometry=g), headers=auth(tokens["admin"])
    )
    assert r.status_code == 201, r.text
    assert any("高程" in w["message"] for w in r.json()["warnings"])
    from sqlalchemy import text

    dims = session.execute(
        text("SELECT ST_NDims(geom) FROM landmatch.parcel WHERE code = 'EDIT-3D'")
    ).scalar()
    assert dims == 2


BAD_BODIES = [
    ({"type": "Feature", "properties": ["code", "x"], "geometry": square()}, "properties 应为"),
    ({**feature("EDIT-B1"), "reason": {"why": 1}}, "修改原因"),
    (feature("EDIT-B2", name="坏\x00名"), "空字符"),
    (feature("EDIT-B3", name={"a": 1}), "应为文本"),
    (feature("EDIT-B4", far_min=True), "应为数字"),
    (feature("EDIT-B5", land_use=["100102"]), "用途取值"),
    (feature("EDIT-B6", readiness={"a": 1}), "应为列表"),
    ({**feature("EDIT-B7"), "geometry": "POLYGON((0 0,1 0,1 1,0 0))"}, "GeoJSON 几何对象"),
    (
        {
            **feature("EDIT-B8"),
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[114.5, 38.0], [114.51, 38.0], [114.51, 38.01]]],
            },
        },
        "环未闭合",
    ),
]


def test_bad_bodies_are_refused_in_chinese(
    client: TestClient, tokens: dict[str, str], fingerprint: Callable[[], tuple]
) -> None:
    before = fingerprint()
    for body, expected in BAD_BODIES:
        r = client.post("/api/parcels", json=body, headers=auth(tokens["admin"]))
        assert r.status_code in (400, 422), (body, r.status_code, r.text)
        text = r.json()["detail"] + "".join(str(d) for d in r.json().get("errors") or [])
        assert expected in text, (body, r.json())
    assert fingerprint() == before


def test_malformed_json_and_nul_in_urls(client: TestClient, tokens: dict[str, str]) -> None:
    h = {**auth(tokens["admin"]), "Content-Type": "application/json"}
    r = client.post("/api/parcels", content=b'{"type": "Feature", "properties": {', headers=h)
    assert r.status_code == 422 and "不是有效的 JSON" in r.json()["detail"]
    for url in (
        "/api/parcels?zone=%00",
        "/api/exports/parcels?format=geojson&zone=%00",
        "/api/parcels/a%00b",
        "/api/parcels/a%00b/history",
    ):
        r = client.get(url, headers=auth(tokens["admin"]))
        assert r.status_code == 400 and "空字符" in r.json()["detail"], url


def test_required_fields_cannot_be_cleared(client: TestClient, tokens: dict[str, str]) -> None:
    r = _create(client, tokens["admin"], "EDIT-CLR", supply_modes=["auction"])
    h = {**auth(tokens["admin"]), "If-Match": r.headers["ETag"]}
    for body in ({"name": None}, {"status": ""}, {"land_use": None}):
        bad = client.patch("/api/parcels/EDIT-CLR", json=body, headers=h)
        assert bad.status_code == 422 and "不能清空" in bad.json()["detail"], body
    ok = client.patch("/api/parcels/EDIT-CLR", json={"supply_modes": None}, headers=h)
    assert ok.status_code == 200 and ok.json()["properties"]["supply_modes"] == []


def test_history_says_how_a_geometry_moved(client: TestClient, tokens: dict[str, str]) -> None:
    r = _create(client, tokens["admin"], "EDIT-MOVE")
    moved = square(114.5005)  # 0.0005° east ≈ 44 m at 38° N
    ok = client.patch(
        "/api/parcels/EDIT-MOVE",
        json={"geometry": moved},
        headers={**auth(tokens["admin"]), "If-Match": r.headers["ETag"]},
    )
    assert ok.status_code == 200, ok.text
    hist = client.get("/api/parcels/EDIT-MOVE/history", headers=auth(tokens["admin"])).json()
    change = next(c for c in hist["versions"][0]["changes"] if c["field"] == "geom")
    assert 40 < change["moved_m"] < 48
    assert change["old"]["centroid"] != change["new"]["centroid"]
    assert "中心点移动" in change["summary"]


def test_history_writes_an_area_change_for_people(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """Thousands separators, 亩 to 0.01, the change's sign: "+117,123.45 平方米（+175.69 亩）"
    (the usability review read "+29168.07 平方米（+43.7521 亩）")."""
    import re

    r = _create(client, tokens["admin"], "EDIT-GROW")
    ok = client.patch(
        "/api/parcels/EDIT-GROW",
        json={"geometry": square(d=0.004)},  # twice as wide and tall: four times the area
        headers={**auth(tokens["admin"]), "If-Match": r.headers["ETag"]},
    )
    assert ok.status_code == 200, ok.text
    hist = client.get("/api/parcels/EDIT-GROW/history", headers=auth(tokens["admin"])).json()
    change = next(c for c in hist["versions"][0]["changes"] if c["field"] == "geom")
    grown = change["new"]["area_m2"] - change["old"]["area_m2"]
    found = re.search(r"面积变化 (\+[\d,.]+) 平方米（(\+[\d,.]+) 亩）", change["summary"])
    assert found, change["summary"]
    m2, mu = found.groups()
    assert re.fullmatch(r"\+\d{1,3}(,\d{3})+(\.\d{1,2})?", m2), m2
    assert re.fullmatch(r"\+\d{1,3}(,\d{3})*(\.\d{1,2})?", mu), mu
    assert abs(float(m2[1:].replace(",", "")) - grown) < 0.01
    assert abs(float(mu[1:].replace(",", "")) - grown / (10000 / 15)) < 0.01


def test_a_province_managed_city_is_its_own_scope(
    client: TestClient, tokens: dict[str, str]
) -> None:
    xinji = square(115.22, 37.94)  # inside 辛集市 (130181), within 石家庄's old borders
    r = client.post(
        "/api/parcels",
        json=feature("EDIT-XJ", geometry=xinji, city_code="130100"),
        headers=auth(tokens["bureau"]),  # 石家庄's bureau
    )
    assert r.status_code == 403 and "辛集" in r.json()["detail"]
    ok = client.post(
        "/api/parcels",
        json=feature("EDIT-XJ", geometry=xinji, city_code="130100"),
        headers=auth(tokens["admin"]),
    )
    assert ok.status_code == 201 and ok.json()["properties"]["city_code"] == "130181"
    assert any("省直管" in w["message"] for w in ok.json()["warnings"])


def test_readiness_words_from_the_lists_are_understood(
    client: TestClient, tokens: dict[str, str]
) -> None:
    r = _create(
        client, tokens["admin"], "EDIT-7T", readiness="通水、通电、通气、通信、通路、场地平整"
    )
    assert r.status_code == 201, r.text
    assert set(r.json()["properties"]["readiness"]) == {
        "water",
        "power",
        "gas",
        "telecom",
        "road",
        "levelled",
    }


def test_who_may_not_read_the_confidential_fields_may_not_write_them(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    """A zone committee reads null for the reserve price and the staff mobile: sending them
    (even back as null) is refused with 403, and nothing changes; the admin may."""
    zone_id = session.execute(
        text("SELECT zone_id FROM landmatch.app_user WHERE name = 't-zone'")
    ).scalar()
    code, city, price = session.execute(
        text(
            "SELECT code, city_code, reserve_price_wan_per_mu FROM landmatch.parcel "
            "WHERE zone_id = :z AND deleted_at IS NULL ORDER BY id LIMIT 1"
        ),
        {"z": zone_id},
    ).one()
    h = auth(tokens["zone"])
    seen = client.get(f"/api/parcels/{code}", headers=h)
    assert seen.json()["properties"]["reserve_price_wan_per_mu"] is None
    for body in (
        {"reserve_price_wan_per_mu": 1},
        {"reserve_price_wan_per_mu": None},
        {"contact_phone": "13800000000", "power_kva": 1},
    ):
        r = client.patch(
            f"/api/parcels/{code}", json=body, headers={**h, "If-Match": seen.headers["ETag"]}
        )
        assert r.status_code == 403, (body, r.text)
        assert "无权修改" in r.json()["detail"]
    assert (
        session.execute(
            text("SELECT reserve_price_wan_per_mu FROM landmatch.parcel WHERE code = :c"),
            {"c": code},
        ).scalar()
        == price
    )
    # Creating one with them is refused too.
    r = client.post(
        "/api/parcels",
        json={
            "type": "Feature",
            "properties": {"code": "ZC-CONF-1", "city_code": city, "reserve_price_wan_per_mu": 5},
            "geometry": None,
        },
        headers=h,
    )
    assert r.status_code == 403 and "无权修改" in r.json()["detail"]
    # The admin (who reads them everywhere) writes them.
    a = auth(tokens["admin"])
    etag = client.get(f"/api/parcels/{code}", headers=a).headers["ETag"]
    ok = client.patch(
        f"/api/parcels/{code}",
        json={"reserve_price_wan_per_mu": 123},
        headers={**a, "If-Match": etag},
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["properties"]["reserve_price_wan_per_mu"] == 123


def test_lease_years_within_the_ceiling_of_the_use(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """An edit is checked by the import's rule: 出让年限 at most the use's maximum term."""
    h = auth(tokens["admin"])
    r = client.post("/api/parcels", json=feature("EDIT-LY", lease_years=70), headers=h)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "code": "EDIT-LY",
            "field": "lease_years",
            "reason": "出让年限 70 年超过工业用地最高 50 年",
        }
    ]
    r = _create(client, tokens["admin"], "EDIT-LY", lease_years=50)
    assert r.status_code == 201, r.text
    h["If-Match"] = r.headers["ETag"]
    bad = client.patch("/api/parcels/EDIT-LY", json={"land_use": "0901"}, headers=h)
    assert bad.status_code == 422
    assert "出让年限 50 年超过商业、旅游、娱乐用地最高 40 年" in bad.json()["detail"]
    ok = client.patch(
        "/api/parcels/EDIT-LY", json={"land_use": "0901", "lease_years": 40}, headers=h
    )
    assert ok.status_code == 200, ok.text


def test_a_stored_term_over_the_ceiling_is_named_as_the_stored_value(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    """A parcel stored with 出让年限 over its use's ceiling (before the rule) cannot be edited
    until the term is corrected: a refusal of an edit that touched neither the use nor the
    term says the fault is the stored value, what to do, and that QA lists such parcels
    (it named only the rule, beside a field the edit had not changed); the bulk action says
    the same; correcting the term in the same edit saves."""
    from landmatch.inventory.edits import STORED_LEASE_FAULT

    h = auth(tokens["bureau"])
    r = _create(client, tokens["bureau"], "EDIT-SF", lease_years=50)
    assert r.status_code == 201, r.text
    session.execute(text("UPDATE landmatch.parcel SET lease_years = 70 WHERE code = 'EDIT-SF'"))
    session.flush()
    tag = client.get("/api/parcels/EDIT-SF", headers=h).headers["ETag"]
    bad = client.patch(
        "/api/parcels/EDIT-SF", json={"name": "改名"}, headers={**h, "If-Match": tag}
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"] == [
        {
            "code": "EDIT-SF",
            "field": "lease_years",
            "reason": "出让年限 70 年超过工业用地最高 50 年" + STORED_LEASE_FAULT,
        }
    ]
    assert "请先更正出让年限或用途" in bad.json()["detail"]
    bulk = client.post(
        "/api/parcels/bulk",
        json={
            "items": [{"code": "EDIT-SF", "etag": tag}],
            "visibility": "internal",
            "reason": "批量",
        },
        headers=h,
    )
    assert bulk.status_code == 422, bulk.text
    assert STORED_LEASE_FAULT in bulk.json()["detail"]
    # Touching the term (or the use) is the edit's own fault: said without the note.
    still = client.patch(
        "/api/parcels/EDIT-SF", json={"lease_years": 60}, headers={**h, "If-Match": tag}
    )
    assert still.status_code == 422
    assert still.json()["errors"][0]["reason"] == "出让年限 60 年超过工业用地最高 50 年"
    ok = client.patch(
        "/api/parcels/EDIT-SF",
        json={"name": "改名", "lease_years": 50},
        headers={**h, "If-Match": tag},
    )
    assert ok.status_code == 200, ok.text


def test_a_level_2_compatible_use_is_read_as_its_default_sub_class(
    client: TestClient, tokens: dict[str, str]
) -> None:
    r = _create(client, tokens["admin"], "EDIT-CU", compatible_uses=["物流仓储用地", "0802"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["properties"]["compatible_uses"] == ["110102", "0802"]
    assert any(
        w["field"] == "compatible_uses" and "按 110102 二类物流仓储用地记录" in w["message"]
        for w in body["warnings"]
    )


def test_a_version_stored_before_a_column_was_added_is_restored(
    client: TestClient, session: Session, tokens: dict[str, str]
) -> None:
    """A version's stored state lacks the columns added to the parcel after it (0041_idle_rules
    added start_extended, NOT NULL): restoring it keeps the parcel's own value (it was a 500)."""
    h = auth(tokens["bureau"])
    first = _create(client, tokens["bureau"], code="EDIT-OLDV")
    assert first.status_code == 201, first.text
    ok = client.patch(
        "/api/parcels/EDIT-OLDV",
        json={"name": "改名"},
        headers={**h, "If-Match": first.headers["ETag"]},
    )
    assert ok.status_code == 200, ok.text
    session.execute(
        text(
            "UPDATE landmatch.parcel_version SET row = row - 'start_extended' "
            "WHERE code = 'EDIT-OLDV' AND version = 1"
        )
    )
    session.execute(
        text("UPDATE landmatch.parcel SET start_extended = true WHERE code = 'EDIT-OLDV'")
    )
    session.flush()
    etag = client.get("/api/parcels/EDIT-OLDV", headers=h).headers["ETag"]
    back = client.post(
        "/api/parcels/EDIT-OLDV/restore",
        json={"version": 1, "reason": "回退到旧版本"},
        headers={**h, "If-Match": etag},
    )
    assert back.status_code == 200, back.text
    assert back.json()["properties"]["name"] == "测试地块EDIT-OLDV"
    assert (
        session.execute(
            text("SELECT start_extended FROM landmatch.parcel WHERE code = 'EDIT-OLDV'")
        ).scalar_one()
        is True
    )


def test_impossible_control_indicators_are_refused(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """An edit is checked by the import's ranges: 绿地率上限 at most 100 %, none negative."""
    h = auth(tokens["admin"])
    r = _create(client, tokens["admin"], "EDIT-CI", green_ratio_max=15)
    assert r.status_code == 201, r.text
    h["If-Match"] = r.headers["ETag"]
    for change, field in (
        ({"green_ratio_max": 120}, "green_ratio_max"),
        ({"building_coeff_min": -5}, "building_coeff_min"),
    ):
        bad = client.patch("/api/parcels/EDIT-CI", json=change, headers=h)
        assert bad.status_code == 422, (change, bad.text)
        assert field in bad.text or "绿地率" in bad.text or "建筑系数" in bad.text
    assert (
        client.get("/api/parcels/EDIT-CI", headers=h).json()["properties"]["green_ratio_max"] == 15
    )


def test_a_reserve_price_below_the_national_minimum_is_a_warning(
    client: TestClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """工业用地出让最低价标准 (docs/domain.md §10): with 石家庄 configured as grade 5 (384 元/m²,
    25.6 万元/亩) an industrial 出让底价 below it is written with a warning to check (priority
    industries may go to 70 %); at or above it, or with no grade configured, nothing is said."""

    def warnings(r: httpx.Response) -> list[str]:
        assert r.status_code in (200, 201), r.text
        return [
            w["message"] for w in r.json()["warnings"] if w["field"] == "reserve_price_wan_per_mu"
        ]

    h = auth(tokens["admin"])
    assert not warnings(_create(client, tokens["admin"], "EDIT-MP0", reserve_price_wan_per_mu=10))
    with configured(monkeypatch, LANDMATCH_INDUSTRIAL_PRICE_GRADES='{"130100": 5}'):
        r = _create(client, tokens["admin"], "EDIT-MP", reserve_price_wan_per_mu=10)
        assert warnings(r) == [
            "出让底价 10 万元/亩低于全国工业用地出让最低价标准（第 5 等 384 元/平方米，"
            "合 25.6 万元/亩）；优先发展产业可按不低于 70%（17.92 万元/亩）确定，请核实"
        ]
        h["If-Match"] = r.headers["ETag"]
        ok = client.patch("/api/parcels/EDIT-MP", json={"reserve_price_wan_per_mu": 26}, headers=h)
        assert not warnings(ok)
        # Not industrial land: no floor.
        shop = _create(
            client, tokens["admin"], "EDIT-MP2", land_use="0901", reserve_price_wan_per_mu=10
        )
        assert not warnings(shop)


def test_a_sale_price_below_the_national_minimum_is_a_warning_too(
    client: TestClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The minimum price holds for the 成交价 as for the 底价 (docs/domain.md §10): a total in
    万元 over the parcel's area in 亩 below its grade's floor is written with a warning on the
    成交价, through the API as through the form (both are update_parcel); a parcel whose use is
    待定 is said to be unchecked, not passed in silence."""

    def warnings(r: httpx.Response, fld: str) -> list[str]:
        assert r.status_code in (200, 201), r.text
        return [w["message"] for w in r.json()["warnings"] if w["field"] == fld]

    with configured(monkeypatch, LANDMATCH_INDUSTRIAL_PRICE_GRADES='{"130100": 5}'):
        # The square is about 58.6 亩: 500 万元 is about 8.5 万元/亩, under 25.6.
        r = _create(client, tokens["admin"], "EDIT-SP", land_price_wan=500)
        [said] = warnings(r, "land_price_wan")
        assert said.startswith("成交价 500 万元（合 8.5"), said
        assert "万元/亩）低于全国工业用地出让最低价标准（第 5 等 384 元/平方米" in said, said
        h = auth(tokens["admin"])
        h["If-Match"] = r.headers["ETag"]
        ok = client.patch("/api/parcels/EDIT-SP", json={"land_price_wan": 3000}, headers=h)
        assert not warnings(ok, "land_price_wan")
        # An edit of another field still checks the stored sale price (the merged parcel).
        h["If-Match"] = ok.headers["ETag"]
        low = client.patch("/api/parcels/EDIT-SP", json={"land_price_wan": 400}, headers=h)
        h["If-Match"] = low.headers["ETag"]
        named = client.patch("/api/parcels/EDIT-SP", json={"name": "改名"}, headers=h)
        assert warnings(named, "land_price_wan"), named.json()["warnings"]
        # Use 待定: nothing to check the prices against, and the warning says so.
        pending = _create(
            client,
            tokens["admin"],
            "EDIT-SP2",
            land_use="TBD",
            visibility="internal",
            reserve_price_wan_per_mu=10,
            land_price_wan=500,
        )
        assert warnings(pending, "reserve_price_wan_per_mu") == [
            "用途待定，无法核验出让底价和成交价是否低于全国工业用地出让最低价标准"
            "（本地为第 5 等，合 25.6 万元/亩，适用于工业用地）：请补充用途"
        ]
        # Not industrial land: no floor, nothing said.
        shop = _create(client, tokens["admin"], "EDIT-SP3", land_use="0901", land_price_wan=5)
        assert shop.status_code == 201, shop.text
        assert not [w for w in shop.json()["warnings"] if "最低价" in w["message"]]


def test_price_grades_are_checked_when_read() -> None:
    from landmatch.errors import ConfigError
    from landmatch.settings import load_settings

    with pytest.raises(ConfigError, match="LANDMATCH_INDUSTRIAL_PRICE_GRADES"):
        load_settings(industrial_price_grades={"130100": 16})
    assert load_settings(industrial_price_grades={"130102": 7}).industrial_price_grades == {
        "130102": 7
    }


def _state(session: Session, code: str) -> tuple[Any, ...]:
    return tuple(
        session.execute(
            text(
                "SELECT version, reserve_price_wan_per_mu, contact_phone, lease_years, name "
                "FROM landmatch.parcel WHERE code = :c"
            ),
            {"c": code},
        ).one()
    )


def test_a_restore_may_not_change_what_the_caller_may_not_write(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    """A zone committee may not PATCH the reserve price (403), nor bring an old one back by
    restoring a version (it was written): refused with 403 naming 底价 and 联系电话, nothing
    written. A version that differs from the parcel in other fields only it restores; the
    admin restores the price (and the walk: the city's bureau too)."""
    zone_id = session.execute(
        text("SELECT zone_id FROM landmatch.app_user WHERE name = 't-zone'")
    ).scalar()
    code, city, price = session.execute(
        text(
            "SELECT code, city_code, reserve_price_wan_per_mu FROM landmatch.parcel "
            "WHERE zone_id = :z AND deleted_at IS NULL ORDER BY id LIMIT 1"
        ),
        {"z": zone_id},
    ).one()
    a, z = auth(tokens["admin"]), auth(tokens["zone"])
    first = client.get(f"/api/parcels/{code}", headers=a)
    before = first.json()["properties"]["version"]
    set_price = client.patch(
        f"/api/parcels/{code}",
        json={"reserve_price_wan_per_mu": 88.8, "contact_phone": "13900000000"},
        headers={**a, "If-Match": first.headers["ETag"]},
    )
    assert set_price.status_code == 200, set_price.text
    tag = set_price.headers["ETag"]
    patched = client.patch(
        f"/api/parcels/{code}", json={"reserve_price_wan_per_mu": 1}, headers={**z, "If-Match": tag}
    )
    assert patched.status_code == 403
    kept = _state(session, code)
    r = client.post(
        f"/api/parcels/{code}/restore",
        json={"version": before, "reason": "管委会恢复"},
        headers={**z, "If-Match": tag},
    )
    assert r.status_code == 403, r.text
    detail = r.json()["detail"]
    assert f"无权恢复到版本 {before}" in detail and "底价(万元/亩)、联系电话" in detail, detail
    assert "未做任何更改" in detail
    assert _state(session, code) == kept
    # A change of other fields it may restore: rename, then restore the version before.
    renamed = client.patch(
        f"/api/parcels/{code}", json={"name": "管委会改名"}, headers={**z, "If-Match": tag}
    )
    assert renamed.status_code == 200, renamed.text
    back = client.post(
        f"/api/parcels/{code}/restore",
        json={"version": before + 1, "reason": "撤销改名"},
        headers={**z, "If-Match": renamed.headers["ETag"]},
    )
    assert back.status_code == 200, back.text
    assert _state(session, code)[1:] == kept[1:]
    # The admin brings the old price back.
    done = client.post(
        f"/api/parcels/{code}/restore",
        json={"version": before, "reason": "恢复底价"},
        headers={**a, "If-Match": back.headers["ETag"]},
    )
    assert done.status_code == 200, done.text
    assert _state(session, code)[1] == price


def test_a_restore_is_checked_by_todays_rules(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    """A version written before a rule existed (出让年限 70 on industrial land, stored by an
    old import) does not come back by a restore: 422 naming the version, the field and the
    rule, nothing written. A valid version restores."""
    h = auth(tokens["bureau"])
    r = _create(client, tokens["bureau"], "EDIT-LR", lease_years=50)
    assert r.status_code == 201, r.text
    session.execute(
        text(
            "SELECT set_config('landmatch.actor', 'legacy-import', true), "
            "set_config('landmatch.reason', '2023 旧数据导入', true)"
        )
    )
    session.execute(text("UPDATE landmatch.parcel SET lease_years = 70 WHERE code = 'EDIT-LR'"))
    session.flush()
    etag = client.get("/api/parcels/EDIT-LR", headers=h).headers["ETag"]
    fixed = client.patch(
        "/api/parcels/EDIT-LR",
        json={"lease_years": 50, "reason": "按工业用地最高 50 年更正"},
        headers={**h, "If-Match": etag},
    )
    assert fixed.status_code == 200, fixed.text
    kept = _state(session, "EDIT-LR")
    assert kept[0] == 3 and kept[3] == 50
    bad = client.post(
        "/api/parcels/EDIT-LR/restore",
        json={"version": 2},
        headers={**h, "If-Match": fixed.headers["ETag"]},
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["detail"] == (
        "不能恢复到版本 2：该版本的出让年限不符合现行校验规则"
        "（出让年限 70 年超过工业用地最高 50 年），未做任何更改"
    )
    assert bad.json()["errors"] == [
        {
            "code": "EDIT-LR",
            "field": "lease_years",
            "reason": "出让年限 70 年超过工业用地最高 50 年",
        }
    ]
    assert _state(session, "EDIT-LR") == kept
    ok = client.post(
        "/api/parcels/EDIT-LR/restore",
        json={"version": 1},
        headers={**h, "If-Match": fixed.headers["ETag"]},
    )
    assert ok.status_code == 200, ok.text
    assert _state(session, "EDIT-LR")[0] == 4
