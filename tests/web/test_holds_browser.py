"""Match results show what other projects hold, in Chromium against the live app: a site of
team B's results that team A reserved after the run reads 已被其他项目预留 with the hold's date
and offers no 预留 (team B reserves the next one instead); an admin sees whose the hold is.
Zero console errors, failed requests or page errors."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from landmatch.dates import beijing_today
from tests.conftest import TEST_PASSWORD
from tests.web.conftest import browser_sign_in, drop_account, make_account, restore_parcel

TEAMS = ("t-holds-a", "t-holds-b")


@pytest.fixture
def accounts(engine: Engine) -> Iterator[tuple[str, str, str]]:
    a = make_account(engine, "promoter", team=TEAMS[0])
    b = make_account(engine, "promoter", team=TEAMS[1])
    admin = make_account(engine, "admin")
    yield a, b, admin
    with engine.begin() as c:  # reservations go with their projects
        for table in ("match_run", "project"):
            c.execute(
                text(f"DELETE FROM landmatch.{table} WHERE owner_team = ANY(:t)"),
                {"t": list(TEAMS)},
            )
    for name in (a, b, admin):
        drop_account(engine, name)


def _api(url: str, user: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(url + path, json=body, auth=(user, TEST_PASSWORD), timeout=60)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def test_results_show_another_teams_hold(
    live_url: str, watched: Any, accounts: tuple[str, str, str]
) -> None:
    team_a, team_b, admin = accounts
    req = {"industry": "34", "area_mu_min": 10, "area_mu_max": 400, "top": 5}
    project_b = _api(live_url, team_b, "/api/projects", {"name": "乙团队项目", "requirement": req})
    run = _api(live_url, team_b, f"/api/projects/{project_b['id']}/match", {})
    sites = [f["properties"] for f in run["features"] if f["properties"]["kind"] == "parcel"]
    assert len(sites) >= 2
    # After the run, team A holds its #1 for a project of its own.
    project_a = _api(
        live_url, team_a, "/api/projects", {"name": "甲团队保密项目", "requirement": req}
    )
    until = (beijing_today() + dt.timedelta(days=20)).isoformat()
    _api(
        live_url,
        team_a,
        "/api/reservations",
        {"parcel_code": sites[0]["code"], "project_id": project_a["id"], "until": until},
    )
    results = f"{live_url}/workbench/matches/{run['match_id']}"

    w = watched((1400, 900))
    page = w.page
    page.goto(results)
    browser_sign_in(page, live_url, team_b)
    page.wait_for_url(re.compile(r"/workbench/matches/[0-9a-f-]+$"))
    page.wait_for_load_state("networkidle")
    held = page.locator('[data-held-other="1"]')
    assert held.is_visible()  # #1 is open
    assert held.inner_text() == f"已被其他项目预留（至 {until}），不能为本项目预留"
    assert page.locator('[data-reserve="1"]').count() == 0
    assert "甲团队保密项目" not in page.content() and TEAMS[0] not in page.content()
    w.shot("workbench_match_results_held_by_others")
    # The next site is free: reserved for this project.
    page.click("#site-2 .accordion-button")
    page.wait_for_selector('[data-reserve="2"]', state="visible")
    page.click('[data-reserve="2"]')
    page.wait_for_url(re.compile(r"/workbench/matches/[0-9a-f-]+$"))
    assert "已为本项目预留地块" in page.inner_text(".alert-success")
    page.wait_for_load_state("networkidle")
    assert page.locator('[data-held="2"]').count() == 1
    assert page.locator('[data-held-other="1"]').count() == 1
    assert w.errors == [], w.errors

    # An admin sees whose each hold is.
    x = watched((1400, 900))
    x.page.goto(results)
    browser_sign_in(x.page, live_url, admin)
    x.page.wait_for_url(re.compile(r"/workbench/matches/[0-9a-f-]+$"))
    x.page.wait_for_load_state("networkidle")
    text_1 = x.page.inner_text('[data-held-other="1"]')
    assert text_1.startswith(f"已被项目“甲团队保密项目”（{TEAMS[0]}）预留（至 {until}）")
    # The run's own project's hold is this project's for the admin too.
    assert x.page.locator('[data-held="2"]').count() == 1
    assert x.errors == [], x.errors


@pytest.fixture
def supplied_back(engine: Engine) -> Iterator[dict[str, str]]:
    """A ready parcel of 石家庄 that nothing holds, put back afterwards (a restore: the history
    keeps the journey's versions)."""
    with engine.connect() as c:
        code, pid, version = c.execute(
            text(
                "SELECT p.code, p.id, p.version FROM landmatch.parcel p "
                "WHERE p.city_code = '130100' AND p.status = 'ready' AND p.deleted_at IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM landmatch.reservation r "
                "WHERE r.parcel_id = p.id AND r.released_at IS NULL) "
                "ORDER BY p.code DESC LIMIT 1"
            )
        ).one()
    yield {"code": code}
    with engine.begin() as c:
        restore_parcel(c, pid, version)


def test_a_bureau_finds_a_held_parcel_and_supplying_it_tells_the_team(
    live_url: str,
    watched: Any,
    engine: Engine,
    accounts: tuple[str, str, str],
    supplied_back: dict[str, str],
) -> None:
    """The land bureau filters its list to 已预留, sees which team holds the parcel and until
    when (not the project), sets it to 已供应 and is warned that the hold ended; the team
    reads it on its project's timeline."""
    team_a, _, _ = accounts
    bureau = make_account(engine, "bureau", city="130100")
    try:
        code = supplied_back["code"]
        req = {"industry": "34", "area_mu_min": 1, "area_mu_max": 4000, "top": 5}
        project = _api(
            live_url, team_a, "/api/projects", {"name": "甲团队保密项目", "requirement": req}
        )
        until = (beijing_today() + dt.timedelta(days=20)).isoformat()
        _api(
            live_url,
            team_a,
            "/api/reservations",
            {"parcel_code": code, "project_id": project["id"], "until": until},
        )

        w = watched((1400, 900))
        page = w.page
        page.goto(f"{live_url}/workbench/parcels?q={code}")
        browser_sign_in(page, live_url, bureau)
        page.wait_for_url(re.compile(r"/workbench/parcels\?q="))
        page.select_option("#f-held", ["1"])
        page.click("#parcel-filters button[type=submit]")
        page.wait_for_url(re.compile(r"held=1"))
        row = page.locator("#parcels tbody tr", has_text=code)
        assert row.locator(".lm-hold").inner_text() == f"已预留（招商团队 {TEAMS[0]}，至 {until}）"
        assert "甲团队保密项目" not in page.content()
        w.shot("workbench_parcels_held")
        page.goto(f"{live_url}/workbench/parcels/{code}/edit")
        page.select_option("#edit-form select[name=status]", ["supplied"])
        page.fill("#edit-form [name=reason]", "已出让")
        page.click("#edit-form button[type=submit]")
        page.wait_for_url(re.compile(rf"/workbench/parcels/{code}$"))
        flash = page.inner_text(".alert-warning")
        assert (
            f"地块 {code} 正由招商团队“{TEAMS[0]}”的项目预留（至 {until}）；"
            "状态改为已供应后预留已结束，已记入该项目的进展记录"
        ) in flash
        assert w.errors == [], w.errors

        x = watched((1400, 900))
        x.page.goto(f"{live_url}/workbench/projects/{project['id']}")
        browser_sign_in(x.page, live_url, team_a)
        x.page.wait_for_url(re.compile(r"/workbench/projects/\d+$"))
        assert f"地块 {code} 状态由熟地改为已供应（{bureau}），本项目对该地块的预留已结束" in (
            x.page.inner_text("body")
        )
        assert x.errors == [], x.errors
    finally:
        drop_account(engine, bureau)
