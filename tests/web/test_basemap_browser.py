"""The offline basemap (issue #18 item 1) in a real Chromium: with basemap=none the public map
draws the sea, the Bohai coast and the rivers under the parcels, says where they come from,
and logs no error; the workbench maps draw it too."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine

from landmatch.maps.styles import COAST_LINE, WATER_FILL, WATER_LINE
from tests.web.conftest import browser_sign_in, drop_account, make_account

# Pixels of the water layer's own canvases, by colour: the sea and lakes (fill, opaque) and
# the lines (coast, rivers) drawn in their colours, antialiased edges aside.
WATER_PIXELS_JS = """(colours) => {
  const layer = LM.layers.water;
  if (!layer) return null;
  const want = colours.map(h => [1, 3, 5].map(i => parseInt(h.slice(i, i + 2), 16)));
  const counts = want.map(() => 0);
  layer.getContainer().querySelectorAll('canvas').forEach(c => {
    if (!c.width || !c.height) return;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] < 200) continue;
      want.forEach((w, k) => {
        if (Math.abs(d[i] - w[0]) + Math.abs(d[i + 1] - w[1]) + Math.abs(d[i + 2] - w[2]) < 12) counts[k]++;
      });
    }
  });
  return counts;
}"""
# Wait (as a function, which the page's CSP lets Playwright poll) for the sea to be drawn.
SEA_DRAWN_JS = (
    "() => { const l = window.LM && LM.layers && LM.layers.water; if (!l) return false;"
    " return Array.from(l.getContainer().querySelectorAll('canvas')).some(c => c.width > 0"
    " && c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 === 3"
    " && v > 0)); }"
)


def test_water_is_drawn_near_tangshan_at_zoom_10(live_url: str, watched: Any) -> None:
    w = watched((1280, 800))
    page = w.page
    # Between 唐山 and its coast (曹妃甸): the Bohai, the coastline and rivers in view.
    page.goto(f"{live_url}/map?lat=39.35&lon=118.45&z=10")
    page.wait_for_function(SEA_DRAWN_JS, timeout=20000)
    page.wait_for_load_state("networkidle")
    w.shot("basemap_tangshan_z10")
    fill, line, coast = page.evaluate(WATER_PIXELS_JS, [WATER_FILL, WATER_LINE, COAST_LINE])
    assert fill > 10000, (fill, line, coast)  # the sea, a good part of the view
    assert coast > 100 and line > 50, (fill, line, coast)  # the coastline and rivers
    tiles = [u for u in w.requests if "/tiles/water/10/" in u]
    assert tiles, "no water tiles were asked for at zoom 10"
    attribution = page.locator(".leaflet-control-attribution").inner_text()
    assert "GSHHG" in attribution and "LGPL" in attribution
    assert w.errors == []
    w.shot("basemap_tangshan_z10")


# Pixels of the sea's fill on every canvas inside ``sel`` (the workbench's folium map keeps its
# layers in its own variables; the water is its only canvas layer).
FILL_PIXELS_JS = """([sel, hex]) => {
  const w = [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  document.querySelectorAll(sel + ' canvas').forEach(c => {
    if (!c.width || !c.height) return;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4)
      if (d[i + 3] > 200 && Math.abs(d[i] - w[0]) + Math.abs(d[i + 1] - w[1]) + Math.abs(d[i + 2] - w[2]) < 12) n++;
  });
  return n;
}"""


def test_the_workbench_area_picker_draws_the_water(
    live_url: str, watched: Any, engine: Engine
) -> None:
    name = make_account(engine, "promoter", team="t-basemap")
    try:
        w = watched((1400, 900))
        page = w.page
        page.goto(live_url + "/workbench/projects/new")
        browser_sign_in(page, live_url, name)
        page.wait_for_url(re.compile(r"/workbench/projects/new$"))
        # (The workbench's CSP refuses wait_for_function's eval: locators and load states.)
        page.locator("#area-box .leaflet-control-attribution", has_text="GSHHG").wait_for()
        page.locator("#area-box").scroll_into_view_if_needed()
        page.wait_for_load_state("networkidle")
        assert any("/tiles/water/" in u for u in w.requests)
        assert page.evaluate(FILL_PIXELS_JS, ["#area-box", WATER_FILL]) > 1000  # the Bohai
        assert w.errors == []
    finally:
        drop_account(engine, name)
