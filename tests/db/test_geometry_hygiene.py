"""Geometry hygiene (issue #16 item 10): stored polygons carry no repeated consecutive vertex
and have counterclockwise shells and clockwise holes; every write path stores them so, the
migration fixes old rows, and every GeoJSON output (API, OGC items, exports, brochure shapes,
assemblies, zones, layers) and the TXT export give them so even for a row that is not."""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely
from alembic.migration import MigrationContext
from alembic.operations import Operations
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from landmatch.auth import Principal
from landmatch.db.cards import extract_shapes
from landmatch.geo.txt import parse_txt
from landmatch.inventory.imports import ImportOptions, run_import
from landmatch.match.assemblies import assembly_geometry
from tests.conftest import auth, with_etag

ADMIN = Principal(name="t-admin", role="admin")
POLYGON_TABLES = (
    "parcel",
    "parcel_version",
    "dev_zone",
    "constraint_area",
    "admin_division",
    "approval_batch",
)
# A parcel near 石家庄 as a careless writer might have stored it: clockwise shell, an exact
# repeated vertex (C, C), a vertex 2e-8° from C (the same point once printed with 7 decimals)
# and a counterclockwise hole. Valid for GEOS all the same.
BAD = (
    "MULTIPOLYGON(((114.51 38.04, 114.51 38.042, 114.513 38.042, 114.513 38.042, "
    "114.51300002 38.04200001, 114.513 38.04, 114.51 38.04), "
    "(114.511 38.0405, 114.512 38.0405, 114.512 38.041, 114.511 38.041, 114.511 38.0405)))"
)
# Its neighbour to the east (sharing the edge x = 114.513), clockwise too.
NEXT = (
    "MULTIPOLYGON(((114.513 38.04, 114.513 38.042, 114.516 38.042, 114.516 38.04, 114.513 38.04)))"
)
NOT_NORMALISED = (
    "geom IS NOT NULL AND (NOT ST_IsPolygonCCW(geom) "
    "OR ST_NPoints(geom) <> ST_NPoints(ST_RemoveRepeatedPoints(geom)))"
)


