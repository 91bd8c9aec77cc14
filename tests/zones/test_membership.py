"""Zone membership by area share (issue #16 item 2), on real PostGIS: a parcel is in a zone
only when at least LANDMATCH_ZONE_MIN_SHARE of its area (on the ellipsoid) lies inside; the
zone and the share are stored on the parcel at import, edit, boundary change and zone change,
and the match, the card, the brochure and zone policies read them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch.db.membership import assign_zones, zone_label
from landmatch.settings import Settings
from tests.conftest import auth, with_etag
from tests.inventory.conftest import feature, geojson_bytes, post_import
from tests.zones.conftest import box

# A test zone in an empty corner of 石家庄 (no seeded zone or parcel there): 114.30–114.32 E.
ZONE = "t-mem-zone"
EDGE = 114.32


def straddling(inside: float, lat: float, width: float = 0.006) -> dict[str, Any]:
    """A lon/lat rectangle across the zone's east edge with ``inside`` of it in the zone (a
    rectangle's area splits by longitude exactly, on the ellipsoid too)."""
    x0 = EDGE - width * inside
    return box(x0, lat, x0 + width, lat + 0.002)


@pytest.fixture
def zone(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    body = {
        "code": ZONE,
        "name": "测试国家级经开区",
        "city_code": "130100",
        "level": "national",
        "kind": "经开区",
        "geometry": box(114.30, 38.20, EDGE, 38.22),
    }
    r = client.post("/api/zones", json=body, headers=auth(tokens["admin"]))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _create(
    client: TestClient, token: str, code: str, geometry: dict[str, Any], **props: Any
) -> dict[str, Any]:
    props = {"visibility": "public", **props}
    r = client.post("/api/parcels", json=feature(code, geometry, **props), headers=auth(token))
    assert r.status_code == 201, r.text
    return r.json()["properties"]  # type: ignore[no-any-return]


def _stored(conn: Connection, code: str) -> tuple[str | None, float | None, int]:
    row = conn.execute(
        text(
            "SELECT z.code, p.zone_share::float8, p.version FROM landmatch.parcel p "
            "LEFT JOIN landmatch.dev_zone z ON z.id = p.zone_id WHERE p.code = :c"
        ),
        {"c": code},
    ).one()
    return row[0], row[1], row[2]


def test_a_quarter_inside_is_not_in_the_zone_sixty_percent_is_with_its_share(
    client: TestClient, tokens: dict[str, str], zone: dict[str, Any], conn: Connection
) -> None:
    quarter = _create(client, tokens["admin"], "T-MEM-25", straddling(0.25, 38.210))
    sixty = _create(client, tokens["admin"], "T-MEM-60", straddling(0.60, 38.205))
    # Stored on the parcel at creation, and answered by the API that created it.
    assert quarter["zone_code"] is None and quarter["zone_share"] is None
    assert sixty["zone_code"] == ZONE and sixty["zone_share"] == pytest.approx(0.6, abs=1e-4)
    assert _stored(conn, "T-MEM-25")[:2] == (None, None)
    # The match reads the same stored zone (parcel_fact copies it).
    facts: dict[str, str | None] = dict(
        conn.execute(
            text(
                "SELECT f.code, z.code FROM landmatch.parcel_fact f LEFT JOIN landmatch.dev_zone z "
                "ON z.id = f.eff_zone_id WHERE f.code IN ('T-MEM-25', 'T-MEM-60')"
            )
        ).all()
    )
    assert facts == {"T-MEM-25": None, "T-MEM-60": ZONE}

    # The card and the brochure show the zone with the share, since it is partial.
    card = client.get("/api/parcels/T-MEM-60/card").json()
    assert card["zone"]["code"] == ZONE and card["zone"]["share"] == pytest.approx(0.6)
    assert card["zone"]["label"] == "测试国家级经开区（地块面积 60 % 位于区内）"
    brochure = client.get("/parcels/T-MEM-60/brochure")
    assert brochure.status_code == 200
    assert "测试国家级经开区（地块面积 60 % 位于区内）" in brochure.text
    assert client.get("/api/parcels/T-MEM-25/card").json()["zone"] is None
    # A parcel wholly inside shows the name alone.
    whole = _create(client, tokens["admin"], "T-MEM-IN", box(114.305, 38.212, 114.309, 38.214))
    assert whole["zone_code"] == ZONE and whole["zone_share"] == 1
    assert client.get("/api/parcels/T-MEM-IN/card").json()["zone"]["label"] == "测试国家级经开区"


def test_the_match_restricted_to_national_zones_leaves_out_a_quarter_inside(
    client: TestClient, tokens: dict[str, str], zone: dict[str, Any], conn: Connection
) -> None:
    _create(client, tokens["admin"], "T-MEM-25", straddling(0.25, 38.210))
    _create(client, tokens["admin"], "T-MEM-60", straddling(0.60, 38.205))
    req: dict[str, Any] = {
        "name": "国家级开发区选址",
        "industry": "36",
        "area_mu_min": 1,
        "area_mu_max": 1000,
        "location": {"cities": ["130100"], "zone_levels": ["national"]},
        "top": 200,
        "assemblies": False,
    }

    def ranked(location: dict[str, Any]) -> dict[str, dict[str, Any]]:
        body = req | {"location": req["location"] | location}
        r = client.post("/api/match", json=body, headers=auth(tokens["promoter"]))
        assert r.status_code == 200, r.text
        return {f["properties"]["code"]: f["properties"] for f in r.json()["features"]}

    here = ranked({"bbox": [114.29, 38.19, 114.34, 38.23]})
    assert "T-MEM-60" in here and "T-MEM-25" not in here
    assert here["T-MEM-60"]["zone_code"] == ZONE
    assert here["T-MEM-60"]["zone_label"] == "测试国家级经开区（地块面积 60 % 位于区内）"
    # Without the box, the quarter-inside parcel still is not ranked ("in" no zone at all).
    assert "T-MEM-25" not in ranked({})
    props = ranked({})
    # Every ranked parcel is in a national zone by the stored membership: most of its area.
    rows = conn.execute(
        text(
            "SELECT p.code, p.zone_share::float8, z.level FROM landmatch.parcel p "
            "JOIN landmatch.dev_zone z ON z.id = p.zone_id WHERE p.code = ANY(:c)"
        ),
        {"c": list(props)},
    ).all()
    assert len(rows) == len(props)
    assert all(level == "national" and share >= 0.5 for _c, share, level in rows)


def test_a_zone_policy_appears_on_the_card_once_the_zone_is_stored(
    client: TestClient, tokens: dict[str, str], zone: dict[str, Any]
) -> None:
    policy = {
        "code": "t-mem-pol",
        "title": "测试开发区入园奖励",
        "issuer": "测试管委会",
        "scope_level": "zone",
        "scope_code": ZONE,
        "benefit_kind": "reward",
        "benefit_amount_wan": 50,
        "valid_from": "2025-01-01",
        "valid_until": "2035-12-31",
        "summary": "入园项目奖励",
    }
    r = client.post("/api/policies", json=policy, headers=auth(tokens["admin"]))
    assert r.status_code == 201, r.text
    _create(client, tokens["admin"], "T-MEM-60", straddling(0.60, 38.205))
    _create(client, tokens["admin"], "T-MEM-25", straddling(0.25, 38.210))

    def codes(code: str) -> set[str]:
        card = client.get(f"/api/parcels/{code}/card", headers=auth(tokens["admin"])).json()
        return {p["code"] for p in card["policies"]}

    assert "t-mem-pol" in codes("T-MEM-60")
    assert "t-mem-pol" not in codes("T-MEM-25")


def test_the_setting_is_honoured(
    client: TestClient,
    tokens: dict[str, str],
    zone: dict[str, Any],
    conn: Connection,
    settings: Settings,
) -> None:
    _create(client, tokens["admin"], "T-MEM-25", straddling(0.25, 38.210))
    assert _stored(conn, "T-MEM-25")[0] is None
    # The server's engines carry the configured threshold on every connection …
    from landmatch.db.engine import job_engine, request_engine

    low = settings.model_copy(update={"zone_min_share": 0.2})
    for engine in (job_engine(low), request_engine(low)):
        with engine.connect() as other:
            assert other.execute(text("SHOW landmatch.zone_min_share")).scalar() == "0.2"
    # … and membership follows it: at 20 % a quarter inside is in the zone.
    conn.execute(text("SET LOCAL landmatch.zone_min_share = '0.2'"))
    pid = conn.execute(text("SELECT id FROM landmatch.parcel WHERE code = 'T-MEM-25'")).scalar_one()
    assert assign_zones(conn, [pid]) == 1
    zone_code, share, _v = _stored(conn, "T-MEM-25")
    assert zone_code == ZONE and share == pytest.approx(0.25, abs=1e-4)
    assert client.get("/api/parcels/T-MEM-25/card").json()["zone"]["label"] == (
        "测试国家级经开区（地块面积 25 % 位于区内）"
    )
    # From the environment, checked like every setting.
    from landmatch.errors import ConfigError
    from landmatch.settings import load_settings

    assert load_settings(zone_min_share="0.75").zone_min_share == 0.75
    with pytest.raises(ConfigError, match="LANDMATCH_ZONE_MIN_SHARE"):
        load_settings(zone_min_share=1.5)


def test_membership_follows_edits_and_zone_boundary_changes_without_new_versions(
    client: TestClient, tokens: dict[str, str], zone: dict[str, Any], conn: Connection
) -> None:
    h = auth(tokens["admin"])
    _create(client, tokens["admin"], "T-MEM-25", straddling(0.25, 38.210))
    # An edit of the boundary: now 80 % inside.
    r = client.patch(
        "/api/parcels/T-MEM-25",
        json={"type": "Feature", "properties": {}, "geometry": straddling(0.80, 38.210)},
        headers=with_etag(client, "/api/parcels/T-MEM-25", h),
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["zone_code"] == ZONE
    zone_code, share, version = _stored(conn, "T-MEM-25")
    assert (zone_code, version) == (ZONE, 2) and share == pytest.approx(0.8, abs=1e-4)
    # The zone's boundary moves west: 20 % inside now, so out; the parcel keeps its version
    # (membership is derived, not an edit) and no history version is added.
    versions = conn.execute(
        text("SELECT count(*) FROM landmatch.parcel_version WHERE code = 'T-MEM-25'")
    ).scalar()
    r = client.patch(
        f"/api/zones/{ZONE}",
        json={"geometry": box(114.30, 38.20, EDGE - 0.0036, 38.22)},
        headers=with_etag(client, f"/api/zones/{ZONE}", h),
    )
    assert r.status_code == 200, r.text
    assert _stored(conn, "T-MEM-25") == (None, None, 2)
    assert (
        conn.execute(
            text("SELECT count(*) FROM landmatch.parcel_version WHERE code = 'T-MEM-25'")
        ).scalar()
        == versions
    )
    # An editor holding the ETag from before the zone change can still save.
    r = client.patch(
        "/api/parcels/T-MEM-25",
        json={"name": "改名"},
        headers={**h, "If-Match": '"T-MEM-25.v2"'},
    )
    assert r.status_code == 200, r.text
    # Deleting the zone leaves its parcels in none.
    _create(client, tokens["admin"], "T-MEM-IN", box(114.305, 38.212, 114.309, 38.214))
    assert _stored(conn, "T-MEM-IN")[0] == ZONE
    r = client.delete(f"/api/zones/{ZONE}", headers=with_etag(client, f"/api/zones/{ZONE}", h))
    assert r.status_code == 204, r.text
    assert _stored(conn, "T-MEM-IN")[:2] == (None, None)


def test_an_import_stores_the_zone_by_area_share(
    client: TestClient, tokens: dict[str, str], zone: dict[str, Any], conn: Connection
) -> None:
    data = geojson_bytes(
        feature("T-MEM-I60", straddling(0.60, 38.205), visibility="public"),
        # A zone code in the file does not decide: the boundary does.
        feature("T-MEM-I25", straddling(0.25, 38.210), zone_code=ZONE),
    )
    r = post_import(client, tokens["admin"], "z.geojson", data)
    assert r.status_code == 200, r.text
    assert _stored(conn, "T-MEM-I60")[:2] == (ZONE, pytest.approx(0.6, abs=1e-4))
    assert _stored(conn, "T-MEM-I25")[:2] == (None, None)


def test_a_zone_committee_cannot_move_its_parcel_out_of_its_zone(
    client: TestClient,
    tokens: dict[str, str],
    zone: dict[str, Any],
    session: Session,
    conn: Connection,
) -> None:
    from landmatch.accounts.users import add_user

    token = add_user(session, "t-mem-zone-user", "zone", zone_code=ZONE)
    session.flush()
    h = auth(token)
    _create(client, tokens["admin"], "T-MEM-60", straddling(0.60, 38.205))
    etag = client.get("/api/parcels/T-MEM-60", headers=h).headers["ETag"]
    out = client.patch(
        "/api/parcels/T-MEM-60",
        json={"type": "Feature", "properties": {}, "geometry": straddling(0.30, 38.205)},
        headers={**h, "If-Match": etag},
    )
    assert out.status_code == 403, out.text
    assert _stored(conn, "T-MEM-60")[0] == ZONE
    # Nor draw a new one outside it; inside is fine.
    outside = feature("T-MEM-OUT", box(114.33, 38.21, 114.334, 38.212))
    assert client.post("/api/parcels", json=outside, headers=h).status_code == 403
    inside = feature("T-MEM-ZIN", box(114.305, 38.215, 114.309, 38.217))
    assert client.post("/api/parcels", json=inside, headers=h).status_code == 201


def test_the_migration_backfills_membership(
    client: TestClient, tokens: dict[str, str], zone: dict[str, Any], conn: Connection
) -> None:
    import importlib

    backfill = importlib.import_module(
        "landmatch.db.migrations.versions.0022_zone_membership"
    ).BACKFILL_SQL
    _create(client, tokens["admin"], "T-MEM-60", straddling(0.60, 38.205))
    before = conn.execute(
        text("SELECT code, zone_id, zone_share FROM landmatch.parcel ORDER BY code")
    ).all()
    conn.execute(text("SELECT set_config('landmatch.derived_write', 'on', true)"))
    conn.execute(text("UPDATE landmatch.parcel SET zone_id = NULL, zone_share = NULL"))
    conn.execute(text("UPDATE landmatch.parcel_fact SET zone_id = NULL"))
    conn.execute(text(backfill))
    after = conn.execute(
        text("SELECT code, zone_id, zone_share FROM landmatch.parcel ORDER BY code")
    ).all()
    assert after == before
    assert not conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel_fact f JOIN landmatch.parcel p "
            "ON p.id = f.parcel_id WHERE f.zone_id IS DISTINCT FROM p.zone_id"
        )
    ).scalar()


def test_zone_label() -> None:
    assert zone_label("X", 0.999) == "X（地块面积 99 % 位于区内）"
    assert zone_label("X", 0.004) == "X（地块面积 1 % 位于区内）"
    assert zone_label("X", 1.0) == "X"
