"""Usability checks in real headless Chromium at a common office screen (1366 px wide), each
failing on any console error: forms and navigation fit the window, figures read as zh-CN
readers expect (thousands separators, 公顷 beside 亩, 亿元 beside large 万元 sums)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.web.conftest import browser_sign_in, drop_account, make_account

OFFICE = (1366, 900)


@pytest.fixture
def bureau_user(engine: Engine) -> Iterator[str]:
    name = make_account(engine, "bureau", city="130100")
    yield name
    drop_account(engine, name)


def _no_sideways_scroll(page: Any) -> None:
    wide = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert wide[0] <= wide[1], wide


def test_parcel_edit_form_checkbox_groups_use_their_column(
    live_url: str, watched: Any, bureau_user: str, engine: Engine
) -> None:
    with engine.connect() as c:
        code = c.execute(
            text(
                "SELECT code FROM landmatch.parcel WHERE city_code = '130100' "
                "AND deleted_at IS NULL ORDER BY code LIMIT 1"
            )
        ).scalar_one()
    w = watched(viewport=OFFICE)
    w.page.goto(f"{live_url}/workbench/parcels/{code}/edit")
    browser_sign_in(w.page, live_url, bureau_user)
    w.page.wait_for_url(re.compile(r"/edit$"))
    groups = w.page.evaluate(
        """() => [...document.querySelectorAll('#edit-form [data-field] fieldset')].map(f => {
             const boxes = f.querySelector('.d-flex');
             return [f.closest('[data-field]').dataset.field,
                     boxes.getBoundingClientRect().width, f.getBoundingClientRect().width];
           })"""
    )
    names = {g[0] for g in groups}
    assert {"compatible_uses", "readiness", "checklist", "supply_modes"} <= names, names
    for name, boxes, column in groups:
        # The boxes fill their column (minus nothing): not a sliver beside the legend.
        assert boxes >= column - 1 and column > 300, (name, boxes, column)
    _no_sideways_scroll(w.page)
    height = w.page.evaluate("document.documentElement.scrollHeight")
    assert height < 5000, height
    assert w.errors == [], w.errors


NUMBER = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d+)?$")


def _figure(text: str, unit: str) -> float:
    """A card's figure, "12,345.6 亩" → 12345.6, its separators checked."""
    value, _, got = text.partition(" ")
    assert got == unit and NUMBER.match(value), text
    return float(value.replace(",", ""))


def test_dashboard_headline_figures(live_url: str, watched: Any, admin_user: str) -> None:
    w = watched(viewport=OFFICE)
    page = w.page
    page.goto(live_url + "/dashboard")
    browser_sign_in(page, live_url, admin_user)
    page.wait_for_url(re.compile(r"/dashboard$"))
    page.wait_for_selector("body[data-ready='1']", timeout=60000)
    # The shared formats themselves.
    assert page.evaluate("[LMF.num(23583.1), LMF.num(3688.8), LMF.num(1234567, 0)]") == [
        "23,583.1",
        "3,688.8",
        "1,234,567",
    ]
    assert page.evaluate("[LMF.mu(3688.804), LMF.ha(3688.8), LMF.ha(12919.5)]") == [
        "3,688.8",
        "245.92 公顷",
        "861.3 公顷",
    ]
    assert page.evaluate("[LMF.yi(23583.1), LMF.yi(9999.9)]") == ["2.36 亿元", ""]
    cards = page.evaluate(
        """() => [...document.querySelectorAll('#cards .lm-dash-card')].map(c => [
             c.firstChild.textContent, c.querySelector('b').textContent,
             (c.querySelector('.lm-dash-sub') || {}).textContent || ''])"""
    )
    shown = {c[0]: c[1:] for c in cards}
    summary = page.evaluate(
        "fetch('/api/monitoring/summary?as_of=' + document.getElementById('asof').value)"
        ".then(r => r.json())"
    )
    idle = sum(
        s["area_mu"]
        for s in summary["idle_stages"]
        if s["stage"] in ("idle_fee", "recoverable", "gov_caused")
    )
    unsupplied = sum(b["area_mu"] for b in summary["unsupplied_bands"])
    fee = summary["idle_fee_total_wan"]
    for label, mu in (("闲置土地", idle), ("批而未供", unsupplied)):
        figure, hectares = shown[label]
        assert abs(_figure(figure, "亩") - mu) <= 0.005, (label, figure, mu)  # 0.01 亩
        assert abs(_figure(hectares, "公顷") - mu / 15) <= 0.00005, (label, hectares)
    figure, yi = shown["应征闲置费"]
    assert abs(_figure(figure, "万元") - fee) <= 0.05, (figure, fee)
    if fee >= 10000:
        assert abs(_figure(yi, "亿元") - fee / 10000) <= 0.005, (yi, fee)
    else:
        assert yi == "", yi
    assert _figure(shown["逾期处置步骤"][0], "项") == len(summary["alerts"])
    assert unsupplied >= 1000 or idle >= 1000, "the seed's figures need separators"
    w.shot("dashboard_cards")
    _no_sideways_scroll(page)
    assert w.errors == [], w.errors


