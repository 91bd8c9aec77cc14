"""The lean tile path: hits served without the database, ETag/304, invalidation, token cache."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, text

from landmatch.db.parcels import INTERNAL_COLUMNS, PUBLIC_WHERE
from tests.conftest import app_of, auth
from tests.tiles.test_tiles import busiest_tile, features, parcel_rows

IDENTITY = {"Accept-Encoding": "identity"}


@pytest.fixture
def statements(conn: Connection) -> Iterator[list[str]]:
    """Every SQL statement the app sends through the test's connection."""
    seen: list[str] = []

    def record(
        _c: object, _cur: object, statement: str, _p: object, _ctx: object, _many: bool
    ) -> None:
        seen.append(statement)

    event.listen(conn, "before_cursor_execute", record)
    yield seen
    event.remove(conn, "before_cursor_execute", record)


def test_cache_hit_and_304_touch_no_database(
    make_client: Callable[..., TestClient],
    conn: Connection,
    tokens: dict[str, str],
    statements: list[str],
) -> None:
    client = make_client(tile_version_poll_ms=60_000, token_cache_seconds=600)
    x, y = busiest_tile(conn, 12)
    url = f"/tiles/parcels/12/{x}/{y}.pbf"
    h = {**auth(tokens["promoter"]), **IDENTITY}
    first = client.get(url, headers=h)
    assert first.status_code == 200 and features(first.content, "parcels")
    assert statements, "the first request must read the token, the versions and the tile"
    statements.clear()
    hit = client.get(url, headers=h)
    assert hit.status_code == 200 and hit.content == first.content
    assert hit.headers["etag"] == first.headers["etag"]
    not_modified = client.get(url, headers={**h, "If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304 and not not_modified.content
    zipped = client.get(url, headers={**auth(tokens["promoter"]), "Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and zipped.content == first.content
    assert statements == []
    server = app_of(client).state.tile_server
    assert server.cache.hits >= 3 and len(server.cache) == 1


def test_write_reaches_tiles_after_the_poll_interval(
    make_client: Callable[..., TestClient], conn: Connection, tokens: dict[str, str]
) -> None:
    client = make_client(tile_version_poll_ms=200)
    x, y = busiest_tile(conn, 12)
    url = f"/tiles/parcels/12/{x}/{y}.pbf"
    h = {**auth(tokens["promoter"]), **IDENTITY}
    before = client.get(url, headers=h)
    code = features(before.content, "parcels")[0]["properties"]["code"]
    conn.execute(
        text("UPDATE landmatch.parcel SET status = 'withdrawn' WHERE code = :c"), {"c": code}
    )
    time.sleep(0.25)  # past the documented staleness bound (no timing is asserted)
    after = client.get(url, headers={**h, "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    status = {
        f["properties"]["code"]: f["properties"]["status"]
        for f in features(after.content, "parcels")
    }
    assert status[code] == "withdrawn"


def test_poll_zero_reads_versions_on_every_request(
    make_client: Callable[..., TestClient], conn: Connection, tokens: dict[str, str]
) -> None:
    client = make_client(tile_version_poll_ms=0, tile_cache_mb=0)  # live tiles, strict versions
    x, y = busiest_tile(conn, 13)
    url = f"/tiles/parcels/13/{x}/{y}.pbf"
    h = {**auth(tokens["promoter"]), **IDENTITY}
    before = client.get(url, headers=h)
    assert (
        client.get(url, headers={**h, "If-None-Match": before.headers["etag"]}).status_code == 304
    )
    conn.execute(
        text("UPDATE landmatch.parcel SET name = name || '·' WHERE code = :c"),
        {"c": features(before.content, "parcels")[0]["properties"]["code"]},
    )
    after = client.get(url, headers={**h, "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.content != before.content


def test_public_and_internal_stay_apart_with_the_token_cache(
    make_client: Callable[..., TestClient], conn: Connection, tokens: dict[str, str]
) -> None:
    client = make_client(tile_version_poll_ms=60_000, token_cache_seconds=600)
    x, y = busiest_tile(conn, 12, PUBLIC_WHERE)
    url = f"/tiles/parcels/12/{x}/{y}.pbf"
    staff = client.get(url, headers={**auth(tokens["promoter"]), **IDENTITY})
    public = client.get(url, headers=IDENTITY)  # same URL, after the staff tile was cached
    assert staff.headers["etag"] != public.headers["etag"]
    assert staff.headers["cache-control"].startswith("private")
    assert public.headers["cache-control"].startswith("public")
    staff_feats, public_feats = (
        features(staff.content, "parcels"),
        features(public.content, "parcels"),
    )
    assert len(public_feats) < len(staff_feats)
    assert all("visibility" in f["properties"] for f in staff_feats)
    rows = parcel_rows(conn, {f["properties"]["code"] for f in public_feats})
    for f in public_feats:
        assert not set(f["properties"]) & set(INTERNAL_COLUMNS)
        assert "visibility" not in f["properties"] and f.get("id") in (None, 0)
        r = rows[f["properties"]["code"]]
        assert r["status"] == "ready" and r["visibility"] == "public" and r["deleted_at"] is None
    # A public tile never answers an internal layer, cached or not.
    assert client.get("/tiles/constraints/6/52/24.pbf").status_code == 403
    assert (
        client.get("/tiles/constraints/6/52/24.pbf", headers=auth(tokens["promoter"])).status_code
        == 200
    )
    # Bad and revoked tokens: 401 (revocation is seen once the token cache lets go).
    bad = client.get(url, headers={**auth("lm_not-a-token"), **IDENTITY})
    assert bad.status_code == 401 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert client.get(url, headers={"Authorization": "Basic x"}).status_code == 401
    conn.execute(
        text(
            "UPDATE landmatch.api_token SET revoked_at = now()"
            " WHERE user_id = (SELECT id FROM landmatch.app_user WHERE name = 't-promoter')"
        )
    )
    assert client.get(url, headers={**auth(tokens["promoter"]), **IDENTITY}).status_code == 200
    app_of(client).state.tile_server.tokens.expire()
    assert client.get(url, headers={**auth(tokens["promoter"]), **IDENTITY}).status_code == 401


def test_token_cache_ttl_bounds_revocation(
    make_client: Callable[..., TestClient], conn: Connection, tokens: dict[str, str]
) -> None:
    client = make_client(token_cache_seconds=0.2)
    url = "/tiles/zones/6/52/24.pbf"
    assert client.get(url, headers=auth(tokens["zone"])).status_code == 200
    conn.execute(text("UPDATE landmatch.app_user SET active = false WHERE name = 't-zone'"))
    time.sleep(0.25)
    assert client.get(url, headers=auth(tokens["zone"])).status_code == 401


@pytest.mark.parametrize("cache_mb", [0, 256])
def test_filters_and_errors_on_the_lean_path(
    make_client: Callable[..., TestClient], conn: Connection, cache_mb: int
) -> None:
    client = make_client(tile_cache_mb=cache_mb)
    x, y = busiest_tile(conn, 12, PUBLIC_WHERE)
    url = f"/tiles/parcels/12/{x}/{y}.pbf"
    for _ in range(2):  # a miss, then (when cached) a hit: both filtered the same way
        r = client.get(url + "?land_use=1001", headers=IDENTITY)
        assert r.status_code == 200
        assert all(
            f["properties"]["land_use"].startswith("1001") for f in features(r.content, "parcels")
        )
    bad = client.get(url + "?colour=red")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "colour"
    assert client.get(f"/tiles/parcels/12/{x}/y.pbf").status_code == 400
    assert client.head(url).status_code == 200


def test_staff_cookie_gets_internal_tiles(
    make_client: Callable[..., TestClient], conn: Connection, passwords: dict[str, str]
) -> None:
    """The staff map authenticates its tile requests with the session cookie, not a header."""
    from landmatch.api.security import SESSION_COOKIE
    from tests.conftest import sign_in

    client = make_client()
    x, y = busiest_tile(conn, 12)
    url = f"/tiles/parcels/12/{x}/{y}.pbf"
    public = features(client.get(url, headers=IDENTITY).content, "parcels")
    sign_in(client, passwords["promoter"])
    staff = features(client.get(url, headers=IDENTITY).content, "parcels")
    assert len(staff) > len(public) and all("visibility" in f["properties"] for f in staff)
    assert client.get("/tiles/constraints/6/52/24.pbf").status_code == 200
    # A cookie that is no session gets the public's tiles (and is cleared), never more; an
    # internal layer asks its holder to sign in again.
    client.cookies.set(SESSION_COOKIE, "forged-session-value")
    refused = client.get("/tiles/constraints/6/52/24.pbf")
    assert refused.status_code == 401
    assert "Basic" in refused.headers["www-authenticate"]
    client.cookies.set(SESSION_COOKIE, "forged-session-value")
    forged = client.get(url, headers=IDENTITY)
    assert forged.status_code == 200
    assert forged.headers["set-cookie"].startswith(f'{SESSION_COOKIE}=""; ')
    assert features(forged.content, "parcels") == public