def _signed_area(ring: list[tuple[float, float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False)) / 2


def problems(geometry: dict[str, Any], *, lat_first: bool = False) -> list[str]:
    """What in a GeoJSON geometry breaks RFC 7946 §3.1.6 or repeats a vertex (as printed)."""
    out: list[str] = []
    if geometry["type"] == "Polygon":
        polygons = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        polygons = geometry["coordinates"]
    elif geometry["type"] in ("LineString", "MultiLineString"):
        lines = (
            [geometry["coordinates"]]
            if geometry["type"] == "LineString"
            else geometry["coordinates"]
        )
        polygons = []
        for line in lines:
            if any(a == b for a, b in zip(line, line[1:], strict=False)):
                out.append("repeated vertex in a line")
    else:
        raise AssertionError(geometry["type"])
    for polygon in polygons:
        for k, ring in enumerate(polygon):
            pts = [(p[1], p[0]) if lat_first else (p[0], p[1]) for p in ring]
            if any(a == b for a, b in zip(pts, pts[1:], strict=False)):
                out.append(f"ring {k}: repeated consecutive vertex")
            area = _signed_area(pts)
            if k == 0 and area <= 0:
                out.append("shell not counterclockwise")
            if k > 0 and area >= 0:
                out.append(f"hole {k} not clockwise")
    return out


def _insert_raw(conn: Connection, code: str, wkt: str) -> int:
    """A public ready parcel written straight into the table, as an old row might be."""
    return int(
        conn.execute(
            text(
                "INSERT INTO landmatch.parcel (code, name, city_code, status, visibility, "
                "land_use, geom) VALUES (:c, '卫生测试地块', '130100', 'ready', 'public', "
                "'100102', ST_GeomFromText(:w, 4490)) RETURNING id"
            ),
            {"c": code, "w": wkt},
        ).scalar_one()
    )


# --------------------------------------------------------------------------- storage


def test_seeded_polygons_are_normalised(conn: Connection) -> None:
    for table in POLYGON_TABLES:
        total, bad = conn.execute(
            text(
                f"SELECT count(geom), count(*) FILTER (WHERE {NOT_NORMALISED}) FROM landmatch.{table}"
            )
        ).one()
        assert bad == 0, f"{table}: {bad} of {total} rows"
        if table != "parcel_version":  # versions hold geometries only once superseded
            assert total > 0, table


def _migration() -> ModuleType:
    path = Path(__file__).parents[2] / "landmatch/db/migrations/versions/0018_geometry_hygiene.py"
    spec = importlib.util.spec_from_file_location("m0016", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_fixes_stored_rows_without_new_versions(conn: Connection) -> None:
    pid = _insert_raw(conn, "HYG-M-1", BAD)
    conn.execute(text("DELETE FROM landmatch.parcel_dirty WHERE parcel_id = :p"), {"p": pid})
    # Old rows elsewhere: clockwise reference polygons, a superseded version with a repeat.
    for table, key in (("dev_zone", "id"), ("constraint_area", "id"), ("admin_division", "code")):
        conn.execute(
            text(
                f"UPDATE landmatch.{table} SET geom = ST_ForcePolygonCW(geom) WHERE {key} = "
                f"(SELECT min({key}) FROM landmatch.{table})"
            )
        )
    vid = conn.execute(
        text(
            "INSERT INTO landmatch.parcel_version (parcel_id, code, version, op, row, geom, changed) "
            "SELECT id, code, 0, 'update', '{}'::jsonb, ST_GeomFromText(:w, 4490), '{}' "
            "FROM landmatch.parcel WHERE id = :p RETURNING id"
        ),
        {"w": BAD, "p": pid},
    ).scalar_one()
    before = conn.execute(
        text("SELECT version, area_m2 FROM landmatch.parcel WHERE id = :p"), {"p": pid}
    ).one()
    counts = conn.execute(
        text(
            "SELECT (SELECT count(*) FROM landmatch.parcel_version), "
            "(SELECT count(*) FROM landmatch.layer_version)"
        )
    ).one()
    for table in POLYGON_TABLES[:-1]:  # each holds an old row now
        bad = conn.execute(text(f"SELECT count(*) FROM landmatch.{table} WHERE {NOT_NORMALISED}"))
        assert bad.scalar(), table

    with Operations.context(MigrationContext.configure(conn)):
        _migration().upgrade()

    for table in POLYGON_TABLES:
        remaining = conn.execute(
            text(f"SELECT count(*) FROM landmatch.{table} WHERE {NOT_NORMALISED}")
        ).scalar()
        assert remaining == 0, table
    after = conn.execute(
        text("SELECT version, area_m2, ST_AsText(geom) FROM landmatch.parcel WHERE id = :p"),
        {"p": pid},
    ).one()
    assert after[0] == before[0]  # not an edit: no new version, the ETag holds
    assert after[1] == pytest.approx(before[1], rel=1e-12)  # the same shape
    # The exact repeat is gone; the near one (2e-8°) is a distinct point and stays stored.
    assert "114.513 38.042,114.513 38.042" not in after[2].replace(", ", ",")
    assert (
        conn.execute(
            text(
                "SELECT (SELECT count(*) FROM landmatch.parcel_version), "
                "(SELECT count(*) FROM landmatch.layer_version)"
            )
        ).one()
        == counts
    )
    assert not conn.execute(
        text("SELECT count(*) FROM landmatch.parcel_dirty WHERE parcel_id = :p"), {"p": pid}
    ).scalar()  # spatial facts untouched
    fixed = conn.execute(
        text("SELECT ST_IsPolygonCCW(geom) FROM landmatch.parcel_version WHERE id = :v"), {"v": vid}
    ).scalar()
    assert fixed


def _bad_feature(code: str) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {
            "code": code,
            "name": "卫生测试地块",
            "city_code": "130100",
            "status": "ready",
            "land_use": "100102",
            "visibility": "public",
        },
        "geometry": json.loads(shapely.to_geojson(shapely.from_wkt(BAD))),
    }


def _stored_ok(conn: Connection, code: str) -> bool:
    return bool(
        conn.execute(
            text(f"SELECT NOT ({NOT_NORMALISED}) FROM landmatch.parcel WHERE code = :c"),
            {"c": code},
        ).scalar()
    )


def test_imports_and_edits_store_normalised_polygons(
    client: TestClient, tokens: dict[str, str], conn: Connection
) -> None:
    data = json.dumps({"type": "FeatureCollection", "features": [_bad_feature("HYG-I-1")]}).encode()
    run_import(conn, data, "hyg.geojson", ADMIN, ImportOptions())
    assert _stored_ok(conn, "HYG-I-1")
    # An edit sending the bad ring again, through the API.
    feature = client.get("/api/parcels/HYG-I-1", headers=auth(tokens["admin"]))
    moved = shapely.affinity.translate(shapely.from_wkt(BAD), 0.00001, 0)
    r = client.patch(
        "/api/parcels/HYG-I-1",
        json={"geometry": json.loads(shapely.to_geojson(moved))},
        headers={**auth(tokens["admin"]), "If-Match": feature.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    assert _stored_ok(conn, "HYG-I-1")
    created = client.post(
        "/api/parcels",
        json={
            **_bad_feature("HYG-I-2"),
            "geometry": json.loads(
                shapely.to_geojson(shapely.affinity.translate(shapely.from_wkt(BAD), 0.01, 0))
            ),
        },
        headers=auth(tokens["admin"]),
    )
    assert created.status_code in (200, 201), created.text
    assert _stored_ok(conn, "HYG-I-2")


def test_reference_layers_and_zone_boundaries_store_normalised_polygons(
    client: TestClient, tokens: dict[str, str], conn: Connection
) -> None:
    code, wkt = conn.execute(
        text("SELECT code, ST_AsText(geom) FROM landmatch.dev_zone ORDER BY id LIMIT 1")
    ).one()
    ring = list(shapely.from_wkt(wkt).geoms[0].exterior.coords)[::-1]  # clockwise
    ring.insert(2, ring[1])  # and a repeated vertex
    r = client.patch(
        f"/api/zones/{code}",
        json={"geometry": {"type": "Polygon", "coordinates": [ring]}},
        headers=with_etag(client, f"/api/zones/{code}", auth(tokens["admin"])),
    )
    assert r.status_code == 200, r.text
    assert conn.execute(
        text(f"SELECT NOT ({NOT_NORMALISED}) FROM landmatch.dev_zone WHERE code = :c"), {"c": code}
    ).scalar()
    layer = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "code": "HYG-C-1",
                    "name": "卫生测试管控区",
                    "kind": "flood",
                    "severity": "penalises",
                },
                "geometry": json.loads(shapely.to_geojson(shapely.from_wkt(BAD))),
            }
        ],
    }
    r = client.post(
        "/api/layers/constraint_area/import",
        files={"file": ("c.geojson", json.dumps(layer).encode(), "application/geo+json")},
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 200, r.text
    assert conn.execute(
        text(f"SELECT NOT ({NOT_NORMALISED}) FROM landmatch.constraint_area WHERE code = 'HYG-C-1'")
    ).scalar()


# --------------------------------------------------------------------------- outputs


@pytest.fixture
def raw(conn: Connection) -> dict[str, int]:
    """Two old-style rows (the writers would have normalised them)."""
    return {
        "HYG-O-1": _insert_raw(conn, "HYG-O-1", BAD),
        "HYG-O-2": _insert_raw(conn, "HYG-O-2", NEXT),
    }


def test_api_geojson_is_rfc7946(
    client: TestClient, tokens: dict[str, str], raw: dict[str, int]
) -> None:
    for headers in ({}, auth(tokens["admin"])):
        one = client.get("/api/parcels/HYG-O-1", headers=headers)
        assert one.status_code == 200, one.text
        assert problems(one.json()["geometry"]) == []
        page = client.get(
            "/api/parcels",
            params={"bbox": "114.509,38.039,114.517,38.043", "limit": 1000},
            headers=headers,
        ).json()
        ours = [f for f in page["features"] if f["properties"]["code"] in raw]
        assert len(ours) == 2
        for f in ours:
            assert problems(f["geometry"]) == [], f["properties"]["code"]


@pytest.mark.parametrize(
    ("crs", "lat_first"),
    [
        (None, False),
        ("http://www.opengis.net/def/crs/EPSG/0/4490", True),  # latitude first
        ("http://www.opengis.net/def/crs/EPSG/0/3857", False),
        ("http://www.opengis.net/def/crs/EPSG/0/4526", True),  # GK zone 38: northing first
    ],
)
def test_ogc_items_are_rfc7946(
    client: TestClient, raw: dict[str, int], crs: str | None, lat_first: bool
) -> None:
    params = {"crs": crs} if crs else {}
    one = client.get(f"/ogc/collections/parcels/items/{raw['HYG-O-1']}", params=params)
    assert one.status_code == 200, one.text
    assert problems(one.json()["geometry"], lat_first=lat_first) == []
    page = client.get(
        "/ogc/collections/parcels/items",
        params={**params, "bbox": "114.509,38.039,114.517,38.043", "limit": 1000},
    ).json()
    ours = [f for f in page["features"] if f["id"] in raw.values()]
    assert len(ours) == 2
    for f in ours:
        assert problems(f["geometry"], lat_first=lat_first) == []


def test_brochure_shapes_assemblies_zones_and_layers_are_rfc7946(
    client: TestClient, tokens: dict[str, str], session: Session, raw: dict[str, int]
) -> None:
    shapes = extract_shapes(session, "HYG-O-1", ADMIN)
    assert problems(shapes["parcel"]) == []
    assert shapes["neighbours"], "HYG-O-2 is next door"
    for g in shapes["neighbours"]:
        assert problems(g) == []
    union = assembly_geometry(session, list(raw.values()))
    geometry = union.get("geometry", union)
    assert problems(geometry) == []
    code = session.execute(text("SELECT code FROM landmatch.dev_zone ORDER BY id LIMIT 1")).scalar()
    session.execute(
        text("UPDATE landmatch.dev_zone SET geom = ST_ForcePolygonCW(geom) WHERE code = :c"),
        {"c": code},
    )
    zone = client.get(f"/api/zones/{code}", headers=auth(tokens["admin"])).json()
    assert problems(zone["geometry"]) == []
    session.execute(
        text(
            "UPDATE landmatch.constraint_area SET geom = ST_ForcePolygonCW(geom) "
            "WHERE id = (SELECT min(id) FROM landmatch.constraint_area)"
        )
    )
    records = client.get("/api/layers/constraint_area", headers=auth(tokens["admin"])).json()
    assert records
    for rec in records:
        g = rec["geometry"]
        assert problems(json.loads(g) if isinstance(g, str) else g) == [], rec["code"]


def _export(client: TestClient, tokens: dict[str, str], fmt: str) -> bytes:
    r = client.get(
        f"/api/exports/parcels?format={fmt}&city=130100&status=ready",
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 200, r.text
    return r.content


def _vertices_repeat(geom: Any) -> bool:
    for ring in shapely.get_rings(shapely.get_parts(geom)):
        xy = shapely.get_coordinates(ring)
        if (np.diff(xy, axis=0) == 0).all(axis=1).any():
            return True
    return False


def test_exports_are_normalised(
    client: TestClient, tokens: dict[str, str], raw: dict[str, int], tmp_path: Path
) -> None:
    feats = json.loads(_export(client, tokens, "geojson"))["features"]
    ours = [f for f in feats if f["properties"]["code"] in raw]
    assert len(ours) == 2
    for f in ours:
        assert problems(f["geometry"]) == [], f["properties"]["code"]
    # GeoPackage: the same rings (a GIS reads them as written).
    path = tmp_path / "x.gpkg"
    path.write_bytes(_export(client, tokens, "gpkg"))
    gdf = pyogrio.read_dataframe(path)
    for g in gdf[gdf["code"].isin(raw)].geometry:
        assert not _vertices_repeat(g) and bool(shapely.is_ccw(g.geoms[0].exterior))
    # Shapefile: clockwise shells are the shapefile's own rule (GDAL writes them so); no repeats.
    zf = zipfile.ZipFile(io.BytesIO(_export(client, tokens, "shp")))
    zf.extractall(tmp_path / "shp")
    shp = next((tmp_path / "shp").glob("*.shp"))
    gdf = pyogrio.read_dataframe(shp)
    code_col = next(c for c in gdf.columns if set(raw) & set(gdf[c].astype(str)))
    for g in gdf[gdf[code_col].isin(raw)].geometry:
        assert not _vertices_repeat(g)
    # The 清单's WKT column.
    wb = load_workbook(io.BytesIO(_export(client, tokens, "xlsx")))
    ws = wb["熟地清单"]
    header = [c.value for c in ws[1]]
    code_at, wkt_at = header.index("地块编号"), header.index("几何(WKT)")
    wkts = {row[code_at]: row[wkt_at] for row in ws.iter_rows(min_row=2, values_only=True)}
    for code in raw:
        g = shapely.from_wkt(wkts[code])
        assert not _vertices_repeat(g) and bool(shapely.is_ccw(g.geoms[0].exterior))


def test_txt_export_has_no_repeated_points(
    client: TestClient, tokens: dict[str, str], raw: dict[str, int]
) -> None:
    data = _export(client, tokens, "txt")
    lines = data.decode("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if "HYG-O-1" in line)
    count = int(lines[start].split(",")[0])
    points = [line.split(",") for line in lines[start + 1 : start + 1 + count]]
    by_ring: dict[str, list[tuple[str, str]]] = {}
    for _j, ring, x, y in points:
        by_ring.setdefault(ring, []).append((x, y))
    assert len(by_ring) == 2  # shell and hole
    for coords in by_ring.values():
        assert coords[0] == coords[-1]  # closed by repeating J1, once
        assert all(a != b for a, b in zip(coords, coords[1:], strict=False)), coords
    parsed = {p.code: p for p in parse_txt(data).parcels}
    assert not _vertices_repeat(parsed["HYG-O-1"].geometry_4490)


def test_every_seeded_output_polygon_is_rfc7946(client: TestClient, tokens: dict[str, str]) -> None:
    """A page of the seeded public inventory through the OGC items, and a match with its
    assemblies (75 % of the demo parcels used to repeat a corner)."""
    page = client.get("/ogc/collections/parcels/items", params={"limit": 1000}).json()
    assert len(page["features"]) == 1000
    bad = [f["id"] for f in page["features"] if problems(f["geometry"])]
    assert bad == []
    req = {"industry": "36", "area_mu_min": 20, "area_mu_max": 400, "top": 50}
    body = client.post("/api/match", json=req, headers=auth(tokens["promoter"])).json()
    assert body["features"]
    for f in body["features"]:
        assert problems(f["geometry"]) == [], f["id"]
