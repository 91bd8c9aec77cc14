"""The zone role edits its own zone and its parcels, and nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.geo.measure import area_m2
from landmatch.reflayers.scope import territory_sql
from tests.conftest import auth, with_etag
from tests.zones.conftest import box


def _zones(session: Session) -> Sequence[Row[*tuple[Any, ...]]]:
    return session.execute(
        text("SELECT id, code, city_code FROM landmatch.dev_zone ORDER BY id")
    ).all()


def test_zone_user_edits_own_zone_only(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    zones = _zones(session)
    own, other = zones[0], zones[1]
    h = auth(tokens["zone"])
    r = client.patch(
        f"/api/zones/{own.code}",
        headers=with_etag(client, f"/api/zones/{own.code}", h),
        json={"contact_phone": "0311-1234567", "leading_industries": ["39", "3911"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["contact_phone"] == "0311-1234567"
    assert r.json()["leading_industries"] == ["39", "3911"]
    r = client.patch(
        f"/api/zones/{other.code}",
        headers=with_etag(client, f"/api/zones/{other.code}", h),
        json={"contact_phone": "1"},
    )
    assert r.status_code == 403
    # Designations above the committee stay with bureau/admin.
    r = client.patch(
        f"/api/zones/{own.code}",
        headers=with_etag(client, f"/api/zones/{own.code}", h),
        json={"level": "national"},
    )
    assert r.status_code == 403 and "level" in r.text
    r = client.post(
        f"/api/zones/{own.code}/assessments",
        headers=with_etag(client, f"/api/zones/{own.code}", h),
        json={
            "kind": "SEISMIC",
            "approved_on": "2025-01-10",
            "valid_until": "2030-01-09",
            "doc_no": "冀震评〔2025〕1号",
        },
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"/api/zones/{other.code}/assessments",
        headers=with_etag(client, f"/api/zones/{other.code}", h),
        json={"kind": "SEISMIC", "approved_on": "2025-01-10"},
    )
    assert r.status_code == 403
    # Nothing else: no zone creation, no policies outside its zone, no layer imports.
    r = client.post(
        "/api/policies",
        headers=h,
        json={
            "code": "zone-try-city",
            "title": "t",
            "issuer": "i",
            "scope_level": "city",
            "scope_code": own.city_code,
            "benefit_kind": "subsidy",
            "summary": "s",
        },
    )
    assert r.status_code == 403
    r = client.post(
        "/api/layers/facility/import",
        headers=h,
        files={"file": ("f.geojson", b"{}", "application/geo+json")},
    )
    assert r.status_code == 403
    history = client.get(f"/api/zones/{own.code}/history", headers=h).json()
    assert any(v["actor"] == "t-zone" and v["layer"] == "dev_zone" for v in history)


def test_parcel_scope_function(session: Session) -> None:
    zones = _zones(session)
    own = zones[0]
    zone_user = Principal(name="z", role="zone", zone_id=own.id)
    assert zone_user.can_edit_parcel(own.city_code, own.id, own.city_code)
    assert not zone_user.can_edit_parcel(own.city_code, zones[1].id, own.city_code)
    assert not zone_user.can_edit_parcel(own.city_code, None, own.city_code)
    # In its zone but in another city than the zone's (a membership from before the rule),
    # or with the zone's city unknown: no.
    other_city = next(c for c in ("130100", "130200") if c != own.city_code)
    assert not zone_user.can_edit_parcel(other_city, own.id, own.city_code)
    assert not zone_user.can_edit_parcel(own.city_code, own.id)
    assert not zone_user.can_edit_city(own.city_code)
    bureau = Principal(name="b", role="bureau", city_code="130100")
    in_sjz = next(z for z in zones if z.city_code == "130100")
    elsewhere = next(z for z in zones if z.city_code != "130100")
    assert bureau.can_edit_zone(in_sjz.id, in_sjz.city_code)
    assert not bureau.can_edit_zone(elsewhere.id, elsewhere.city_code)
    assert bureau.can_edit_parcel("130100", elsewhere.id)
    assert not Principal(name="p", role="promoter").can_edit_zone(own.id, own.city_code)


def test_unknown_industry_refused(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    own = _zones(session)[0]
    r = client.patch(
        f"/api/zones/{own.code}",
        headers=with_etag(client, f"/api/zones/{own.code}", auth(tokens["zone"])),
        json={"leading_industries": ["39", "99"]},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "leading_industries"
    assert "99" in r.json()["detail"]


def test_overlapping_boundary_refused(
    client: TestClient, tokens: dict[str, str], session: Session
) -> None:
    z = session.execute(
        text(
            "SELECT code, ST_X(ST_PointOnSurface(geom)) x, ST_Y(ST_PointOnSurface(geom)) y "
            "FROM landmatch.dev_zone WHERE city_code = '130100' ORDER BY id LIMIT 1"
        )
    ).first()
    assert z is not None
    body = {
        "code": "new-zone-t",
        "name": "测试开发区",
        "city_code": "130100",
        "level": "provincial",
        "kind": "经开区",
        "leading_industries": ["34"],
        "geometry": box(z.x - 0.01, z.y - 0.01, z.x + 0.01, z.y + 0.01),
    }
    r = client.post("/api/zones", headers=auth(tokens["bureau"]), json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "geometry"
    assert z.code in r.json()["detail"]
    # The same zone somewhere free is accepted, and a zone user cannot create zones.
    # A free place within 石家庄's territory (a zone lies in its city: not in 辛集 or 定州).
    free = session.execute(
        text(
            "SELECT x, y FROM (VALUES (114.9::float8, 38.6::float8), (115.2, 37.9), (114.3, 37.9), "
            "(114.5, 38.3), (114.2, 38.2), (114.7, 37.7)) v(x, y) "
            "WHERE NOT EXISTS (SELECT 1 FROM landmatch.dev_zone WHERE ST_DWithin(geom, "
            "ST_SetSRID(ST_MakePoint(x, y), 4490), 0.05)) AND EXISTS (SELECT 1 FROM "
            f"landmatch.admin_division a WHERE a.code = '130100' AND ST_Covers({territory_sql()}, "
            "ST_MakeEnvelope(x, y, x + 0.01, y + 0.01, 4490))) LIMIT 1"
        )
    ).first()
    assert free is not None
    body["geometry"] = box(free.x, free.y, free.x + 0.01, free.y + 0.01)
    assert client.post("/api/zones", headers=auth(tokens["zone"]), json=body).status_code == 403
    r = client.post("/api/zones", headers=auth(tokens["bureau"]), json=body)
    assert r.status_code == 201, r.text
    expected = area_m2(shape(body["geometry"]))  # ellipsoidal, computed independently
    assert abs(r.json()["area_m2"] - expected) < expected * 1e-3
