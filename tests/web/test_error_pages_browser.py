"""Error pages in Chromium against the served app and PostGIS: an upload over the limit from
a workbench form (the bureau) and an unknown workbench address (signed out, then as a
promoter and a bureau) are zh-CN pages with the workbench's bar of the role and ways back.
The only console lines allowed are Chromium's reports of the error statuses themselves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from landmatch.settings import Settings
from tests.serving import served
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


def test_an_oversized_upload_in_the_browser(
    settings: Settings, engine: Engine, watched: Any, bureau: str, tmp_path: Any
) -> None:
    """The bureau uploads a 3 MB file where 1 MB is the limit: the form refuses it before it
    is sent (workbench.js, the page's upload-max-mb); sent anyway (a page without the script's
    figure), the server's 413 page says the file is too large and what the limit is, keeps the
    bar, and leads back to the form; nothing was read into an import."""
    from landmatch.api.app import create_app

    big = tmp_path / "清单.geojson"
    big.write_bytes(b"{" + b" " * (3 << 20) + b"}")
    app = create_app(settings.model_copy(update={"max_upload_mb": 1, "settle_poll_seconds": 0}))
    with served(app) as url:
        w = watched()
        page = w.page
        page.goto(url + "/workbench/imports/new")
        browser_sign_in(page, url, bureau)
        page.wait_for_url(re.compile(r"/workbench/imports/new$"))
        page.set_input_files("#f-files", str(big))
        page.click("#upload-submit")
        assert "超过单次上传上限 1 MB" in page.inner_text("#f-files-size-msg")
        assert page.url.endswith("/workbench/imports/new")
        page.evaluate("document.querySelector('meta[name=\"upload-max-mb\"]').remove()")
        with page.expect_navigation() as nav:
            page.click("#upload-submit")
        assert nav.value.status == 413
        main = page.inner_text("main")
        assert "上传文件过大（413）" in main and "上传文件超过上限 1 MB" in main, main
        assert page.title().startswith("上传文件过大")
        assert page.locator("#lm-nav a:has-text('数据导入')").count() == 1
        assert bureau in page.inner_text("#lm-who")
        w.shot("workbench_upload_too_large")
        page.click("#error-back")
        page.wait_for_url(re.compile(r"/workbench/imports/new$"))
        assert page.locator("#upload-form").count() == 1
        _only_statuses(w.errors, 413)
    with engine.connect() as c:
        n = c.execute(
            text("SELECT count(*) FROM landmatch.import_job WHERE actor = :a"), {"a": bureau}
        ).scalar()
    assert n == 0


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
