"""The map pages in a real headless Chromium against real PostGIS: no console errors, tiles
drawn on canvas, a click opens the parcel card, nothing internal on public pages."""

from __future__ import annotations

import re
from typing import Any

import httpx

from landmatch.db.parcels import INTERNAL_COLUMNS
from tests.web.conftest import TILES_DRAWN_JS, browser_sign_in, click_lonlat, go_to


def test_public_map_draws_tiles_and_click_opens_card(
    live_url: str, watched: Any, public_parcel: dict[str, Any]
) -> None:
    w = watched()
    w.page.goto(live_url + "/map")
    go_to(w.page, public_parcel["lat"], public_parcel["lon"])
    assert w.page.evaluate(TILES_DRAWN_JS)
    click_lonlat(w.page, public_parcel["lat"], public_parcel["lon"])
    card = w.page.locator("#lm-card")
    card.locator("h2").wait_for(timeout=10000)
    text = card.inner_text()
    assert public_parcel["code"] in text
    assert "亩" in text and "公顷" in text
    assert "适用政策" in text and "联系" in text
    assert "内部信息" not in text and card.locator(".lm-internal").count() == 0
    assert (
        card.locator("a", has_text="地块推介书").get_attribute("href")
        == f"/parcels/{public_parcel['code']}/brochure"
    )
    w.shot("public_map_card")
    assert w.errors == []


def test_public_filters_rerequest_tiles_with_params(
    live_url: str, watched: Any, public_parcel: dict[str, Any]
) -> None:
    w = watched()
    w.page.goto(live_url + "/map")
    go_to(w.page, public_parcel["lat"], public_parcel["lon"], 14)
    w.page.fill("#lm-amin", "5")
    w.page.fill("#lm-amax", "500")
    w.page.select_option("#lm-inzone", "true")
    w.page.click("#lm-filters button[type=submit]")
    w.page.wait_for_load_state("networkidle")
    filtered = [u for u in w.requests if "/tiles/parcels/" in u and "area_min=5" in u]
    assert filtered and all("area_max=500" in u and "in_zone=true" in u for u in filtered)
    w.page.fill("#lm-amin", "600")
    w.page.click("#lm-filters button[type=submit]")
    assert "不能大于" in w.page.inner_text("#lm-filter-msg")
    assert w.errors == []


def test_public_search_finds_parcel_by_code(
    live_url: str, watched: Any, public_parcel: dict[str, Any]
) -> None:
    w = watched()
    w.page.goto(live_url + "/map")
    w.page.fill("#lm-q", public_parcel["code"])
    w.page.click("#lm-search button[type=submit]")
    w.page.locator("#lm-hits li").first.click()
    w.page.locator("#lm-card h2").wait_for(timeout=10000)
    assert public_parcel["code"] in w.page.inner_text("#lm-card")
    assert w.errors == []


def test_public_map_at_phone_width(live_url: str, watched: Any) -> None:
    w = watched(viewport=(390, 844))
    w.page.goto(live_url + "/map")
    w.page.wait_for_function(TILES_DRAWN_JS, timeout=15000)
    map_box = w.page.locator(".folium-map").bounding_box()
    panel_box = w.page.locator("#lm-panel").bounding_box()
    assert map_box["width"] == 390 and map_box["height"] > 300
    assert panel_box["y"] >= map_box["y"] + map_box["height"] - 1  # panel below the map
    w.shot("public_map_phone")
    assert w.errors == []


def test_public_pages_hold_no_internal_field(live_url: str, public_parcel: dict[str, Any]) -> None:
    code = public_parcel["code"]
    card = httpx.get(f"{live_url}/api/parcels/{code}/card").json()
    assert "internal" not in card
    leaked = set(card["parcel"]) & set(INTERNAL_COLUMNS)
    assert leaked == set()
    for path in ("/map", f"/parcels/{code}/brochure"):
        html = httpx.get(live_url + path).text
        for col in ("reserve_price_wan_per_mu", "contact_phone", "holder", "notes", "checklist"):
            assert f'"{col}"' not in html, (path, col)
        assert "内部信息" not in html


def test_staff_map_login_all_statuses_and_internal_card(
    live_url: str, watched: Any, staff_user: str, idle_parcel: dict[str, Any]
) -> None:
    w = watched()
    w.page.goto(live_url + "/internal/map")
    assert "/workbench/login" in w.page.url
    browser_sign_in(w.page, live_url, staff_user)
    w.page.wait_for_url(re.compile(r"/internal/map$"))
    go_to(w.page, idle_parcel["lat"], idle_parcel["lon"])
    assert any(
        "/tiles/parcels/" in u and "status=ready,unsupplied,idle,supplied" in u for u in w.requests
    )
    click_lonlat(w.page, idle_parcel["lat"], idle_parcel["lon"])
    w.page.locator("#lm-card .lm-internal").wait_for(timeout=10000)
    text = w.page.inner_text("#lm-card")
    assert idle_parcel["code"] in text and "闲置" in text
    assert "数据质量提示" in text and "预留" in text
    assert (
        w.page.locator("#lm-card a", has_text="变更历史").get_attribute("href")
        == f"/workbench/parcels/{idle_parcel['code']}/history"
    )
    w.shot("staff_map_card")
    assert w.errors == [], [u for u in w.requests]


def test_brochure_page_and_pdf(live_url: str, watched: Any, public_parcel: dict[str, Any]) -> None:
    code = public_parcel["code"]
    w = watched(viewport=(900, 1200))
    w.page.goto(f"{live_url}/parcels/{code}/brochure")
    text = w.page.inner_text("body")
    assert code in text and "亩" in text and "公顷" in text and "适用政策" in text
    assert "招商联系" in text
    assert w.page.locator("svg path").count() >= 1
    w.shot("brochure")
    assert w.errors == []
    pdf = httpx.get(f"{live_url}/parcels/{code}/brochure.pdf", timeout=90)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"


def test_the_brochure_fits_a_phone(
    live_url: str, watched: Any, public_parcel: dict[str, Any]
) -> None:
    """At 390 px the 推介书 is no wider than the screen (its maps' borders made it 392 px: the
    page slid sideways under an investor's thumb)."""
    w = watched(viewport=(390, 844))
    w.page.goto(f"{live_url}/parcels/{public_parcel['code']}/brochure")
    w.page.wait_for_load_state("networkidle")
    assert w.page.locator(".maps svg").count() == 2
    overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert w.page.evaluate(overflow) <= 0
    assert w.errors == []


def test_match_map_numbers_sites_and_shows_breakdown(
    live_url: str, watched: Any, match_id: str
) -> None:
    run = httpx.get(f"{live_url}/api/match/{match_id}").json()
    ranked = [f for f in run["features"] if f.get("geometry")]
    w = watched()
    w.page.goto(f"{live_url}/match/{match_id}/map")
    w.page.wait_for_load_state("networkidle")
    icons = w.page.locator(".lm-rank-icon")
    assert icons.count() == min(len(ranked), 20)
    header_cells = w.page.locator("#lm-compare thead th").count()
    assert header_cells == 1 + min(len(ranked), 5)
    icons.first.click()
    w.page.locator("#lm-card .lm-breakdown").wait_for(timeout=5000)
    assert "贡献" in w.page.inner_text("#lm-card")
    w.shot("match_map")
    assert w.errors == []
