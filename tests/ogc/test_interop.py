"""What real clients send and expect (issue 17): GDAL's ``cql-text`` and integer booleans, the
parcel's temporal property, paging ``Link`` headers, items by code, tileset metadata."""

from __future__ import annotations

import datetime as dt

import pytest
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


def _matched(client, **params: object) -> int:  # type: ignore[no-untyped-def]
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
def test_cql_text_is_cql2_text_and_booleans_take_1_0(client, conn, cql: str, sql: str) -> None:  # type: ignore[no-untyped-def]
    expected = _count(conn, sql)
    assert 0 < expected < _count(conn)
    for lang in ("cql-text", "cql2-text"):
        assert _matched(client, filter=cql, **{"filter-lang": lang}) == expected


def test_cql_text_rejects_what_cql2_text_rejects(client) -> None:  # type: ignore[no-untyped-def]
    for bad in ("area_m2 >> 5", "foo = 1", "is_standard_land = 2", "area_m2 = 'big'"):
        r = client.get(ITEMS, params={"filter": bad, "filter-lang": "cql-text"})
        assert r.status_code == 400, bad
        assert r.headers["content-type"] == "application/problem+json"
    r = client.get(ITEMS, params={"filter": "a = 1", "filter-lang": "ecql"})
    assert r.status_code == 400 and "cql-text" in r.json()["detail"]


def test_equality_parameter_booleans(client, conn) -> None:  # type: ignore[no-untyped-def]
    yes, no = _count(conn, "p.is_standard_land"), _count(conn, "NOT p.is_standard_land")
    for v, n in (("1", yes), ("true", yes), ("TRUE", yes), ("0", no), ("false", no)):
        assert _matched(client, is_standard_land=v) == n, v
    r = client.get(ITEMS, params={"is_standard_land": "yes please"})
    assert r.status_code == 400 and "1/0" in r.json()["detail"]
    tile = "/ogc/collections/parcels/tiles/WebMercatorQuad/5/0/0"
    assert client.get(tile, params={"in_zone": "1"}).status_code == 200
    assert client.get(tile, params={"in_zone": "maybe"}).status_code == 400


def test_openapi_lists_cql_text(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/ogc/api").json()
    langs = doc["components"]["parameters"]["filter-lang"]["schema"]["enum"]
    assert {"cql-text", "cql2-text", "cql2-json"} <= set(langs)


def test_data_updated_on_is_the_temporal_property(client, conn) -> None:  # type: ignore[no-untyped-def]
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
