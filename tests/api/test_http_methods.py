"""HEAD wherever GET works, the right ``Allow`` on OPTIONS and 405, and CORS (issue 17 items
3 and 4), over every GET route of the application and as each role."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import auth
from tests.routes import api_routes

TRUSTED = "https://gis.example.cn"
FOREIGN = "https://maps.other.example"


def _concrete(path: str, code: str) -> str:
    """A GET path with its parameters filled with real-looking values (404s are fine)."""
    values = {
        "code": code,
        "layer": "parcels",
        "z": "12",
        "x": "3370",
        "y": "1550",
        "cid": "parcels",
        "fid": "1",
        "name": "t-admin",
        "city_code": "130100",
    }
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m[1], "1"), path)


def _get_paths(app: FastAPI, code: str) -> list[str]:
    out = []
    for path, route in api_routes(app):
        if (
            "GET" in (route.methods or ())
            and not path.endswith((".xlsx", "/export"))
            and "exports" not in path
        ):
            out.append(_concrete(path, code))
    return sorted(set(out))


@pytest.mark.parametrize("role", ["public", "admin"])
def test_head_answers_wherever_get_does(
    app: FastAPI, client: TestClient, tokens: dict[str, str], public_code: str, role: str
) -> None:
    headers = auth(tokens[role]) if role != "public" else {}
    paths = _get_paths(app, public_code)
    assert len(paths) > 40
    for path in paths:
        got = client.get(path, headers=headers, follow_redirects=False)
        head = client.head(path, headers=headers, follow_redirects=False)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        for h in ("content-type", "etag", "link", "allow", "www-authenticate"):
            assert head.headers.get(h) == got.headers.get(h), (path, h)
        if got.status_code == 200 and "content-length" in got.headers:
            assert head.headers["content-length"] == got.headers["content-length"], path


def test_options_and_405_list_every_method_of_the_path(
    client: TestClient, tokens: dict[str, str], public_code: str
) -> None:
    cases = {
        f"/api/parcels/{public_code}": "GET, HEAD, PATCH, DELETE, OPTIONS",
        "/api/parcels": "GET, HEAD, POST, OPTIONS",
        "/api/parcels/bulk": "GET, HEAD, POST, PATCH, DELETE, OPTIONS",  # and …/{code}
        "/ogc/collections/parcels/items": "GET, HEAD, OPTIONS",
        "/tiles/parcels/12/3370/1550.pbf": "GET, HEAD, OPTIONS",
        "/api/zones/z1/assessments/1": "PATCH, DELETE, OPTIONS",
        "/static/app/landmatch.css": "GET, HEAD, OPTIONS",
    }
    for path, allow in cases.items():
        r = client.options(path)
        assert (r.status_code, r.headers["allow"]) == (204, allow), path
        for method in ("PUT", "TRACE"):
            if method not in allow:
                bad = client.request(method, path, headers=auth(tokens["admin"]))
                assert bad.status_code == 405 and bad.headers["allow"] == allow, (path, method)
                assert bad.headers["content-type"] == "application/problem+json"
    assert client.options("/no/such/path").status_code == 404
    assert client.head("/no/such/path").status_code == 404


def _cors(r: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in r.headers.items() if k.startswith("access-control-")}


PUBLIC_DATA = [
    "/tiles/parcels/6/52/24.pbf",
    "/ogc/collections/parcels/items?limit=2",
    "/ogc/",
    "/api/parcels?limit=2",
    "/api/zones",
    "/api/match/schema",
]


@pytest.mark.parametrize("path", PUBLIC_DATA)
def test_public_data_answers_any_origin_without_credentials(
    make_client: Callable[..., TestClient], path: str
) -> None:
    client = make_client(cors_origins=TRUSTED)
    r = client.get(path, headers={"Origin": FOREIGN})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    assert "Origin" in r.headers["vary"]
    assert "Link" in r.headers["access-control-expose-headers"]
    pre = client.options(path, headers={"Origin": FOREIGN, "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "*"
    assert "GET" in pre.headers["access-control-allow-methods"]
    # a foreign origin may not send credentials: Authorization is never allowed to it
    pre = client.options(
        path,
        headers={
            "Origin": FOREIGN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert _cors(pre) == {}


def test_public_match_is_a_post_any_origin_may_send(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    pre = client.options(
        "/api/match",
        headers={
            "Origin": FOREIGN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert pre.headers["access-control-allow-headers"] == "content-type"


def test_foreign_origins_get_nothing_on_private_paths(
    make_client: Callable[..., TestClient], tokens: dict[str, str], public_code: str
) -> None:
    client = make_client(cors_origins=TRUSTED)
    for path, method in (
        ("/api/me", "GET"),
        ("/api/users", "GET"),
        (f"/api/parcels/{public_code}", "PATCH"),
        ("/api/parcels/bulk", "POST"),
        ("/workbench/parcels", "GET"),
        ("/api/imports", "POST"),
    ):
        pre = client.options(
            path, headers={"Origin": FOREIGN, "Access-Control-Request-Method": method}
        )
        assert _cors(pre) == {}, path
        r = client.request(method, path, headers={"Origin": FOREIGN, **auth(tokens["admin"])})
        assert _cors(r) == {} or r.headers["access-control-allow-origin"] == "*", path
        assert "access-control-allow-credentials" not in r.headers


def test_configured_origins_get_credentialed_access_and_others_never_see_it_reflected(
    make_client: Callable[..., TestClient], tokens: dict[str, str], public_code: str
) -> None:
    client = make_client(cors_origins=f"{TRUSTED}, http://localhost:5173")
    pre = client.options(
        f"/api/parcels/{public_code}",
        headers={
            "Origin": TRUSTED,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == TRUSTED
    assert pre.headers["access-control-allow-credentials"] == "true"
    assert set(pre.headers["access-control-allow-methods"].split(", ")) == {
        "GET",
        "HEAD",
        "PATCH",
        "DELETE",
    }
    r = client.get("/api/me", headers={"Origin": TRUSTED, **auth(tokens["bureau"])})
    assert r.status_code == 200 and r.json()["name"] == "t-bureau-sjz"
    assert r.headers["access-control-allow-origin"] == TRUSTED
    assert r.headers["access-control-allow-credentials"] == "true"
    # never an arbitrary origin reflected, never credentials for it; not even a look-alike
    for other in (FOREIGN, TRUSTED + ".evil.example", "null", "https://gis.example.cn:444"):
        r = client.get("/api/me", headers={"Origin": other, **auth(tokens["bureau"])})
        assert r.headers.get("access-control-allow-origin") != other
        assert "access-control-allow-credentials" not in r.headers
        tile = client.get("/tiles/parcels/6/52/24.pbf", headers={"Origin": other})
        assert tile.headers["access-control-allow-origin"] == "*"
    # the workbench's pages are never opened to another origin, configured or not
    page = client.get("/workbench/login", headers={"Origin": TRUSTED})
    assert _cors(page) == {}


def test_cors_origins_setting_is_validated() -> None:
    from landmatch.settings import load_settings

    ok = load_settings(cors_origins="https://a.example, http://b.example:8080")
    assert ok.cors_origin_set == {"https://a.example", "http://b.example:8080"}
    for bad in ("*", "https://a.example/path", "a.example", "https://*.example"):
        with pytest.raises(Exception, match="LANDMATCH_CORS_ORIGINS|cors_origins|origin"):
            load_settings(cors_origins=bad)
