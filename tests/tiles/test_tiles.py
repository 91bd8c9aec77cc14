"""Vector tiles against the seeded PostGIS: decoded with mapbox-vector-tile, checked field by field."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from shapely import Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, text

from landmatch.db.parcels import INTERNAL_COLUMNS, M2_PER_MU, PUBLIC_WHERE
from landmatch.db.tiles import (
    AREA_CLASS_EDGES_MU,
    NO_FILTER,
    PARCEL_MIN_ZOOM,
    TileFilter,
    _cells_live_sql,
    _cells_sql,
    render_versioned,
    tile_at,
)
from tests.conftest import app_of, auth

HEBEI_Z6 = [(x, y) for x in range(51, 54) for y in range(23, 27)]  # covers 113–120.9°E, 35–43°N


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body) if body else {}


def features(body: bytes, layer: str) -> list[dict]:
    return decode(body).get(layer, {}).get("features", [])


def busiest_tile(conn: Connection, z: int, where: str = "TRUE") -> tuple[int, int]:
    """The zoom-z tile holding the most parcels matching ``where`` (by parcel centre)."""
    # The densest 0.05° grid square.
    row = conn.execute(
        text(
            f"SELECT avg(ST_X(ST_PointOnSurface(p.geom))), avg(ST_Y(ST_PointOnSurface(p.geom)))"
            f" FROM landmatch.parcel p WHERE {where} GROUP BY round(ST_X(ST_PointOnSurface(p.geom))"
            f" * 20), round(ST_Y(ST_PointOnSurface(p.geom)) * 20) ORDER BY count(*) DESC LIMIT 1"
        )
    ).first()
    assert row is not None
    return tile_at(row[0], row[1], z)


def parcel_rows(conn: Connection, codes: set[str]) -> dict[str, dict]:
    rows = (
        conn.execute(
            text(
                "SELECT code, status, visibility, land_use, area_m2, city_code, zone_id, deleted_at"
                " FROM landmatch.parcel WHERE code = ANY(:c)"
            ),
            {"c": list(codes)},
        )
        .mappings()
        .all()
    )
    return {r["code"]: dict(r) for r in rows}


def test_public_parcel_tile_has_only_public_parcels_and_fields(conn: Connection) -> None:
    x, y = busiest_tile(conn, 13, PUBLIC_WHERE)
    feats = features(
        render_versioned(conn, "parcels", 13, x, y, NO_FILTER, public=True)[1], "parcels"
    )
    assert feats, "the busiest public tile is empty"
    rows = parcel_rows(conn, {f["properties"]["code"] for f in feats})
    for f in feats:
        props = f["properties"]
        assert not set(props) & set(INTERNAL_COLUMNS), props
        r = rows[props["code"]]
        assert r["status"] == "ready" and r["visibility"] == "public" and r["deleted_at"] is None
        assert props["area_mu"] == pytest.approx(r["area_m2"] / M2_PER_MU, abs=0.01)
        assert f.get("id") in (None, 0)  # internal ids are not published


def test_internal_tile_has_all_statuses_and_ids(conn: Connection) -> None:
    x, y = busiest_tile(conn, 13)
    feats = features(
        render_versioned(conn, "parcels", 13, x, y, NO_FILTER, public=False)[1], "parcels"
    )
    statuses = {f["properties"]["status"] for f in feats}
    assert len(statuses) >= 2, statuses
    assert all("visibility" in f["properties"] for f in feats)
    ids = conn.execute(
        text("SELECT code, id FROM landmatch.parcel WHERE code = ANY(:c)"),
        {"c": [f["properties"]["code"] for f in feats]},
    ).all()
    by_code: dict[str, int] = dict(ids)
    assert all(f["id"] == by_code[f["properties"]["code"]] for f in feats)


FILTERS = [
    (TileFilter(status=("idle", "unsupplied")), lambda r: r["status"] in ("idle", "unsupplied")),
    (TileFilter(land_use=("1001",)), lambda r: r["land_use"].startswith("1001")),
    (
        TileFilter(area_min_mu=20, area_max_mu=80),
        lambda r: 20 * M2_PER_MU <= r["area_m2"] < 80 * M2_PER_MU,
    ),
    (TileFilter(in_zone=True), lambda r: r["zone_id"] is not None),
    (TileFilter(in_zone=False), lambda r: r["zone_id"] is None),
]


@pytest.mark.parametrize(("f", "pred"), FILTERS, ids=lambda v: repr(v)[:40])
def test_filters_select_exactly_the_matching_parcels(
    conn: Connection, f: TileFilter, pred: Callable[[dict[str, Any]], bool]
) -> None:
    x, y = busiest_tile(conn, PARCEL_MIN_ZOOM)
    everything = features(
        render_versioned(conn, "parcels", 12, x, y, NO_FILTER, False)[1], "parcels"
    )
    rows = parcel_rows(conn, {g["properties"]["code"] for g in everything})
    expected = {c for c, r in rows.items() if pred(r)}
    got = {
        g["properties"]["code"]
        for g in features(render_versioned(conn, "parcels", 12, x, y, f, False)[1], "parcels")
    }
    assert expected, "filter matches nothing in the tile; the test would prove nothing"
    assert got == expected
    assert len(got) < len(rows)


def test_city_filter(conn: Connection) -> None:
    city = conn.execute(
        text("SELECT city_code FROM landmatch.parcel GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    ).scalar()
    x, y = busiest_tile(conn, 12, f"p.city_code = '{city}'")
    feats = features(
        render_versioned(conn, "parcels", 12, x, y, TileFilter(city=city), False)[1], "parcels"
    )
    assert feats and all(f["properties"]["city_code"] == city for f in feats)


def _in_tile(feat: dict) -> bool:
    """A point of the tile itself, not of its buffer margin (drawn by a neighbour as well)."""
    x, y = feat["geometry"]["coordinates"]
    return 0 <= x < 4096 and 0 < y <= 4096  # decoded y points up: (0, 4096] is the tile


def _cell_sum(conn: Connection, f: TileFilter, public: bool, key: str = "n") -> int:
    total = 0
    for x, y in HEBEI_Z6:
        for feat in features(
            render_versioned(conn, "parcels", 6, x, y, f, public)[1], "parcel_cells"
        ):
            if _in_tile(feat):
                total += feat["properties"][key]
    return total


def test_low_zoom_cells_count_every_parcel(conn: Connection) -> None:
    n_all = conn.execute(
        text("SELECT count(*) FROM landmatch.parcel p WHERE p.deleted_at IS NULL")
    ).scalar()
    n_pub = conn.execute(
        text(f"SELECT count(*) FROM landmatch.parcel p WHERE {PUBLIC_WHERE}")
    ).scalar()
    n_idle = conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel p WHERE p.deleted_at IS NULL AND status = 'idle'"
        )
    ).scalar()
    assert _cell_sum(conn, NO_FILTER, False) == n_all
    assert _cell_sum(conn, NO_FILTER, False, "n_idle") == n_idle
    assert _cell_sum(conn, NO_FILTER, True) == n_pub
    assert 0 < n_pub < n_all


def test_low_zoom_filters_from_table_and_live_agree(conn: Connection) -> None:
    edge = AREA_CLASS_EDGES_MU[3]
    f = TileFilter(area_min_mu=edge, land_use=("1001",), in_zone=True)
    n = conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel WHERE deleted_at IS NULL AND area_m2 >= :a"
            " AND land_use LIKE '1001%' AND zone_id IS NOT NULL"
        ),
        {"a": edge * M2_PER_MU},
    ).scalar()
    assert n and _cell_sum(conn, f, False) == n
    # Off-edge bounds are answered live, still exactly.
    g = TileFilter(area_min_mu=edge + 0.5)
    n2 = conn.execute(
        text("SELECT count(*) FROM landmatch.parcel WHERE deleted_at IS NULL AND area_m2 >= :a"),
        {"a": (edge + 0.5) * M2_PER_MU},
    ).scalar()
    assert _cell_sum(conn, g, False) == n2
    x, y = 52, 24
    for sql in (_cells_sql, _cells_live_sql):
        params = {"z": 6, "x": x, "y": y}
        body = conn.execute(text(sql(6, x, y, f, False, params)), params).scalar_one()
        assert sum(ft["properties"]["n"] for ft in features(bytes(body), "parcel_cells")) > 0


def test_cells_follow_writes(conn: Connection) -> None:
    conn.execute(
        text(
            "UPDATE landmatch.parcel SET status = 'idle' WHERE id IN"
            " (SELECT id FROM landmatch.parcel WHERE status = 'ready' ORDER BY id LIMIT 25)"
        )
    )
    conn.execute(
        text(
            "UPDATE landmatch.parcel SET deleted_at = now() WHERE id IN"
            " (SELECT id FROM landmatch.parcel WHERE deleted_at IS NULL ORDER BY id DESC LIMIT 5)"
        )
    )
    fresh = conn.execute(
        text("SELECT status, count(*) FROM landmatch.parcel WHERE deleted_at IS NULL GROUP BY 1")
    ).all()
    for table in ("parcel_cell", "parcel_cell_total"):
        kept = conn.execute(
            text(
                f"SELECT status, sum(n) FROM landmatch.{table} WHERE z = 9 GROUP BY 1 HAVING sum(n) > 0"
            )
        ).all()
        assert sorted(kept) == sorted(fresh)
    # Cell by cell, the trigger-kept table equals a rebuild.
    before = conn.execute(
        text(
            "SELECT z, cx, cy, status, public, n FROM landmatch.parcel_cell_total"
            " WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5"
        )
    ).all()
    conn.execute(text("SELECT landmatch.parcel_cell_rebuild()"))
    after = conn.execute(
        text(
            "SELECT z, cx, cy, status, public, n FROM landmatch.parcel_cell_total"
            " WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5"
        )
    ).all()
    assert before == after


@pytest.mark.parametrize("layer", ["zones", "admin", "facilities"])
def test_reference_layers(conn: Connection, layer: str) -> None:
    feats = features(render_versioned(conn, layer, 6, 52, 24, NO_FILTER, True)[1], layer)
    assert feats and all(f["properties"]["code"] and f["properties"]["name"] for f in feats)


def test_constraints_are_internal(client: TestClient) -> None:
    r = client.get("/tiles/constraints/6/52/24.pbf")
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")


def test_http_etag_304_and_write_bumps(
    client: TestClient, conn: Connection, tokens: dict[str, str]
) -> None:
    x, y = busiest_tile(conn, 12)
    url = f"/tiles/parcels/12/{x}/{y}.pbf"
    h = {**auth(tokens["promoter"]), "Accept-Encoding": "identity"}
    r1 = client.get(url, headers=h)
    assert (
        r1.status_code == 200 and r1.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    )
    etag = r1.headers["etag"]
    assert features(r1.content, "parcels")
    r2 = client.get(url, headers={**h, "If-None-Match": etag})
    assert r2.status_code == 304 and r2.headers["etag"] == etag and not r2.content
    code = features(r1.content, "parcels")[0]["properties"]["code"]
    conn.execute(
        text("UPDATE landmatch.parcel SET status = 'withdrawn' WHERE code = :c"), {"c": code}
    )
    app_of(client).state.tile_server.clock.expire()  # or wait LANDMATCH_TILE_VERSION_POLL_MS
    r3 = client.get(url, headers={**h, "If-None-Match": etag})
    assert r3.status_code == 200 and r3.headers["etag"] != etag
    after = {
        f["properties"]["code"]: f["properties"]["status"] for f in features(r3.content, "parcels")
    }
    assert after[code] == "withdrawn"


def test_http_gzip_and_public_fields(client: TestClient, conn: Connection) -> None:
    x, y = busiest_tile(conn, 12, PUBLIC_WHERE)
    url = f"/tiles/parcels/12/{x}/{y}.pbf?status=ready,idle"
    raw = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    zipped = client.get(
        url,
        headers={"Accept-Encoding": "gzip"},
    )
    assert zipped.headers["content-encoding"] == "gzip"
    # httpx decodes transparently: the decoded body is the identical tile.
    assert zipped.content == raw.content
    assert len(gzip.compress(raw.content)) < len(raw.content)
    feats = features(raw.content, "parcels")
    assert feats and {f["properties"]["status"] for f in feats} == {"ready"}
    assert all(not set(f["properties"]) & set(INTERNAL_COLUMNS) for f in feats)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/tiles/roads/6/52/24.pbf", 404),
        ("/tiles/parcels/23/0/0.pbf", 400),
        ("/tiles/parcels/6/64/0.pbf", 400),
        ("/tiles/parcels/12/3401/1560.pbf?status=bogus", 400),
        ("/tiles/parcels/12/3401/1560.pbf?land_use=10a", 400),
        ("/tiles/parcels/12/3401/1560.pbf?area_min=50&area_max=10", 400),
        ("/tiles/parcels/12/3401/1560.pbf?colour=red", 422),
    ],
)
def test_bad_requests_are_problems(client: TestClient, url: str, status: int) -> None:
    r = client.get(url)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"]


def _inside(conn: Connection, where: str) -> tuple[str, float, float]:
    row = conn.execute(
        text(
            f"SELECT p.code, ST_X(ST_PointOnSurface(p.geom)), ST_Y(ST_PointOnSurface(p.geom))"
            f" FROM landmatch.parcel p WHERE {where} ORDER BY p.id LIMIT 1"
        )
    ).first()
    assert row is not None
    return row[0], row[1], row[2]


def test_identify_public_and_internal(
    client: TestClient, conn: Connection, tokens: dict[str, str]
) -> None:
    code, lon, lat = _inside(conn, PUBLIC_WHERE)
    r = client.get("/api/identify", params={"lon": lon, "lat": lat})
    assert r.status_code == 200
    props = r.json()["features"][0]["properties"]
    assert props["code"] == code and props["area_mu"] > 0
    assert not set(props) & set(INTERNAL_COLUMNS)
    hidden, lon2, lat2 = _inside(conn, "p.deleted_at IS NULL AND p.status = 'idle'")
    assert client.get("/api/identify", params={"lon": lon2, "lat": lat2}).json()["features"] == []
    staff = client.get(
        "/api/identify", params={"lon": lon2, "lat": lat2}, headers=auth(tokens["promoter"])
    ).json()["features"]
    assert staff[0]["properties"]["code"] == hidden and "contact_phone" in staff[0]["properties"]
    near = client.get(
        "/api/identify",
        params={"lon": lon2 + 0.01, "lat": lat2, "tolerance_m": 500},
        headers=auth(tokens["promoter"]),
    )
    assert near.status_code == 200
    bad = client.get("/api/identify", params={"lon": 200, "lat": 38})
    assert bad.status_code == 422


@pytest.mark.parametrize("z", [12, 14, 16])
def test_interior_fast_geometry_equals_st_asmvtgeom(conn: Connection, z: int) -> None:
    """Parcels wholly inside a tile skip ST_AsMVTGeom's clip-and-validate pass: same shapes."""
    from shapely.geometry import shape

    from landmatch.db.tiles import _geom, _parcels_sql, _polygon_geom

    x, y = busiest_tile(conn, z)
    params: dict = {"z": z, "x": x, "y": y}
    fast = _parcels_sql(NO_FILTER, False, params)
    assert _polygon_geom("p.geom_3857") in fast
    slow = fast.replace(_polygon_geom("p.geom_3857"), _geom("p.geom_3857"))

    def shapes(sql: str) -> dict[int, BaseGeometry]:
        body = conn.execute(text(sql), params).scalar_one()
        return {f["id"]: shape(f["geometry"]) for f in features(bytes(body), "parcels")}

    a, b = shapes(fast), shapes(slow)
    assert a and set(a) == set(b)
    inside = conn.execute(
        text(
            "SELECT count(*) FROM landmatch.parcel p WHERE p.geom_3857 @ ST_TileEnvelope(:z, :x, :y)"
            " AND p.deleted_at IS NULL"
        ),
        params,
    ).scalar()
    assert inside, "no parcel wholly inside the tile: the fast path would be untested"
    for fid, g in a.items():
        assert g.is_valid and g.equals(b[fid]), fid
        if isinstance(g, Polygon):  # same ring orientation as ST_AsMVTGeom gives
            assert isinstance(b[fid], Polygon) and g.exterior.is_ccw == b[fid].exterior.is_ccw
