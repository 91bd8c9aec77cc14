"""Drawing the requirement's area on the map (issue #15 §1) in Chromium: GeoMan's rectangle
tool on the requirement form's map fills the form's area field, "save and match" ranks only
parcels that intersect it, and the saved area is drawn again when the form is reopened. Zero
console errors."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import Engine, text

from landmatch.match import runs
from tests.web.conftest import browser_sign_in, drop_account, make_account

TEAM = "t-area-browser"


@pytest.fixture
def promoter(engine: Engine) -> Any:
    name = make_account(engine, "promoter", team=TEAM)
    yield name
    with engine.begin() as c:
        c.execute(text("DELETE FROM landmatch.project WHERE owner_team = :t"), {"t": TEAM})
    drop_account(engine, name)


def _latlng(page: Any, map_name: str, x: float, y: float) -> dict[str, float]:
    return json.loads(
        page.evaluate(f"JSON.stringify(window['{map_name}'].containerPointToLatLng([{x}, {y}]))")
    )


def test_draw_an_area_then_match_within_it(
    live_url: str, watched: Any, promoter: str, engine: Engine, public_parcel: dict[str, Any]
) -> None:
    w = watched((1400, 900))
    page = w.page
    page.goto(live_url + "/workbench/projects/new")
    browser_sign_in(page, live_url, promoter)
    page.wait_for_url(re.compile(r"/workbench/projects/new$"))
    page.fill("#f-name", "地图划定范围项目")
    page.fill("#f-area_mu_min", "1")
    page.fill("#f-area_mu_max", "5000")
    cfg = json.loads(page.inner_text("#lm-area-config"))
    # Around a public ready parcel, at a zoom where a drag of 300 px spans a few kilometres.
    page.evaluate(
        f"window['{cfg['map']}'].setView([{public_parcel['lat']}, {public_parcel['lon']}], 13,"
        " {animate: false})"
    )
    page.locator("#area-box").scroll_into_view_if_needed()
    box = page.locator("#area-box .folium-map").bounding_box()
    cx, cy = box["width"] / 2, box["height"] / 2
    page.click("#area-box .leaflet-pm-icon-rectangle")
    page.mouse.click(box["x"] + cx - 150, box["y"] + cy - 120)
    page.mouse.click(box["x"] + cx + 150, box["y"] + cy + 120)
    # (The workbench's CSP refuses wait_for_function's eval: the summary line is awaited.)
    page.locator("#area-summary", has_text="已划定").wait_for()
    assert "已划定 1 块范围" in page.inner_text("#area-summary")
    drawn = json.loads(page.input_value("#f-area_polygon"))
    assert drawn["type"] == "Polygon" and len(drawn["coordinates"][0]) == 5
    w.shot("workbench_project_area")
    page.click("#save-match")
    page.wait_for_url(re.compile(r"/workbench/matches/[0-9a-f-]+$"))
    page.wait_for_load_state("networkidle")
    mid = page.url.rsplit("/", 1)[1]
    with engine.connect() as c:
        req, body, compressed = c.execute(
            text(
                "SELECT p.requirement, r.body, r.compressed FROM landmatch.project p "
                "JOIN landmatch.match_run r ON r.project_id = p.id WHERE r.id = :m"
            ),
            {"m": mid},
        ).one()
        codes = [
            f["properties"]["code"]
            for f in json.loads(runs.unpack(bytes(body), compressed))["features"]
            if f["properties"].get("code")
        ]
        assert req["location"]["polygon"]["type"] == "Polygon"
        assert codes
        inside = c.execute(
            text(
                "SELECT bool_and(ST_Intersects(geom, ST_SetSRID(ST_GeomFromGeoJSON(:g), 4490))) "
                "FROM landmatch.parcel WHERE code = ANY(:c)"
            ),
            {"g": json.dumps(req["location"]["polygon"]), "c": codes},
        ).scalar()
        assert inside
        pid = c.execute(
            text("SELECT id FROM landmatch.project WHERE name = '地图划定范围项目'")
        ).scalar_one()
    # Reopened, the form draws the saved area again.
    page.goto(f"{live_url}/workbench/projects/{pid}/requirement")
    page.locator("#area-summary", has_text="已划定").wait_for()
    assert "已划定 1 块范围" in page.inner_text("#area-summary")
    assert w.errors == []
