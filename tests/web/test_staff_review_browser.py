"""The staff review's defects in Chromium against the live app: a near miss reads as a person
says it ("面积下限降至 49.5 亩（放宽 0.5 亩）", never "面积下限 -0.5 亩"); a project's stage
moves along the flow (the form offers the next stage, the earlier ones and 流失, a jump sent
anyway is refused in Chinese beside the form); a name holding a right-to-left override reads in the order it
was typed; a zone committee's parcel list offers no other city and only its city's counties.
Zero console errors, failed requests or page errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.web.conftest import browser_sign_in, drop_account, make_account, team_promoter

TEAM = "t-staff-review"
# The new area or bound and how far it moves, figures as landmatch.numbers writes them.
CHANGE = re.compile(
    r"面积(下限降至|上限提高至) [\d,]+(\.\d+)? 亩（放宽 ([\d,]+(\.\d+)?|不足 0\.01) 亩）"
)


@pytest.fixture
def promoter(engine: Engine) -> Iterator[str]:
    yield from team_promoter(engine, TEAM)


@pytest.fixture
def committee(engine: Engine) -> Iterator[tuple[str, str]]:
    """A zone committee of the zone with most parcels, and its zone's city."""
    with engine.connect() as c:
        zone, city = c.execute(
            text(
                "SELECT z.code, z.city_code FROM landmatch.dev_zone z JOIN landmatch.parcel p "
                "ON p.zone_id = z.id GROUP BY z.code, z.city_code ORDER BY count(*) DESC, z.code "
                "LIMIT 1"
            )
        ).one()
    name = make_account(engine, "zone", zone=zone)
    yield name, city
    drop_account(engine, name)


def _stage_options(page: Any) -> list[str]:
    return [o.strip() for o in page.locator("#f-stage option").all_inner_texts()]


def test_near_misses_stages_and_names_read_right(
    live_url: str, watched: Any, promoter: str
) -> None:
    w = watched((1280, 1000))
    page = w.page
    page.goto(live_url + "/workbench/projects/new")
    browser_sign_in(page, live_url, promoter)
    page.wait_for_url(re.compile(r"/workbench/projects/new$"))
    form = "#requirement-form"
    page.fill(f"{form} [name=name]", "报价单\u202efdp.exe项目")
    with page.expect_response(lambda r: "/api/industries" in r.url):  # its suggestions
        page.fill(f"{form} [name=industry]", "C34")
    page.fill(f"{form} [name=area_mu_min]", "50")  # a narrow window: near misses on area
    page.fill(f"{form} [name=area_mu_max]", "50.5")
    page.click("#save-match")
    page.wait_for_url(re.compile(r"/workbench/matches/[0-9a-f-]+$"))
    page.wait_for_load_state("networkidle")

    changes = page.locator("#near-misses tbody tr td:nth-child(4)").all_inner_texts()
    assert changes, "the seeded inventory has parcels near 50 亩"
    for said in changes:
        assert CHANGE.fullmatch(said.strip()), said
    assert not re.search(r"[上下]限 [-+]", page.inner_text("main"))
    page.locator("#near-misses button:has-text('放宽后重新匹配')").first.click()
    page.wait_for_url(re.compile(r"/workbench/matches/[0-9a-f-]+$"))
    said = page.inner_text(".alert-info")
    assert re.search(r"已放宽：面积(下限降至|上限提高至) ", said), said

    # The project: its name in the order it was typed, the stage form along the flow.
    project = page.get_attribute("a:has-text('返回项目')", "href")
    assert project
    page.goto(live_url + project)
    assert "报价单fdp.exe项目" in page.inner_text("h1")
    assert _stage_options(page) == ["线索", "洽谈", "考察", "流失"]  # matched: in talks
    page.select_option("#f-stage", "visit")
    page.click("#stage-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "已更新阶段" in page.inner_text("main")
    assert _stage_options(page) == ["线索", "洽谈", "考察", "签约", "流失"]
    # A jump sent anyway (an old page's form, a hand-made request): refused beside the form.
    page.evaluate(
        "document.querySelector('#f-stage').add(new Option('落地', 'landed', true, true))"
    )
    page.fill("#f-stage-note", "直接落地")
    page.click("#stage-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    refused = page.inner_text("#stage-error")
    assert (
        "项目阶段不能从考察直接改为落地" in refused
        and "当前可改为 线索、洽谈、签约、流失" in refused
    )
    assert page.input_value("#f-stage-note") == "直接落地"  # kept
    assert page.inner_text("#project-stage") == "考察"
    page.select_option("#f-stage", "lost")  # 流失 from any stage
    page.click("#stage-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#project-stage") == "流失"
    assert w.errors == []


def test_a_zone_committees_list_offers_its_own_scope(
    live_url: str, watched: Any, committee: tuple[str, str], engine: Engine
) -> None:
    name, city = committee
    with engine.connect() as c:
        counties = list(
            c.execute(
                text(
                    "SELECT name FROM landmatch.admin_division WHERE level = 'county' "
                    "AND parent_code = :c ORDER BY code"
                ),
                {"c": city},
            ).scalars()
        )
    w = watched((1366, 900))
    page = w.page
    page.goto(live_url + "/workbench/parcels")
    browser_sign_in(page, live_url, name)
    page.wait_for_url(re.compile(r"/workbench/parcels$"))
    assert page.locator("#f-city").count() == 0
    offered = page.locator("#f-county option").all_inner_texts()
    assert offered == ["全部", *counties] and counties
    assert w.errors == []
