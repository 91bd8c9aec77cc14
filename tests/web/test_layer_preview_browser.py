"""A land bureau's reference-layer upload in real headless Chromium, failing on any console
error: a file of one substation sent with 替换 ticked is previewed — the city's other kinds
it would delete are named, and 确认导入 without their own tick is refused beside it, nothing
written; the bureau goes back, sends the file without 替换, confirms the preview and reads
the change report (``landmatch.reflayers.staging``); then corrects the new substation's name
in its form, moves it by dragging its marker on the form's map, deletes it (asked first) and
restores it from the deleted list (``landmatch.reflayers.history``)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.web.conftest import browser_sign_in, drop_account, make_account


@pytest.fixture
def bureau_upload(engine: Engine) -> Iterator[dict[str, str]]:
    name = make_account(engine, "bureau", city="130100")
    code = f"wbl-{uuid.uuid4().hex[:6]}"
    yield {"user": name, "code": code}
    from sqlalchemy.orm import Session

    from landmatch.auth import Principal
    from landmatch.db.locking import ANY
    from landmatch.reflayers.changes import delete_record

    with Session(engine) as s, s.begin():
        if s.execute(text("SELECT 1 FROM landmatch.facility WHERE code = :c"), {"c": code}).first():
            delete_record(
                s, Principal(name="test", role="admin"), "facility", code, "清理", if_match=ANY
            )
        s.execute(text("DELETE FROM landmatch.layer_upload WHERE actor = :a"), {"a": name})
    drop_account(engine, name)


def _count(engine: Engine) -> int:
    with engine.connect() as c:
        return int(
            c.execute(
                text("SELECT count(*) FROM landmatch.facility WHERE city_code = '130100'")
            ).scalar_one()
        )


def _place(engine: Engine, code: str) -> tuple[float, float]:
    with engine.connect() as c:
        x, y = c.execute(
            text("SELECT ST_X(geom), ST_Y(geom) FROM landmatch.facility WHERE code = :c"),
            {"c": code},
        ).one()
    return round(float(x), 7), round(float(y), 7)


def test_bureau_previews_a_replace_and_imports_without_it(
    live_url: str, watched: Any, bureau_upload: dict[str, str], engine: Engine, tmp_path: Any
) -> None:
    w = watched(viewport=(1280, 1000))
    page = w.page
    page.goto(live_url + "/workbench/layers?layer=facility")
    browser_sign_in(page, live_url, bureau_upload["user"])
    page.wait_for_url(re.compile(r"/workbench/layers\?layer=facility$"))
    before = _count(engine)
    code = bureau_upload["code"]
    feature = {
        "type": "Feature",
        "properties": {"code": code, "name": "正定新区变电站", "kind": "变电站"},
        "geometry": {"type": "Point", "coordinates": [114.58, 38.16]},
    }
    path = tmp_path / "变电站.geojson"
    path.write_bytes(
        json.dumps(
            {"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False
        ).encode()
    )
    page.set_input_files("#f-file", str(path))
    page.check("#f-replace")
    page.fill("#f-reason", "新投运变电站")
    page.click("#layer-import-submit")
    page.wait_for_selector("#preview-confirm")
    warning = page.inner_text("#preview-other-kinds")
    assert "物流枢纽" in warning, warning
    assert code in page.inner_text("#preview-insert")
    assert int(page.inner_text("#t-delete").replace(",", "")) == before
    page.click("#preview-apply")  # without ticking the other kinds
    page.wait_for_selector("#f-confirm-other-kinds-msg")
    assert "请勾选确认" in page.inner_text("#f-confirm-other-kinds-msg")
    assert _count(engine) == before
    # Not what was meant: back, and the same file without 替换.
    page.click("#preview-cancel")
    page.wait_for_url(re.compile(r"/workbench/layers\?layer=facility$"))
    page.set_input_files("#f-file", str(path))
    page.click("#layer-import-submit")
    page.wait_for_selector("#preview-confirm")
    assert page.locator("#preview-other-kinds").count() == 0
    assert page.inner_text("#t-delete") == "0" and page.inner_text("#t-insert") == "1"
    page.click("#preview-apply")
    page.wait_for_selector("#change-report")
    assert code in page.inner_text("#r-inserted")
    assert _count(engine) == before + 1
    # The new substation's history, a correction of its name in the form, its delete (asked
    # first) and its restore from the deleted list.
    page.goto(f"{live_url}/workbench/layers/facility/{code}/history")
    page.click("#edit-link")
    page.wait_for_url(re.compile(rf"/workbench/layers/facility/{code}/edit$"))
    page.fill("#f-name", "正定新区110千伏变电站")
    page.fill("#f-reason", "更正名称")
    page.click("#feature-save")
    page.wait_for_selector("#change-report")
    assert code in page.inner_text("#r-updated")
    assert _place(engine, code) == (114.58, 38.16)  # the place as shown is not rewritten
    # The substation moved on the map: its marker dragged east, the fields follow, saved.
    page.goto(f"{live_url}/workbench/layers/facility/{code}/edit")
    assert page.input_value("#f-lon") == "114.5800000"
    box = page.locator(".leaflet-marker-icon").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y, steps=8)
    page.mouse.move(x + 80, y, steps=8)
    page.mouse.up()
    moved = float(page.input_value("#f-lon"))
    assert moved > 114.58 and page.input_value("#f-lat").startswith("38.1")
    page.fill("#f-reason", "按竣工图校正位置")
    page.click("#feature-save")
    page.wait_for_selector("#change-report")
    assert _place(engine, code)[0] == round(moved, 7)
    page.goto(f"{live_url}/workbench/layers/facility/{code}/edit")
    asked: list[str] = []

    def accept(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.fill("#f-delete-reason", "位置有误")
    page.click("#feature-delete")
    page.wait_for_selector("#change-report")
    assert asked and code in asked[0]
    assert _count(engine) == before
    page.goto(live_url + "/workbench/layers/deleted?layer=facility")
    page.click(f"#deleted a:text('{code}')")
    page.wait_for_selector("#deleted-note")
    assert "更正名称" in page.inner_text("#timeline")
    restore = page.locator("form.lm-restore").first
    restore.locator("input[name=reason]").fill("位置已核实，恢复")
    restore.locator("button[type=submit]").click()
    page.wait_for_selector("#change-report")
    assert code in page.inner_text("#r-inserted")
    assert _count(engine) == before + 1
    assert w.errors == []


def test_bureau_adds_one_facility_by_clicking_the_map(
    live_url: str, watched: Any, bureau_upload: dict[str, str], engine: Engine
) -> None:
    """新增设施: a click on the map places the marker and fills 经度/纬度; typed coordinates
    move it; saved, the change report; the new facility is in its city."""
    w = watched(viewport=(1280, 1000))
    page = w.page
    page.goto(live_url + "/workbench/layers?layer=facility")
    browser_sign_in(page, live_url, bureau_upload["user"])
    page.wait_for_url(re.compile(r"/workbench/layers\?layer=facility$"))
    page.click("#new-feature-link")
    page.wait_for_url(re.compile(r"/workbench/layers/facility/new$"))
    assert page.locator(".leaflet-marker-icon").count() == 0
    # The map opens over the bureau's city (石家庄), not Hebei's centre.
    lng, lat, zoom = page.evaluate(
        "() => { const m = LMW.parcelMap.map, c = m.getCenter(); return [c.lng, c.lat, m.getZoom()]; }"
    )
    assert 113.5 < lng < 115.5 and 37.4 < lat < 38.8 and 7 <= zoom <= 11, (lng, lat, zoom)
    page.locator(".lm-map-box .leaflet-container").click(position={"x": 200, "y": 200})
    page.wait_for_selector(".leaflet-marker-icon")
    assert page.input_value("#f-lon") and page.input_value("#f-lat")
    code = bureau_upload["code"]
    page.fill("#f-code", code)
    page.fill("#f-name", "正定新区变电站")
    page.select_option("#f-kind", "substation")
    page.fill("#f-lon", "114.58")
    page.fill("#f-lat", "38.16")
    page.dispatch_event("#f-lat", "change")
    marker = page.evaluate(
        "() => { const p = LMW.pointMarker.getLatLng(); return [p.lng, p.lat]; }"
    )
    assert marker == [114.58, 38.16]
    page.click("#feature-save")
    page.wait_for_selector("#change-report")
    assert code in page.inner_text("#r-inserted")
    assert _place(engine, code) == (114.58, 38.16)
    with engine.connect() as c:
        city = c.execute(
            text("SELECT city_code FROM landmatch.facility WHERE code = :c"), {"c": code}
        ).scalar_one()
    assert city == "130100" and w.errors == []


def _constraint_form(
    live_url: str, watched: Any, user: str, engine: Engine, viewport: tuple[int, int]
) -> tuple[Any, list[float]]:
    """A 石家庄 constraint area's edit form, opened by the bureau ``user`` at ``viewport``:
    the watched page and the area's box [west, south, east, north]."""
    with engine.connect() as c:
        code, *box = c.execute(
            text(
                "SELECT code, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
                "FROM landmatch.constraint_area WHERE city_code = '130100' "
                "AND GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON') ORDER BY code LIMIT 1"
            )
        ).one()
    w = watched(viewport=viewport)
    url = f"{live_url}/workbench/layers/constraint_area/{code}/edit"
    w.page.goto(url)
    browser_sign_in(w.page, live_url, user)
    w.page.wait_for_url(url)
    return w, [float(v) for v in box]


