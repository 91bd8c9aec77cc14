"""The promoter's and the zone committee's journeys in Chromium against the live app (the
journeys review): what broke for them in the browser stays fixed. The promoter's form keeps
every choice after an error and reads full-width numbers, saves and matches, reserves a site,
and a note typed on a page opened before someone else changed the project is kept with the
reason; the committee reaches the policy library from its navigation with the new policy's
scope at its zone, sees its zone's indicators, and is refused a parcel outside its zone in
Chinese. Zero console errors, failed requests or page errors, except the refusal's own 403."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.web.conftest import browser_sign_in, drop_account, make_account, team_promoter

TEAM = "t-journeys"


@pytest.fixture
def promoter(engine: Engine) -> Iterator[str]:
    yield from team_promoter(engine, TEAM)


@pytest.fixture
def committee(engine: Engine) -> Iterator[tuple[str, str, str]]:
    """A zone committee of the zone with most parcels, and a parcel outside that zone."""
    with engine.connect() as c:
        zone = c.execute(
            text(
                "SELECT z.code FROM landmatch.dev_zone z JOIN landmatch.parcel p "
                "ON p.zone_id = z.id GROUP BY z.code ORDER BY count(*) DESC, z.code LIMIT 1"
            )
        ).scalar_one()
        outside = c.execute(
            text(
                "SELECT p.code FROM landmatch.parcel p LEFT JOIN landmatch.dev_zone z "
                "ON z.id = p.zone_id WHERE z.code IS DISTINCT FROM :z AND p.deleted_at IS NULL "
                "ORDER BY p.code LIMIT 1"
            ),
            {"z": zone},
        ).scalar_one()
    name = make_account(engine, "zone", zone=zone)
    yield name, zone, outside
    drop_account(engine, name)


def test_the_promoters_journey(live_url: str, watched: Any, promoter: str) -> None:
    w = watched((1280, 1000))
    page = w.page
    page.on("dialog", lambda d: d.accept())  # 释放/预留 ask before they act
    page.goto(live_url + "/workbench/projects/new")
    browser_sign_in(page, live_url, promoter)
    page.wait_for_url(re.compile(r"/workbench/projects/new$"))
    form = "#requirement-form"
    page.fill(f"{form} [name=name]", "旅程项目")
    with page.expect_response(lambda r: "/api/industries" in r.url):  # its suggestions
        page.fill(f"{form} [name=industry]", "C3985")
    page.select_option(f"{form} [name=pollution_class]", "2")
    page.fill(f"{form} [name=area_mu_min]", "２００")
    page.fill(f"{form} [name=area_mu_max]", "１００")  # below the minimum: refused
    page.fill(f"{form} [name=planned_far]", "１．２")  # full-width, as an input method types
    page.check(f"{form} [name=cities][value='130100']")
    page.click("#save-match")
    page.wait_for_load_state("networkidle")
    assert "面积下限不能大于面积上限" in page.inner_text("#form-error")
    assert page.input_value(f"{form} [name=pollution_class]") == "2"  # the choice is kept
    assert page.input_value(f"{form} [name=planned_far]") != ""
    page.fill(f"{form} [name=area_mu_min]", "１０")
    page.fill(f"{form} [name=area_mu_max]", "４００")
    page.click("#save-match")
    page.wait_for_url(re.compile(r"/workbench/matches/[0-9a-f-]+$"))
    page.wait_for_load_state("networkidle")
    page.locator("form[action$='/reserve'] button").first.click()
    page.wait_for_load_state("networkidle")
    assert "已为本项目预留地块" in page.inner_text("main")
    project = page.get_attribute("a:has-text('返回项目')", "href")
    assert project
    page.goto(live_url + project + "/requirement")
    assert page.input_value(f"{form} [name=pollution_class]") == "2"  # saved as chosen
    page.goto(live_url + project)

    # A second tab opened before this one changes the project: its note is kept, with why.
    other = page.context.new_page()
    other.goto(live_url + project)
    page.fill("#note-form [name=note]", "同事先记的备注")
    page.click("#note-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    typed = "投资方下周来访，\n需准备三宗地块的资料"
    other.fill("#note-form [name=note]", typed)
    other.click("#note-form button[type=submit]")
    other.wait_for_load_state("networkidle")
    assert "本次未保存" in other.inner_text("#note-error")
    assert other.input_value("#note-form [name=note]") == typed
    other.click("#note-form button[type=submit]")  # told, sent again
    other.wait_for_load_state("networkidle")
    assert "已添加备注" in other.inner_text("main")
    assert "需准备三宗地块的资料" in other.inner_text("#events")
    assert w.errors == []


def test_the_zone_committees_journey(
    live_url: str, watched: Any, committee: tuple[str, str, str]
) -> None:
    name, zone, outside = committee
    w = watched((1280, 1000))
    page = w.page
    page.goto(live_url + "/workbench")
    browser_sign_in(page, live_url, name)
    page.wait_for_url(re.compile(r"/workbench$"))
    page.wait_for_load_state("networkidle")  # the home page's cards are loaded after it
    # Its zone's indicators on its zone's page.
    assert page.locator("#lm-nav a[href='/workbench/zones']").count() == 1
    page.goto(live_url + "/workbench/zones")
    page.wait_for_url(re.compile(rf"/workbench/zones/{re.escape(zone)}$"))
    kpis = page.inner_text("#kpis")
    assert "供地率" in kpis and "投资强度" in kpis and "个有指标的开发区中排第" in kpis
    # The policy library from its navigation; a new policy starts at its zone.
    assert page.locator("#lm-nav a[href='/workbench/policies']").count() == 1
    page.goto(live_url + "/workbench/policies")
    assert page.locator("main h1").inner_text()
    page.goto(live_url + "/workbench/policies/new")
    assert page.input_value("[name=scope_level]") == "zone"
    assert page.input_value("[name=scope_code]") == zone
    assert w.errors == []
    # A parcel outside its zone: refused in Chinese, on the workbench's page.
    r = page.goto(f"{live_url}/workbench/parcels/{outside}/edit")
    assert r is not None and r.status == 403
    assert "开发区账号只能查看本开发区的地块" in page.inner_text("main")
    assert [e for e in w.errors if "403" not in e] == []
