"""The public map on a phone (issue #18 item 5), at 390×844 and 360×740 in a real Chromium:
nothing (scale bar, attribution, zoom or layer control) covers the form or its buttons, the
parcel card opens as a bottom sheet over the panel, and the match form stays usable."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import TILES_DRAWN_JS

PHONES = [(390, 844), (360, 740)]

# For each visible control of the panel: is the element found at its centre the control itself
# (or inside it)? A Leaflet control drawn over it would be found instead.
UNCOVERED_JS = """(sel) => Array.from(document.querySelectorAll(sel))
  .filter(e => e.offsetParent !== null)
  .map(e => {
    e.scrollIntoView({block: 'center'});
    const r = e.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return {id: e.id || e.name || e.textContent.trim().slice(0, 12),
            ok: !!hit && (hit === e || e.contains(hit)),
            by: hit ? (hit.className || hit.tagName) : null};
  })"""
# Where a Leaflet control (scale bar, attribution, zoom, layers) overlaps the panel, which of
# them is on top there? Sampled over each overlap; the panel must win everywhere.
MAP_CONTROLS_ON_TOP_JS = """() => {
  const panel = document.getElementById('lm-panel').getBoundingClientRect();
  const found = [];
  let overlaps = 0;
  document.querySelectorAll('.leaflet-control').forEach(c => {
    const r = c.getBoundingClientRect();
    const x0 = Math.max(r.left, panel.left), x1 = Math.min(r.right, panel.right);
    const y0 = Math.max(r.top, panel.top), y1 = Math.min(r.bottom, panel.bottom);
    if (x1 - x0 < 1 || y1 - y0 < 1) return;
    overlaps++;
    for (let i = 0; i < 6; i++) for (let j = 0; j < 3; j++) {
      const hit = document.elementFromPoint(x0 + (x1 - x0) * (i + .5) / 6, y0 + (y1 - y0) * (j + .5) / 3);
      if (hit && c.contains(hit)) { found.push(c.className); return; }
    }
  });
  return {overlaps, found};
}"""
CONTROLS = (
    "#lm-panel input:not([type=hidden]), #lm-panel select, #lm-panel button, #lm-panel summary"
)


def _covered(page: Any) -> list[dict[str, Any]]:
    found = page.evaluate(UNCOVERED_JS, CONTROLS)
    assert len(found) >= 8, found  # the search, filters, share and match form were looked at
    return [f for f in found if not f["ok"]]


@pytest.mark.parametrize("viewport", PHONES, ids=lambda v: f"{v[0]}x{v[1]}")
def test_nothing_covers_the_form_or_its_buttons(
    live_url: str, watched: Any, viewport: tuple[int, int]
) -> None:
    w = watched(viewport=viewport)
    w.page.goto(live_url + "/map")
    w.page.wait_for_function(TILES_DRAWN_JS, timeout=15000)
    w.page.click("#lm-match-box summary")  # the match form open as well
    # Leaflet's bottom controls sit at the foot of the map, right where the panel begins.
    assert w.page.locator(".leaflet-control-scale").count() == 1
    assert w.page.locator(".leaflet-control-attribution").count() == 1
    assert _covered(w.page) == []
    w.page.click("#lm-toggle")  # the panel raised over the map's foot and its controls
    assert _covered(w.page) == []
    on_top = w.page.evaluate(MAP_CONTROLS_ON_TOP_JS)
    assert on_top["overlaps"] >= 2 and on_top["found"] == [], on_top
    button = w.page.locator("#lm-match button[type=submit]")
    button.scroll_into_view_if_needed()
    w.shot(f"map_phone_form_{viewport[0]}")
    button.click(trial=True)  # Playwright's own check that nothing intercepts the click
    assert w.errors == []


@pytest.mark.parametrize("viewport", PHONES, ids=lambda v: f"{v[0]}x{v[1]}")
def test_parcel_card_opens_as_a_bottom_sheet_over_the_filters(
    live_url: str, watched: Any, viewport: tuple[int, int], public_parcel: dict[str, Any]
) -> None:
    code = public_parcel["code"]
    w = watched(viewport=viewport)
    w.page.goto(f"{live_url}/map?parcel={code}")
    card = w.page.locator("#lm-card")
    card.locator("h2").wait_for(timeout=10000)
    w.page.wait_for_function(TILES_DRAWN_JS, timeout=15000)
    assert code in card.inner_text()
    width, height = viewport
    box = card.bounding_box()
    # Docked to the bottom edge, the full width, leaving the map visible above it.
    assert box["x"] == 0 and box["width"] == width
    assert abs(box["y"] + box["height"] - height) <= 1
    assert box["y"] >= height * 0.35
    # Above the panel: at its centre, the sheet is what a finger touches, not the filters.
    on_top = w.page.evaluate(
        "([x, y]) => document.getElementById('lm-card').contains(document.elementFromPoint(x, y))",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert on_top
    assert w.page.locator("#lm-filters").count() == 1  # the filters stay in the panel beneath
    w.shot(f"map_phone_sheet_{width}")

    # Closing the sheet gives the panel back, usable: a match runs from its form.
    w.page.click("#lm-card .lm-sheet-close")
    assert not card.is_visible()
    w.page.click("#lm-match-box summary")
    assert _covered(w.page) == []
    w.page.fill("#lm-m-amin", "10")
    w.page.fill("#lm-m-amax", "400")
    w.page.click("#lm-match button[type=submit]")
    w.page.locator("#lm-match-result ol").wait_for(timeout=30000)
    assert "候选地块" in w.page.inner_text("#lm-match-result")
    assert w.errors == []


def test_the_card_stays_in_the_panel_on_a_desktop(
    live_url: str, watched: Any, public_parcel: dict[str, Any]
) -> None:
    w = watched(viewport=(1440, 900))
    w.page.goto(f"{live_url}/map?parcel={public_parcel['code']}")
    w.page.locator("#lm-card h2").wait_for(timeout=10000)
    panel = w.page.locator("#lm-panel").bounding_box()
    card = w.page.locator("#lm-card").bounding_box()
    assert card["x"] >= panel["x"] and card["x"] + card["width"] <= panel["x"] + panel["width"]
    assert not w.page.locator("#lm-card .lm-sheet-close").is_visible()
    assert w.errors == []