def test_a_constraint_areas_edit_form_draws_its_boundary(
    live_url: str, watched: Any, bureau_upload: dict[str, str], engine: Engine
) -> None:
    """A constraint area's form: its boundary drawn on the map to edit, the live area in 亩,
    its coordinates as text; no console error."""
    w, _ = _constraint_form(live_url, watched, bureau_upload["user"], engine, (1280, 1000))
    page = w.page
    page.wait_for_selector("#f-coords")
    # GeoMan's vertex handles: the boundary is on the map, ready to drag.
    page.wait_for_selector(".lm-map-box .marker-icon")
    assert page.locator(".lm-map-box .marker-icon").count() >= 3
    live = page.inner_text("#area-live")
    assert live != "—" and float(live.replace(",", "")) > 0
    # 公顷 beside the 亩 (15 亩 = 1 公顷).
    ha = page.inner_text("#area-live-ha")
    m = re.fullmatch(r"（([\d,.]+) 公顷）", ha)
    assert m, ha
    assert abs(float(m.group(1).replace(",", "")) - float(live.replace(",", "")) / 15) < 0.01
    assert page.input_value("#f-coords").count(",") >= 3 and w.errors == []


def test_a_constraint_areas_edit_form_shows_its_whole_boundary_on_a_phone(
    live_url: str, watched: Any, bureau_upload: dict[str, str], engine: Engine
) -> None:
    """At 390 px the edit form's map opens over the whole boundary (not zoomed in on a corner
    of it at the map's last zoom, with no boundary line in sight)."""
    w, box = _constraint_form(live_url, watched, bureau_upload["user"], engine, (390, 844))
    page = w.page
    page.wait_for_selector(".lm-map-box .marker-icon")
    shown = page.evaluate(
        "([w, s, e, n]) => LMW.parcelMap.map.getBounds().contains(L.latLngBounds([s, w], [n, e]))",
        box,
    )
    assert shown, page.evaluate("() => LMW.parcelMap.map.getBounds().toBBoxString()")
    # Zooming in goes on to parcel scale (the water layer's z14 is not the map's limit).
    assert page.evaluate("() => LMW.parcelMap.map.getMaxZoom()") == 19
    assert w.errors == []
