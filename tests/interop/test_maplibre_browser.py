"""A MapLibre GL page (maplibre-gl from npm) on a second origin draws landmatch's vector tiles
in Chromium: the tiles answer any origin without credentials (CORS, issue 17 item 3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tests.interop.conftest import Counted, serve

DIST = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "maplibre-gl" / "dist"

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>第三方地图</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/maplibre/maplibre-gl.css">
<script src="/maplibre/maplibre-gl.js"></script>
<style>html, body, #map { margin: 0; width: 100%; height: 100%; }</style></head>
<body><div id="map"></div><script>
const API = __API__;
window.mapErrors = [];
const map = new maplibregl.Map({
  container: "map", center: __CENTER__, zoom: __ZOOM__, fadeDuration: 0,
  canvasContextAttributes: {preserveDrawingBuffer: true},
  style: {version: 8,
    sources: {
      parcels: {type: "vector", maxzoom: 14,
        tiles: [API + "/ogc/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}"]},
      zones: {type: "vector", maxzoom: 14, tiles: [API + "/tiles/zones/{z}/{x}/{y}.pbf"]}},
    layers: [
      {id: "bg", type: "background", paint: {"background-color": "#ffffff"}},
      {id: "parcels", type: "fill", source: "parcels", "source-layer": "parcels",
       paint: {"fill-color": "#1f77b4"}},
      {id: "cells", type: "circle", source: "parcels", "source-layer": "parcel_cells",
       paint: {"circle-radius": 5, "circle-color": "#2ca02c"}},
      {id: "zones", type: "line", source: "zones", "source-layer": "zones",
       paint: {"line-color": "#d62728", "line-width": 2}}]}});
map.on("error", (e) => window.mapErrors.push(String(e.error && e.error.message || e)));
map.once("idle", () => {
  const c = map.getCanvas();
  const copy = document.createElement("canvas");
  copy.width = c.width; copy.height = c.height;
  const ctx = copy.getContext("2d");
  ctx.drawImage(c, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let drawn = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) drawn++;
  const count = (id) => map.queryRenderedFeatures({layers: [id]}).length;
  window.result = {drawn, parcels: count("parcels"), cells: count("cells"), zones: count("zones")};
});
</script></body></html>"""


@pytest.fixture(scope="module")
def other_origin(counted: Counted) -> Iterator[str]:
    """A second origin (another port) serving the map page and maplibre-gl from npm."""
    assert (DIST / "maplibre-gl.js").is_file(), "maplibre-gl missing: run ./scripts/test (npm ci)"

    def page(request: Any) -> HTMLResponse:
        q = request.query_params
        html = (
            PAGE.replace("__API__", json.dumps(counted.url))
            .replace("__CENTER__", json.dumps([float(q["lon"]), float(q["lat"])]))
            .replace("__ZOOM__", str(float(q["zoom"])))
        )
        return HTMLResponse(html)

    app = Starlette(
        routes=[Route("/", page), Mount("/maplibre", StaticFiles(directory=DIST), name="ml")]
    )
    url, server, thread = serve(app)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize(
    ("where", "lon", "lat", "zoom", "layer"),
    [
        ("province", 116.6, 39.2, 6.5, "cells"),  # density points below z12
        ("city", 114.5, 38.04, 9, "cells"),
        ("parcels", None, None, 14.5, "parcels"),  # polygons from z12
    ],
)
def test_maplibre_on_another_origin_draws_the_tiles(
    chromium: Any,
    counted: Counted,
    other_origin: str,
    engine: Engine,
    where: str,
    lon: float | None,
    lat: float | None,
    zoom: float,
    layer: str,
) -> None:
    from sqlalchemy import text

    from landmatch.db.parcels import PUBLIC_WHERE

    if lon is None:
        with engine.connect() as c:
            lon, lat = c.execute(
                text(
                    "SELECT ST_X(ST_PointOnSurface(p.geom)), ST_Y(ST_PointOnSurface(p.geom)) "
                    f"FROM landmatch.parcel p WHERE {PUBLIC_WHERE} ORDER BY p.area_m2 DESC LIMIT 1"
                )
            ).one()
    assert other_origin.split(":")[-1] != counted.url.split(":")[-1]  # two origins
    ctx = chromium.new_context(viewport={"width": 800, "height": 600})
    page = ctx.new_page()
    errors: list[str] = []
    blocked: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: blocked.append(r.url))
    page.on(
        "response", lambda r: blocked.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    mark = counted.mark()
    try:
        page.goto(f"{other_origin}/?lon={lon}&lat={lat}&zoom={zoom}")
        page.wait_for_function("window.result !== undefined", timeout=60000)
        result = page.evaluate("window.result")
        map_errors = page.evaluate("window.mapErrors")
        page.screenshot(path=str(Path("artifacts") / f"maplibre_{where}.png"))
    finally:
        ctx.close()
    tiles = [r for r in counted.since(mark) if "/tiles/" in r[1]]
    assert not errors and not blocked and not map_errors, (errors, blocked, map_errors)
    assert tiles, "the page fetched no tile from the API"
    assert result[layer] > 0, result
    assert result["drawn"] > 500, f"nothing drawn: {result}"
