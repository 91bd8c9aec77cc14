"""Workbench journeys in real headless Chromium against the live app and PostGIS, each failing
on any console error: an admin creates an account, its user signs in and must choose a new
password, reaches the staff map with the same sign-in and signs out; a throttled sign-in shows
its message."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import Engine, text

from tests.conftest import TEST_PASSWORD
from tests.web.conftest import browser_sign_in, drop_account, make_account


def test_admin_creates_a_user_who_must_change_the_password(
    live_url: str, watched: Any, admin_user: str, engine: Engine
) -> None:
    name = f"web-new-{uuid.uuid4().hex[:6]}"
    initial, chosen = "初始-口令-石家庄-01", "我的-新口令-正定-2026"
    try:
        admin = watched()
        admin.page.on("dialog", lambda d: d.accept())
        admin.page.goto(live_url + "/workbench/users/new")
        assert "/workbench/login" in admin.page.url
        browser_sign_in(admin.page, live_url, admin_user)
        admin.page.wait_for_url(re.compile(r"/workbench/users/new$"))
        admin.page.fill("#f-name", name)
        admin.page.select_option("#f-role", "bureau")
        admin.page.select_option("#f-city_code", "130100")
        admin.page.fill("#f-password", initial)
        admin.page.click("#user-form button[type=submit]")
        admin.page.wait_for_url(re.compile(rf"/workbench/users/{name}$"))
        assert "已创建" in admin.page.inner_text(".alert-success")
        assert "石家庄" in admin.page.inner_text("main")
        admin.shot("workbench_user_created")
        assert admin.errors == []

        user = watched()
        user.page.goto(live_url + "/internal/map")
        browser_sign_in(user.page, live_url, name, initial)
        user.page.wait_for_url(re.compile(r"/workbench/password\?next=/internal/map$"))
        assert user.page.locator("#forced").is_visible()
        # Said once: no flash repeats the page's own notice above it.
        assert user.page.locator(".alert-warning").count() == 1
        # The policy is explained, and a weak password is refused beside the field.
        assert "至少" in user.page.inner_text("#f-new-msg")
        user.page.fill("#f-current", initial)
        user.page.fill("#f-new", "Password2024")
        user.page.fill("#f-confirm", "Password2024")
        user.page.click("#password-form button[type=submit]")
        assert "过于常见" in user.page.inner_text("#f-new-msg")
        # Nothing else is reachable before the change.
        user.page.goto(live_url + "/workbench")
        user.page.wait_for_url(re.compile(r"/workbench/password"))
        user.page.fill("#f-current", initial)
        user.page.fill("#f-new", chosen)
        user.page.fill("#f-confirm", chosen)
        user.page.click("#password-form button[type=submit]")
        user.page.wait_for_url(re.compile(r"/workbench$"))
        assert "密码已修改" in user.page.inner_text(".alert-success")
        assert name in user.page.inner_text("#lm-who") and "自然资源局" in user.page.inner_text(
            "#lm-who"
        )
        # The QA card is loaded after the page (seconds on a loaded machine): wait for it, or
        # leaving the page aborts its request.
        user.page.wait_for_selector("#qa-loading", state="detached", timeout=120000)
        user.shot("workbench_home")
        # Same sign-in on the staff map, then sign out from the map.
        user.page.goto(live_url + "/internal/map")
        user.page.wait_for_url(re.compile(r"/internal/map$"))
        assert name in user.page.inner_text(".lm-user")
        user.page.click(".lm-user button[type=submit]")
        user.page.wait_for_url(re.compile(r"/workbench/login$"))
        assert "已退出登录" in user.page.inner_text(".alert-success")
        user.page.goto(live_url + "/internal/map")
        assert "/workbench/login" in user.page.url
        # The new password works, the initial one no longer does.
        browser_sign_in(user.page, live_url, name, initial)
        assert "用户名或密码错误" in user.page.inner_text("#form-error")
        browser_sign_in(user.page, live_url, name, chosen)
        user.page.wait_for_url(re.compile(r"/internal/map$"))
        assert user.errors == [], user.errors

        # The admin sees the user's session and ends it.
        admin.page.goto(f"{live_url}/workbench/users/{name}")
        rows = admin.page.locator("#sessions tbody tr")
        assert rows.count() == 1 and "HeadlessChrome" in rows.first.inner_text()
        rows.first.locator("button", has_text="撤销").click()
        admin.page.wait_for_url(re.compile(rf"/workbench/users/{name}$"))
        assert "没有有效会话" in admin.page.inner_text("#sessions")
        # The accounts list and the audit log, where the admin reads what happened (both in
        # the navigation's 系统管理 menu).
        admin.page.click("#lm-nav button:has-text('系统管理')")
        admin.page.click("#lm-nav a:has-text('账号管理')")
        admin.page.wait_for_url(re.compile(r"/workbench/users$"))
        assert name in admin.page.inner_text("main")
        admin.shot("workbench_users")
        admin.page.click("#lm-nav button:has-text('系统管理')")
        admin.page.click("#lm-nav a:has-text('审计日志')")
        admin.page.wait_for_url(re.compile(r"/workbench/audit"))
        assert name in admin.page.inner_text("main")
        admin.shot("workbench_audit")
        user.page.reload()
        assert "/workbench/login" in user.page.url
        assert admin.errors == []
    finally:
        drop_account(engine, name)


def test_a_throttled_sign_in_shows_when(live_url: str, watched: Any, engine: Engine) -> None:
    name = make_account(engine, "promoter")
    try:
        w = watched()
        w.page.goto(live_url + "/workbench/login")
        for _ in range(5):
            browser_sign_in(w.page, live_url, name, "wrong-password-1")
            assert "用户名或密码错误" in w.page.inner_text("#form-error")
        browser_sign_in(w.page, live_url, name, TEST_PASSWORD)
        message = w.page.inner_text("#form-error")
        assert "请稍后再试" in message and re.search(r"\d\d:\d\d:\d\d", message)
        w.shot("workbench_throttled")
        # The only console line is Chromium's report of the 429 page itself (the status the
        # sign-in must answer with when throttled); nothing else.
        assert w.errors == [
            "console error: Failed to load resource: the server responded with a status of 429"
            " (Too Many Requests)"
        ], w.errors
    finally:
        with engine.begin() as c:
            c.execute(text("DELETE FROM landmatch.audit_log WHERE subject = :n"), {"n": name})
        drop_account(engine, name)


def test_my_account_tokens_and_sessions(live_url: str, watched: Any, staff_user: str) -> None:
    w = watched()
    w.page.on("dialog", lambda d: d.accept())
    w.page.goto(live_url + "/workbench/account")
    browser_sign_in(w.page, live_url, staff_user)
    w.page.wait_for_url(re.compile(r"/workbench/account$"))
    assert w.page.locator("#sessions tbody tr").count() >= 1
    w.page.fill("#f-token-name", "每晚导出")
    w.page.click("#token-form button[type=submit]")
    token = w.page.input_value("#new-token-value")
    assert token.startswith("lm_")
    w.shot("workbench_account_token")
    row = w.page.locator("#tokens tbody tr", has_text="每晚导出")
    row.locator("button", has_text="吊销").click()
    w.page.wait_for_url(re.compile(r"/workbench/account$"))
    assert "已吊销" in w.page.locator("#tokens tbody tr", has_text="每晚导出").inner_text()
    assert w.errors == []
