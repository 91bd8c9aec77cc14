"""What real clients send and expect (issue 17): GDAL's ``cql-text`` and integer booleans, the
parcel's temporal property, paging ``Link`` headers, items by code, tileset metadata."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from landmatch.db.parcels import PUBLIC_WHERE
from landmatch.ogc.features import TRS

ITEMS = "/ogc/collections/parcels/items"


def _count(conn: Connection, where: str = "TRUE", **params: object) -> int:
    return int(
        conn.execute(
            text(f"SELECT count(*) FROM landmatch.parcel p WHERE {PUBLIC_WHERE} AND ({where})"),
            params,
        ).scalar_one()
    )


def _matched(client: TestClient, **params: object) -> int:
    r = client.get(ITEMS, params={"limit": 1, **params})
    assert r.status_code == 200, r.text
    return int(r.json()["numberMatched"])


@pytest.mark.parametrize(
    ("cql", "sql"),
    [
        # what GDAL's OAPIF driver writes for -where (it wraps each term in parentheses)
        ("(area_m2 > 50000) AND (status = 'ready')", "p.area_m2 > 50000 AND p.status = 'ready'"),
        ("is_standard_land = 1", "p.is_standard_land"),
        (
            "(is_standard_land = 0) AND (city_code = '130100')",
            "NOT p.is_standard_land AND p.city_code = '130100'",
        ),
        ("is_standard_land IN (1)", "p.is_standard_land"),
        ("is_standard_land = true", "p.is_standard_land"),
    ],
)
def test_cql_text_is_cql2_text_and_booleans_take_1_0(
    client: TestClient, conn: Connection, cql: str, sql: str
) -> None:
    expected = _count(conn, sql)
    assert 0 < expected < _count(conn)
    for lang in ("cql-text", "cql2-text"):
        assert _matched(client, filter=cql, **{"filter-lang": lang}) == expected


def test_cql_text_rejects_what_cql2_text_rejects(client: TestClient) -> None:
    for bad in ("area_m2 >> 5", "foo = 1", "is_standard_land = 2", "area_m2 = 'big'"):
        r = client.get(ITEMS, params={"filter": bad, "filter-lang": "cql-text"})
        assert r.status_code == 400, bad
        assert r.headers["content-type"] == "application/problem+json"
    r = client.get(ITEMS, params={"filter": "a = 1", "filter-lang": "ecql"})
    assert r.status_code == 400 and "cql-text" in r.json()["detail"]


def test_equality_parameter_booleans(client: TestClient, conn: Connection) -> None:
    yes, no = _count(conn, "p.is_standard_land"), _count(conn, "NOT p.is_standard_land")
    for v, n in (("1", yes), ("true", yes), ("TRUE", yes), ("0", no), ("false", no)):
        assert _matched(client, is_standard_land=v) == n, v
    r = client.get(ITEMS, params={"is_standard_land": "yes please"})
    assert r.status_code == 400 and "1/0" in r.json()["detail"]
    tile = "/ogc/collections/parcels/tiles/WebMercatorQuad/5/0/0"
    assert client.get(tile, params={"in_zone": "1"}).status_code == 200
    assert client.get(tile, params={"in_zone": "maybe"}).status_code == 400


def test_bad_time_in_an_equality_parameter_names_that_parameter(client: TestClient) -> None:
    r = client.get("/ogc/collections/zones/items", params={"updated_at": "valid-value"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["updated_at"]
    assert "updated_at" in r.json()["detail"] and "区间" not in r.json()["detail"]
    r = client.get("/ogc/collections/zones/items", params={"datetime": "valid-value"})
    assert r.status_code == 400 and [e["field"] for e in r.json()["errors"]] == ["datetime"]
    ok = client.get("/ogc/collections/zones/items", params={"updated_at": "2020-01-01T00:00:00Z"})
    assert ok.status_code == 200


def test_openapi_lists_cql_text(client: TestClient) -> None:
    doc = client.get("/ogc/api").json()
    langs = doc["components"]["parameters"]["filter-lang"]["schema"]["enum"]
    assert {"cql-text", "cql2-text", "cql2-json"} <= set(langs)


def test_data_updated_on_is_the_temporal_property(client: TestClient, conn: Connection) -> None:
    coll = client.get("/ogc/collections/parcels").json()
    temporal = coll["extent"]["temporal"]
    assert temporal["trs"] == TRS == "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
    lo, hi = conn.execute(
        text(
            f"SELECT min(data_updated_on), max(data_updated_on) FROM landmatch.parcel p WHERE {PUBLIC_WHERE}"
        )
    ).one()
    assert temporal["interval"] == [[f"{lo.isoformat()}T00:00:00Z", f"{hi.isoformat()}T00:00:00Z"]]
    queryables = client.get("/ogc/collections/parcels/queryables").json()["properties"]
    assert queryables["data_updated_on"]["format"] == "date"
    one = client.get(ITEMS, params={"limit": 1}).json()["features"][0]
    assert dt.date.fromisoformat(one["properties"]["data_updated_on"])

    day = conn.execute(
        text(
            f"SELECT data_updated_on FROM landmatch.parcel p WHERE {PUBLIC_WHERE} "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        )
    ).scalar_one()
    same_day = _count(conn, "p.data_updated_on = :d", d=day)
    assert _matched(client, datetime=day.isoformat()) == same_day
    assert (
        _matched(client, datetime=f"{day.isoformat()}T12:00:00Z") == 0
    )  # an instant, not that day
    assert _matched(client, datetime=f"{day.isoformat()}T00:00:00Z") == same_day
    assert _matched(client, datetime=f"../{day.isoformat()}") == _count(
        conn, "p.data_updated_on <= :d", d=day
    )
    later = day + dt.timedelta(days=1)
    assert _matched(client, datetime=f"{later.isoformat()}T00:00:00Z/..") == _count(
        conn, "p.data_updated_on >= :d", d=later
    )
    # a parcel whose data were never dated matches no time at all
    conn.execute(
        text(
            "UPDATE landmatch.parcel SET data_updated_on = NULL WHERE code = (SELECT code FROM landmatch.parcel p WHERE "
            + PUBLIC_WHERE
            + " AND data_updated_on = :d ORDER BY code LIMIT 1)"
        ),
        {"d": day},
    )
    assert _matched(client, datetime=day.isoformat()) == same_day - 1


def _link_header(value: str) -> dict[str, tuple[str, str]]:
    out = {}
    for part in value.split(", "):
        href, *attrs = part.split("; ")
        kv = dict(a.split("=", 1) for a in attrs)
        out[kv["rel"].strip('"')] = (href.strip("<>"), kv["type"].strip('"'))
    return out


def test_items_link_headers_next_prev_self(client: TestClient, conn: Connection) -> None:
    n = _count(conn)
    r = client.get(ITEMS, params={"limit": 10, "offset": 20, "bbox": "113,36,120,43"})
    links = _link_header(r.headers["link"])
    body = {link["rel"]: link["href"] for link in r.json()["links"]}
    assert {"self", "alternate", "next", "prev", "collection"} <= set(links)
    for rel in ("self", "next", "prev"):
        assert links[rel] == (body[rel], "application/geo+json")
    assert "offset=30" in links["next"][0] and "offset=10" in links["prev"][0]
    assert "%2C" in links["self"][0]  # the bbox's commas are encoded: the header splits on ","
    last = client.get(ITEMS, params={"limit": 10, "offset": n - 5})
    assert "next" not in _link_header(last.headers["link"])
    html = client.get(ITEMS, params={"limit": 10, "f": "html"})
    assert "next" in _link_header(html.headers["link"])


def test_items_by_parcel_code_and_by_id(
    client: TestClient, conn: Connection, tokens: dict[str, str]
) -> None:
    fid, code = conn.execute(
        text(
            f"SELECT p.id, p.code FROM landmatch.parcel p WHERE {PUBLIC_WHERE} ORDER BY p.id LIMIT 1"
        )
    ).one()
    by_id = client.get(f"{ITEMS}/{fid}")
    by_code = client.get(f"{ITEMS}/{code}")
    assert by_id.status_code == by_code.status_code == 200
    assert by_code.json()["id"] == fid and by_code.json()["properties"]["code"] == code
    assert by_code.json()["geometry"] == by_id.json()["geometry"]
    assert _link_header(by_code.headers["link"])["self"][0].endswith(f"/items/{code}?f=json")
    hidden = conn.execute(
        text(
            "SELECT code FROM landmatch.parcel p WHERE p.visibility = 'internal' AND p.deleted_at IS NULL LIMIT 1"
        )
    ).scalar_one()
    assert client.get(f"{ITEMS}/{hidden}").status_code == 404  # the public never see it
    staff = {"Authorization": f"Bearer {tokens['admin']}"}
    assert client.get(f"{ITEMS}/{hidden}", headers=staff).status_code == 200
    for missing in ("130100-1999-9999999", "9" * 30, "地块"):
        r = client.get(f"{ITEMS}/{missing}")
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    zone = conn.execute(text("SELECT id, code FROM landmatch.dev_zone ORDER BY id LIMIT 1")).one()
    assert client.get(f"/ogc/collections/zones/items/{zone.code}").json()["id"] == zone.id


def test_tileset_metadata_limits_and_fields(client: TestClient, conn: Connection) -> None:
    import mapbox_vector_tile

    from landmatch.db.tiles import tile_at

    ts = client.get("/ogc/collections/parcels/tiles/WebMercatorQuad").json()
    limits = {lim["tileMatrix"]: lim for lim in ts["tileMatrixSetLimits"]}
    assert set(limits) == {str(z) for z in range(15)}
    layers = {layer["id"]: layer for layer in ts["layers"]}
    assert set(layers) == {"parcels", "parcel_cells"}
    assert layers["parcels"]["minTileMatrix"] == "12"
    assert "visibility" not in layers["parcels"]["propertiesSchema"]["properties"]
    lon, lat = conn.execute(
        text(
            f"SELECT ST_X(ST_PointOnSurface(p.geom)), ST_Y(ST_PointOnSurface(p.geom)) FROM landmatch.parcel p WHERE {PUBLIC_WHERE} LIMIT 1"
        )
    ).one()
    for z in (6, 12, 14):
        x, y = tile_at(lon, lat, z)
        lim = limits[str(z)]
        assert (
            lim["minTileCol"] <= x <= lim["maxTileCol"]
            and lim["minTileRow"] <= y <= lim["maxTileRow"]
        )
        body = client.get(f"/ogc/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}").content
        for name, layer in mapbox_vector_tile.decode(body).items():
            declared = layers[name]["propertiesSchema"]["properties"]
            for feat in layer["features"]:
                assert set(feat["properties"]) <= set(declared), name
    # every collection's tileset names the layers its tiles really hold
    for cid, layer in (
        ("admin_divisions", "admin"),
        ("zones", "zones"),
        ("facilities", "facilities"),
    ):
        doc = client.get(f"/ogc/collections/{cid}/tiles/WebMercatorQuad").json()
        assert [entry["id"] for entry in doc["layers"]] == [layer]
        z, (x, y) = 8, tile_at(lon, lat, 8)
        body = client.get(f"/ogc/collections/{cid}/tiles/WebMercatorQuad/{z}/{y}/{x}").content
        decoded = mapbox_vector_tile.decode(body)
        if decoded:
            assert set(decoded) == {layer}
            props = doc["layers"][0]["propertiesSchema"]["properties"]
            assert all(set(f["properties"]) <= set(props) for f in decoded[layer]["features"])


def test_density_points_get_the_edge_buffer(conn: Connection) -> None:
    """A density point near a tile seam is in both tiles (as facilities are), at the same place."""
    import mapbox_vector_tile

    from landmatch.db.tiles import NO_FILTER, render_versioned

    z = 8
    seen = 0
    for x in range(206, 214):
        for y in range(95, 104):
            left = mapbox_vector_tile.decode(
                render_versioned(conn, "parcels", z, x, y, NO_FILTER, False)[1] or b""
            )
            right = mapbox_vector_tile.decode(
                render_versioned(conn, "parcels", z, x + 1, y, NO_FILTER, False)[1] or b""
            )
            a = [
                f
                for f in left.get("parcel_cells", {}).get("features", [])
                if f["geometry"]["coordinates"][0] >= 4096
            ]
            b = {
                (f["geometry"]["coordinates"][0] + 4096, f["geometry"]["coordinates"][1]): f[
                    "properties"
                ]
                for f in right.get("parcel_cells", {}).get("features", [])
                if f["geometry"]["coordinates"][0] < 256
            }
            for f in a:  # a point in the left tile's margin is a point of the right tile
                xy = tuple(f["geometry"]["coordinates"])
                assert b.get(xy) == f["properties"], (x, y, xy)
                seen += 1
    assert seen, "no density point near a seam: the test would prove nothing"
