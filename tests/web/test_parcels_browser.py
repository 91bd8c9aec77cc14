"""The inventory journey in real headless Chromium against the live app and PostGIS, failing on
any console error (a CSP violation is one): the 石家庄 bureau signs in, filters the list, opens a
parcel, edits fields (an error shown beside the field, then fixed), drags a boundary vertex
with GeoMan and saves after the server's preview, sees the history, restores a version,
exports the filtered list; a conflicting edit from a second browser context shows the conflict
screen and re-applying works. Screenshots of each page go to artifacts/ (README's come from
there)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text

from tests.web.conftest import browser_sign_in, drop_account, make_account, restore_parcel


@pytest.fixture
def journey_parcel(engine: Engine) -> Iterator[str]:
    """A 石家庄 parcel outside any zone and away from the other tests' picks; its state is put
    back afterwards (a restore: the history keeps the journey's versions)."""
    with engine.connect() as c:
        code, pid, version = c.execute(
            text(
                "SELECT code, id, version FROM landmatch.parcel WHERE city_code = '130100' "
                "AND deleted_at IS NULL AND status = 'unsupplied' AND zone_id IS NULL "
                "AND area_m2 BETWEEN 20000 AND 200000 ORDER BY code DESC LIMIT 1"
            )
        ).one()
    yield code
    with engine.begin() as c:
        restore_parcel(c, pid, version)


@pytest.fixture
def bureau_user(engine: Engine) -> Iterator[str]:
    name = make_account(engine, "bureau", city="130100")
    yield name
    drop_account(engine, name)


def _drag_first_vertex(page: Any) -> None:
    """Drag one of GeoMan's vertex markers of the edited polygon by 25 × 18 pixels."""
    marker = page.locator(".leaflet-marker-pane .marker-icon:not(.marker-icon-middle)").first
    marker.wait_for(timeout=10000)
    box = marker.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y + 8, steps=4)
    page.mouse.move(x + 25, y + 18, steps=6)
    page.mouse.up()


