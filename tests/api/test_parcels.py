"""``/healthz`` and ``/api/parcels`` against real PostGIS."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from landmatch.db.parcels import INTERNAL_COLUMNS
from landmatch.settings import Settings
from tests.conftest import auth

PROBLEM = "application/problem+json"


def test_healthz_reports_database_and_postgis(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["postgis"].startswith("3.")
    from landmatch.db.engine import head_revision

    assert body["schema_revision"] == head_revision()
    assert set(body["pending"]) == {"facts", "cells"}


def test_healthz_answers_503_with_the_reason_when_the_database_is_unreachable(
    settings: Settings,
) -> None:
    from fastapi.testclient import TestClient

    from landmatch.api.app import create_app
    from landmatch.settings import load_settings

    bad = load_settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", mode="test")
    with TestClient(create_app(bad)) as c:
        r = c.get("/healthz")
    assert r.status_code == 503
    assert r.json()["database"] == "unreachable" and r.json()["reason"]


def test_public_listing_shows_only_public_ready_parcels_and_fields(client: TestClient) -> None:
    r = client.get("/api/parcels", params={"limit": 50})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 50
    for f in fc["features"]:
        props = f["properties"]
        assert props["status"] == "ready"
        leaked = set(props) & set(INTERNAL_COLUMNS)
        assert not leaked, leaked
        assert f["geometry"]["type"] == "MultiPolygon"
        assert abs(props["area_mu"] - props["area_m2"] * 15 / 10000) < 0.01


def test_public_cannot_fetch_an_internal_parcel(client: TestClient, conn: Connection) -> None:
    code = conn.execute(
        text("SELECT code FROM landmatch.parcel WHERE status = 'idle' LIMIT 1")
    ).scalar()
    assert client.get(f"/api/parcels/{code}").status_code == 404


def test_staff_see_internal_fields_and_all_statuses(
    client: TestClient, tokens: dict[str, str]
) -> None:
    r = client.get(
        "/api/parcels",
        params={"status": "idle,unsupplied", "limit": 20},
        headers=auth(tokens["promoter"]),
    )
    assert r.status_code == 200
    feats = r.json()["features"]
    assert feats and {f["properties"]["status"] for f in feats} <= {"idle", "unsupplied"}
    assert "contact_phone" in feats[0]["properties"]
    one = client.get(f"/api/parcels/{feats[0]['id']}", headers=auth(tokens["admin"]))
    assert one.status_code == 200 and one.json()["properties"]["code"] == feats[0]["id"]


def test_filters_city_zone_bbox(
    client: TestClient, conn: Connection, tokens: dict[str, str]
) -> None:
    r = client.get(
        "/api/parcels", params={"city": "130200", "limit": 30}, headers=auth(tokens["admin"])
    )
    assert {f["properties"]["city_code"] for f in r.json()["features"]} == {"130200"}
    zone = conn.execute(
        text(
            "SELECT z.code FROM landmatch.dev_zone z JOIN landmatch.parcel p ON p.zone_id = z.id "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
    ).scalar()
    r = client.get("/api/parcels", params={"zone": zone}, headers=auth(tokens["admin"]))
    assert r.json()["features"] and all(
        f["properties"]["zone_code"] == zone for f in r.json()["features"]
    )
    r = client.get(
        "/api/parcels",
        params={"bbox": "114.3,37.9,114.8,38.2", "limit": 1000},
        headers=auth(tokens["admin"]),
    )
    for f in r.json()["features"]:
        xs = [p[0] for ring in f["geometry"]["coordinates"][0] for p in ring]
        assert min(xs) > 114.29 and max(xs) < 114.81


def test_paging_is_stable_and_limit_is_clamped(client: TestClient, settings: Settings) -> None:
    a = client.get("/api/parcels", params={"limit": 5}).json()["features"]
    b = client.get("/api/parcels", params={"limit": 5, "offset": 5}).json()["features"]
    assert not {f["id"] for f in a} & {f["id"] for f in b}
    big = client.get("/api/parcels", params={"limit": 99999}).json()
    assert big["limit"] == settings.max_page_size


def test_malformed_requests_get_problem_responses(client: TestClient) -> None:
    for params, status in [
        ({"bbox": "1,2,3"}, 400),
        ({"bbox": "a,b,c,d"}, 400),
        ({"bbox": "120,40,110,30"}, 400),
        ({"limit": "-1"}, 422),
        ({"limit": "abc"}, 422),
        ({"status": "sold"}, 422),
        ({"city": "13'; DROP TABLE x"}, 422),
        ({"colour": "red"}, 422),
    ]:
        r = client.get("/api/parcels", params=params)
        assert r.status_code == status, (params, r.text)
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["detail"]
    assert client.get("/api/parcels/NOPE-404").status_code == 404


def test_tokens_are_checked(client: TestClient) -> None:
    r = client.get("/api/parcels", headers={"Authorization": "Bearer lm_forged"})
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    r = client.get("/api/parcels", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


ROLES = ("anonymous", "admin", "bureau", "promoter", "zone")


def _hrefs(r: object) -> list[str]:
    body = r.json()  # type: ignore[attr-defined]
    out = [link["href"] for link in body.get("links", [])]
    link = r.headers.get("link", "")  # type: ignore[attr-defined]
    return out + [part.split(">")[0].lstrip(" <") for part in link.split(",") if part.strip()]


@pytest.mark.parametrize("who", ROLES)
def test_links_follow_the_configured_address_not_the_host_header(
    make_client: Callable[..., TestClient], tokens: dict[str, str], who: str
) -> None:
    """``Host: evil.example`` made the OGC API's links point at http://evil.example/…: with
    the public address configured, every absolute link is built from it."""
    h = {} if who == "anonymous" else auth(tokens[who])
    evil = {**h, "Host": "evil.example", "X-Forwarded-Proto": "https"}
    configured = make_client(public_base_url="https://landmatch.example.cn/gis")
    for url in (
        "/ogc/",
        "/ogc/collections",
        "/ogc/collections/parcels/items?limit=1",
        "/api/parcels?limit=1&offset=1",
    ):
        r = configured.get(url, headers=evil)
        assert r.status_code == 200, (url, r.text[:300])
        hrefs = _hrefs(r)
        assert hrefs, url
        assert all(h.startswith("https://landmatch.example.cn/gis/") for h in hrefs), hrefs
        assert "evil.example" not in r.text, url
    # Not configured: the request's own host, and HTTPS only as a trusted proxy says.
    plain = make_client(public_base_url="")
    hrefs = _hrefs(plain.get("/ogc/collections/parcels/items?limit=1", headers=evil))
    assert hrefs and all(h.startswith("http://evil.example/ogc/") for h in hrefs), hrefs


@pytest.mark.parametrize("who", ROLES)
def test_a_repeated_parameter_is_refused_by_name(
    client: TestClient, tokens: dict[str, str], who: str
) -> None:
    """``status=ready&status=supplied`` kept the last value silently (0 parcels one way round,
    1,223 the other); OGC answers 400 for a repeated bbox, and so does this listing."""
    h = {} if who == "anonymous" else auth(tokens[who])
    for url in (
        "/api/parcels?status=ready&status=supplied",
        "/api/parcels?limit=1&city=130100&city=130200",
        "/api/exports/parcels?format=geojson&city=130100&city=130200",
    ):
        r = client.get(url, headers=h)
        assert r.status_code == 400, (url, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith(PROBLEM)
        name = url.split("&")[-1].split("=")[0]
        assert f"参数 {name} 无效" in r.json()["detail"] and "只能出现一次" in r.json()["detail"]
    r = client.get("/api/parcels?status=ready,supplied&limit=1", headers=h)
    assert r.status_code == 200
