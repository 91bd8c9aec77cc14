"""Error pages in Chromium against the served app and PostGIS: an unknown workbench address
(signed out, then as a promoter and a bureau) is a zh-CN page with the workbench's bar of the
role and ways back.
The only console lines allowed are Chromium's reports of the error statuses themselves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.web.conftest import browser_sign_in, drop_account, make_account


def _only_statuses(errors: list[str], *statuses: int) -> None:
    """Nothing in the console but Chromium's line for each error page's own status."""
    for e in errors:
        assert re.search(r"the server responded with a status of (\d+)", e), errors
        assert int(re.search(r"status of (\d+)", e).group(1)) in statuses, errors  # type: ignore[union-attr]


@pytest.fixture
def bureau(engine: Engine) -> Iterator[str]:
    name = make_account(engine, "bureau", city="130100")
    yield name
    with engine.begin() as c:
        c.execute(text("DELETE FROM landmatch.import_job WHERE actor = :a"), {"a": name})
    drop_account(engine, name)


@pytest.fixture
def promoter(engine: Engine) -> Iterator[str]:
    name = make_account(engine, "promoter", team="t-errors")
    yield name
    drop_account(engine, name)


def test_an_unknown_workbench_address_in_the_browser(
    live_url: str, watched: Any, promoter: str, bureau: str
) -> None:
    """Signed out: the 404 offers sign-in, which leads back to the address, now with the
    promoter's bar; the bar works from there. The bureau's bar on a wrong address, on a
    missing parcel and on a page its role may not open (403)."""
    w = watched()
    page = w.page
    response = page.goto(live_url + "/workbench/no-such-page")
    assert response is not None and response.status == 404
    assert "请求的资源不存在" in page.inner_text("main")
    assert page.locator("#lm-nav").count() == 0
    page.click("#error-sign-in")
    page.wait_for_url(re.compile(r"/workbench/login\?next="))
    browser_sign_in(page, live_url, promoter)
    page.wait_for_url(re.compile(r"/workbench/no-such-page$"))
    assert "未找到（404）" in page.inner_text("main")
    assert page.locator("#error-sign-in").count() == 0
    nav = page.inner_text("#lm-nav")
    assert "招商项目" in nav and "数据导入" not in nav and promoter in nav
    w.shot("workbench_unknown_address")
    page.click("#lm-nav a:has-text('招商项目')")
    page.wait_for_url(re.compile(r"/workbench/projects$"))
    _only_statuses(w.errors, 404)

    b = watched()
    b.page.goto(live_url + "/workbench")
    browser_sign_in(b.page, live_url, bureau)
    b.page.wait_for_url(re.compile(r"/workbench$"))
    b.page.wait_for_load_state("networkidle")  # the home page's QA panel, loaded after it
    for path, status in (
        ("/workbench/parcles", 404),
        ("/workbench/parcels/NO-SUCH-0000", 404),
        ("/workbench/projects", 403),
    ):
        response = b.page.goto(live_url + path)
        assert response is not None and response.status == status, path
        assert f"（{status}）" in b.page.inner_text("main")
        nav = b.page.inner_text("#lm-nav")
        assert "数据导入" in nav and "招商项目" not in nav, path
        assert b.page.locator("a:has-text('返回工作台首页')").count() == 1
    b.page.click("#lm-nav a:has-text('地块清单')")
    b.page.wait_for_url(re.compile(r"/workbench/parcels$"))
    _only_statuses(b.errors, 404, 403)
