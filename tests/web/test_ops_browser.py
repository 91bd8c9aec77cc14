"""The bureau's QA, monitoring and disposal journey (issue #14 §4) in real headless Chromium
against the live app and PostGIS, failing on any console error (a CSP violation is one): the
石家庄 bureau opens the QA report from the home card, follows a flagged parcel to its edit form
and fixes it; opens the dashboard on its city; opens a disposal case on an idle parcel (from
the monitoring list through the parcel page), records a step with its document number, sees an
overdue deadline, records the others and closes the case by recovery. Only the keyboard is used
on the forms' controls where a mouse is not needed. Screenshots go to artifacts/ (README's come
from there)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from landmatch.dates import beijing_today
from tests.web.conftest import browser_sign_in, drop_account, make_account, restore_parcel


@pytest.fixture
def bureau_user(engine: Engine) -> Iterator[str]:
    name = make_account(engine, "bureau", city="130100")
    yield name
    drop_account(engine, name)


@pytest.fixture
def put_back(engine: Engine) -> Iterator[Callable[[str], None]]:
    """``put_back(code)`` before the journey's first write to a parcel: afterwards the parcel is
    restored to that version and the cases opened on it are removed (the history keeps the
    journey's versions)."""
    before: dict[str, tuple[int, int]] = {}

    def remember(code: str) -> None:
        with engine.connect() as c:
            pid, version = c.execute(
                text("SELECT id, version FROM landmatch.parcel WHERE code = :c"), {"c": code}
            ).one()
        before[code] = (pid, version)

    yield remember
    with engine.begin() as c:
        for pid, version in before.values():
            c.execute(text("DELETE FROM landmatch.disposal_case WHERE parcel_id = :p"), {"p": pid})
            restore_parcel(c, pid, version)


def _flagged(engine: Engine, code: str, check: str) -> bool:
    from landmatch.inventory.qa import flag_params, flag_sql

    with engine.connect() as c:
        return bool(
            c.execute(
                text(f"SELECT {flag_sql(check)} FROM landmatch.parcel p WHERE p.code = :c"),
                {"c": code, **flag_params(365)},
            ).scalar_one()
        )


def test_bureau_qa_dashboard_and_disposal_journey(
    live_url: str, watched: Any, bureau_user: str, put_back: Callable[[str], None], engine: Engine
) -> None:
    w = watched(viewport=(1280, 900))
    page = w.page
    page.goto(live_url + "/workbench")
    browser_sign_in(page, live_url, bureau_user)
    page.wait_for_url(re.compile(r"/workbench$"))

    # QA: the home card (loaded after the page) opens the report.
    page.wait_for_selector("#qa-report-link", timeout=60000)
    page.click("#qa-report-link")
    page.wait_for_url(re.compile(r"/workbench/qa$"))
    page.click("#qa-checks a[data-check='ready_checklist']")
    page.wait_for_url(re.compile(r"check=ready_checklist"))
    w.shot("workbench_qa")
    row = page.locator("#qa-parcels tbody tr[data-code]").first
    code = row.get_attribute("data-code")
    assert code and _flagged(engine, code, "ready_checklist")
    put_back(code)
    row.locator("a.lm-fix").click()
    page.wait_for_url(re.compile(r"/edit$"))
    boxes = page.locator("#edit-form input[name='checklist']")
    for i in range(boxes.count()):
        boxes.nth(i).check()
    page.fill("#f-reason", "补齐熟地核查项")
    page.click("#edit-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert not _flagged(engine, code, "ready_checklist")

    # The dashboard, from the navigation, on the bureau's city.
    page.click("#lm-nav a:has-text('监测看板')")
    page.wait_for_url(re.compile(r"/dashboard$"))
    page.wait_for_selector("body[data-ready='1']", timeout=60000)
    assert page.inner_text("#dash-scope") == "石家庄市"
    assert page.locator("#dash-city").count() == 0
    w.shot("workbench_dashboard")
    # 导出 Excel runs as a job: the progress bar, then the workbook downloads by itself.
    with page.expect_download(timeout=120000) as download:
        page.click("#export")
    assert download.value.suggested_filename.startswith("monitoring-130100-")
    page.wait_for_selector("#export-file:not([hidden])")
    status = page.inner_text("#export-status")
    assert "已完成" in status and re.search(r"已写 [\d,]+ / [\d,]+ 行", status), status
    assert page.get_attribute("#export-progress .progress", "aria-valuenow") == "100"
    assert page.locator("#export").is_enabled()

    # Disposal: the monitoring list, a parcel of it, a case opened 60 days ago.
    page.click("#lm-nav a:has-text('处置案件')")
    page.wait_for_url(re.compile(r"/workbench/cases$"))
    page.click("#case-tabs a:has-text('闲置土地监测')")
    page.wait_for_url(re.compile(r"/workbench/cases/idle"))
    w.shot("workbench_idle")
    row = page.locator("#idle-parcels tbody tr:has(form.lm-open-case)").first
    idle_code = row.get_attribute("data-code")
    assert idle_code
    assert "起算至今（天）" in page.inner_text("#idle-parcels thead")
    put_back(idle_code)
    # 立案 on the list asks first; declining opens nothing.
    asked: list[str] = []

    def decline(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", decline)
    row.locator("form.lm-open-case button").click()
    page.wait_for_timeout(300)
    assert asked and idle_code in asked[0] and "立案" in asked[0], asked
    assert re.search(r"/workbench/cases/idle", page.url)
    with engine.connect() as c:
        assert not c.execute(
            text(
                "SELECT 1 FROM landmatch.disposal_case d JOIN landmatch.parcel p "
                "ON p.id = d.parcel_id WHERE p.code = :c"
            ),
            {"c": idle_code},
        ).first()
    row.locator("td a").first.click()
    page.wait_for_url(re.compile(r"/workbench/parcels/[^/]+$"))
    page.click("#open-case")
    page.wait_for_url(re.compile(r"/workbench/cases/new"))
    opened = beijing_today() - dt.timedelta(days=60)
    page.fill("#f-opened_on", opened.isoformat())
    page.fill("#f-note", "年度闲置土地清查")
    page.focus("#open-case-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/workbench/cases/\d+$"))
    # The first step was due 15 days after opening: overdue.
    assert "逾期 45 天" in page.inner_text("tr[data-step='investigation_notice']")

    def record(step: str, day: dt.date, doc: str) -> None:
        assert page.locator("#step-form input[name='kind']").input_value() == step
        page.fill("#f-done_on", day.isoformat())
        page.fill("#f-doc_no", doc)
        page.click("#step-form button[type=submit]")
        page.wait_for_selector(".alert-success")

    record("investigation_notice", opened + dt.timedelta(days=10), "石自然资闲调〔2026〕7号")
    done = page.locator("tr[data-step='investigation_notice']")
    assert "石自然资闲调〔2026〕7号" in done.inner_text() and "已完成" in done.inner_text()
    # The holder's 30 days ran out 20 days ago: the new deadline is overdue too.
    assert "逾期 20 天" in page.inner_text("tr[data-step='holder_reply']")
    w.shot("workbench_case")
    record("holder_reply", opened + dt.timedelta(days=45), "答复函 2026-3")
    record("determination", opened + dt.timedelta(days=50), "石自然资闲认〔2026〕7号")
    record("public_notice", opened + dt.timedelta(days=55), "网上公示 2026-7")
    page.select_option("#f-decision", "recovery")
    page.fill("#f-decided_on", beijing_today().isoformat())
    page.fill("#f-doc_no", "石自然资收〔2026〕7号")
    # The decision closes the case for good: asked first, as 立案 is; declining sends nothing.
    asked.clear()
    page.once("dialog", decline)
    page.click("#decide")
    assert asked and "办结" in asked[0], asked
    assert page.inner_text("#case-status") != "已办结"
    page.once("dialog", lambda d: d.accept())
    page.click("#decide")
    page.wait_for_selector(".alert-success")
    assert page.inner_text("#case-status") == "已办结"
    assert "无偿收回" in page.inner_text("#case-decision")
    w.shot("workbench_case_closed")
    with engine.connect() as c:
        status = c.execute(
            text("SELECT status FROM landmatch.parcel WHERE code = :c"), {"c": idle_code}
        ).scalar_one()
    assert status == "ready"
    assert w.errors == [], w.errors


def test_bureau_closes_a_case_when_work_starts(
    live_url: str, watched: Any, bureau_user: str, put_back: Callable[[str], None], engine: Engine
) -> None:
    """A case opened on land at risk ends without a disposal: the case page offers no closure
    before the investigation notice (saying why), then 不构成闲置，撤销 only; once the holder's
    start is on record, 已动工，结案 too, asked first (declining sends nothing), and the closed
    case shows who closed it and why. The parcel recorded as idle is supplied land again."""
    today = beijing_today()
    with engine.begin() as c:
        code = c.execute(
            text(
                "SELECT p.code FROM landmatch.parcel p WHERE p.city_code = '130100' "
                "AND p.status = 'idle' AND p.deleted_at IS NULL AND NOT EXISTS ("
                "SELECT 1 FROM landmatch.disposal_case d WHERE d.parcel_id = p.id) "
                "ORDER BY p.code LIMIT 1"
            )
        ).scalar_one()
    put_back(code)
    with engine.begin() as c:
        c.execute(
            text(
                "UPDATE landmatch.parcel SET contract_date = :c, agreed_start_date = :a, "
                "actual_start_date = NULL, stopped_since = NULL, gov_caused = false, "
                "gov_cause = NULL, start_extended = false WHERE code = :code"
            ),
            {
                "c": today - dt.timedelta(days=200),
                "a": today - dt.timedelta(days=100),
                "code": code,
            },
        )
    w = watched(viewport=(1280, 900))
    page = w.page
    page.goto(live_url + "/workbench")
    browser_sign_in(page, live_url, bureau_user)
    page.wait_for_url(re.compile(r"/workbench$"))
    page.wait_for_selector("#qa-report-link", timeout=60000)  # the home's cards have loaded
    page.goto(live_url + f"/workbench/cases/new?parcel={code}")
    page.focus("#open-case-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/workbench/cases/\d+$"))
    assert page.locator("#close-form").count() == 0
    refused = page.locator(".lm-closure-refused")
    assert refused.count() == 2 and "临近闲置" in refused.nth(0).inner_text()
    page.fill("#f-done_on", today.isoformat())
    page.fill("#f-doc_no", "石自然资闲调〔2026〕9号")
    page.click("#step-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    values = page.locator("#f-closure option").evaluate_all("os => os.map(o => o.value)")
    assert values == ["", "not_idle"]
    # The holder has started work (recorded on the parcel meanwhile): offered on the next load.
    with engine.begin() as c:
        c.execute(
            text(
                "UPDATE landmatch.parcel SET actual_start_date = :d, developed_ratio = 0.5 "
                "WHERE code = :code"
            ),
            {"d": today - dt.timedelta(days=10), "code": code},
        )
    page.reload()
    values = page.locator("#f-closure option").evaluate_all("os => os.map(o => o.value)")
    assert values == ["", "started", "not_idle"]
    page.select_option("#f-closure", "started")
    page.fill("#f-close_note", "现场核查：主体结构施工中")
    asked: list[str] = []

    def decline(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", decline)
    page.click("#close-case")
    assert asked and "结案" in asked[0], asked
    assert page.inner_text("#case-status") == "办理中"
    page.once("dialog", lambda d: d.accept())
    page.click("#close-case")
    page.wait_for_selector(".alert-success")
    assert page.inner_text("#case-status") == "已办结"
    assert "已动工，结案" in page.inner_text("#case-decision")
    reason = page.inner_text("#case-close-reason")
    assert "实际开工日期" in reason and "主体结构施工中" in reason and bureau_user in reason
    assert "未办理（已结案）" in page.inner_text("tr[data-step='holder_reply']")
    with engine.connect() as c:
        status = c.execute(
            text("SELECT status FROM landmatch.parcel WHERE code = :c"), {"c": code}
        ).scalar_one()
    assert status == "supplied"
    assert w.errors == [], w.errors


CONTROLS = "main input:not([type=hidden]), main select, main textarea, main button, main a[href]"


def test_keyboard_reaches_every_action(live_url: str, watched: Any, bureau_user: str) -> None:
    """Tab order on the new pages reaches each form control and link, every control has a
    label (an accessible name), with no console errors."""
    w = watched()
    page = w.page
    page.goto(live_url + "/workbench/cases/idle")
    browser_sign_in(page, live_url, bureau_user)
    page.wait_for_url(re.compile(r"/workbench/cases/idle"))
    for path in ("/workbench/cases/idle", "/workbench/cases", "/workbench/qa", "/dashboard"):
        page.goto(live_url + path)
        unnamed = page.evaluate(
            f"() => [...document.querySelectorAll('{CONTROLS}')]"
            ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')"
            " && !(e.textContent || '').trim()).map(e => e.outerHTML.slice(0, 80))"
        )
        assert unnamed == [], (path, unnamed)
        # The first Tab reaches the skip link, which moves on to the page's content.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "跳到正文"
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#main"
    assert w.errors == [], w.errors


@pytest.fixture
def admin_user(engine: Engine) -> Iterator[str]:
    name = make_account(engine, "admin")
    yield name
    drop_account(engine, name)


def test_every_workbench_page_labels_its_controls(
    live_url: str, watched: Any, admin_user: str, engine: Engine
) -> None:
    """Every workbench page an admin opens (each parameterless page, and a parcel's, a
    zone's and a policy's pages): every form control and link has an accessible name, and
    the first Tab reaches the skip link to the content (issue #14 quality bar)."""
    from landmatch.api.app import create_app
    from landmatch.settings import load_settings
    from tests.routes import api_routes

    skip = ("/workbench/logout", "/workbench/parcels/export", "/workbench/imports/template")
    app = create_app(load_settings())
    paths = sorted(
        path
        for path, route in api_routes(app)
        if path.startswith("/workbench")
        and "GET" in (route.methods or ())
        and "{" not in path
        and not path.startswith(skip)
        and path not in ("/workbench/login", "/workbench/password")
    )
    with engine.connect() as c:
        parcel = c.execute(
            text("SELECT code FROM landmatch.parcel WHERE deleted_at IS NULL ORDER BY code LIMIT 1")
        ).scalar_one()
        zone = c.execute(text("SELECT code FROM landmatch.dev_zone ORDER BY code LIMIT 1")).scalar()
        policy = c.execute(text("SELECT code FROM landmatch.policy ORDER BY code LIMIT 1")).scalar()
    paths += [f"/workbench/parcels/{parcel}{p}" for p in ("", "/edit", "/boundary", "/history")] + [
        f"/workbench/zones/{zone}",
        f"/workbench/policies/{policy}/edit",
        "/dashboard",
    ]
    w = watched()
    page = w.page
    page.goto(live_url + "/workbench")
    browser_sign_in(page, live_url, admin_user)
    page.wait_for_url(re.compile(r"/workbench$"))
    page.wait_for_selector("#qa-loading", state="detached", timeout=120000)
    problems = {}
    for path in paths:
        page.goto(live_url + path)
        page.wait_for_load_state("networkidle")  # parts loaded after the page (the QA card)
        if page.locator("#qa-loading").count():
            page.wait_for_selector("#qa-loading", state="detached", timeout=120000)
        unnamed = page.evaluate(
            f"() => [...document.querySelectorAll('{CONTROLS}')]"
            ".filter(e => e.type !== 'file' || !e.closest('.visually-hidden'))"
            ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')"
            " && !e.getAttribute('aria-labelledby') && !e.getAttribute('title')"
            " && !(e.textContent || '').trim()).map(e => e.outerHTML.slice(0, 100))"
        )
        if unnamed:
            problems[path] = unnamed
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") != "跳到正文":
            problems.setdefault(path, []).append("first Tab is not the skip link")
    assert problems == {}, problems
    assert w.errors == [], w.errors


def test_a_day_without_figures_shows_the_day_befores_while_counting(
    live_url: str, watched: Any, bureau_user: str, engine: Engine
) -> None:
    """A day the dashboard has no figures for yet (a server started on a new day) opens at once
    on the latest earlier day's, saying so (暂显示 … 的统计), and turns to the day's own when
    they are counted."""
    from playwright.sync_api import expect
    from sqlalchemy.orm import Session

    from landmatch.auth import Principal
    from landmatch.monitoring import summary
    from landmatch.monitoring.rules import default_rule
    from landmatch.settings import Settings

    day, eve = dt.date(2026, 3, 16), dt.date(2026, 3, 15)  # days no other test asks for
    rule = default_rule(Settings().idle_fee_rate)  # the server's
    forget = text(
        "DELETE FROM landmatch.monitoring_figures WHERE as_of IN (:d, :e) AND city_code = '130100'"
    )
    with engine.begin() as c:
        c.execute(forget, {"d": day, "e": eve})
    with Session(engine) as s:
        summary.inventory_figures(s, Principal(name="t", role="admin"), eve, rule, "130100")
        s.commit()
    try:
        w = watched(viewport=(1280, 900))
        page = w.page
        page.goto(live_url + "/workbench")
        browser_sign_in(page, live_url, bureau_user)
        page.wait_for_url(re.compile(r"/workbench$"))
        page.goto(live_url + f"/dashboard?as_of={day.isoformat()}")
        page.wait_for_selector("body[data-ready='1']", timeout=60000)
        fresh = page.locator("#dash-fresh")
        assert "暂显示 2026-03-15 的统计，正在统计 2026-03-16 的数据" in fresh.inner_text()
        # The page asks again while counting: then the day's own figures, said plainly.
        expect(fresh).not_to_contain_text("正在", timeout=120000)
        assert fresh.inner_text().startswith("统计时间：")
    finally:
        with engine.begin() as c:
            c.execute(forget, {"d": day, "e": eve})
