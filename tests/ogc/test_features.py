"""Items, items/{id}, CRS, filters and errors, through the app bound to a rolled-back
transaction, compared with the equivalent SQL."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer
from sqlalchemy import Connection, text

from landmatch.confidential import CONFIDENTIAL_FIELDS
from landmatch.db.parcels import INTERNAL_COLUMNS, PUBLIC_WHERE
from landmatch.ogc import cache, features
from tests.conftest import auth

ITEMS = "/ogc/collections/parcels/items"


def _ids(conn: Connection, where: str = "TRUE", order: str = "p.id", **params: object) -> list[int]:
    return [
        r[0]
        for r in conn.execute(
            text(
                f"SELECT p.id FROM landmatch.parcel p WHERE {PUBLIC_WHERE} AND ({where}) ORDER BY {order}"
            ),
            params,
        )
    ]


def _all(
    client: TestClient, url: str, headers: dict[str, str] | None = None, /, **params: object
) -> list[dict]:
    out: list[dict] = []
    r = client.get(url, params={"limit": 1000, **params}, headers=headers)
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["features"]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            return out
        r = client.get(nxt[0], headers=headers)


def test_limit_is_clamped_and_next_link_typed(client: TestClient, conn: Connection) -> None:
    r = client.get(ITEMS, params={"limit": 50000})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["numberReturned"] == 1000 == len(body["features"])
    assert body["numberMatched"] == len(_ids(conn))
    nxt = [link for link in body["links"] if link["rel"] == "next"][0]
    assert nxt["type"] == "application/geo+json" and "offset=1000" in nxt["href"]
    assert [f["id"] for f in body["features"]] == _ids(conn)[:1000]


def test_offset_paging_matches_sql_including_anchored_deep_pages(
    client: TestClient,
    conn: Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = _ids(conn)
    monkeypatch.setattr(features, "ANCHOR_STEP", 50)
    monkeypatch.setattr(features, "ANCHOR_FROM", 100)
    cache.clear()
    for offset in (0, 99, 100, 101, 537, len(expected) - 3, len(expected) + 5):
        body = client.get(ITEMS, params={"limit": 7, "offset": offset}).json()
        assert [f["id"] for f in body["features"]] == expected[offset : offset + 7], offset
    # cache bypass inside a writing transaction still answers correctly
    conn.execute(
        text("UPDATE landmatch.parcel SET name = name || '' WHERE id = :i"), {"i": expected[0]}
    )
    body = client.get(ITEMS, params={"limit": 7, "offset": 300}).json()
    assert [f["id"] for f in body["features"]] == expected[300:307]
    assert body["numberMatched"] == len(expected)


def test_number_matched_follows_writes(client: TestClient, conn: Connection) -> None:
    before = client.get(ITEMS, params={"limit": 1}).json()["numberMatched"]
    victim = _ids(conn)[0]
    conn.execute(
        text("UPDATE landmatch.parcel SET visibility = 'internal' WHERE id = :i"), {"i": victim}
    )
    after = client.get(ITEMS, params={"limit": 1}).json()["numberMatched"]
    assert after == before - 1
    assert client.get(f"{ITEMS}/{victim}").status_code == 404


def test_public_view_hides_internal_fields_and_rows(
    client: TestClient, conn: Connection, tokens: dict[str, str]
) -> None:
    internal = set(INTERNAL_COLUMNS) - {"id"}
    pub = client.get(ITEMS, params={"limit": 50}).json()
    assert all(not internal & f["properties"].keys() for f in pub["features"])
    assert all(f["properties"]["status"] == "ready" for f in pub["features"])
    staff = client.get(ITEMS, params={"limit": 50}, headers=auth(tokens["promoter"])).json()
    # One body for every staff caller: the confidential fields never (landmatch.confidential).
    assert internal - set(CONFIDENTIAL_FIELDS) <= staff["features"][0]["properties"].keys()
    assert not set(CONFIDENTIAL_FIELDS) & staff["features"][0]["properties"].keys()
    total = conn.execute(
        text("SELECT count(*) FROM landmatch.parcel WHERE deleted_at IS NULL")
    ).scalar_one()
    assert staff["numberMatched"] == total > pub["numberMatched"]
    hidden = conn.execute(
        text(f"SELECT p.id FROM landmatch.parcel p WHERE NOT ({PUBLIC_WHERE}) LIMIT 1")
    ).scalar_one()
    assert client.get(f"{ITEMS}/{hidden}").status_code == 404
    assert client.get(f"{ITEMS}/{hidden}", headers=auth(tokens["promoter"])).status_code == 200
    r = client.get(ITEMS, params={"filter": "contact_phone IS NOT NULL"})
    assert r.status_code == 400
    for who in (auth(tokens["admin"]), auth(tokens["bureau"])):
        r = client.get(ITEMS, params={"filter": "reserve_price_wan_per_mu > 0"}, headers=who)
        assert r.status_code == 400, r.text


def test_hidden_prices_cannot_be_probed_by_filter(client: TestClient, conn: Connection) -> None:
    conn.execute(
        text(
            f"UPDATE landmatch.parcel p SET price_public = false, ref_price_wan_per_mu = 77777 "
            f"WHERE p.id = (SELECT min(id) FROM landmatch.parcel p WHERE {PUBLIC_WHERE})"
        )
    )
    body = client.get(ITEMS, params={"filter": "ref_price_wan_per_mu = 77777"}).json()
    assert body["numberMatched"] == 0


@pytest.mark.parametrize(
    ("cql", "lang", "sql"),
    [
        ("status = 'ready' AND area_m2 > 20000", "cql2-text", "p.area_m2 > 20000"),
        (
            "land_use IN ('100101','100102') AND far_max >= 2",
            "cql2-text",
            "p.land_use IN ('100101','100102') AND p.far_max >= 2",
        ),
        (
            "name LIKE '%1号%' OR is_standard_land = true",
            "cql2-text",
            "p.name LIKE '%1号%' OR p.is_standard_land",
        ),
        (
            "tax_per_mu_min BETWEEN 10 AND 15 AND NOT emission_value_min IS NULL",
            "cql2-text",
            "p.tax_per_mu_min BETWEEN 10 AND 15 AND p.emission_value_min IS NOT NULL",
        ),
        (
            "S_INTERSECTS(geometry, BBOX(114.3, 37.9, 114.8, 38.3))",
            "cql2-text",
            "ST_Intersects(p.geom, ST_MakeEnvelope(114.3, 37.9, 114.8, 38.3, 4490))",
        ),
        (
            "S_INTERSECTS(geometry, POLYGON((114 37, 116 37, 116 39, 114 39, 114 37)))",
            "cql2-text",
            "ST_Intersects(p.geom, ST_MakeEnvelope(114, 37, 116, 39, 4490))",
        ),
        ("data_updated_on >= DATE('2026-01-01')", "cql2-text", "p.data_updated_on >= '2026-01-01'"),
        (
            '{"op":"and","args":[{"op":">","args":[{"property":"area_m2"},30000]},'
            '{"op":"=","args":[{"property":"city_code"},"130100"]}]}',
            "cql2-json",
            "p.area_m2 > 30000 AND p.city_code = '130100'",
        ),
        (
            '{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[114.3,37.9,114.8,38.3]}]}',
            "cql2-json",
            "ST_Intersects(p.geom, ST_MakeEnvelope(114.3, 37.9, 114.8, 38.3, 4490))",
        ),
    ],
)
def test_cql2_equals_sql(
    client: TestClient, conn: Connection, cql: str, lang: str, sql: str
) -> None:
    expected = _ids(conn, sql)
    assert expected, f"test filter selects nothing: {sql}"
    got = _all(client, ITEMS, filter=cql, **{"filter-lang": lang})
    assert [f["id"] for f in got] == expected
    body = client.get(ITEMS, params={"filter": cql, "filter-lang": lang, "limit": 1}).json()
    assert body["numberMatched"] == len(expected)


@pytest.mark.parametrize(
    "bad",
    ["foo = 1", "area_m2 + 1 > 3", "((", "lower(name) = 'x'", "S_INTERSECTS(geometry, POINT(1))"],
)
def test_bad_filters_are_400(client: TestClient, bad: str) -> None:
    r = client.get(ITEMS, params={"filter": bad})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert "filter" in r.json()["detail"]


def test_equality_parameters_sortby_and_properties(client: TestClient, conn: Connection) -> None:
    expected = _ids(conn, "p.city_code = '130100'", "p.area_m2 DESC, p.id")
    got = _all(client, ITEMS, city_code="130100", sortby="-area_m2", properties="code,area_m2")
    assert [f["id"] for f in got] == expected
    assert set(got[0]["properties"]) == {"code", "area_m2"}
    assert client.get(ITEMS, params={"sortby": "contact_name"}).status_code == 400
    assert client.get(ITEMS, params={"properties": "nope"}).status_code == 400


def test_bbox_and_bbox_crs_axis_order(client: TestClient, conn: Connection) -> None:
    expected = _ids(conn, "ST_Intersects(p.geom, ST_MakeEnvelope(114.3, 37.9, 114.8, 38.3, 4490))")
    crs84 = _all(client, ITEMS, bbox="114.3,37.9,114.8,38.3")
    latlon = _all(
        client,
        ITEMS,
        bbox="37.9,114.3,38.3,114.8",
        **{"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"},
    )
    assert [f["id"] for f in crs84] == [f["id"] for f in latlon] == expected
    t = Transformer.from_crs(4490, 3857, always_xy=True)
    (x0, x1), (y0, y1) = t.transform([114.5, 114.6], [38.0, 38.1])
    merc = _all(client, ITEMS, bbox=f"{x0},{y0},{x1},{y1}", **{"bbox-crs": "EPSG:3857"})
    assert [f["id"] for f in merc] == _ids(
        conn,
        "ST_Intersects(p.geom, ST_Transform(ST_MakeEnvelope(:a, :b, :c, :d, 3857), 4490))",
        a=x0,
        b=y0,
        c=x1,
        d=y1,
    )
    assert client.get(ITEMS, params={"bbox": "1,2,3"}).status_code == 400
    assert client.get(ITEMS, params={"bbox": "10,50,0,60"}).status_code == 400


@pytest.mark.parametrize(
    ("code", "flip"),
    [(4326, True), (4490, True), (3857, False), (4526, True), (4527, True), (4549, True)],
)
def test_output_crs_and_content_crs(client: TestClient, code: int, flip: bool) -> None:
    base = client.get(ITEMS, params={"limit": 1}).json()["features"][0]
    lon, lat = base["geometry"]["coordinates"][0][0][0]
    uri = f"http://www.opengis.net/def/crs/EPSG/0/{code}"
    r = client.get(ITEMS, params={"limit": 1, "crs": uri})
    assert r.headers["content-crs"] == f"<{uri}>"
    a, b = r.json()["features"][0]["geometry"]["coordinates"][0][0][0]
    x, y = Transformer.from_crs(4490, code, always_xy=True).transform(lon, lat)
    got = (b, a) if flip else (a, b)
    tol = 1e-6 if code in (4326, 4490) else 0.01
    assert got == pytest.approx((x, y), abs=tol)
    one = client.get(f"{ITEMS}/{base['id']}", params={"crs": uri})
    assert one.headers["content-crs"] == f"<{uri}>"
    assert client.get(ITEMS).headers["content-crs"] == (
        "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    )


def test_datetime(client: TestClient, conn: Connection) -> None:
    n = len(_ids(conn, "p.data_updated_on IS NOT NULL"))  # parcels: the day data were checked
    assert (
        client.get(ITEMS, params={"datetime": "2000-01-01T00:00:00Z/..", "limit": 1}).json()[
            "numberMatched"
        ]
        == n
    )
    assert (
        client.get(ITEMS, params={"datetime": "../2000-01-01", "limit": 1}).json()["numberMatched"]
        == 0
    )
    assert client.get(ITEMS, params={"datetime": "yesterday"}).status_code == 400
    pol = client.get(
        "/ogc/collections/policies/items", params={"datetime": "1990-01-01/1990-01-02", "limit": 1}
    ).json()
    expected = conn.execute(
        text(
            "SELECT count(*) FROM landmatch.policy WHERE visibility = 'public' AND "
            "coalesce(valid_from, '-infinity') <= '1990-01-02' AND "
            "coalesce(valid_until, 'infinity') >= '1990-01-01'"
        )
    ).scalar_one()
    assert pol["numberMatched"] == expected


def test_errors(client: TestClient) -> None:
    assert client.get(ITEMS, params={"colour": "red"}).status_code == 400
    assert client.get(ITEMS, params={"limit": 0}).status_code == 400
    assert client.get(ITEMS, params={"crs": "EPSG:2000"}).status_code == 400
    assert client.get("/ogc/collections/nothing").status_code == 404
    assert client.get("/ogc/collections/nothing/items").status_code == 404
    assert client.get(f"{ITEMS}/999999999").status_code == 404
    assert client.get(f"{ITEMS}/abc").status_code == 404
    assert client.get("/ogc/collections", params={"x": 1}).status_code == 400


def test_other_collections(client: TestClient, conn: Connection, tokens: dict[str, str]) -> None:
    staff = auth(tokens["promoter"])
    for cid, table, where, who in [
        ("zones", "dev_zone", "TRUE", None),
        ("facilities", "facility", "TRUE", None),
        ("constraint_areas", "constraint_area", "TRUE", staff),  # staff only
        ("admin_divisions", "admin_division", "TRUE", None),
        ("policies", "policy", "visibility = 'public'", None),
    ]:
        n = conn.execute(text(f"SELECT count(*) FROM landmatch.{table} WHERE {where}")).scalar_one()
        got = _all(client, f"/ogc/collections/{cid}/items", who)
        assert len(got) == n, cid
        assert all(isinstance(f["id"], int) for f in got)
        one = client.get(f"/ogc/collections/{cid}/items/{got[0]['id']}", headers=who).json()
        assert one["id"] == got[0]["id"]
    assert client.get("/ogc/collections/constraint_areas/items").status_code == 401
    city = client.get("/ogc/collections/admin_divisions/items/130100").json()
    assert city["properties"]["name"] == "石家庄市"
    pol = _all(client, "/ogc/collections/policies/items")
    assert all(f["geometry"] is None for f in pol)
    assert (
        client.get("/ogc/collections/policies/items", params={"bbox": "1,2,3,4"}).status_code == 400
    )


@pytest.mark.parametrize("who", ["anonymous", "admin", "bureau", "promoter", "zone"])
def test_repeated_property_names_are_asked_once(
    client: TestClient, tokens: dict[str, str], who: str
) -> None:
    """``properties=name,name,…`` (1,700 times) was a 500 (too many columns): a name asked
    twice is asked once, in the order first asked; more names than the collection has is 400,
    on items and on one item, for every collection the caller may read."""
    from landmatch.ogc.collections import COLLECTIONS

    h = {} if who == "anonymous" else auth(tokens[who])
    for coll in COLLECTIONS.values():
        items = f"/ogc/collections/{coll.id}/items"
        r = client.get(items, params={"limit": 1}, headers=h)
        if r.status_code != 200:  # not this caller's collection
            continue
        first = r.json()["features"]
        props = list(first[0]["properties"]) if first else []
        if len(props) < 2:
            continue
        a, b = props[0], props[1]
        r = client.get(items, params={"limit": 1, "properties": f"{b},{a},{b},{b}"}, headers=h)
        assert r.status_code == 200, (coll.id, r.text[:300])
        assert list(r.json()["features"][0]["properties"]) == [b, a], coll.id
        fid = quote(str(r.json()["features"][0]["id"]), safe="")
        for url in (items, f"{items}/{fid}"):
            r = client.get(url, params={"properties": ",".join([a] * 1700)}, headers=h)
            assert r.status_code == 400, (url, r.status_code, r.text[:300])
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "收到 1,700 个" in r.json()["detail"] and len(r.content) < 1024
        many = ",".join(f"nope{i}" for i in range(min(len(props), 8)))
        r = client.get(items, params={"limit": 1, "properties": many}, headers=h)
        assert r.status_code == 400 and len(r.content) < 1024, r.text[:300]