NAV_ROW = """() => {
  const bar = document.querySelector('nav.navbar');
  const entries = [...document.querySelectorAll('#lm-nav > ul > li')];
  return {
    height: bar.getBoundingClientRect().height,
    tops: [...new Set(entries.map(li => Math.round(li.getBoundingClientRect().top)))],
    tallest: Math.max(...[...document.querySelectorAll('#lm-nav .nav-link')]
      .map(a => a.getBoundingClientRect().height)),
    who: Math.round(document.getElementById('lm-who').getBoundingClientRect().top),
    hrefs: [...document.querySelectorAll('#lm-nav a[href]')].map(a => a.getAttribute('href')),
  };
}"""


@pytest.mark.parametrize("role", ["admin", "bureau", "zone", "promoter"])
def test_the_navigation_fits_one_line_at_1366(
    live_url: str, watched: Any, engine: Engine, role: str
) -> None:
    from landmatch.api.routes.workbench.common import NAV

    scope = {"bureau": {"city": "130100"}, "promoter": {"team": "石家庄招商一组"}}.get(role, {})
    if role == "zone":
        with engine.connect() as c:
            scope = {
                "zone": c.execute(
                    text("SELECT code FROM landmatch.dev_zone ORDER BY id LIMIT 1")
                ).scalar_one()
            }
    name = make_account(engine, role, **scope)
    try:
        w = watched(viewport=OFFICE)
        page = w.page
        # My account: a page every role has (the home page's QA card would load meanwhile).
        page.goto(live_url + "/workbench/account")
        browser_sign_in(page, live_url, name)
        page.wait_for_url(re.compile(r"/workbench/account$"))
        row = page.evaluate(NAV_ROW)
        # One row: every entry and the account on the same line, no label broken in two.
        assert len(row["tops"]) == 1 and row["height"] < 70, row
        assert row["tallest"] < 45, row
        # Nothing left out: every entry of the role is a link of the bar (some in a menu).
        mine = [n.href for n in NAV if role in n.roles]
        assert set(mine) <= set(row["hrefs"]), (mine, row["hrefs"])
        _no_sideways_scroll(page)
        if role == "admin":  # a menu opens, its page is marked as the menu's
            page.click("#lm-nav button:has-text('系统管理')")
            page.click("#lm-nav a:has-text('审计日志')")
            page.wait_for_url(re.compile(r"/workbench/audit$"))
            toggle = page.locator("#lm-nav button:has-text('系统管理')")
            assert "active" in (toggle.get_attribute("class") or "")
            assert page.locator("#lm-nav a[aria-current=page]").inner_text() == "审计日志"
        assert w.errors == [], w.errors
    finally:
        drop_account(engine, name)
