"""Rendered HTML and the map's JSON, through the app (no browser)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from landmatch.maps import builders
from landmatch.settings import Settings, load_settings
from tests.conftest import TEST_PASSWORD, auth

URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


def test_public_map_has_no_external_url_with_default_basemap(client: TestClient) -> None:
    html = client.get("/map").text
    assert URL.findall(html) == []
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        if src.startswith("/static/"):
            assert client.get(src).status_code == 200, src


@pytest.mark.parametrize(
    "basemap, expected", [("osm", "tile.openstreetmap.org"), ("tianditu", "tianditu.gov.cn")]
)
def test_configured_basemap_is_the_only_external_url(
    settings: Settings, basemap: str, expected: str
) -> None:
    s = load_settings(database_url=settings.database_url, basemap=basemap, tianditu_key="k123")
    html = builders.public_map(s, cities=[("130100", "石家庄市")], facilities=[])
    hosts = {u.split("/")[2] for u in URL.findall(html)}
    assert hosts and all(expected in h for h in hosts)


def test_tianditu_is_web_mercator_with_its_labels(settings: Settings) -> None:
    """interop.md: 天地图's Web Mercator matrix set (w) for Leaflet's EPSG:3857, the vector
    basemap and its label layer, subdomains 0-7, the key from configuration."""
    s = load_settings(database_url=settings.database_url, basemap="tianditu", tianditu_key="k123")
    html = builders.public_map(s, cities=[], facilities=[])
    urls = [u for u in URL.findall(html) if "tianditu" in u]
    layers = set()
    for u in urls:
        m = re.search(r"LAYER=(\w+)", u)
        assert m, u
        layers.add(m.group(1))
    assert layers == {"vec", "cva"}
    assert all("TILEMATRIXSET=w" in u and "tk=k123" in u and "t{s}." in u for u in urls)
    assert '"01234567"' in html


def test_card_public_vs_staff(client: TestClient, session: Session, tokens: dict[str, str]) -> None:
    code = session.execute(
        text(
            "SELECT code FROM landmatch.parcel WHERE status='ready' AND visibility='public' LIMIT 1"
        )
    ).scalar()
    pub = client.get(f"/api/parcels/{code}/card").json()
    assert "internal" not in pub and pub["parcel"]["code"] == code
    staff = client.get(f"/api/parcels/{code}/card", headers=auth(tokens["promoter"])).json()
    assert staff["internal"]["history_url"] == f"/api/parcels/{code}/history"
    idle = session.execute(
        text("SELECT code FROM landmatch.parcel WHERE status='idle' LIMIT 1")
    ).scalar()
    assert client.get(f"/api/parcels/{idle}/card").status_code == 404
    assert (
        client.get(f"/api/parcels/{idle}/card", headers=auth(tokens["promoter"])).status_code == 200
    )


def test_search_validates_and_hides_internal_parcels(client: TestClient, session: Session) -> None:
    assert client.get("/api/search?q=%20").status_code == 400
    idle = session.execute(
        text("SELECT code FROM landmatch.parcel WHERE status='idle' LIMIT 1")
    ).scalar()
    hits = client.get(f"/api/search?q={idle}").json()["results"]
    assert all(h["code"] != idle for h in hits)


def test_staff_map_behind_the_workbench_sign_in(
    client: TestClient, passwords: dict[str, str]
) -> None:
    r = client.get("/internal/map", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/workbench/login?next=/internal/map"
    old = client.get("/internal/login?next=/internal/map", follow_redirects=False)
    assert old.headers["location"] == "/workbench/login?next=/internal/map"
    bad = client.post(
        "/workbench/login",
        data={"name": passwords["promoter"], "password": "wrong-password-1"},
        follow_redirects=False,
    )
    assert bad.status_code == 200 and "用户名或密码错误" in bad.text
    ok = client.post(
        "/workbench/login",
        data={"name": passwords["promoter"], "password": TEST_PASSWORD, "next": "/internal/map"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/internal/map"
    cookie = ok.headers["set-cookie"].lower()
    assert "lm_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http, no trusted proxy
    page = client.get("/internal/map")
    assert page.status_code == 200 and "内部" in page.text
    assert '<meta name="csrf-token" content="' in page.text


def test_brochure_of_internal_parcel_is_404(client: TestClient, session: Session) -> None:
    idle = session.execute(
        text("SELECT code FROM landmatch.parcel WHERE status='idle' LIMIT 1")
    ).scalar()
    r = client.get(f"/parcels/{idle}/brochure")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")


def _options(html: str, select_id: str) -> list[tuple[str, str]]:
    found = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert found, select_id
    return re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', found.group(1))


def test_the_maps_city_lists_are_the_projects_cities(
    client: TestClient, passwords: dict[str, str]
) -> None:
    """The public map's city filter and its 为我的项目找地 意向城市 name every city of the
    project's vocabulary, the province-managed 辛集 and 定州 too, as the staff's project form
    does; the staff map's filter and the admin's account form the same."""
    from landmatch import vocab
    from tests.conftest import sign_in

    cities = list(vocab.CITIES.items())
    assert ("130181", "辛集市") in cities and ("130682", "定州市") in cities
    public = client.get("/map").text
    assert _options(public, "lm-city") == cities
    assert _options(public, "lm-m-city") == cities
    sign_in(client, passwords["promoter"])
    assert _options(client.get("/internal/map").text, "lm-city") == cities
    form = client.get("/workbench/projects/new").text
    named = re.findall(r'name="cities" value="([^"]+)"', form)
    assert named == [code for code, _ in cities]
    # The admin's account form offers the same cities (a bureau of 辛集 or 定州).
    sign_in(client, passwords["admin"])
    account = _options(client.get("/workbench/users/new").text, "f-city_code")
    assert [c for c in account if c[0] != vocab.PROVINCE_CODE] == cities
