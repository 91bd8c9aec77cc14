"""GDAL's OGC API driver (``OGCAPI``: OGC API – Tiles, Maps, Coverages) on landmatch's vector
tilesets (issue 17 item 5): the collection's ``tilesets-vector`` link, the tileset's
``tiling-scheme`` link and ``tileMatrixSetLimits``, the tile matrix set document, the tiles.

Two GDALs:

* **3.12** (the one pyogrio's wheel bundles, run by ``gdal_ogcapi_check.py`` in a process of its
  own) opens ``OGCAPI:<collection>``, lists one layer per tile matrix of the limits and reads the
  tiles' features: the province's density points at zoom 8, a parcel with its public fields at
  zooms 12 and 14.
* **3.6** (Debian 12's gdal-bin): its driver's vector-tiles code sits under
  ``#ifdef OGR_ENABLE_DRIVER_GML`` and GDAL 3.6's CMake configures ``frmts/ogcapi`` before the
  GML driver defines that, so Debian's build has no vector-tiles reader at all (the
  ``OGCAPITiledLayer`` constructor in ``libgdal.so.32`` has no caller; past the tile matrix set
  the driver goes on only with a raster tile link, and with none it gives up without a message)
  — no server can change that. What 3.6 does read is checked: the tile matrix set (its parser
  knows only the TMS 1.0 member names, which the document now carries beside the 2.0 ones;
  before, 3.6 stopped with "Invalid tiling matrix set name"), the landing page's collections as subdatasets, and the
  collections through the driver's ``API=ITEMS`` (OGC API – Features underneath).
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import mapbox_vector_tile
from sqlalchemy import Engine, text

from landmatch.db.parcels import PUBLIC_WHERE
from landmatch.db.tiles import EXTENT, INTERNAL_FIELDS, LAYER_FIELDS
from landmatch.geo.crs import HEBEI_BBOX
from tests.interop.conftest import Counted, matched

SCRIPT = Path(__file__).with_name("gdal_ogcapi_check.py")
POINT, POLYGON, MULTIPOLYGON = 1, 3, 6


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    r = 6378137.0
    return math.radians(lon) * r, math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * r


def _gdal312(collection: str, box: tuple[float, float, float, float], *zooms: int) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        [sys.executable, str(SCRIPT), collection, *map(repr, box), *map(str, zooms)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("GDAL-RESULT ")]
    assert out.returncode == 0 and lines, out.stdout[-2000:] + out.stderr[-3000:]
    return json.loads(lines[-1].split(" ", 1)[1])  # type: ignore[no-any-return]


def test_gdal_ogcapi_driver_reads_the_parcel_tiles(counted: Counted, engine: Engine) -> None:
    collection = f"{counted.url}/ogc/collections/parcels"
    tileset = httpx.get(f"{collection}/tiles/WebMercatorQuad").json()
    limits = {int(lim["tileMatrix"]): lim for lim in tileset["tileMatrixSetLimits"]}

    # The province: every zoom level of the limits is a layer; zoom 8's features are the
    # density points of exactly the tiles of the limits (each decoded here for comparison).
    west, south = _mercator(*HEBEI_BBOX[:2])
    east, north = _mercator(*HEBEI_BBOX[2:])
    mark = counted.mark()
    got = _gdal312(collection, (west, south, east, north), 8)
    asked = counted.since(mark)
    assert got["gdal"].startswith("3.12")
    assert got["zoom_levels"] == sorted(limits)
    z8 = got["8"]
    assert z8["crs"] == "EPSG:3857"
    assert set(LAYER_FIELDS["parcel_cells"]) <= set(z8["fields"])
    expected = []
    lim = limits[8]
    for row in range(lim["minTileRow"], lim["maxTileRow"] + 1):
        for col in range(lim["minTileCol"], lim["maxTileCol"] + 1):
            body = httpx.get(f"{collection}/tiles/WebMercatorQuad/8/{row}/{col}").content
            for f in mapbox_vector_tile.decode(body).get("parcel_cells", {}).get("features", []):
                px, py = f["geometry"]["coordinates"]
                if 0 <= px <= EXTENT and 0 <= py <= EXTENT:  # GDAL clips the edge buffer off
                    expected.append((f["properties"]["n"], round(f["properties"]["area_mu"], 1)))
    seen = [(f["properties"]["n"], round(f["properties"]["area_mu"], 1)) for f in z8["features"]]
    assert expected and sorted(seen) == sorted(expected)
    assert {f["type"] for f in z8["features"]} == {POINT}
    tiles_read = [p for _, p, _ in asked if re.search(r"/tiles/WebMercatorQuad/\d+/\d+/\d+$", p)]
    z8_tiles = {p for p in tiles_read if "/WebMercatorQuad/8/" in p}
    n_tiles = (lim["maxTileRow"] - lim["minTileRow"] + 1) * (
        lim["maxTileCol"] - lim["minTileCol"] + 1
    )
    assert len(z8_tiles) == n_tiles  # the limits, not the whole zoom level (4**8 tiles)

    # One parcel: a 2 m box around a public parcel's interior point is one tile per zoom;
    # zooms 12 and 14 give the parcel itself with the public fields only.
    with engine.connect() as c:
        code, x, y = c.execute(
            text(
                "SELECT p.code, ST_X(q.g), ST_Y(q.g) FROM landmatch.parcel p, "
                "LATERAL (SELECT ST_Transform(ST_PointOnSurface(p.geom), 3857) AS g) q "
                f"WHERE {PUBLIC_WHERE} ORDER BY p.id LIMIT 1"
            )
        ).one()
    mark = counted.mark()
    got = _gdal312(collection, (x - 1, y - 1, x + 1, y + 1), 12, 14)
    parcel_asked = counted.since(mark)
    for z in ("12", "14"):
        fields = set(got[z]["fields"])
        assert set(LAYER_FIELDS["parcels"]) <= fields, z
        assert not fields & set(INTERNAL_FIELDS["parcels"]), z  # the public view
        mine = [f for f in got[z]["features"] if f["properties"]["code"] == code]
        assert len(mine) == 1 and mine[0]["type"] in (POLYGON, MULTIPOLYGON), z
    print(
        f"GDAL {got['gdal']} OGCAPI: {len(got['zoom_levels'])} zoom levels; zoom 8 "
        f"{len(seen)} density points from {len(z8_tiles)} tiles, {len(asked)} requests in all; "
        f"parcel {code} at zooms 12 and 14 in {len(parcel_asked)} requests"
    )


def _gdal(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300)


def test_gdal36_reads_the_tile_matrix_set_and_the_collections(
    counted: Counted, tmp_path: Path
) -> None:
    version = _gdal("gdalinfo", "--version").stdout
    assert version.startswith("GDAL 3."), version
    # The tile matrix set as GDAL's OGCAPI driver hands it to its parser (the document's
    # text), used as a GeoPackage tiling scheme: the same tile matrices as GDAL's built-in
    # GoogleMapsCompatible (= WebMercatorQuad).
    doc = httpx.get(f"{counted.url}/ogc/tileMatrixSets/WebMercatorQuad").text
    src = tmp_path / "r.tif"
    made = _gdal(
        "gdal_create", "-of", "GTiff", "-outsize", "256", "256", "-bands", "1", "-burn", "7",
        "-a_srs", "EPSG:3857", "-a_ullr", "12623630", "5266419", "13347206", "4300621", str(src),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    matrices = {}
    for name, scheme in (("served", doc), ("builtin", "GoogleMapsCompatible")):
        out = tmp_path / f"{name}.gpkg"
        run = _gdal(
            "gdal_translate", "-q", "-of", "GPKG", "-co", f"TILING_SCHEME={scheme}",
            "-co", "RASTER_TABLE=t", str(src), str(out),
        )  # fmt: skip
        assert run.returncode == 0, (name, run.stderr)
        with sqlite3.connect(out) as db:
            matrices[name] = db.execute(
                "SELECT zoom_level, matrix_width, matrix_height, tile_width, tile_height, "
                "pixel_x_size, pixel_y_size FROM gpkg_tile_matrix ORDER BY zoom_level"
            ).fetchall()
    assert matrices["served"] and len(matrices["served"]) == len(matrices["builtin"])
    for mine, builtin in zip(matrices["served"], matrices["builtin"], strict=True):
        assert mine[:5] == builtin[:5]
        assert math.isclose(mine[5], builtin[5], rel_tol=1e-9)
        assert math.isclose(mine[6], builtin[6], rel_tol=1e-9)

    # The landing page: one subdataset per collection the public is offered.
    landing = _gdal("ogrinfo", "-ro", "-so", f"OGCAPI:{counted.url}/ogc")
    assert landing.returncode == 0, landing.stderr
    offered = [c["id"] for c in httpx.get(f"{counted.url}/ogc/collections").json()["collections"]]
    assert "parcels" in offered
    listed = re.findall(r"SUBDATASET_\d+_NAME=OGCAPI:\S+/ogc/collections/(\w+)", landing.stdout)
    assert sorted(listed) == sorted(offered), landing.stdout

    # A collection through the driver's items API: every public parcel.
    items = _gdal(
        "ogrinfo", "-ro", "-so", "-al", "-oo", "API=ITEMS",
        f"OGCAPI:{counted.url}/ogc/collections/parcels?f=json",
    )  # fmt: skip
    assert items.returncode == 0, items.stderr
    assert f"Feature Count: {matched(counted.url)}" in items.stdout

    # The vector tiles path (the driver's default when a collection has a tileset) follows the
    # tilesets, the tileset and its tiling-scheme link to the tile matrix set and parses it
    # without an error; that build then ends without a message and without asking for a tile.
    mark = counted.mark()
    tiles = _gdal("ogrinfo", "-ro", "-so", f"OGCAPI:{counted.url}/ogc/collections/parcels")
    asked = [p for _, p, _ in counted.since(mark)]
    assert asked == [
        "/ogc/collections/parcels",
        "/ogc/collections/parcels/tiles",
        "/ogc/collections/parcels/tiles/WebMercatorQuad",
        "/ogc/tileMatrixSets/WebMercatorQuad",
    ], asked
    assert "ERROR" not in tiles.stderr, tiles.stderr
