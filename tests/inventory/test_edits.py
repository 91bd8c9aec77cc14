"""Edits through the API: create, If-Match (428/412), scope (403), validation, delete/restore,
history with old → new values."""

from __future__ import annotations

from tests.conftest import auth
from tests.inventory.conftest import feature, square


def _create(client, token, code="EDIT-001", **props):  # type: ignore[no-untyped-def]
    return client.post("/api/parcels", json=feature(code, **props), headers=auth(token))


def test_create_patch_delete_restore_history(client, tokens):  # type: ignore[no-untyped-def]
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

    assert client.delete("/api/parcels/EDIT-001", headers=h).status_code == 204
    assert client.get("/api/parcels/EDIT-001", headers=h).status_code == 404
    back = client.post("/api/parcels/EDIT-001/restore", json={}, headers=h)
    assert back.status_code == 200 and back.json()["properties"]["name"] == "新名"
    v1 = client.post(
        "/api/parcels/EDIT-001/restore", json={"version": 1, "reason": "回退"}, headers=h
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


def test_scope_and_roles(client, tokens):  # type: ignore[no-untyped-def]
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


def test_validation_rejects_with_field_and_location(client, tokens):  # type: ignore[no-untyped-def]
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
    cases = [
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


def test_zone_committee_edits_only_its_own_zones_parcels(client, tokens, session):  # type: ignore[no-untyped-def]
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
    moved = client.patch(
        f"/api/parcels/{mine}",
        json={"zone_code": None},
        headers={**h, "If-Match": ok.headers["ETag"]},
    )
    assert moved.status_code in (403, 422), moved.text
    assert client.delete(f"/api/parcels/{other}", headers=h).status_code == 403
    # Bulk imports stay with the land bureau.
    r = client.post(
        "/api/imports",
        headers=h,
        files={"file": ("z.geojson", b'{"type":"FeatureCollection","features":[]}')},
    )
    assert r.status_code == 403, (zone_code, r.text)