def test_bureau_inventory_journey(
    live_url: str,
    watched: Any,
    bureau_user: str,
    journey_parcel: str,
    engine: Engine,
    tmp_path: Any,
) -> None:
    code = journey_parcel
    w = watched(viewport=(1280, 900))
    page = w.page
    page.on("dialog", lambda d: d.accept())
    page.goto(live_url + "/workbench/parcels")
    browser_sign_in(page, live_url, bureau_user)
    page.wait_for_url(re.compile(r"/workbench/parcels$"))
    # Filter: unsupplied parcels, code search.
    page.select_option("#f-status", ["unsupplied"])
    page.fill("#f-q", code[:-2])
    page.click("#parcel-filters button[type=submit]")
    page.wait_for_url(re.compile(r"status=unsupplied"))
    assert "共 " in page.inner_text("nav[aria-label=分页]")
    w.shot("workbench_parcels_list")
    page.click(f"#parcels a[href='/workbench/parcels/{code}']")
    page.wait_for_url(re.compile(rf"/workbench/parcels/{code}$"))
    page.wait_for_load_state("networkidle")
    assert "基本信息" in page.inner_text("main") and "监管" in page.inner_text("main")
    assert page.evaluate("!!(window.LMW && LMW.parcelMap && LMW.parcelMap.layers.parcel)")
    w.shot("workbench_parcel")

    # Edit: a wrong value is refused beside its field, then fixed and saved.
    page.click("#parcel-tabs a:has-text('编辑属性')")
    page.wait_for_url(re.compile(r"/edit$"))
    page.fill("#f-height_max_m", "很高")
    page.fill("#f-far_min", "1.2")
    page.fill("#f-reason", "核实规划条件")
    page.click("#edit-form button[type=submit]")
    message = page.locator("#f-height_max_m-msg")
    assert message.is_visible() and message.inner_text()
    assert page.locator("#f-height_max_m").get_attribute("aria-invalid") == "true"
    w.shot("workbench_parcel_edit_error")
    page.fill("#f-height_max_m", "36")
    page.click("#edit-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/workbench/parcels/{code}$"))
    assert "已保存" in page.inner_text(".alert-success")
    assert "36" in page.inner_text("[data-field=height_max_m]")

    # Boundary: drag a vertex on the map (snapping on), preview, save.
    page.click("#parcel-tabs a:has-text('编辑边界')")
    page.wait_for_url(re.compile(r"/boundary$"))
    page.wait_for_load_state("networkidle")
    before_text = page.input_value("#f-coords")
    _drag_first_vertex(page)
    page.wait_for_function("() => document.getElementById('area-live').textContent !== '—'")
    assert page.input_value("#f-coords") != before_text
    page.click("#preview-button")
    page.wait_for_selector("#preview-list")
    assert "亩" in page.inner_text("#area-server")
    w.shot("workbench_parcel_boundary")
    page.fill("#boundary-form #f-reason", "按测绘成果调整界址点")
    page.click("#save-boundary")
    page.wait_for_url(re.compile(rf"/workbench/parcels/{code}$"))
    assert "边界已保存" in page.inner_text(".alert-success")

    # History: the boundary change on the map, then restore the version before the edits.
    page.click("#parcel-tabs a:has-text('历史')")
    page.wait_for_url(re.compile(r"/history$"))
    page.wait_for_load_state("networkidle")
    timeline = page.inner_text("#timeline")
    assert "按测绘成果调整界址点" in timeline and "限高" in timeline and "边界" in timeline
    w.shot("workbench_parcel_history")
    versions = page.locator("#timeline > li")
    oldest = versions.nth(versions.count() - 1)
    oldest.locator("input[name=reason]").fill("撤销本次调整")
    oldest.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/workbench/parcels/{code}$"))
    assert "已恢复到版本" in page.inner_text(".alert-success")

    # Export exactly the filtered list.
    page.goto(f"{live_url}/workbench/parcels?status=unsupplied&q={code}")
    page.select_option("#f-format", "xlsx")
    with page.expect_download() as dl:
        page.click("#export-button")
    path = tmp_path / "export.xlsx"
    dl.value.save_as(path)
    ws = load_workbook(path)["熟地清单"]
    col = [c.value for c in ws[1]].index("地块编号")
    assert [r[col] for r in ws.iter_rows(min_row=2, values_only=True)] == [code]
    # Chromium reports the navigation that became the download as an aborted request: that
    # one line, and nothing else.
    downloads = [e for e in w.errors if e.startswith("requestfailed:") and "/export?" in e]
    assert len(downloads) <= 1
    w.errors = [e for e in w.errors if e not in downloads]
    assert w.errors == [], w.errors

    # A conflicting edit from a second browser: the conflict screen, then re-apply.
    other = watched(viewport=(1280, 900))
    other.page.goto(f"{live_url}/workbench/parcels/{code}/edit")
    browser_sign_in(other.page, live_url, bureau_user)
    other.page.wait_for_url(re.compile(r"/edit$"))
    page.goto(f"{live_url}/workbench/parcels/{code}/edit")
    page.fill("#f-address", "第一个浏览器改的坐落")
    page.click("#edit-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/workbench/parcels/{code}$"))
    other.page.fill("#f-holder", "第二个浏览器的用地单位")
    other.page.click("#edit-form button[type=submit]")
    other.page.wait_for_selector("#conflict")
    table = other.page.inner_text("#conflict-table")
    assert "第一个浏览器改的坐落" in table and "第二个浏览器的用地单位" in table
    other.shot("workbench_parcel_conflict")
    other.page.click("#reapply")
    other.page.wait_for_url(re.compile(rf"/workbench/parcels/{code}$"))
    assert "已保存" in other.page.inner_text(".alert-success")
    with engine.connect() as c:
        row = c.execute(
            text("SELECT address, holder FROM landmatch.parcel WHERE code = :c"), {"c": code}
        ).one()
    assert tuple(row) == ("第一个浏览器改的坐落", "第二个浏览器的用地单位")
    page.goto(live_url + "/workbench")
    page.wait_for_selector("#qa-counts")
    w.shot("workbench_inventory_home")
    assert w.errors == [] and other.errors == [], (w.errors, other.errors)
